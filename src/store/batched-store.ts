// The write side shared by the durable stores (SQLite, PostgreSQL): writes are grouped.
//
// Everything the broker asks for while one batch is being committed waits in `#pending`, and
// goes out as the next batch, one transaction for all of it. An entry acknowledged before its
// insert went out cancels both (no database work at all). The event loop only encodes batches
// (ops.ts, one transferable buffer); a writer off the event loop commits them and the
// subclass hands its reply to `handleReply`. Messages not yet committed are found in memory
// first; a subclass reads the rest from its database.

import type { Logger } from 'pino';
import type { Message } from '../message.js';
import {
  type Definitions,
  type ReaderOffsetRecord,
  type QueueKey,
  type QueueRecord,
  type Store,
  type ScheduledMessage,
  type StoreBatchStats,
  type ScheduleKey,
  type StoredEntry,
  type StoreEntry,
  type StreamChunkWrite,
  type WriteRange,
} from './store.js';
import {
  BatchWriter,
  OP_DELAYED_DEL,
  OP_DELAYED_DROP,
  OP_DELAYED_PUT,
  OP_ENTRY_DEL,
  OP_ENTRY_MARK,
  OP_ENTRY_PUT,
  OP_MESSAGE_PUT,
  OP_QUEUE_DEL,
  OP_QUEUE_PUT,
  OP_STREAM_CHUNK,
  OP_STREAM_TRIM,
} from './batch.js';
import {
  COMMITTED,
  DELIVERED_EARLY,
  encodeDelayedOp,
  encodeOp,
  FAILED,
  MARK_QUEUED,
  MARKED,
  ON_DISK,
  PENDING_INSERT,
  STATE_MASK,
  cancelled,
  type DelayedOp,
  type Op,
} from './ops.js';
import { DefinitionWrites } from './definition-writes.js';
import { ScheduledBook, type ScheduledReads } from './scheduled.js';
import { ACK_WAIT_MS, HELD, HOLD_MAX_BYTES, holdDelivered, unhold, WriteHold } from './write-hold.js';
import { estimateSize, SPARE_MAX, type BatchReply, type InFlight } from './in-flight.js';
import { dropSettledMarks, isSettledMark, SETTLED_MARK, SETTLED_SCAN_MIN } from './settled-marks.js';
import { PendingById } from './pending-by-id.js';
import { BatchTrace, traceNow } from './batch-trace.js';

export type { BatchReply } from './in-flight.js';

/** What a store finds in its database when it opens. */
export interface StoredIds {
  readonly queues: Iterable<{ readonly id: number; readonly vhost: string; readonly name: string }>;
  readonly maxQueueId: number;
  readonly maxMessageId: number;
}

export abstract class BatchedStore extends DefinitionWrites implements Store {
  protected readonly log: Logger;
  readonly #queueIds = new Map<string, number>();
  #nextQueueId = 1;
  #nextMessageId = 1;
  #writeSeq = 0;
  #durableSeq = 0;
  #pending: Op[] = [];
  /** Marks in #pending whose entry was acknowledged since the last look (settled-marks.ts). */
  #settledMarks = 0;
  /** By store id, not a Map: see pending-by-id.ts. */
  readonly #pendingMessages = new PendingById<Message>();
  /** Body bytes of #pendingMessages, and stream bytes not yet sealed (unsettledBytes). */
  #pendingBytes = 0;
  #streamBytes = 0;
  /** Writes up to this sequence may go out with the next batch; later ones are held or not looked at yet. */
  #released = 0;
  /** Writes up to this sequence were looked at (held or released). */
  #seen = 0;
  readonly #hold: WriteHold;
  #inflightBytes = 0;
  #inflight: InFlight | null = null;
  /** When the batch in flight was handed to the writer (performance.now()). */
  #sentAt = 0;
  readonly #stats: StoreBatchStats = { batches: 0, messagesWritten: 0, insertsCancelled: 0, batchesEmpty: 0, holds: 0, holdsExpired: 0, writesAckedEarly: 0, commitSeconds: 0, writerSeconds: 0 };
  #nextBatchId = 1;
  #tickScheduled = false;
  /** The last batch's buffer, handed back by the writer for the next batch. */
  #spare: ArrayBuffer | null = null;
  /** Messages whose insert failed: kept in memory (their publishers were nacked). */
  readonly #failed = new Map<number, Message>();
  readonly #listeners: ((durableSeq: number, failed: WriteRange | null) => void)[] = [];
  #closing: Promise<void> | null = null;
  #idleWaiters: (() => void)[] = [];
  #lastWriteError = '';
  /** Scheduled messages (delayed exchanges). */
  readonly #scheduled: ScheduledBook;

