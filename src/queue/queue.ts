// A queue: ready messages in order, the consumers taking them in turn, and the store writes
// that durability needs. Consumers are an interface (implemented by channels), so the queue
// knows nothing of connections. Messages taken by a consumer leave the ready list; they come
// back with `requeue`, at their original position and marked redelivered.

import type { FieldTable } from '../codec/field-table.js';
import { ChannelError } from '../errors.js';
import type { Message } from '../message.js';
import { ENTRY_ON_DISK, type QueueKey, type Store, type StoreEntry, type StoredEntry } from '../store/store.js';
import { Deque } from '../util/deque.js';

/** Past this many ready messages, stored messages keep only their place in memory. */
export const RESIDENT_LIMIT = 4096;
/** How many bodies are read back from the store at a time. */
const LOAD_BATCH = 512;

/** One message's place in one queue; while unacknowledged it also records where it went. */
export class QueueEntry implements StoreEntry {
  readonly queue: Queue;
  /** The message; null while its body is only in the store (deep in a long backlog). */
  msg: Message | null;
  /** Position in the queue: requeued entries go back in seq order. */
  readonly seq: number;
  readonly size: number;
  /** Written to the store: settle/requeue must tell it. */
  readonly stored: boolean;
  redelivered = false;
  /** Delivery tag on the channel holding it unacknowledged (0 when it is not). */
  tag = 0;
  /** The consumer it was delivered to (null: basic.get or not delivered). */
  consumer: Consumer | null = null;
  // Owned by the store.
  storeId = 0;
  storeState = 0;
  storeMulti = false;

  constructor(queue: Queue, msg: Message | null, seq: number, size: number, stored: boolean) {
    this.queue = queue;
    this.msg = msg;
    this.seq = seq;
    this.size = size;
    this.stored = stored;
  }
}

export interface Consumer {
  readonly tag: string;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  /** Prefetch credit left, channel flow and socket backpressure allow one more delivery now. */
  canDeliver(): boolean;
  deliver(queue: Queue, entry: QueueEntry): void;
  /** The queue was deleted under the consumer. */
  queueDeleted(queue: Queue): void;
  /** It has prefetch credit but its connection's socket is backed up: the client reads slower than we send. */
  socketBound(): boolean;
}

/** A publisher paused because a queue it feeds is backing up (see Queue.congested). */
export interface FlowWaiter {
  resumeFlow(queue: Queue): void;
}

/**
 * Flow control: a queue whose backlog grows only because its consumers' sockets are full
 * (clients reading slower than publishers write) pauses its publishers until it drains.
 * A backlog with no such consumers (none at all, or slow acks under prefetch) is not throttled.
 */
const FLOW_HIGH = 8192;
const FLOW_LOW = 2048;

export interface QueueOptions {
  readonly durable: boolean;
  /** The connection that declared an exclusive queue; null for shared queues. */
  readonly exclusiveOwner: object | null;
  readonly autoDelete: boolean;
  readonly arguments: FieldTable;
}

export class Queue implements QueueKey {
  readonly kind = 'queue' as const;
  readonly vhost: string;
  readonly name: string;
  readonly durable: boolean;
  readonly exclusiveOwner: object | null;
  readonly autoDelete: boolean;
  readonly arguments: FieldTable;
  /** Messages delivered and not yet acknowledged, over all channels. */
  unacked = 0;
  storeQueueId = 0;
  deleted = false;
  /** Auto-delete applies only once a consumer has come and gone. */
  hadConsumers = false;
  /** Called when the last consumer leaves an auto-delete queue. */
  onUnused: ((q: Queue) => void) | null = null;
  readonly stats = { published: 0, delivered: 0, acked: 0, redelivered: 0 };
  /** Publishers into this queue should pause (see FlowWaiter). */
  congested = false;
  #flowWaiters: Set<FlowWaiter> | null = null;

  readonly #store: Store | null;
  readonly #ready = new Deque<QueueEntry>();
  #readyBytes = 0;
  readonly #consumers: Consumer[] = [];
  #next = 0;
  #seq = 0;
  #exclusiveConsumer: Consumer | null = null;
  #dispatching = false;

