// The PostgreSQL store's worker thread: owns the connections. One commits each batch in one
// transaction (synchronous_commit on, the lease epoch checked inside it) and replies
// { id, ok }; another answers the main thread's synchronous reads (sync-call.ts). A lost
// connection fails the batch in hand (its publishers are nacked) and is opened again for the next.

import pg from 'pg';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { BatchReply } from '../batched-store.js';
import { BatchReader } from '../batch.js';
import { applyBatch, FencedError, type Fence } from './apply.js';
import { migrate } from './schema.js';
import { SyncCall, type SyncReply } from './sync-call.js';

export interface PgWorkerInit {
  readonly url: string;
  readonly flag: SharedArrayBuffer;
  readonly port: MessagePort;
  /** The lease this node writes under (null: a single node, no fencing). */
  readonly fence: Fence | null;
  /**
   * With a lease: PostgreSQL ends a session of ours left inside a transaction this long (ms), so
   * a paused node cannot hold the lease row's lock and keep the next node from taking over.
   */
  readonly txIdleTimeoutMs: number;
}

/** Worker -> main, besides batch replies. */
export type PgWorkerEvent =
  | { readonly t: 'ready'; readonly queues: { id: number; vhost: string; name: string }[]; readonly maxQueueId: number; readonly maxMessageId: number; readonly maxDelayedId: number }
  | { readonly t: 'error'; readonly message: string };

// int8 as numbers: ids, sequence numbers and times stay below 2^53.
pg.types.setTypeParser(20, (v: string) => Number(v));

const init = workerData as PgWorkerInit;
const flag = new Int32Array(init.flag);

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: init.url, application_name: 'warren' });
  // An idle connection that breaks reports here; the next use finds it gone and reconnects.
  c.on('error', () => {
    if (writer === c) writer = null;
    if (reader === c) reader = null;
  });
  await c.connect();
  await c.query('SET synchronous_commit TO on');
  if (init.fence !== null) await c.query(`SET idle_in_transaction_session_timeout = ${Math.max(100, Math.floor(init.txIdleTimeoutMs))}`);
  return c;
}

let writer: pg.Client | null = null;
let reader: pg.Client | null = null;

function drop(c: pg.Client): void {
  if (writer === c) writer = null;
  if (reader === c) reader = null;
  c.end().catch(() => {});
}

const batchReader = new BatchReader(Buffer.alloc(0));

async function commit(req: { id: number; buffer: ArrayBuffer; length: number }): Promise<BatchReply> {
  let c: pg.Client | null = null;
  try {
    c = writer ??= await connect();
    batchReader.reset(Buffer.from(req.buffer, 0, req.length), 0, req.length);
    await c.query('BEGIN');
    try {
      await applyBatch(c, batchReader, init.fence);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw e;
    }
    return { id: req.id, ok: true };
  } catch (e) {
    const err = e as Error & { code?: string };
    // A statement error leaves the connection usable; anything else (no SQLSTATE): start afresh.
    if (c !== null && !(e instanceof FencedError) && typeof err.code !== 'string') drop(c);
    return { id: req.id, ok: false, code: e instanceof FencedError ? 'FENCED' : (err.code ?? 'ERROR'), message: err.message };
  }
}

async function read(req: { op: string; [k: string]: unknown }): Promise<unknown> {
  const c = (reader ??= await connect());
  try {
    return await readWith(c, req);
  } catch (e) {
    if (typeof (e as { code?: unknown }).code !== 'string') drop(c);
    throw e;
  }
}

async function rows(c: pg.Client, text: string, values: unknown[] = []): Promise<unknown[][]> {
  return (await c.query({ text, values, rowMode: 'array' })).rows as unknown[][];
}

