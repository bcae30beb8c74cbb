// GET /api/queues/{vhost}/{name}/messages (peek), POST /api/queues/{vhost}/{name}/redrive and
// POST /api/queues/{vhost}/{name}/move: warren's own routes for looking at a queue without
// taking from it, and for confirmed moves between queues (admin/peek.ts, admin/transfer.ts).
// Access: the route's class is `vhost` (as basic.get's /get), plus the AMQP permissions a
// client would need: read on the source queue, write on each target queue.

import type { FastifyInstance } from 'fastify';
import { ChannelError } from '../../errors.js';
import type { Queue } from '../../queue/queue.js';
import { HTTP_OWNER, definitionContext, operableVhost, userOf, type AdminContext } from '../context.js';
import { durableWaiter } from '../durable.js';
import { amqpToHttp, badRequest, HttpError } from '../http-error.js';
import { PEEK_MAX_LIMIT, PEEK_MAX_PAYLOAD_BYTES, peekReady, peekUnacked } from '../peek.js';
import { DEATH_REASONS, transfer, type TransferResult } from '../transfer.js';

interface NameParams {
  vhost: string;
  name: string;
}

interface PeekQuery {
  state: 'ready' | 'unacked';
  offset: number;
  limit: number;
  payload_bytes: number;
}

interface RedriveBody {
  to?: string;
  reasons?: string[];
  min_count?: number;
  max_count?: number;
  limit?: number;
  dry_run?: boolean;
}

interface MoveBody {
  to: string;
  limit?: number;
  dry_run?: boolean;
}

const MAX_MOVE = 1_000_000_000;
const queueName = { type: 'string', minLength: 1, maxLength: 255 } as const;
const count = { type: 'integer', minimum: 0, maximum: MAX_MOVE } as const;

const PEEK_QUERY = {
  type: 'object',
  properties: {
    state: { type: 'string', enum: ['ready', 'unacked'], default: 'ready' },
    offset: { type: 'integer', minimum: 0, maximum: MAX_MOVE, default: 0 },
    limit: { type: 'integer', minimum: 1, maximum: PEEK_MAX_LIMIT, default: 20 },
    payload_bytes: { type: 'integer', minimum: 0, maximum: PEEK_MAX_PAYLOAD_BYTES, default: 4096 },
  },
  additionalProperties: false,
} as const;

