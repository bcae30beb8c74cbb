// warren's own management routes for named stream readers, super streams and consumer groups
// (RabbitMQ has none of these over 0-9-1):
//   GET    /api/stream-readers/{vhost}/{stream}            each reader: committed offset, lag, in use
//   PUT    /api/stream-readers/{vhost}/{stream}/{reader}   reset (or create) a reader:
//          {"offset": "first" | "last" | "next" | <n>} or {"timestamp": <ms since the epoch>}
//          409 while a consumer holds the reader (cancel it first, as Kafka wants an idle group)
//   DELETE /api/stream-readers/{vhost}/{stream}/{reader}   forget a reader (409 while in use)
//   GET    /api/super-streams/{vhost}                      super streams and their partitions
//   POST   /api/super-streams/{vhost}/{name}/partitions    {"partitions": n}: grow to n partitions
//   DELETE /api/super-streams/{vhost}/{name}               delete the exchange and its partition
//          streams (as RabbitMQ's delete_super_stream; the same as deleting the exchange)
//   GET    /api/consumer-groups/{vhost}                    groups, their members and assignment

import type { FastifyInstance } from 'fastify';
import { EXCHANGE_DELETE } from '../../codec/methods.generated.js';
import { handleDefinitionMethod } from '../../connection/definition-methods.js';
import { ChannelError } from '../../errors.js';
import { MAX_PARTITIONS, partitionName, SuperStreamExchange } from '../../routing/super-stream.js';
import type { VirtualHost } from '../../routing/vhost.js';
import type { StartSpec } from '../../stream/arguments.js';
import type { Reader } from '../../stream/readers.js';
import { StreamQueue } from '../../stream/stream-queue.js';
import { definitionContext, userOf, operableVhost, viewableVhost, type AdminContext } from '../context.js';
import type { Json } from '../format.js';
import { amqpToHttp, badRequest, HttpError, notFound } from '../http-error.js';

type StreamParams = { vhost: string; stream: string };
type ReaderParams = StreamParams & { reader: string };

/** A reader as the API and the CLI show it. `lag`: messages in the stream at or after its committed offset. */
export function readerJson(r: Reader, stream: StreamQueue | undefined): Json {
  const next = stream?.log.nextOffset ?? r.committed;
  const first = stream?.log.firstOffset ?? 0;
  return {
    vhost: r.vhost,
    stream: r.stream,
    name: r.name,
    committed_offset: r.committed,
    lag: Math.max(0, next - Math.max(r.committed, first)),
    in_use: r.holder !== null,
    committed_at: r.committedAt === 0 ? null : new Date(r.committedAt).toISOString(),
  };
}

function streamOf(v: VirtualHost, name: string): StreamQueue {
  const q = v.getQueue(name);
  if (!(q instanceof StreamQueue)) throw notFound();
  return q;
}

/** The body of a reset: where to put the reader. */
function resetSpec(body: unknown): StartSpec {
  if (typeof body !== 'object' || body === null) throw badRequest('expected {"offset": "first" | "last" | "next" | <n>} or {"timestamp": <ms since the epoch>}');
  const b = body as { offset?: unknown; timestamp?: unknown };
  if (b.offset !== undefined) {
    if (b.offset === 'first' || b.offset === 'last' || b.offset === 'next') return { kind: b.offset };
    if (typeof b.offset === 'number' && Number.isSafeInteger(b.offset) && b.offset >= 0) return { kind: 'offset', offset: b.offset };
    throw badRequest('offset must be "first", "last", "next" or a whole number of at least 0');
  }
  if (b.timestamp !== undefined) {
    const at = typeof b.timestamp === 'number' ? b.timestamp : typeof b.timestamp === 'string' ? Date.parse(b.timestamp) : NaN;
    if (!Number.isFinite(at)) throw badRequest('timestamp must be ms since the epoch or an ISO 8601 date');
    return { kind: 'time', at };
  }
  throw badRequest('expected {"offset": ...} or {"timestamp": ...}');
}

/** 409 for a reader in use, the rest as the model says. */
function conflictOrHttp<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ChannelError && e.codeName === 'RESOURCE_LOCKED') throw new HttpError(409, 'conflict', e.message.replace(/^RESOURCE_LOCKED - /, ''));
    throw e;
  }
}

