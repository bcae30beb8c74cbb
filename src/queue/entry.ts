// One message's place in one queue (QueueEntry), and how a durable queue's long backlog
// freezes entries into compact cold records and thaws them (EntryFreezer). A backlog holds a
// million entries, so their small fields share one number.

import type { Message } from '../message.js';
import type { Store, StoreEntry } from '../store/store.js';
import type { ColdFifo } from './cold-fifo.js';
import type { Consumer, Queue } from './queue.js';
import type { Freezer, ReadyItem } from './ready-list.js';

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

/**
 * One message's place in one queue; while unacknowledged it also records where it went. A
 * long backlog holds a million of these, so the small fields share one number (`bits`).
 */
export class QueueEntry implements StoreEntry, ReadyItem {
  readonly queue: Queue;
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
  consumer: Consumer | null = null;
  /** Owned by the store. */
  storeId = 0;
  bits: number;

  constructor(queue: Queue, msg: Message | null, seq: number, size: number, stored: boolean, priority: number, expiresAt: number) {
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
  readonly #queue: Queue;
  readonly #store: Store;

  constructor(queue: Queue, store: Store) {
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
