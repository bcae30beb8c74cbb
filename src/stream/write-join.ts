// One write sequence over two kinds of durable writes: the store's (SQLite batches) and the
// streams' (segment files, fsynced by their logs). Channels wait for `writeSeq` to become
// durable before confirming or committing; with streams beside the store, a publish may need
// both, so this wrapper is the Store the broker hands out. It numbers every inner store write
// it sees and every stream batch in issue order, and `durableSeq` passes a number only once
// everything up to it is durable. Every other Store call is passed through unchanged.

import type { Message } from '../message.js';
import type {
  BindingRecord,
  Definitions,
  ExchangeRecord,
  LimitsRecord,
  PolicyKind,
  PolicyRecord,
  PermissionRecord,
  QueueKey,
  ReaderOffsetRecord,
  QueueRecord,
  ScheduledMessage,
  ScheduleKey,
  Store,
  StoredEntry,
  StoreBatchStats,
  StoreEntry,
  UserRecord,
  VhostRecord,
  WriteRange,
} from '../store/store.js';
import { Deque } from '../util/deque.js';

/** A stream batch's durability: set `done` (or `failed`) once its fsync returned. */
export interface ExternalWrite {
  done: boolean;
  failed: boolean;
}

type Listener = (durableSeq: number, failed: WriteRange | null) => void;

export class WriteJoin implements Store {
  readonly inner: Store;
  #seq = 0;
  #durable = 0;
  #innerSeen = 0;
  #innerDurable = 0;
  #innerFailed: WriteRange | null = null;
  /** Outstanding writes in issue order: their sequence, and an inner sequence or a stream batch. */
  readonly #seqs = new Deque<number>();
  readonly #writes = new Deque<number | ExternalWrite>();
  readonly #listeners: Listener[] = [];
  /** Called before close: the streams flush and fsync what they hold. */
  beforeClose: (() => Promise<void>) | null = null;

  constructor(inner: Store) {
    this.inner = inner;
    this.#innerSeen = inner.writeSeq;
    this.#innerDurable = inner.durableSeq;
    inner.onDurable((d, failed) => {
      this.#innerDurable = d;
      if (failed !== null) this.#innerFailed = failed;
      this.#advance();
    });
  }

  /** Gives the inner store's newest write a number of its own, if it has one we have not seen. */
  #sync(): void {
    const w = this.inner.writeSeq;
    if (w === this.#innerSeen) return;
    this.#innerSeen = w;
    if (w <= this.inner.durableSeq && this.#seqs.length === 0) {
      // Durable already (the memory store): nothing to wait for.
      this.#durable = ++this.#seq;
      return;
    }
    this.#seqs.push(++this.#seq);
    this.#writes.push(w);
  }

  /** A stream batch joins the sequence; returns its number (see ExternalWrite). */
  issue(w: ExternalWrite): number {
    this.#sync();
    this.#seqs.push(++this.#seq);
    this.#writes.push(w);
    return this.#seq;
  }

  /** A stream batch's fsync returned (its `done`/`failed` are set). */
  settled(): void {
    this.#advance();
  }