export function registerStreamReaderRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { broker } = ctx;
  const readers = broker.coordinator.readers;

  app.get<{ Params: StreamParams }>('/api/stream-readers/:vhost/:stream', { config: { access: 'vhost-visible' } }, (req) => {
    const v = viewableVhost(ctx, userOf(req), req.params.vhost);
    const s = streamOf(v, req.params.stream);
    return readers.list(v.name, s.name).map((r) => readerJson(r, s));
  });

  app.put<{ Params: ReaderParams }>('/api/stream-readers/:vhost/:stream/:reader', { config: { access: 'vhost' } }, (req) => {
    const v = operableVhost(ctx, userOf(req), req.params.vhost);
    const s = streamOf(v, req.params.stream);
    const name = req.params.reader;
    if (name.length === 0 || Buffer.byteLength(name) > 255) throw badRequest('a reader name is 1 to 255 bytes');
    const offset = s.offsetOf(resetSpec(req.body));
    const holder = {};
    const r = readers.get(v.name, s.name, name) ?? conflictOrHttp(() => readers.attach(v.name, s.name, name, holder, () => offset));
    readers.detach(r, holder);
    conflictOrHttp(() => readers.reset(r, offset));
    ctx.log.info({ vhost: v.name, stream: s.name, reader: name, offset, by: userOf(req).name }, 'stream reader reset');
    return readerJson(r, s);
  });

  app.delete<{ Params: ReaderParams }>('/api/stream-readers/:vhost/:stream/:reader', { config: { access: 'vhost' } }, (req, reply) => {
    const v = operableVhost(ctx, userOf(req), req.params.vhost);
    const s = streamOf(v, req.params.stream);
    const r = readers.get(v.name, s.name, req.params.reader);
    if (r === undefined) throw notFound();
    conflictOrHttp(() => readers.delete(r));
    ctx.log.info({ vhost: v.name, stream: s.name, reader: r.name, by: userOf(req).name }, 'stream reader deleted');
    return reply.code(204).send();
  });

  app.get<{ Params: { vhost: string } }>('/api/super-streams/:vhost', { config: { access: 'vhost-visible' } }, (req) => {
    const v = viewableVhost(ctx, userOf(req), req.params.vhost);
    const out: Json[] = [];
    for (const x of v.exchanges.values()) {
      if (!(x instanceof SuperStreamExchange)) continue;
      const partitions = [];
      for (let i = 0; i < x.partitionCount; i++) partitions.push(partitionName(x.name, i));
      out.push({ vhost: v.name, name: x.name, partitions });
    }
    return out;
  });

  app.post<{ Params: { vhost: string; name: string } }>('/api/super-streams/:vhost/:name/partitions', { config: { access: 'vhost' } }, (req) => {
    const v = operableVhost(ctx, userOf(req), req.params.vhost);
    const n = (req.body as { partitions?: unknown } | null)?.partitions;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS) throw badRequest(`partitions must be a whole number from 1 to ${MAX_PARTITIONS}`);
    if (!(v.getExchange(req.params.name) instanceof SuperStreamExchange)) throw notFound();
    const count = amqpToHttp(() => v.addPartitions(req.params.name, n));
    ctx.log.info({ vhost: v.name, superStream: req.params.name, partitions: count, by: userOf(req).name }, 'super stream partitions added');
    return { vhost: v.name, name: req.params.name, partitions: count };
  });

  app.delete<{ Params: { vhost: string; name: string } }>('/api/super-streams/:vhost/:name', { config: { access: 'vhost' } }, (req, reply) => {
    const user = userOf(req);
    const v = operableVhost(ctx, user, req.params.vhost);
    const x = v.getExchange(req.params.name);
    if (!(x instanceof SuperStreamExchange)) throw notFound();
    const partitions = x.ownPartitions();
    // The exchange.delete path: its permission checks (configure on the exchange and on each partition).
    amqpToHttp(() => handleDefinitionMethod(definitionContext(ctx, user, v), { id: EXCHANGE_DELETE, ticket: 0, exchange: x.name, ifUnused: false, nowait: false }));
    ctx.log.info({ vhost: v.name, superStream: x.name, partitions, by: user.name }, 'super stream deleted');
    return reply.code(204).send();
  });

  app.get<{ Params: { vhost: string } }>('/api/consumer-groups/:vhost', { config: { access: 'vhost-visible' } }, (req) => {
    const v = viewableVhost(ctx, userOf(req), req.params.vhost);
    return broker.coordinator.groups(v.name).map((g) => ({
      vhost: v.name,
      super_stream: g.superStream,
      name: g.name,
      generation: g.generation,
      members: g.members,
      partitions: g.partitions.map((p) => ({ partition: p.partition, stream: p.stream, consumer_tag: p.consumerTag, state: p.state })),
    }));
  });
}