async function readWith(c: pg.Client, req: { op: string; [k: string]: unknown }): Promise<unknown> {
  switch (req.op) {
    case 'definitions':
      // One snapshot for all of them.
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        return {
          exchanges: await rows(c, 'SELECT vhost, name, type, auto_delete, internal, arguments FROM warren.exchanges'),
          queues: await rows(c, 'SELECT vhost, name, auto_delete, arguments FROM warren.queues ORDER BY id'),
          bindings: await rows(c, 'SELECT vhost, source, destination, destination_kind, routing_key, arguments FROM warren.bindings'),
          users: await rows(c, 'SELECT name, password_hash, hashing_algorithm, tags FROM warren.users'),
          vhosts: await rows(c, 'SELECT name, description, tags FROM warren.vhosts'),
          permissions: await rows(c, 'SELECT user_name, vhost, configure, write, read FROM warren.permissions'),
          limits: await rows(c, 'SELECT scope, name, value FROM warren.limits'),
          policies: await rows(c, 'SELECT kind, vhost, name, value FROM warren.policies'),
        };
      } finally {
        await c.query('COMMIT');
      }
    case 'readers':
      return rows(c, 'SELECT vhost, stream, reader, position FROM warren.stream_readers');
    case 'entries':
      return rows(
        c,
        'SELECT seq, msg_id, delivered, size, multi, priority, expires_at, delivery_count FROM warren.entries WHERE queue_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
        [req['queue'], req['after'], req['limit']],
      );
    case 'message':
      return (await rows(c, 'SELECT exchange, routing_key, header, body FROM warren.messages WHERE id = $1', [req['storeId']]))[0] ?? null;
    case 'count':
      return (await rows(c, 'SELECT count(*) FROM warren.entries WHERE queue_id = $1', [req['queue']]))[0]![0];
    case 'scheduledPage':
      return rows(
        c,
        'SELECT id, due_at, message FROM warren.delayed WHERE vhost = $1 AND exchange = $2 AND (due_at, id) > ($3, $4) AND id >= $5 ORDER BY due_at, id LIMIT $6',
        [req['vhost'], req['exchange'], req['fromDue'], req['fromId'], req['below'], req['limit']],
      );
    case 'scheduledCount': {
      // One statement, one snapshot.
      const r = await rows(
        c,
        'SELECT (SELECT count(*) FROM warren.delayed WHERE vhost = $1 AND exchange = $2 AND id >= $3), ' +
          'ARRAY(SELECT id FROM warren.delayed WHERE vhost = $1 AND exchange = $2 AND id >= $3 AND id = ANY($4::bigint[]))',
        [req['vhost'], req['exchange'], req['below'], req['candidates']],
      );
      return { count: r[0]![0], owned: (r[0]![1] as (string | number)[]).map(Number) };
    }
    default:
      throw new Error(`unknown read ${req.op}`);
  }
}

async function start(): Promise<void> {
  try {
    const c = await connect();
    await migrate(c);
    const queues = (await c.query<{ id: number; vhost: Buffer; name: Buffer }>('SELECT id, vhost, name FROM warren.queues')).rows.map((q) => ({
      id: q.id,
      vhost: q.vhost.toString('utf8'),
      name: q.name.toString('utf8'),
    }));
    const max = (await rows(c, 'SELECT (SELECT coalesce(max(id), 0) FROM warren.queues), (SELECT coalesce(max(id), 0) FROM warren.messages), (SELECT coalesce(max(id), 0) FROM warren.delayed)'))[0]!;
    writer = c;
    reader = await connect();
    const ready: PgWorkerEvent = { t: 'ready', queues, maxQueueId: Number(max[0]), maxMessageId: Number(max[1]), maxDelayedId: Number(max[2]) };
    parentPort!.postMessage(ready);
  } catch (e) {
    const event: PgWorkerEvent = { t: 'error', message: (e as Error).message };
    parentPort!.postMessage(event);
  }
}

// Batches arrive one at a time (the store sends the next after this one's reply).
parentPort!.on('message', (req: { id: number; buffer: ArrayBuffer; length: number } | 'close') => {
  if (req === 'close') {
    void Promise.all([writer?.end(), reader?.end()]).finally(() => parentPort!.postMessage('closed'));
    return;
  }
  void commit(req).then((reply) => parentPort!.postMessage(reply));
});

init.port.on('message', (req: { id: number; op: string; [k: string]: unknown }) => {
  read(req).then(
    (value) => SyncCall.answer(init.port, flag, { id: req.id, ok: true, value } satisfies SyncReply),
    (e: unknown) => SyncCall.answer(init.port, flag, { id: req.id, ok: false, message: (e as Error).message }),
  );
});

void start();