  #advance(notify = true): void {
    const before = this.#durable;
    let failedFrom = -1;
    let failedTo = -1;
    // Read live: the memory store is durable at once and never calls its listeners.
    const innerDurable = Math.max(this.#innerDurable, this.inner.durableSeq);
    while (this.#writes.length > 0) {
      const w = this.#writes.peek()!;
      let failed = false;
      if (typeof w === 'number') {
        if (w > innerDurable) break;
        const f = this.#innerFailed;
        failed = f !== null && w > f.from && w <= f.to;
      } else {
        if (!w.done) break;
        failed = w.failed;
      }
      this.#writes.shift();
      const seq = this.#seqs.shift()!;
      if (failed) {
        if (failedFrom < 0) failedFrom = seq - 1;
        failedTo = seq;
      }
      this.#durable = seq;
    }
    if (this.#writes.length === 0) this.#innerFailed = null;
    if (!notify || (this.#durable === before && failedTo < 0)) return;
    const range = failedTo < 0 ? null : { from: failedFrom, to: failedTo };
    for (const l of this.#listeners) l(this.#durable, range);
  }

  get writeSeq(): number {
    this.#sync();
    return this.#seq;
  }

  get unsettledBytes(): number {
    return this.inner.unsettledBytes ?? 0;
  }

  get batchStats(): Readonly<StoreBatchStats> | undefined {
    return this.inner.batchStats;
  }

  get durableSeq(): number {
    this.#sync();
    // An inner write seen only now may be durable already; listeners hear of it next time.
    this.#advance(false);
    return this.#durable;
  }

  onDurable(listener: Listener): void {
    this.#listeners.push(listener);
  }

  /**
   * Straight from the inner store: this join's own listeners hear only of writes it numbered
   * (writeSeq read after them), so a publish without confirms would never wake a paused publisher.
   */
  onSettled(listener: () => void): void {
    if (this.inner.onSettled !== undefined) this.inner.onSettled(listener);
    else this.inner.onDurable(() => listener());
  }

  async close(): Promise<void> {
    if (this.beforeClose !== null) await this.beforeClose();
    await this.inner.close();
  }

  // ---- passed through --------------------------------------------------------------------

  loadDefinitions(): Definitions {
    return this.inner.loadDefinitions();
  }
  saveExchange(r: ExchangeRecord): void {
    this.inner.saveExchange(r);
  }
  deleteExchange(vhost: string, name: string): void {
    this.inner.deleteExchange(vhost, name);
  }
  saveQueue(r: QueueRecord): void {
    this.inner.saveQueue(r);
  }
  deleteQueue(vhost: string, name: string): void {
    this.inner.deleteQueue(vhost, name);
  }
  saveBinding(r: BindingRecord): void {
    this.inner.saveBinding(r);
  }
  deleteBinding(r: BindingRecord): void {
    this.inner.deleteBinding(r);
  }
  saveUser(r: UserRecord): void {
    this.inner.saveUser(r);
  }
  deleteUser(name: string): void {
    this.inner.deleteUser(name);
  }
  saveVhost(r: VhostRecord): void {
    this.inner.saveVhost(r);
  }
  deleteVhost(name: string): void {
    this.inner.deleteVhost(name);
  }
  savePermission(r: PermissionRecord): void {
    this.inner.savePermission(r);
  }
  deletePermission(user: string, vhost: string): void {
    this.inner.deletePermission(user, vhost);
  }
  saveLimits(r: LimitsRecord): void {
    this.inner.saveLimits(r);
  }
  savePolicy(r: PolicyRecord): void {
    this.inner.savePolicy(r);
  }
  deletePolicy(kind: PolicyKind, vhost: string, name: string): void {
    this.inner.deletePolicy(kind, vhost, name);
  }
  saveReaderOffset(r: ReaderOffsetRecord): void {
    this.inner.saveReaderOffset(r);
  }
  deleteReaderOffset(vhost: string, stream: string, reader: string): void {
    this.inner.deleteReaderOffset(vhost, stream, reader);
  }
  loadReaderOffsets(): ReaderOffsetRecord[] {
    return this.inner.loadReaderOffsets();
  }
  appendMessage(queue: QueueKey, entry: StoreEntry, msg: Message): void {
    this.inner.appendMessage(queue, entry, msg);
  }
  removeMessage(queue: QueueKey, entry: StoreEntry): void {
    this.inner.removeMessage(queue, entry);
  }
  markDelivered(queue: QueueKey, entry: StoreEntry): void {
    this.inner.markDelivered(queue, entry);
  }
  isSettled(entry: StoreEntry): boolean {
    return this.inner.isSettled(entry);
  }
  loadEntries(queue: QueueKey): Iterable<StoredEntry> {
    return this.inner.loadEntries(queue);
  }
  readMessage(storeId: number): Message | undefined {
    return this.inner.readMessage(storeId);
  }
  readMessages(storeIds: readonly number[]): (Message | undefined)[] {
    return this.inner.readMessages(storeIds);
  }
  countMessages(queue: QueueKey): number {
    return this.inner.countMessages(queue);
  }
  scheduleMessage(vhost: string, exchange: string, dueAt: number, msg: Message): number {
    return this.inner.scheduleMessage(vhost, exchange, dueAt, msg);
  }
  removeScheduled(id: number): void {
    this.inner.removeScheduled(id);
  }
  loadScheduled(vhost: string, exchange: string, after: ScheduleKey | null, limit: number, maxBytes?: number): ScheduledMessage[] {
    return this.inner.loadScheduled(vhost, exchange, after, limit, maxBytes);
  }
  countScheduled(vhost: string, exchange: string): number {
    return this.inner.countScheduled(vhost, exchange);
  }
  dropScheduled(vhost: string, exchange: string): void {
    this.inner.dropScheduled(vhost, exchange);
  }
}