const REDRIVE_BODY = {
  type: 'object',
  properties: {
    to: queueName,
    reasons: { type: 'array', items: { type: 'string', enum: [...DEATH_REASONS] }, maxItems: DEATH_REASONS.length },
    min_count: count,
    max_count: count,
    limit: { type: 'integer', minimum: 1, maximum: MAX_MOVE },
    dry_run: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;

const MOVE_BODY = {
  type: 'object',
  required: ['to'],
  properties: {
    to: queueName,
    limit: { type: 'integer', minimum: 1, maximum: MAX_MOVE },
    dry_run: { type: 'boolean' },
  },
  additionalProperties: false,
} as const;

/** A stream keeps its messages in a log that every consumer reads: nothing here to page or take. */
function notStream(q: Queue): void {
  if (q.settings.queueType === 'stream') {
    throw badRequest(`queue '${q.name}' in vhost '${q.vhost}' is a stream: its messages stay for every consumer; read them with a consumer at an x-stream-offset`);
  }
}

export function registerPeekRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.get<{ Params: NameParams; Querystring: PeekQuery }>(
    '/api/queues/:vhost/:name/messages',
    { schema: { querystring: PEEK_QUERY }, config: { access: 'vhost' } },
    (req) => {
      const user = userOf(req);
      const v = operableVhost(ctx, user, req.params.vhost);
      // Read-only: another connection's exclusive queue may be looked at (reply queues, say).
      const q = amqpToHttp(() => {
        definitionContext(ctx, user, v).checkPermission('read', 'queue', req.params.name);
        const found = v.getQueue(req.params.name);
        if (found === undefined) throw new ChannelError('NOT_FOUND', `no queue '${req.params.name}' in vhost '${v.name}'`);
        return found;
      });
      notStream(q);
      const { state, offset, limit, payload_bytes } = req.query;
      return state === 'unacked' ? peekUnacked(ctx.broker, q, offset, limit, payload_bytes) : peekReady(q, offset, limit, payload_bytes);
    },
  );

  /** Runs a move or redrive for the route's source queue. */
  const run = async (req: { params: NameParams; apiUser: ReturnType<typeof userOf>; raw: { socket: { setTimeout(ms: number): unknown } } }, o: { to: string | undefined; reasons: string[] | null; minCount: number | null; maxCount: number | null; limit: number | undefined; dryRun: boolean }): Promise<TransferResult> => {
    const user = req.apiUser;
    const v = operableVhost(ctx, user, req.params.vhost);
    const defs = definitionContext(ctx, user, v);
    const { source, to } = amqpToHttp(() => {
      defs.checkPermission('read', 'queue', req.params.name);
      const source = v.queueForUse(req.params.name, HTTP_OWNER);
      if (o.to === undefined) return { source, to: null };
      defs.checkPermission('write', 'queue', o.to);
      return { source, to: v.queueForUse(o.to, HTTP_OWNER) };
    });
    notStream(source);
    if (to !== null && to.settings.queueType === 'stream') {
      // Its log is written apart from the store: the move could not be one transaction.
      throw badRequest(`queue '${to.name}' in vhost '${to.vhost}' is a stream: a move into it cannot be confirmed in one transaction with the source; publish to it instead`);
    }
    if (to === source) throw badRequest(`cannot move queue '${source.name}' into itself`);
    if (o.minCount !== null && o.maxCount !== null && o.minCount > o.maxCount) throw badRequest('min_count is above max_count');
    // The request is received; the work is bounded by the queue (and `limit`), not by the client.
    req.raw.socket.setTimeout(0);
    const result = await transfer({
      vhost: v,
      source,
      to,
      reasons: o.reasons,
      minCount: o.minCount,
      maxCount: o.maxCount,
      limit: o.limit ?? Infinity,
      dryRun: o.dryRun,
      mayWrite: (q) => ctx.broker.permits(user.name, v.name, 'write', q.name),
      whenDurable: durableWaiter(ctx.broker.store),
    });
    if (result.moved > 0 && !o.dryRun) {
      ctx.log.info({ vhost: v.name, queue: source.name, user: user.name, moved: result.moved, by_target: result.by_target }, 'messages moved');
    }
    if (result.store_failed === true) {
      throw new HttpError(500, 'internal_error', `a store write failed (disk full?) after ${result.moved} messages were moved; the move stopped there; see the broker log`);
    }
    return result;
  };

  app.post<{ Params: NameParams; Body: RedriveBody }>('/api/queues/:vhost/:name/redrive', { schema: { body: REDRIVE_BODY }, config: { access: 'vhost' } }, async (req) => {
    const b = req.body;
    const r = await run(req, {
      to: b.to,
      reasons: b.reasons ?? null,
      minCount: b.min_count ?? null,
      maxCount: b.max_count ?? null,
      limit: b.limit,
      dryRun: b.dry_run ?? false,
    });
    return { moved: r.moved, skipped: r.skipped, dry_run: r.dry_run, by_target: r.by_target, skipped_reasons: r.skipped_reasons };
  });

  app.post<{ Params: NameParams; Body: MoveBody }>('/api/queues/:vhost/:name/move', { schema: { body: MOVE_BODY }, config: { access: 'vhost' } }, async (req) => {
    const b = req.body;
    const r = await run(req, { to: b.to, reasons: null, minCount: null, maxCount: null, limit: b.limit, dryRun: b.dry_run ?? false });
    return { moved: r.moved, skipped: r.skipped, dry_run: r.dry_run, skipped_reasons: r.skipped_reasons };
  });
}
