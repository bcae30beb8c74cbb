// The PostgreSQL store's worker thread: owns the connections. One commits each batch in one
// transaction (synchronous_commit on, the lease epoch checked inside it) and replies
// { id, ok }; another answers the main thread's synchronous reads (sync-call.ts).
//
// The URL may list several hosts (hosts.ts): connections go to the one that is the primary.
// When a connection is lost mid-batch (the primary died, or was demoted), the worker finds the
// primary again and settles the batch there; the publishers wait meanwhile. Each batch's
// transaction also writes its id to this worker's row of warren.commits, in the same COMMIT, so
// a COMMIT whose answer never came is not guessed at: on the new connection the row says
// whether it committed. If it did, a small write transaction on that row waits for the
// synchronous standby (as every commit does) before the batch counts as committed; if not, the
// batch is applied again. Only then does the reply (and so any confirm) go out. A batch whose
// fate is still unknown after RECONNECT_FOR_MS is reported as UNKNOWN: the node stops and its
// state is loaded again from the database (by itself after a restart, or by a standby node).

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { BatchReply } from '../batched-store.js';
import { BatchReader } from '../batch.js';
import { applyBatch, FencedError, type Fence } from './apply.js';
import { connectPrimary, isConnectionLoss, parsePgUrl } from './hosts.js';
import { migrate } from './schema.js';
import { SyncCall, type SyncReply } from './sync-call.js';

export interface PgWorkerInit {
  readonly url: string;
  readonly flag: SharedArrayBuffer;
  readonly port: MessagePort;
  /** The lease this node writes under (null: a single node, no fencing). */
  readonly fence: Fence | null;
  /**
   * A standby's store: connect, migrate and report 'warm', then wait for { t: 'activate', fence }
   * before reading the ids in use (they change until this node holds the lease). Takeover then
   * costs no thread start, no connection and no schema check.
   */
  readonly deferred?: boolean;
  /**
   * With a lease: PostgreSQL ends a session of ours left inside a transaction this long (ms), so
   * a paused node cannot hold the lease row's lock and keep the next node from taking over.
   */
  readonly txIdleTimeoutMs: number;
  /** How long a lost connection is sought again before a batch or read gives up (ms). */
  readonly reconnectForMs: number;
}

/** Worker -> main, besides batch replies. */
export type PgWorkerEvent =
  | { readonly t: 'ready'; readonly queues: { id: number; vhost: string; name: string }[]; readonly maxQueueId: number; readonly maxMessageId: number; readonly maxDelayedId: number }
  | { readonly t: 'warm' }
  | { readonly t: 'error'; readonly message: string }
  | { readonly t: 'log'; readonly level: 'info' | 'warn'; readonly message: string };

// int8 as numbers: ids, sequence numbers and times stay below 2^53.
pg.types.setTypeParser(20, (v: string) => Number(v));

const init = workerData as PgWorkerInit;
const flag = new Int32Array(init.flag);
const target = parsePgUrl(init.url);
/** This worker's row in warren.commits (a fresh one per start; hex, safe inside SQL text). */
const WRITER = randomUUID().replace(/-/g, '');

function note(level: 'info' | 'warn', message: string): void {
  const event: PgWorkerEvent = { t: 'log', level, message };
  parentPort!.postMessage(event);
}
/** Set at start, or on activation of a warm (deferred) store. */
let fence: Fence | null = init.fence;
const fenced = init.fence !== null || init.deferred === true;