  readonly #fatal: ((err: unknown, what: string) => void) | null;
  /** Per-batch timestamps when WARREN_STORE_TRACE is set (batch-trace.ts); null otherwise. */
  readonly #trace = BatchTrace.fromEnv();

  /** `ackWaitMs`: how long a batch of delivered inserts may wait for their acks (write-hold.ts; 0: never). */
  protected constructor(ids: StoredIds, scheduled: ScheduledReads, log: Logger, fatal: ((err: unknown, what: string) => void) | null, ackWaitMs = ACK_WAIT_MS) {
    super();
    this.#hold = new WriteHold(ackWaitMs, () => {
      this.#stats.holdsExpired++;
      this.#endHold();
    });
    this.#fatal = fatal;
    this.log = log;
    this.#nextQueueId = ids.maxQueueId + 1;
    this.#nextMessageId = ids.maxMessageId + 1;
    for (const row of ids.queues) this.#queueIds.set(queueKey(row.vhost, row.name), row.id);
    this.#scheduled = new ScheduledBook(scheduled, (op) => this.#push(op));
  }

  /** Hands an encoded batch to the writer; its reply goes to handleReply. */
  protected abstract sendBatch(id: number, buffer: ArrayBuffer, length: number): void;
  /** A committed message, from the database. */
  protected abstract readStoredMessage(storeId: number): Message | undefined;
  abstract loadDefinitions(): Definitions;
  abstract loadReaderOffsets(): ReaderOffsetRecord[];
  abstract loadEntries(queue: QueueKey): Iterable<StoredEntry>;
  abstract countMessages(queue: QueueKey): number;
  /** Releases the writer and the database, once idle (close() waits for that). */
  protected abstract release(): Promise<void>;

  /** The writer failed in a way that leaves the store's state unknown. */
  protected fail(err: unknown, what: string): void {
    if (this.#fatal) this.#fatal(err, what);
    else this.log.error({ err }, what);
  }

  saveQueue(r: QueueRecord): void {
    const key = queueKey(r.vhost, r.name);
    let id = this.#queueIds.get(key);
    if (id === undefined) {
      id = this.#nextQueueId++;
      this.#queueIds.set(key, id);
    }
    this.#push({ k: OP_QUEUE_PUT, id, r });
  }

  deleteQueue(vhost: string, name: string): void {
    const key = queueKey(vhost, name);
    const id = this.#queueIds.get(key);
    if (id === undefined) return;
    this.#queueIds.delete(key);
    this.#push({ k: OP_QUEUE_DEL, id, vhost, name });
  }

  // ---- stream chunks (used by stores that keep streams: see StreamChunkStore) ---------------

  appendStreamChunk(w: StreamChunkWrite): void {
    const q = this.queueId(w.queue);
    if (q !== 0) this.#push({ k: OP_STREAM_CHUNK, q, w });
  }

  noteStreamBytes(n: number): void {
    this.#streamBytes += n;
  }

  trimStream(queue: QueueKey, below: number): void {
    const q = this.queueId(queue);
    if (q !== 0) this.#push({ k: OP_STREAM_TRIM, q, below });
  }

  // ---- messages --------------------------------------------------------------------------

  appendMessage(queue: QueueKey, entry: StoreEntry, msg: Message): void {
    const q = this.queueId(queue);
    if (q === 0) return;
    if (msg.storeId === 0) {
      msg.storeId = this.#nextMessageId++;
      this.#pendingMessages.set(msg.storeId, msg);
      this.#pendingBytes += msg.size;
      this.#push({ k: OP_MESSAGE_PUT, m: msg });
    }
    msg.storeRefs++;
    entry.storeId = msg.storeId;
    entry.storeState = PENDING_INSERT;
    this.#push({ k: OP_ENTRY_PUT, q, e: entry });
  }

  removeMessage(queue: QueueKey, entry: StoreEntry): void {
    const bits = entry.storeState;
    const state = bits & STATE_MASK;
    entry.storeState = 0;
    if (state === PENDING_INSERT) {
      // Never went out: drop the insert (and the message's, if nothing else holds it).
      this.#stats.insertsCancelled++;
      if ((bits & HELD) !== 0) {
        // The last ack a hold waited for: its batch may go now (likely with nothing to write).
        if (--this.#hold.open === 0) this.#endHold();
        // Else the acked front of the hold may be durable already (#releaseAcked, next turn).
        else this.#scheduleTick();
      }
      const m = this.#pendingMessages.get(entry.storeId);
      if (m !== undefined && --m.storeRefs === 0) {
        this.#pendingMessages.delete(entry.storeId);
        this.#pendingBytes -= m.size;
      }
      return;
    }
    if (state === FAILED) {
      this.#forgetFailed(entry.storeId);
      return;
    }
    if (state !== ON_DISK) return;
    // Its delivered-mark, still pending, would keep the entry reachable until its batch's reply.
    if ((bits & MARK_QUEUED) !== 0 && ++this.#settledMarks >= Math.max(SETTLED_SCAN_MIN, this.#pending.length >> 2)) {
      dropSettledMarks(this.#pending);
      this.#settledMarks = 0;
    }
    const q = this.queueId(queue);
    if (q === 0) return;
    this.#push({ k: OP_ENTRY_DEL, q, seq: entry.seq, id: entry.storeId, multi: entry.storeMulti });
  }

  markDelivered(queue: QueueKey, entry: StoreEntry): void {
    const state = entry.storeState & STATE_MASK;
    if (state === PENDING_INSERT) {
      entry.storeState |= DELIVERED_EARLY;
    } else if (state === ON_DISK && (entry.storeState & MARK_QUEUED) === 0 && ((entry.storeState & MARKED) === 0 || entry.deliveryCount > 0)) {
      const q = this.queueId(queue);
      if (q === 0) return;
      entry.storeState |= MARK_QUEUED;
      this.#push({ k: OP_ENTRY_MARK, q, e: entry });
    }
  }

  isSettled(entry: StoreEntry): boolean {
    return (entry.storeState & (STATE_MASK | COMMITTED | MARK_QUEUED)) === (ON_DISK | COMMITTED);
  }

  readMessage(storeId: number): Message | undefined {
    return this.#inMemory(storeId) ?? this.readStoredMessage(storeId);
  }

  readMessages(storeIds: readonly number[]): (Message | undefined)[] {
    const out: (Message | undefined)[] = new Array<Message | undefined>(storeIds.length);
    const missing: number[] = [];
    for (let i = 0; i < storeIds.length; i++) {
      const m = this.#inMemory(storeIds[i]!);
      out[i] = m;
      if (m === undefined) missing.push(storeIds[i]!);
    }
    if (missing.length === 0) return out;
    const read = this.readStoredMessages(missing);
    for (let i = 0, k = 0; i < out.length; i++) if (out[i] === undefined) out[i] = read[k++];
    return out;
  }

  /**
   * A message not yet committed (or whose insert failed), from memory. Copied out of the socket
   * read it may still be a view of (see Store.appendMessage): whoever asked keeps it.
   */
  #inMemory(storeId: number): Message | undefined {
    const m = this.#pendingMessages.get(storeId) ?? this.#inflight?.messages.get(storeId) ?? this.#failed.get(storeId);
    m?.detach();
    return m;
  }

  /** Several committed messages, in order; a subclass may read them in one query. */
  protected readStoredMessages(storeIds: readonly number[]): (Message | undefined)[] {
    return storeIds.map((id) => this.readStoredMessage(id));
  }

  // ---- scheduled messages ----------------------------------------------------------------

  scheduleMessage(vhost: string, exchange: string, dueAt: number, msg: Message): number {
    return this.#scheduled.schedule(vhost, exchange, dueAt, msg);
  }

  removeScheduled(id: number): void {
    this.#scheduled.remove(id);
  }

  loadScheduled(vhost: string, exchange: string, after: ScheduleKey | null, limit: number, maxBytes = Infinity): ScheduledMessage[] {
    return this.#scheduled.load(vhost, exchange, after, limit, maxBytes);
  }

  countScheduled(vhost: string, exchange: string): number {
    return this.#scheduled.count(vhost, exchange);
  }

  dropScheduled(vhost: string, exchange: string): void {
    const below = this.#scheduled.drop(vhost, exchange);
    this.#push({ k: OP_DELAYED_DROP, vhost, exchange, below });
  }

  // ---- durability ------------------------------------------------------------------------

  get writeSeq(): number {
    return this.#writeSeq;
  }

  get durableSeq(): number {
    return this.#durableSeq;
  }

  get batchStats(): Readonly<StoreBatchStats> {
    return this.#stats;
  }

  get unsettledBytes(): number {
    return this.#pendingBytes + this.#streamBytes + this.#inflightBytes;
  }

  onDurable(listener: (durableSeq: number, failed: WriteRange | null) => void): void {
    this.#listeners.push(listener);
  }

  /** The listeners above run after every commit (and every batch found empty), so: the same. */
  onSettled(listener: () => void): void {
    this.#listeners.push(() => listener());
  }

  /** Resolves once everything written so far is committed (or failed). */
  whenIdle(): Promise<void> {
    if (this.#inflight === null && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  close(): Promise<void> {
    this.#endHold();
    this.#closing ??= this.whenIdle().then(() => {
      this.#trace?.close();
      return this.release();
    });
    return this.#closing;
  }

  // ---- batching --------------------------------------------------------------------------

  protected queueId(queue: QueueKey): number {
    if (queue.storeQueueId === 0) queue.storeQueueId = this.#queueIds.get(queueKey(queue.vhost, queue.name)) ?? 0;
    return queue.storeQueueId;
  }

  protected pushOp(op: Op): void {
    this.#push(op);
  }

  #push(op: Op): void {
    this.#pending.push(op);
    this.#writeSeq++;
    if (this.#trace !== null) this.#trace.pushed();
    this.#scheduleTick();
  }

  #scheduleTick(): void {
    if (!this.#tickScheduled) {
      this.#tickScheduled = true;
      setImmediate(this.#tick);
    }
  }

  // Once a turn: decide about the writes queued since the last look, then send what may go.
  readonly #tick = (): void => {
    this.#tickScheduled = false;
    this.#consider();
    if (this.#inflight === null) {
      this.#releaseAcked();
      this.#send();
    }
  };

  /**
   * During a hold, with nothing in flight: the writes at the front of the queue whose entries
   * were all acknowledged (cancelled: nothing left to write) are durable now, so the confirms
   * waiting for them go out at once rather than when the hold's last ack comes. With acks in
   * order, confirms then follow the consumer's acks one turn later instead of in one burst per
   * hold. Once a turn (the tick), so listeners run at most once a turn.
   */
  #releaseAcked(): void {
    const hold = this.#hold;
    if (hold.until === 0) return;
    const pending = this.#pending;
    const held = pending.length - (this.#writeSeq - hold.until);
    let k = 0;
    while (k < held && cancelled(pending[k]!)) k++;
    if (k === 0) return;
    pending.splice(0, k);
    const durable = this.#writeSeq - pending.length;
    if (durable <= this.#durableSeq) return;
    if (this.#released < durable) this.#released = durable;
    this.#durableSeq = durable;
    this.#stats.writesAckedEarly += k;
    for (const l of this.#listeners) l(durable, null);
  }

  /** Holds the writes not looked at yet if some are inserts already delivered, else releases them. */
  #consider(): void {
    const hold = this.#hold;
    if (hold.until !== 0) {
      if (this.#pendingBytes > HOLD_MAX_BYTES) this.#endHold();
      return;
    }
    const upTo = this.#writeSeq;
    if (this.#seen === upTo) return;
    const pending = this.#pending;
    const from = pending.length - (upTo - this.#seen);
    this.#seen = upTo;
    const open = hold.waitMs > 0 && this.#pendingBytes <= HOLD_MAX_BYTES ? holdDelivered(pending, from, pending.length) : 0;
    if (open > 0) {
      this.#stats.holds++;
      hold.begin(upTo, open);
    } else this.#released = upTo;
  }

  /** The hold is over (its acks came, its time ran out, or the store closes): its writes may go. */
  #endHold(): void {
    const hold = this.#hold;
    if (hold.until === 0) return;
    if (hold.open > 0) unhold(this.#pending, this.#pending.length - (this.#writeSeq - hold.until));
    this.#released = hold.end();
    this.#scheduleTick();
  }

  /** Sends the released writes as one batch; with nothing left to write, they are durable at once. */
  #send(): void {
    const pending = this.#pending;
    const n = pending.length - (this.#writeSeq - this.#released);
    if (n <= 0) return;
    let ops = pending;
    if (n === pending.length) {
      this.#pending = [];
      this.#settledMarks = 0;
    } else {
      ops = pending.slice(0, n);
      this.#pending = pending.slice(n);
    }
    const messages = new Map<number, Message>();
    const delayed: DelayedOp[] = [];
    const w = new BatchWriter(estimateSize(ops), this.#spare);
    this.#spare = null;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (op.k === OP_DELAYED_PUT || op.k === OP_DELAYED_DEL || op.k === OP_DELAYED_DROP) {
        if (encodeDelayedOp(w, op)) delayed.push(op);
      } else {
        encodeOp(w, op, messages);
        // Not written (its entry was acknowledged): the batch need not keep the entry until its reply.
        if (isSettledMark(op)) ops[i] = SETTLED_MARK;
      }
    }
    let bytes = 0;
    for (const m of messages.values()) {
      bytes += m.size;
      if (this.#pendingMessages.delete(m.storeId)) this.#pendingBytes -= m.size;
    }
    this.#streamBytes = 0;
    for (const op of ops) if (op.k === OP_STREAM_CHUNK) bytes += op.w.seal()?.records.length ?? 0;
    const { buffer, length } = w.finish();
    if (length === 0) {
      // Every write was cancelled (acked before it went out): nothing to commit or wait for.
      this.#spare = buffer;
      this.#stats.batchesEmpty++;
      this.#durableSeq = this.#released;
      for (const l of this.#listeners) l(this.#durableSeq, null);
      this.#checkIdle();
      return;
    }
    this.#inflightBytes = bytes;
    const batch: InFlight = { id: this.#nextBatchId++, ops, upTo: this.#released, messages, delayed };
    this.#inflight = batch;
    this.#stats.messagesWritten += messages.size;
    this.#sentAt = performance.now();
    if (this.#trace !== null) this.#trace.sent(messages.size, ops.length);
    this.sendBatch(batch.id, buffer, length);
  }

  #checkIdle(): void {
    if (this.#inflight !== null || this.#pending.length > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  /** The writer's answer to a batch. */
  protected handleReply(reply: BatchReply): void {
    try {
      this.#handleReply(reply);
    } catch (err) {
      if (this.#fatal) this.#fatal(err, 'internal error handling a store commit');
      else this.log.error({ err }, 'internal error handling a store commit; the broker carries on');
    }
  }

  #handleReply(reply: BatchReply): void {
    const batch = this.#inflight;
    if (batch === null || batch.id !== reply.id) return;
    const replyGot = this.#trace !== null ? traceNow() : 0;
    if (reply.buffer !== undefined && reply.buffer.byteLength <= SPARE_MAX) this.#spare = reply.buffer;
    this.#inflight = null;
    this.#inflightBytes = 0;
    const stats = this.#stats;
    stats.batches++;
    stats.commitSeconds += (performance.now() - this.#sentAt) / 1000;
    if (reply.writerUs !== undefined) stats.writerSeconds += reply.writerUs / 1e6;
    const from = this.#durableSeq;
    this.#durableSeq = batch.upTo;
    let failed: WriteRange | null = null;
    if (!reply.ok) {
      failed = { from, to: batch.upTo };
      this.#recoverFailedBatch(batch, reply.code, reply.message);
    } else {
      for (const op of batch.ops) {
        if (op.k === OP_ENTRY_PUT && (op.e.storeState & STATE_MASK) === ON_DISK) op.e.storeState |= COMMITTED;
        else if (op.k === OP_STREAM_CHUNK) op.w.settled(true);
      }
      if (batch.delayed.length > 0) this.#scheduled.settle(batch.delayed);
      if (this.#lastWriteError !== '') {
        this.log.info('store writes succeed again');
        this.#lastWriteError = '';
      }
    }
    for (const l of this.#listeners) l(this.#durableSeq, failed);
    if (this.#trace !== null) this.#trace.replied(batch.id, replyGot, reply.stamps);
    this.#consider();
    if (this.#inflight === null) this.#send();
    this.#checkIdle();
  }

  /**
   * A batch could not be committed (typically the disk is full). Its inserts are given up:
   * those messages stay in memory only and their publishers get nacks. Everything else
   * (deletes, marks, definitions) is retried with the next batch, so nothing acknowledged
   * comes back after a restart.
   */
  #recoverFailedBatch(batch: InFlight, code: string, message: string): void {
    if (this.#lastWriteError !== code) {
      this.log.error({ code, err: message }, 'store write failed; publishes waiting for it are nacked. Free disk space: warren retries by itself');
      this.#lastWriteError = code;
    }
    const retry: Op[] = [];
    for (const op of batch.ops) {
      switch (op.k) {
        case OP_MESSAGE_PUT:
          op.m.detach(); // kept in memory now, maybe for long
          this.#failed.set(op.m.storeId, op.m);
          break;
        case OP_ENTRY_PUT:
          if ((op.e.storeState & STATE_MASK) === ON_DISK) op.e.storeState = FAILED;
          break;
        case OP_ENTRY_MARK:
          if ((op.e.storeState & STATE_MASK) === ON_DISK) {
            op.e.storeState |= MARK_QUEUED;
            retry.push(op);
          }
          break;
        case OP_ENTRY_DEL:
          if (this.#failed.has(op.id)) this.#forgetFailed(op.id);
          else retry.push(op);
          break;
        case OP_DELAYED_PUT:
          this.#scheduled.insertFailed(op.s);
          break;
        case OP_STREAM_CHUNK:
          // Its offsets are taken (later chunks follow it): written again with the next batch,
          // though its publishers are nacked now.
          op.w.settled(false);
          retry.push(op);
          break;
        default:
          retry.push(op);
      }
    }
    // Ahead of every write sequence still pending, so they go with the next batch sent.
    this.#pending = retry.concat(this.#pending);
  }

  #forgetFailed(storeId: number): void {
    const m = this.#failed.get(storeId);
    if (m !== undefined && --m.storeRefs <= 0) this.#failed.delete(storeId);
  }
}

function queueKey(vhost: string, name: string): string {
  return `${vhost}\u0000${name}`;
}
