// The store's writer thread. It applies each batch of writes in one SQLite transaction and
// commits it durably (WAL, synchronous=FULL: the commit returns after fsync), so the broker's
// event loop never waits on the disk. Replies { id, ok } or { id, ok: false, code, message }.
// WAL checkpoints run here after the reply is posted, never inside a commit (see checkpoint()).

import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import {
  BatchReader,
  OP_BINDING_DEL,
  OP_BINDING_PUT,
  OP_DELAYED_DEL,
  OP_DELAYED_DROP,
  OP_DELAYED_PUT,
  OP_ENTRY_DEL,
  OP_ENTRY_MARK,
  OP_ENTRY_PUT,
  OP_EXCHANGE_DEL,
  OP_EXCHANGE_PUT,
  OP_MESSAGE_PUT,
  OP_QUEUE_DEL,
  OP_QUEUE_PURGE,
  OP_QUEUE_PUT,
  OP_PERMISSION_DEL,
  OP_PERMISSION_PUT,
  OP_LIMITS_PUT,
  OP_POLICY_PUT,
  OP_READER_DEL,
  OP_READER_PUT,
  OP_USER_DEL,
  OP_USER_PUT,
  OP_VHOST_DEL,
  OP_VHOST_PUT,
} from '../batch.js';
import type { BatchReply } from '../batched-store.js';
import { EntryRuns } from './entry-runs.js';
import { IdleSteps } from './idle-steps.js';
import { tuneConnection } from './schema.js';
import { writerToBatchPolicy } from './writer-sched.js';
import { threadCpuTimes, TRACE_ENV, traceNow } from '../batch-trace.js';

export interface WorkerInit {
  readonly path: string;
  /** Cap on the database file size in bytes (0: none); writes beyond it fail as on a full disk. */
  readonly maxBytes: number;
}

export interface BatchRequest {
  readonly id: number;
  readonly buffer: ArrayBuffer;
  readonly length: number;
}


const init = workerData as WorkerInit;
// Not preempting the event loop when a batch arrives (writer-sched.ts); a failure is harmless.
// Its nice value stays the event loop's: ten steps lower (util/thread-priority.ts), the drain of
// a 200k persistent backlog peaked at 164-177 MiB against 121-136 (2026-12-05, README "Latency
// under load").
writerToBatchPolicy();
const db = new Database(init.path);
tuneConnection(db);
db.pragma('journal_size_limit = 67108864');
db.pragma('busy_timeout = 5000');
// SQLite's automatic checkpoint runs inside the COMMIT that crosses 1000 WAL pages, so one
// batch in every few dozen waited for the database file to be written and fsynced before its
// confirms could go out. checkpoint() does the same work after replying instead.
db.pragma('wal_autocheckpoint = 0');
// This database's own page size: 16 KiB when created by this version, 4 KiB before.
const pageSize = db.pragma('page_size', { simple: true }) as number;
if (init.maxBytes > 0) db.pragma(`max_page_count = ${Math.max(16, Math.floor(init.maxBytes / pageSize))}`);