async function connect(): Promise<pg.Client> {
  const c = await connectPrimary(target, {
    applicationName: 'warren',
    onSkip: target.hosts.length > 1 ? (host, why) => note('info', `store: skipped ${host}: ${why}`) : undefined,
  });
  // An idle connection that breaks reports here; the next use finds it gone and reconnects.
  c.on('error', () => {
    if (writer === c) writer = null;
    if (reader === c) reader = null;
  });
  await c.query('SET synchronous_commit TO on');
  if (fenced) await c.query(`SET idle_in_transaction_session_timeout = ${Math.max(100, Math.floor(init.txIdleTimeoutMs))}`);
  if (target.hosts.length > 1) note('info', `store: connected to the primary ${(c as unknown as { host: string }).host}:${(c as unknown as { port: number }).port}`);
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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Applies the batch and commits it together with its id in warren.commits (one round trip for both). */
async function attempt(c: pg.Client, req: { id: number; buffer: ArrayBuffer; length: number }, state: { commitSent: boolean }): Promise<void> {
  batchReader.reset(Buffer.from(req.buffer, 0, req.length), 0, req.length);
  await c.query('BEGIN');
  try {
    await applyBatch(c, batchReader, fence);
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  }
  state.commitSent = true;
  try {
    await c.query(`UPDATE warren.commits SET batch = ${req.id}, at = now() WHERE writer = '${WRITER}'; COMMIT`);
  } catch (e) {
    // A statement error skipped the COMMIT: the transaction is still open, and aborted.
    if (!isConnectionLoss(e)) await c.query('ROLLBACK').catch(() => {});
    throw e;
  }
}

/**
 * After a lost connection: did the batch commit? Its id in our warren.commits row says so. If
 * it did, the row is written again in a transaction of its own, whose COMMIT, like every
 * commit, returns once the synchronous standby has the WAL up to it, and so the batch too.
 */
async function committedBefore(c: pg.Client, id: number): Promise<boolean> {
  await c.query('BEGIN');
  try {
    const r = await c.query<{ batch: number }>('SELECT batch FROM warren.commits WHERE writer = $1 FOR UPDATE', [WRITER]);
    if (r.rows[0]?.batch !== id) {
      await c.query('ROLLBACK');
      return false;
    }
    await c.query('UPDATE warren.commits SET at = now() WHERE writer = $1', [WRITER]);
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw e;
  }
  await c.query('COMMIT');
  return true;
}

async function commit(req: { id: number; buffer: ArrayBuffer; length: number }): Promise<BatchReply> {
  const state = { commitSent: false };
  let lost: Error | null = null;
  const deadline = Date.now() + init.reconnectForMs;
  for (let tries = 0; ; tries++) {
    let c: pg.Client | null = null;
    try {
      c = writer ??= await connect();
      if (lost !== null && state.commitSent && (await committedBefore(c, req.id))) {
        note('info', `store: batch ${req.id} had committed before the connection was lost; confirmed now`);
        return { id: req.id, ok: true };
      }
      state.commitSent = false;
      await attempt(c, req, state);
      if (lost !== null) note('info', `store: batch ${req.id} committed after reconnecting`);
      return { id: req.id, ok: true };
    } catch (e) {
      const err = e as Error & { code?: string };
      if (e instanceof FencedError) return { id: req.id, ok: false, code: 'FENCED', message: err.message };
      if (!isConnectionLoss(e)) return { id: req.id, ok: false, code: err.code ?? 'ERROR', message: err.message };
      if (c !== null) drop(c);
      if (lost === null) note('warn', `store: connection lost during a batch (${err.message}); finding the primary again, the batch waits`);
      lost = err;
      if (Date.now() >= deadline) {
        // Known not committed: an ordinary failure (publishers nacked). Unknown: the node must stop.
        return state.commitSent
          ? { id: req.id, ok: false, code: 'UNKNOWN', message: `no primary reached within ${init.reconnectForMs} ms to learn whether a batch committed (${err.message})` }
          : { id: req.id, ok: false, code: err.code ?? 'UNAVAILABLE', message: err.message };
      }
      await sleep(Math.min(1000, 100 * 2 ** Math.min(tries, 4)));
    }
  }
}

async function read(req: { op: string; [k: string]: unknown }): Promise<unknown> {
  // Reads change nothing: after a lost connection they are simply asked again (bounded).
  const deadline = Date.now() + Math.min(init.reconnectForMs, 20_000);
  for (let tries = 0; ; tries++) {
    let c: pg.Client | null = null;
    try {
      c = reader ??= await connect();
      return await readWith(c, req);
    } catch (e) {
      if (!isConnectionLoss(e)) throw e;
      if (c !== null) drop(c);
      if (Date.now() >= deadline) throw e;
      await sleep(Math.min(1000, 100 * 2 ** Math.min(tries, 4)));
    }
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
    case 'streamChunks':
      // From the chunk holding `from` (the greatest pos at or below it) to those starting before `to`.
      return rows(
        c,
        'SELECT pos, records FROM warren.stream_chunks WHERE queue_id = $1 AND pos < $3 AND ' +
          'pos >= coalesce((SELECT max(pos) FROM warren.stream_chunks WHERE queue_id = $1 AND pos <= $2), 0) ORDER BY pos',
        [req['queue'], req['from'], req['to']],
      );
    case 'streamLayout':
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        return {
          segments: await rows(
            c,
            'SELECT segment, min(pos), sum(bytes)::bigint, sum(last_offset - first_offset + 1)::bigint, min(first_ts), max(last_ts) FROM warren.stream_chunks WHERE queue_id = $1 GROUP BY segment ORDER BY segment',
            [req['queue']],
          ),
          index: await rows(
            c,
            'SELECT DISTINCT ON (segment, pos / 65536) segment, pos, first_offset, first_ts FROM warren.stream_chunks WHERE queue_id = $1 ORDER BY segment, pos / 65536, pos',
            [req['queue']],
          ),
        };
      } finally {
        await c.query('COMMIT');
      }
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

/** Whether a connection still reaches the primary (always true when any host will do). */
async function stillPrimary(c: pg.Client): Promise<boolean> {
  if (!target.primaryOnly) return true;
  try {
    return (await c.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]?.r === false;
  } catch {
    return false;
  }
}

async function start(): Promise<void> {
  try {
    let c = await connect();
    await migrate(c);
    if (init.deferred === true) {
      writer = c;
      reader = await connect();
      // A cheap round trip on each, so the first real ones are not the connections' first.
      await Promise.all([writer.query('SELECT 1 FROM warren.leases LIMIT 1'), reader.query('SELECT 1 FROM warren.entries LIMIT 1')]);
      parentPort!.postMessage({ t: 'warm' } satisfies PgWorkerEvent);
      const f = await new Promise<Fence>((resolve) => {
        activate = resolve;
      });
      fence = f;
      // A connection lost while standing by (idle for hours), or left on a server that has
      // since become a standby (a PostgreSQL failover meanwhile), is opened again here.
      if (writer !== null && !(await stillPrimary(writer))) drop(writer);
      if (reader !== null && !(await stillPrimary(reader))) drop(reader);
      c = writer ?? (writer = await connect());
    }
    // Our row for commit outcomes (see the top); rows of writers gone for a day are removed
    // (after a standby's activation: a standby may wait longer than a day).
    await c.query("DELETE FROM warren.commits WHERE at < now() - interval '1 day'");
    await c.query('INSERT INTO warren.commits (writer, batch, at) VALUES ($1, 0, now())', [WRITER]);
    const queues = (await c.query<{ id: number; vhost: Buffer; name: Buffer }>('SELECT id, vhost, name FROM warren.queues')).rows.map((q) => ({
      id: q.id,
      vhost: q.vhost.toString('utf8'),
      name: q.name.toString('utf8'),
    }));
    const max = (await rows(c, 'SELECT (SELECT coalesce(max(id), 0) FROM warren.queues), (SELECT coalesce(max(id), 0) FROM warren.messages), (SELECT coalesce(max(id), 0) FROM warren.delayed)'))[0]!;
    writer = c;
    reader ??= await connect();
    const ready: PgWorkerEvent = { t: 'ready', queues, maxQueueId: Number(max[0]), maxMessageId: Number(max[1]), maxDelayedId: Number(max[2]) };
    parentPort!.postMessage(ready);
  } catch (e) {
    const event: PgWorkerEvent = { t: 'error', message: (e as Error).message };
    parentPort!.postMessage(event);
  }
}

let activate: ((f: Fence) => void) | null = null;

// Batches arrive one at a time (the store sends the next after this one's reply).
parentPort!.on('message', (req: { id: number; buffer: ArrayBuffer; length: number } | 'close' | { t: 'activate'; fence: Fence }) => {
  if (typeof req === 'object' && 't' in req) {
    activate?.(req.fence);
    return;
  }
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