  constructor(vhost: string, name: string, options: QueueOptions, store: Store | null) {
    this.vhost = vhost;
    this.name = name;
    this.durable = options.durable;
    this.exclusiveOwner = options.exclusiveOwner;
    this.autoDelete = options.autoDelete;
    this.arguments = options.arguments;
    this.#store = options.durable ? store : null;
  }

  get messageCount(): number {
    return this.#ready.length;
  }

  get readyBytes(): number {
    return this.#readyBytes;
  }

  get consumerCount(): number {
    return this.#consumers.length;
  }

  get consumers(): readonly Consumer[] {
    return this.#consumers;
  }

  /** Puts back the entries the store kept, at start; their bodies stay on disk until needed. */
  restore(entries: readonly StoredEntry[]): void {
    for (const s of entries) {
      const entry = new QueueEntry(this, null, s.seq, s.size, true);
      entry.redelivered = s.delivered;
      entry.storeId = s.storeId;
      entry.storeState = ENTRY_ON_DISK;
      entry.storeMulti = s.multi;
      this.#ready.push(entry);
      this.#readyBytes += s.size;
      if (s.seq > this.#seq) this.#seq = s.seq;
    }
  }

  enqueue(msg: Message): void {
    const seq = ++this.#seq;
    const stored = this.#store !== null && msg.persistent;
    const entry = new QueueEntry(this, msg, seq, msg.size, stored);
    if (stored) this.#store!.appendMessage(this, entry, msg);
    this.stats.published++;
    if (this.#ready.length === 0 && this.#consumers.length > 0 && !this.#dispatching) {
      const c = this.#nextConsumer();
      if (c !== null) {
        this.#handOver(c, entry);
        return;
      }
    }
    this.#ready.push(entry);
    this.#readyBytes += entry.size;
    if (this.#ready.length > FLOW_HIGH && !this.congested && (this.#ready.length & 1023) === 0) this.#checkCongestion();
    // A long backlog keeps only its head in memory; the store holds the rest (and keeps this
    // message itself until it is on disk).
    if (stored && this.#ready.length > RESIDENT_LIMIT) entry.msg = null;
  }

  /** Delivers ready messages while some consumer can take one. */
  dispatch(): void {
    if (this.#dispatching || this.#consumers.length === 0) return;
    this.#dispatching = true;
    try {
      while (this.#ready.length > 0) {
        const c = this.#nextConsumer();
        if (c === null) break;
        if (this.#ready.peek()!.msg === null) this.#loadBodies();
        const entry = this.#ready.shift()!;
        this.#readyBytes -= entry.size;
        this.#handOver(c, entry);
      }
    } finally {
      this.#dispatching = false;
    }
    if (this.congested && this.#ready.length < FLOW_LOW) this.#releaseFlow();
  }

  /** Registers a paused publisher to be resumed when the backlog drains. */
  addFlowWaiter(w: FlowWaiter): void {
    (this.#flowWaiters ??= new Set()).add(w);
  }

  removeFlowWaiter(w: FlowWaiter): void {
    this.#flowWaiters?.delete(w);
  }

  #checkCongestion(): void {
    for (const c of this.#consumers) {
      if (c.socketBound()) {
        this.congested = true;
        return;
      }
    }
  }

  #releaseFlow(): void {
    this.congested = false;
    const waiters = this.#flowWaiters;
    if (waiters === null || waiters.size === 0) return;
    this.#flowWaiters = null;
    for (const w of waiters) w.resumeFlow(this);
  }

  /** basic.get: takes the head message, if any. */
  shift(): QueueEntry | undefined {
    if (this.#ready.peek()?.msg === null) this.#loadBodies();
    const entry = this.#ready.shift();
    if (entry !== undefined) {
      this.#readyBytes -= entry.size;
      this.stats.delivered++;
      if (entry.redelivered) this.stats.redelivered++;
    }
    return entry;
  }

  /** Marks an entry handed out (to a consumer or basic.get) as awaiting an ack. */
  markUnacked(entry: QueueEntry): void {
    this.unacked++;
    if (entry.stored) this.#store!.markDelivered(this, entry);
  }

  /** The entry was acknowledged (or dropped): forget it for good. */
  settle(entry: QueueEntry, wasUnacked: boolean): void {
    if (wasUnacked) {
      this.unacked--;
      this.stats.acked++;
    }
    if (entry.stored && !this.deleted) this.#store!.removeMessage(this, entry);
  }

  /** Puts unacknowledged entries back at their original positions, marked redelivered. */
  requeue(entries: QueueEntry[]): void {
    if (this.deleted || entries.length === 0) return;
    this.unacked -= entries.length;
    if (entries.length > 1) entries.sort((a, b) => a.seq - b.seq);
    for (const e of entries) {
      e.redelivered = true;
      e.consumer = null;
      e.tag = 0;
      this.#readyBytes += e.size;
    }
    const ready = this.#ready;
    const head = ready.peek();
    if (head === undefined || entries[entries.length - 1]!.seq < head.seq) {
      for (let i = entries.length - 1; i >= 0; i--) ready.unshift(entries[i]!);
    } else {
      // Interleave: walk both in seq order (rare: a requeue behind newer ready messages).
      let at = 0;
      for (const e of entries) {
        while (at < ready.length && ready.get(at)!.seq < e.seq) at++;
        ready.insert(at, e);
        at++;
      }
    }
    this.dispatch();
  }

  addConsumer(c: Consumer): void {
    if (this.#exclusiveConsumer !== null || (c.exclusive && this.#consumers.length > 0)) {
      throw new ChannelError('ACCESS_REFUSED', `queue '${this.name}' in vhost '${this.vhost}' in exclusive use`);
    }
    if (c.exclusive) this.#exclusiveConsumer = c;
    this.#consumers.push(c);
    this.hadConsumers = true;
  }

  /** Removes a consumer; an auto-delete queue that loses its last one deletes itself. */
  removeConsumer(c: Consumer): void {
    const i = this.#consumers.indexOf(c);
    if (i < 0) return;
    this.#consumers.splice(i, 1);
    if (this.#next > i) this.#next--;
    if (this.#exclusiveConsumer === c) this.#exclusiveConsumer = null;
    if (this.congested) {
      this.congested = false;
      this.#checkCongestion();
      if (!this.congested) {
        this.congested = true;
        this.#releaseFlow();
      }
    }
    if (this.#consumers.length === 0 && this.autoDelete && this.hadConsumers && !this.deleted) this.onUnused?.(this);
  }

  /** Drops every ready message; returns how many. Unacked messages are not touched. */
  purge(): number {
    const n = this.#ready.length;
    if (this.#store !== null) {
      for (const e of this.#ready) if (e.stored) this.#store.removeMessage(this, e);
    }
    this.#ready.clear();
    this.#readyBytes = 0;
    if (this.congested) this.#releaseFlow();
    return n;
  }

  /** Marks the queue deleted and tells its consumers; returns the ready count it had. */
  delete(): number {
    const n = this.#ready.length;
    this.deleted = true;
    const consumers = this.#consumers.splice(0);
    this.#exclusiveConsumer = null;
    this.#ready.clear();
    this.#readyBytes = 0;
    for (const c of consumers) c.queueDeleted(this);
    this.#releaseFlow();
    return n;
  }

  /** Ready entries, head first (inspection and tests). */
  readyEntries(): QueueEntry[] {
    return this.#ready.toArray();
  }

  #handOver(c: Consumer, entry: QueueEntry): void {
    this.stats.delivered++;
    if (entry.redelivered) this.stats.redelivered++;
    if (c.noAck) {
      if (entry.stored) this.#store!.removeMessage(this, entry);
    } else {
      this.markUnacked(entry);
    }
    c.deliver(this, entry);
  }

  /** Reads back the bodies of the next entries whose messages are only in the store. */
  #loadBodies(): void {
    const ready = this.#ready;
    let loaded = 0;
    for (let i = 0; i < ready.length && loaded < LOAD_BATCH; i++) {
      const e = ready.get(i)!;
      if (e.msg !== null) continue;
      const m = this.#store?.readMessage(e.storeId);
      if (m === undefined) throw new Error(`message ${e.storeId} of queue '${this.name}' is missing from the store`);
      e.msg = m;
      loaded++;
    }
  }

  /** The next consumer in turn that can take a delivery, or null. */
  #nextConsumer(): Consumer | null {
    const consumers = this.#consumers;
    const n = consumers.length;
    for (let tries = 0; tries < n; tries++) {
      if (this.#next >= n) this.#next = 0;
      const c = consumers[this.#next++]!;
      if (c.canDeliver()) return c;
    }
    return null;
  }
}