const st = {
  exchangePut: db.prepare('INSERT OR REPLACE INTO exchanges (vhost, name, type, auto_delete, internal, arguments) VALUES (?, ?, ?, ?, ?, ?)'),
  exchangeDel: db.prepare('DELETE FROM exchanges WHERE vhost = ? AND name = ?'),
  exchangeBindingsDel: db.prepare(
    "DELETE FROM bindings WHERE vhost = ? AND (source = ? OR (destination_kind = 'exchange' AND destination = ?))",
  ),
  queuePut: db.prepare('INSERT OR REPLACE INTO queues (id, vhost, name, auto_delete, arguments) VALUES (?, ?, ?, ?, ?)'),
  queueRowDel: db.prepare('DELETE FROM queues WHERE id = ?'),
  queueBindingsDel: db.prepare("DELETE FROM bindings WHERE vhost = ? AND destination_kind = 'queue' AND destination = ?"),
  queueRefsDec: db.prepare('UPDATE messages SET refs = refs - 1 WHERE id IN (SELECT msg_id FROM entries WHERE queue_id = ?)'),
  queueMessagesDel: db.prepare('DELETE FROM messages WHERE refs <= 0 AND id IN (SELECT msg_id FROM entries WHERE queue_id = ?)'),
  queueEntriesDel: db.prepare('DELETE FROM entries WHERE queue_id = ?'),
  queueSoloDel: db.prepare('DELETE FROM solo_entries WHERE queue_id = ?'),
  bindingPut: db.prepare(
    'INSERT OR REPLACE INTO bindings (key, vhost, source, destination, destination_kind, routing_key, arguments) VALUES (?, ?, ?, ?, ?, ?, ?)',
  ),
  bindingDel: db.prepare('DELETE FROM bindings WHERE key = ?'),
  messagePut: db.prepare('INSERT INTO messages (id, refs, exchange, routing_key, header, body) VALUES (?, ?, ?, ?, ?, ?)'),
  entryPut: db.prepare(
    'INSERT INTO entries (queue_id, seq, msg_id, delivered, size, multi, priority, expires_at, delivery_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  ),
  entryDel: db.prepare('DELETE FROM entries WHERE queue_id = ? AND seq = ?'),
  entryDelRange: db.prepare('DELETE FROM entries WHERE queue_id = ? AND seq BETWEEN ? AND ?'),
  messageDelRange: db.prepare('DELETE FROM messages WHERE id BETWEEN ? AND ?'),
  messageDel: db.prepare('DELETE FROM messages WHERE id = ?'),
  messageRefDec: db.prepare('UPDATE messages SET refs = refs - 1 WHERE id = ?'),
  messageDelUnreferenced: db.prepare('DELETE FROM messages WHERE id = ? AND refs <= 0'),
  entryMark: db.prepare('UPDATE entries SET delivered = 1, delivery_count = ? WHERE queue_id = ? AND seq = ?'),
  entryMarkRange: db.prepare('UPDATE entries SET delivered = 1, delivery_count = ? WHERE queue_id = ? AND seq BETWEEN ? AND ?'),
  soloPut: db.prepare('INSERT INTO solo_entries (id, queue_id, seq, size, priority, expires_at, message) VALUES (?, ?, ?, ?, ?, ?, ?)'),
  soloDel: db.prepare('DELETE FROM solo_entries WHERE id = ?'),
  soloDelRange: db.prepare('DELETE FROM solo_entries WHERE id BETWEEN ? AND ?'),
  soloMarkPut: db.prepare('INSERT OR REPLACE INTO solo_marks (id, delivery_count) VALUES (?, ?)'),
  soloMarkDel: db.prepare('DELETE FROM solo_marks WHERE id = ?'),
  soloMarkDelRange: db.prepare('DELETE FROM solo_marks WHERE id BETWEEN ? AND ?'),
  soloMark: db.prepare('INSERT OR REPLACE INTO solo_marks (id, delivery_count) SELECT id, ? FROM solo_entries WHERE queue_id = ? AND seq = ?'),
  soloMarkRange: db.prepare(
    'INSERT OR REPLACE INTO solo_marks (id, delivery_count) SELECT id, ? FROM solo_entries WHERE queue_id = ? AND seq BETWEEN ? AND ?',
  ),
  queueSoloMarksDel: db.prepare('DELETE FROM solo_marks WHERE id IN (SELECT id FROM solo_entries WHERE queue_id = ?)'),
  userPut: db.prepare('INSERT OR REPLACE INTO users (name, password_hash, hashing_algorithm, tags) VALUES (?, ?, ?, ?)'),
  userDel: db.prepare('DELETE FROM users WHERE name = ?'),
  vhostPut: db.prepare('INSERT OR REPLACE INTO vhosts (name, description, tags) VALUES (?, ?, ?)'),
  vhostDel: db.prepare('DELETE FROM vhosts WHERE name = ?'),
  permissionPut: db.prepare('INSERT OR REPLACE INTO permissions (user, vhost, configure, write, read) VALUES (?, ?, ?, ?, ?)'),
  permissionDel: db.prepare('DELETE FROM permissions WHERE user = ? AND vhost = ?'),
  limitsPut: db.prepare('INSERT OR REPLACE INTO limits (scope, name, value) VALUES (?, ?, ?)'),
  limitsDel: db.prepare('DELETE FROM limits WHERE scope = ? AND name = ?'),
  policyPut: db.prepare('INSERT OR REPLACE INTO policies (kind, vhost, name, value) VALUES (?, ?, ?, ?)'),
  policyDel: db.prepare('DELETE FROM policies WHERE kind = ? AND vhost = ? AND name = ?'),
  readerPut: db.prepare('INSERT OR REPLACE INTO stream_readers (vhost, stream, reader, offset) VALUES (?, ?, ?, ?)'),
  readerDel: db.prepare('DELETE FROM stream_readers WHERE vhost = ? AND stream = ? AND reader = ?'),
  queueReadersDel: db.prepare('DELETE FROM stream_readers WHERE vhost = ? AND stream = ?'),
  delayedPut: db.prepare('INSERT INTO delayed (id, vhost, exchange, due_at, message) VALUES (?, ?, ?, ?, ?)'),
  delayedDel: db.prepare('DELETE FROM delayed WHERE id = ?'),
  delayedDrop: db.prepare('DELETE FROM delayed WHERE vhost = ? AND exchange = ? AND id < ?'),
};

function dropQueueEntries(queueId: number): void {
  st.queueSoloMarksDel.run(queueId);
  st.queueSoloDel.run(queueId);
  st.queueRefsDec.run(queueId);
  st.queueMessagesDel.run(queueId);
  st.queueEntriesDel.run(queueId);
}

/** Byte length of an OP_ENTRY_PUT after its op code. */
const ENTRY_PUT_BYTES = 4 + 8 + 8 + 1 + 4 + 1 + 1 + 8 + 4;

/**
 * OP_MESSAGE_PUT (its op code read). A message held by one queue is followed by its one entry
 * (BatchedStore.appendMessage queues a message's insert right before its entries', and encodeOp
 * leaves the cancelled ones out): both go in one solo_entries row, the message's four
 * length-prefixed fields bound as they sit in the batch. Otherwise (shared, or an entry that
 * is not next) a messages row, as before schema 5.
 */
function putMessage(r: BatchReader): void {
  const id = r.u64();
  const refs = r.u32();
  const start = r.pos;
  for (let f = 0; f < 4; f++) r.skip(r.u32());
  const end = r.pos;
  if (refs === 1 && r.remaining > ENTRY_PUT_BYTES && r.buf[end] === OP_ENTRY_PUT) {
    r.pos = end + 1;
    const q = r.u32();
    const seq = r.u64();
    const msgId = r.u64();
    const delivered = r.u8();
    const size = r.u32();
    if (msgId === id && r.u8() === 0) {
      st.soloPut.run(id, q, seq, size, r.u8(), r.u64(), r.buf.subarray(start, end));
      const count = r.u32();
      if (delivered !== 0) st.soloMarkPut.run(id, count);
      return;
    }
  }
  r.pos = start;
  st.messagePut.run(id, refs, r.str(), r.str(), r.longstrBytes(), r.longstrBytes());
}

const entryRuns = new EntryRuns(st);

/** WARREN_STORE_TRACE (batch-trace.ts): each reply carries the writer's timestamps. */
const tracing = (process.env[TRACE_ENV] ?? '') !== '';
/** When the last batch's statements were done, before its COMMIT (traced only). */
let appliedAt = 0;

const apply = db.transaction((r: BatchReader) => {
  applyOps(r);
  if (tracing) appliedAt = traceNow();
});

function applyOps(r: BatchReader): void {
  while (r.remaining > 0) {
    const op = r.u8();
    switch (op) {
      case OP_EXCHANGE_PUT:
        st.exchangePut.run(r.str(), r.str(), r.str(), r.u8(), r.u8(), r.longstrBytes());
        break;
      case OP_EXCHANGE_DEL: {
        const vhost = r.str();
        const name = r.str();
        st.exchangeDel.run(vhost, name);
        st.exchangeBindingsDel.run(vhost, name, name);
        break;
      }
      case OP_QUEUE_PUT:
        st.queuePut.run(r.u32(), r.str(), r.str(), r.u8(), r.longstrBytes());
        break;
      case OP_QUEUE_DEL: {
        const id = r.u32();
        const vhost = r.str();
        const name = r.str();
        dropQueueEntries(id);
        st.queueRowDel.run(id);
        st.queueBindingsDel.run(vhost, name);
        st.queueReadersDel.run(vhost, name);
        break;
      }
      case OP_QUEUE_PURGE:
        dropQueueEntries(r.u32());
        break;
      case OP_BINDING_PUT:
        st.bindingPut.run(r.str(), r.str(), r.str(), r.str(), r.str(), r.str(), r.longstrBytes());
        break;
      case OP_BINDING_DEL:
        st.bindingDel.run(r.str());
        break;
      case OP_MESSAGE_PUT:
        putMessage(r);
        break;
      case OP_ENTRY_PUT:
        st.entryPut.run(r.u32(), r.u64(), r.u64(), r.u8(), r.u32(), r.u8(), r.u8(), r.u64(), r.u32());
        break;
      case OP_ENTRY_DEL:
      case OP_ENTRY_MARK:
        entryRuns.applyFrom(r, op);
        break;
      case OP_USER_PUT:
        st.userPut.run(r.str(), r.str(), r.str(), r.str());
        break;
      case OP_USER_DEL:
        st.userDel.run(r.str());
        break;
      case OP_VHOST_PUT:
        st.vhostPut.run(r.str(), r.str(), r.str());
        break;
      case OP_VHOST_DEL:
        st.vhostDel.run(r.str());
        break;
      case OP_PERMISSION_PUT:
        st.permissionPut.run(r.str(), r.str(), r.str(), r.str(), r.str());
        break;
      case OP_PERMISSION_DEL:
        st.permissionDel.run(r.str(), r.str());
        break;
      case OP_LIMITS_PUT: {
        const scope = r.str();
        const name = r.str();
        const value = r.str();
        if (value === '{}') st.limitsDel.run(scope, name);
        else st.limitsPut.run(scope, name, value);
        break;
      }
      case OP_READER_PUT:
        st.readerPut.run(r.str(), r.str(), r.str(), r.u64());
        break;
      case OP_READER_DEL:
        st.readerDel.run(r.str(), r.str(), r.str());
        break;
      case OP_POLICY_PUT: {
        const kind = r.str();
        const vhost = r.str();
        const name = r.str();
        const value = r.str();
        if (value === '') st.policyDel.run(kind, vhost, name);
        else st.policyPut.run(kind, vhost, name, value);
        break;
      }
      case OP_DELAYED_PUT:
        st.delayedPut.run(r.u64(), r.str(), r.str(), r.u64(), r.longstrBytes());
        break;
      case OP_DELAYED_DEL:
        st.delayedDel.run(r.u64());
        break;
      case OP_DELAYED_DROP:
        st.delayedDrop.run(r.str(), r.str(), r.u64());
        break;
      default:
        throw new Error(`unknown store op ${op}`);
    }
  }
}

/**
 * After draining a big backlog the file is mostly free pages: give them back a little at a
 * time (32 MiB free and a quarter of the file at least; 16 MiB a step). True if it did a step.
 */
function reclaimSpace(): boolean {
  const free = db.pragma('freelist_count', { simple: true }) as number;
  if (free * pageSize < 32 * 1024 * 1024) return false;
  const total = db.pragma('page_count', { simple: true }) as number;
  if (free * 4 < total) return false;
  db.pragma(`incremental_vacuum(${Math.ceil((16 * 1024 * 1024) / pageSize)})`);
  return true;
}

/**
 * Space is reclaimed only once no batch came for this long. During a drain the free pages are
 * at the front of the file and the rest of the backlog at its end, so each step moved live
 * pages that were about to be deleted: 46 % of the writer's time in (h)'s drain (profile in
 * the README), on the core the event loop needs.
 */
const RECLAIM_IDLE_MS = 1000;

/** One reclaiming step; true while there is more to give back. */
function reclaimStep(): boolean {
  try {
    if (!reclaimSpace()) return false;
    sinceCheckpoint = CHECKPOINT_BYTES;
    checkpoint();
    return true;
  } catch {
    // Retried when the writer is next idle; nothing is lost (committed pages stay in the WAL).
    return false;
  }
}

const reclaimWhenIdle = new IdleSteps(RECLAIM_IDLE_MS, reclaimStep);

/** Batch bytes committed since the last checkpoint (a stand-in for the WAL's growth). */
let sinceCheckpoint = 0;
/** About as much as SQLite's default of 1000 pages of WAL between checkpoints. */
export const CHECKPOINT_BYTES = 4 * 1024 * 1024;

/**
 * Copies committed WAL pages into the database file once enough was written. PASSIVE: it never
 * waits for the main thread's readers; what it could not copy is copied next time. Run after
 * the reply is posted, so no confirm waits for it.
 */
function checkpoint(): void {
  if (sinceCheckpoint < CHECKPOINT_BYTES) return;
  db.pragma('wal_checkpoint(PASSIVE)');
  sinceCheckpoint = 0;
}

const reader = new BatchReader(Buffer.alloc(0));

function cpuSince(at: [number, number]): [number, number] {
  const now = threadCpuTimes();
  return [now[0] - at[0], now[1] - at[1]];
}

parentPort!.on('message', (req: BatchRequest | 'close') => {
  if (req === 'close') {
    reclaimWhenIdle.close();
    db.close();
    parentPort!.postMessage('closed');
    return;
  }
  let reply: BatchReply;
  const start = performance.now();
  const got = tracing ? traceNow() : 0;
  const cpuAtGot = tracing ? threadCpuTimes() : null;
  try {
    reader.reset(Buffer.from(req.buffer, 0, req.length), 0, req.length);
    apply(reader);
    const writerUs = Math.round((performance.now() - start) * 1000);
    reply = tracing ? { id: req.id, ok: true, buffer: req.buffer, writerUs, stamps: [got, appliedAt, traceNow(), 0, ...cpuSince(cpuAtGot!)] } : { id: req.id, ok: true, buffer: req.buffer, writerUs };
  } catch (e) {
    const err = e as Error & { code?: string };
    reply = { id: req.id, ok: false, code: err.code ?? 'ERROR', message: err.message, buffer: req.buffer };
  }
  // The batch's buffer goes back with the reply (transferred, not copied) for the next batch.
  parentPort!.postMessage(reply, [req.buffer]);
  reclaimWhenIdle.busy();
  if (reply.ok) {
    sinceCheckpoint += req.length;
    try {
      checkpoint();
    } catch {
      // Checkpointing is retried after the next batch (reclaiming when the writer is next
      // idle); a failure here (disk full) loses nothing: committed pages stay in the WAL until
      // a checkpoint copies them.
    }
  }
});
