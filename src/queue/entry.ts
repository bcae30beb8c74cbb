// One message's place in one queue (QueueEntry), and how a durable queue's long backlog
// keeps only places in memory: entries frozen into compact cold records and thawed
// (EntryFreezer), entries restored at start, bodies read back from the store when their turn
// nears. A backlog holds a million entries, so their small fields share one number.

import { F } from '../codec/field-table.js';
import type { Message } from '../message.js';
import { ENTRY_RESTORED, type Store, type StoredEntry, type StoreEntry } from '../store/store.js';
import type { ColdFifo } from './cold-fifo.js';
import type { QueueSettings } from './arguments.js';
import type { RingConsumer } from './consumers.js';
import type { Freezer, ReadyItem, ReadyList } from './ready-list.js';

/** How many bodies are read back from the store at a time. */
const LOAD_BATCH = 512;

// QueueEntry.bits: flags in the low byte, then the priority, then the store's state byte.
const READY = 1;
const REDELIVERED = 2;
const IN_TTL_HEAP = 4;
const STORED = 8;
const STORE_MULTI = 16;
const PRIORITY_SHIFT = 8;
const STORE_STATE_SHIFT = 16;

function withFlag(bits: number, mask: number, on: boolean): number {
  return on ? bits | mask : bits & ~mask;
}

/** An entry's queue as whoever holds the entry unacknowledged sees it (Queue implements it). */
export interface EntryQueue {
  readonly settings: QueueSettings;
  /** The entry was acknowledged (or dropped): forget it for good. */
  settle(entry: QueueEntry, wasUnacked: boolean): void;
  /** Rejected without requeue (or nacked): gone, and dead-lettered if the queue says so. */
  reject(entry: QueueEntry): void;
  /** Puts unacknowledged entries back at their original positions, marked redelivered. */
  requeue(entries: QueueEntry[]): void;
}

/**
 * One message's place in one queue; while unacknowledged it also records where it went. A
 * long backlog holds a million of these, so the small fields share one number (`bits`).
 */
export class QueueEntry implements StoreEntry, ReadyItem {
  readonly queue: EntryQueue;
  /** The message; null while its body is only in the store (deep in a long backlog). */
  msg: Message | null;
  /** Position in the queue: requeued entries go back in seq order. */
  readonly seq: number;
  readonly size: number;
  /** When it expires (ms since the epoch), 0 for never. */
  readonly expiresAt: number;
  /** Times it came back unacknowledged (x-delivery-count). */
  deliveryCount = 0;
  /** Delivery tag on the channel holding it unacknowledged (0 when it is not). */
  tag = 0;
  /** The consumer it was delivered to (null: basic.get or not delivered). */
  consumer: RingConsumer | null = null;
  /** Owned by the store. */
  storeId = 0;
  bits: number;

  constructor(queue: EntryQueue, msg: Message | null, seq: number, size: number, stored: boolean, priority: number, expiresAt: number) {
    this.queue = queue;
    this.msg = msg;
    this.seq = seq;
    this.size = size;
    this.expiresAt = expiresAt;
    this.bits = (stored ? STORED : 0) | (priority << PRIORITY_SHIFT);
  }

  /** Written to the store: settle/requeue must tell it. */
  get stored(): boolean {
    return (this.bits & STORED) !== 0;
  }

  /** Delivery level in a priority queue (0 otherwise). */
  get priority(): number {
    return (this.bits >>> PRIORITY_SHIFT) & 0xff;
  }

  /** In the ready list (not delivered, not removed). */
  get ready(): boolean {
    return (this.bits & READY) !== 0;
  }

  set ready(v: boolean) {
    this.bits = withFlag(this.bits, READY, v);
  }

  get redelivered(): boolean {
    return (this.bits & REDELIVERED) !== 0;
  }

  set redelivered(v: boolean) {
    this.bits = withFlag(this.bits, REDELIVERED, v);
  }

  /** Waiting in the queue's expiry heap. */
  get inTtlHeap(): boolean {
    return (this.bits & IN_TTL_HEAP) !== 0;
  }

  set inTtlHeap(v: boolean) {
    this.bits = withFlag(this.bits, IN_TTL_HEAP, v);
  }

  get storeMulti(): boolean {
    return (this.bits & STORE_MULTI) !== 0;
  }

  set storeMulti(v: boolean) {
    this.bits = withFlag(this.bits, STORE_MULTI, v);
  }

  get storeState(): number {
    return this.bits >>> STORE_STATE_SHIFT;
  }

  set storeState(v: number) {
    this.bits = (this.bits & ((1 << STORE_STATE_SHIFT) - 1)) | (v << STORE_STATE_SHIFT);
  }
}

/**
 * Freezes a queue's ready entries whose messages are safely stored (no TTL: those must stay
 * reachable from the expiry heap) into cold records, and rebuilds them.
 */
export class EntryFreezer implements Freezer<QueueEntry> {
  readonly #queue: EntryQueue;
  readonly #store: Store;

  constructor(queue: EntryQueue, store: Store) {
    this.#queue = queue;
    this.#store = store;
  }

  canFreeze(e: QueueEntry): boolean {
    return e.expiresAt === 0 && e.stored && this.#store.isSettled(e);
  }

  freeze(e: QueueEntry, cold: ColdFifo): void {
    cold.push(e.seq, e.size, e.storeId, e.bits, e.deliveryCount);
  }

  freezeAt(e: QueueEntry, cold: ColdFifo, i: number): void {
    cold.setAt(i, e.size, e.storeId, e.bits, e.deliveryCount);
  }

  thaw(seq: number, size: number, storeId: number, bits: number, count: number): QueueEntry {
    const e = new QueueEntry(this.#queue, null, seq, size, true, 0, 0);
    e.bits = bits;
    e.storeId = storeId;
    e.deliveryCount = count;
    return e;
  }
}

/** An entry the store kept, put back at start: its body stays on disk until needed. */
export function restoredEntry(queue: EntryQueue, s: StoredEntry, maxPriority: number): QueueEntry {
  const entry = new QueueEntry(queue, null, s.seq, s.size, true, Math.min(s.priority, maxPriority), s.expiresAt);
  entry.redelivered = s.delivered;
  // A message out with a consumer when the broker stopped came back: that counts as a return.
  entry.deliveryCount = s.deliveryCount + (s.delivered ? 1 : 0);
  entry.storeId = s.storeId;
  entry.storeState = ENTRY_RESTORED;
  entry.storeMulti = s.multi;
  return entry;
}

/** A message read back from the store as its consumer gets it: x-delivery-count once returned, where the queue counts returns. */
export function asDelivered(m: Message, e: QueueEntry, countsDeliveries: boolean): Message {
  return e.deliveryCount > 0 && countsDeliveries ? m.withHeader('x-delivery-count', F.long(e.deliveryCount)) : m;
}

/** Reads back the bodies of the next ready entries whose messages are only in the store. */
export function loadBodies(ready: ReadyList<QueueEntry>, store: Store | null, queueName: string, countsDeliveries: boolean): void {
  const todo: QueueEntry[] = [];
  for (const e of ready.iterateHead(LOAD_BATCH * 4)) {
    if (todo.length >= LOAD_BATCH) break;
    if (e.msg === null) todo.push(e);
  }
  const msgs = store?.readMessages(todo.map((e) => e.storeId)) ?? [];
  for (let i = 0; i < todo.length; i++) {
    const e = todo[i]!;
    const m = msgs[i];
    if (m === undefined) throw new Error(`message ${e.storeId} of queue '${queueName}' is missing from the store`);
    e.msg = asDelivered(m, e, countsDeliveries);
  }
}
