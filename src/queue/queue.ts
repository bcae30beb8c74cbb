// A queue: ready messages in delivery order, the consumers taking them in turn, and what its
// arguments ask for: message TTL (an expired message is never delivered, wherever it sits),
// length limits with their overflow behaviour, priorities, single active consumer, consumer
// priorities, a delivery limit, and expiry of the queue itself. Entries (and bodies kept only
// in the store) live in entry.ts, consumers and their turns in consumers.ts, expiry timers in
// expiry.ts, length limits in limits.ts, flow control's thresholds in flow.ts. Dead-lettering
// and deletion are left to the vhost through hooks. Consumers are an interface (implemented
// by channels), so the queue knows nothing of connections. Durable queues write through the Store.

import type { FieldTable } from '../codec/field-table.js';
import { F } from '../codec/field-table.js';
import type { Message } from '../message.js';
import type { QueueKey, Store, StoredEntry } from '../store/store.js';
import { DEFAULT_SETTINGS, type QueueOptions, type QueueSettings } from './arguments.js';
import { ConsumerRing, type RingConsumer } from './consumers.js';
import type { DeadLetterReason } from './dead-letter.js';
import { asDelivered, EntryFreezer, loadBodies, QueueEntry, restoredEntry, type EntryQueue } from './entry.js';
import { effectiveTtl, IdleTimer, TtlSchedule } from './expiry.js';
import { backlogDrained, backlogHigh, FlowWaiters, type FlowWaiter } from './flow.js';
import { hasLengthLimit, isFull, isOverLimit } from './limits.js';
import { ReadyList, type ReadyCursor } from './ready-list.js';

export { QueueEntry } from './entry.js';
export type { QueueOptions } from './arguments.js';
export type { DeadLetterReason } from './dead-letter.js';
export type { FlowSource, FlowWaiter } from './flow.js';
export type { ReadyCursor } from './ready-list.js';

/** Past this many ready messages, stored messages keep only their place in memory. */
export const RESIDENT_LIMIT = 4096;
/** policyDefinition of a queue no policy applies to (policies replace it, never change it). */
const NO_POLICY: Readonly<Record<string, unknown>> = Object.freeze({});

export interface Consumer extends RingConsumer {
  readonly noAck: boolean;
  deliver(queue: Queue, entry: QueueEntry): void;
  /** The queue was deleted under the consumer. */
  queueDeleted(queue: Queue): void;
  /** basic.consume's arguments (streams read x-stream-offset and filters from them). */
  readonly arguments?: FieldTable;
  /** The per-consumer prefetch (basic.qos global=false) in force when it subscribed, even with no-ack. */
  readonly qosPrefetch?: number;
  /** Its channel's global prefetch (basic.qos global=true), 0 when none. */
  readonly globalPrefetch?: number;
}

/** What the queue needs from its vhost. */
export interface QueueHooks {
  /** Route a dead-lettered copy of `msg` (the queue's DLX settings apply). */
  deadLetter(queue: Queue, msg: Message, reason: DeadLetterReason): void;
  /** The queue should go: auto-delete (last consumer left) or x-expires (unused too long). */
  remove(queue: Queue, why: 'auto-delete' | 'expired'): void;
  /** A timer's work failed (a bug): report it (warren start exits on it, see BrokerHooks.fatal). */
  error?(queue: Queue, err: unknown): void;
}

export class Queue implements QueueKey, EntryQueue {
  readonly kind = 'queue' as const;
  readonly vhost: string;
  readonly name: string;
  readonly durable: boolean;
  readonly exclusiveOwner: object | null;
  readonly autoDelete: boolean;
  readonly arguments: FieldTable;
  /** What the queue runs on: its arguments' settings, with the policies that match it applied. */
  settings: QueueSettings;
  /** Settings from the arguments alone. */
  readonly baseSettings: QueueSettings;
  /** Names of the policy and operator policy that apply (null: none), and their combined definition. */
  policy: string | null = null;
  operatorPolicy: string | null = null;
  policyDefinition: Readonly<Record<string, unknown>> = NO_POLICY;
  /** Messages delivered and not yet acknowledged, over all channels. */
  unacked = 0;
  storeQueueId = 0;
  deleted = false;
  /** Auto-delete applies only once a consumer has come and gone. */
  hadConsumers = false;
  hooks: QueueHooks | null = null;
  readonly stats = { published: 0, delivered: 0, acked: 0, redelivered: 0, expired: 0, deadLettered: 0, dropped: 0 };
  /** Publishers into this queue should pause (see FlowWaiter). */
  congested = false;
  readonly #flowWaiters = new FlowWaiters();

  readonly #store: Store | null;
  readonly #ready: ReadyList<QueueEntry>;
  readonly #consumers = new ConsumerRing<Consumer>();
  #seq = 0;
  #dispatching = false;
  // Made on first use: most queues never see a TTL or x-expires, and idle queues should cost little.
  #ttl: TtlSchedule | null = null;
  #idle: IdleTimer | null = null;

  constructor(vhost: string, name: string, options: QueueOptions, store: Store | null) {
    this.vhost = vhost;
    this.name = name;
    this.durable = options.durable;
    this.exclusiveOwner = options.exclusiveOwner;
    this.autoDelete = options.autoDelete;
    this.arguments = options.arguments;
    this.settings = options.settings ?? DEFAULT_SETTINGS;
    this.baseSettings = this.settings;
    this.#store = options.durable ? store : null;
    this.#ready = new ReadyList(
      this.settings.maxPriority + 1,
      this.#store !== null ? { freezer: new EntryFreezer(this, this.#store), hotLimit: RESIDENT_LIMIT } : undefined,
    );
    this.#armExpiry();
  }

  #ttlSchedule(): TtlSchedule {
    return (this.#ttl ??= new TtlSchedule(() => {
      try {
        this.#expireDue();
      } catch (err) {
        this.hooks?.error?.(this, err);
      }
    }));
  }

  get messageCount(): number {
    return this.#ready.length;
  }

  get readyBytes(): number {
    return this.#ready.bytes;
  }

  get consumerCount(): number {
    return this.#consumers.length;
  }

  get consumers(): readonly Consumer[] {
    return this.#consumers.list;
  }

  /** Messages carry x-delivery-count once returned (quorum queues, and any with x-delivery-limit). */
  get countsDeliveries(): boolean {
    return this.settings.deliveryLimit !== null || this.settings.queueType === 'quorum';
  }

  /** The consumer that receives everything in single-active-consumer mode. */
  get activeConsumer(): Consumer | null {
    return this.settings.singleActiveConsumer ? (this.#consumers.list[0] ?? null) : null;
  }

  /**
   * Policies changed what the queue runs on. As in RabbitMQ, limits apply at once (drop-head
   * drops the oldest messages now), the expiry timer restarts, and a new message TTL applies to
   * messages enqueued from now on (those queued keep the expiry they were given).
   */
  applySettings(s: QueueSettings): void {
    const before = this.settings;
    this.settings = s;
    if (this.deleted) return;
    if (s.expires !== before.expires) {
      this.#idle?.clear();
      this.#armExpiry();
    }
    if (s.overflow === 'drop-head' && hasLengthLimit(s)) this.#dropOverLimit();
  }

  // ---- publishing ------------------------------------------------------------------------

  /** Puts back the entries the store kept, at start; their bodies stay on disk until needed. */
  restore(entries: Iterable<StoredEntry>): void {
    for (const s of entries) {
      const entry = restoredEntry(this, s, this.settings.maxPriority);
      this.#ready.push(entry);
      if (entry.expiresAt !== 0) this.#ttlSchedule().track(entry);
      if (s.seq > this.#seq) this.#seq = s.seq;
    }
    this.#ttl?.arm();
  }

  /**
   * Adds a message (the clock is read only when a TTL applies). Returns false when x-overflow
   * reject-publish refuses it: the caller nacks the publisher.
   */
  enqueue(msg: Message): boolean {
    const s = this.settings;
    // Sizes are body bytes, as x-max-length-bytes counts them.
    if (s.overflow !== 'drop-head' && this.#full(msg.body.length)) {
      this.stats.dropped++;
      if (s.overflow === 'reject-publish-dlx') this.#deadLetter(msg, 'maxlen');
      return false;
    }
    const ttl = effectiveTtl(s.messageTtl, msg.ttl);
    const now = ttl >= 0 ? Date.now() : 0;
    const seq = ++this.#seq;
    const stored = this.#store !== null && msg.persistent;
    const priority = s.maxPriority === 0 ? 0 : Math.min(msg.priority, s.maxPriority);
    const entry = new QueueEntry(this, msg, seq, msg.body.length, stored, priority, ttl >= 0 ? now + ttl : 0);
    if (stored) this.#store!.appendMessage(this, entry, msg);
    this.stats.published++;
    if (this.#ready.length === 0 && this.#consumers.length > 0 && !this.#dispatching) {
      const c = this.#consumers.next(this.settings.singleActiveConsumer);
      if (c !== null) {
        this.#handOver(c, entry);
        return true;
      }
    }
    if (ttl === 0) {
      // TTL 0: delivered at once if a consumer could take it, else expired at once.
      this.#expire(entry);
      return true;
    }
    this.#ready.push(entry);
    if (entry.expiresAt !== 0) {
      const ttl = this.#ttlSchedule();
      ttl.track(entry);
      ttl.arm();
    }
    if (hasLengthLimit(s)) this.#dropOverLimit();
    const n = this.#ready.length;
    if (!this.congested && backlogHigh(n, this.#ready.bytes)) this.congested = this.#consumers.anySocketBound();
    // A long backlog keeps only its head in memory; the store holds the rest (and keeps this
    // message itself until it is on disk: a millisecond or two, like a delivery awaiting its
    // ack, so it is not copied out of the socket chunk it arrived in; the store copies what it
    // keeps for longer). A message the queue keeps is copied out.
    if (stored && n > RESIDENT_LIMIT) entry.msg = null;
    else msg.detach();
    return true;
  }

  /** Whether enqueue would take a message of `size` body bytes (x-overflow reject-publish* refuse one when full). */
  accepts(size: number): boolean {
    return this.settings.overflow === 'drop-head' || !this.#full(size);
  }

  #full(incoming: number): boolean {
    return isFull(this.settings, this.#ready.length, this.#ready.bytes, incoming);
  }

  /** x-overflow drop-head: the oldest messages make room (dead-lettered as maxlen). */
  #dropOverLimit(): void {
    while (isOverLimit(this.settings, this.#ready.length, this.#ready.bytes)) {
      const e = this.#ready.shift();
      if (e === undefined) break;
      this.stats.dropped++;
      this.#discard(e, 'maxlen');
    }
  }

  // ---- delivering ------------------------------------------------------------------------

  /** Delivers ready messages while some consumer can take one. */
  dispatch(): void {
    if (this.#dispatching || this.#consumers.length === 0) return;
    this.#dispatching = true;
    try {
      const ready = this.#ready;
      while (ready.length > 0) {
        const c = this.#consumers.next(this.settings.singleActiveConsumer);
        if (c === null) break;
        const head = ready.peek()!;
        if (head.expiresAt !== 0 && head.expiresAt <= Date.now()) {
          ready.shift();
          this.#expire(head);
          continue;
        }
        if (head.msg === null) loadBodies(ready, this.#store, this.name, this.countsDeliveries);
        ready.shift();
        this.#handOver(c, head);
      }
    } finally {
      this.#dispatching = false;
    }
    this.#drained();
  }

  /** basic.get: takes the head message, if any (expired ones are dropped on the way). */
  shift(): QueueEntry | undefined {
    this.touch();
    const ready = this.#ready;
    for (;;) {
      const head = ready.peek();
      if (head === undefined) return undefined;
      if (head.expiresAt !== 0 && head.expiresAt <= Date.now()) {
        ready.shift();
        this.#expire(head);
        continue;
      }
      if (head.msg === null) loadBodies(ready, this.#store, this.name, this.countsDeliveries);
      ready.shift();
      this.stats.delivered++;
      if (head.redelivered) this.stats.redelivered++;
      return head;
    }
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

  /** Rejected without requeue (or nacked): gone, and dead-lettered if the queue says so. */
  reject(entry: QueueEntry): void {
    this.unacked--;
    if (entry.msg !== null && !this.deleted) this.#deadLetter(entry.msg, 'rejected');
    if (entry.stored && !this.deleted) this.#store!.removeMessage(this, entry);
  }

  /**
   * Puts unacknowledged entries back at their original positions, marked redelivered. With
   * x-delivery-limit, an entry returned once too often is dead-lettered instead.
   */
  requeue(entries: QueueEntry[]): void {
    if (this.deleted || entries.length === 0) return;
    this.unacked -= entries.length;
    const limit = this.settings.deliveryLimit;
    let back = entries;
    if (this.countsDeliveries) {
      back = [];
      for (const e of entries) {
        e.deliveryCount++;
        if (limit !== null && e.deliveryCount > limit) {
          this.stats.dropped++;
          this.#discard(e, 'delivery_limit');
        } else {
          if (e.msg !== null) e.msg = e.msg.withHeader('x-delivery-count', F.long(e.deliveryCount));
          back.push(e);
        }
      }
    }
    const now = back.some((e) => e.expiresAt !== 0) ? Date.now() : 0;
    const keep: QueueEntry[] = [];
    for (const e of back) {
      e.redelivered = true;
      e.consumer = null;
      e.tag = 0;
      if (e.expiresAt !== 0 && e.expiresAt <= now) this.#expire(e);
      else {
        e.msg?.detach(); // kept again: it may have gone out straight from its read chunk
        keep.push(e);
      }
    }
    this.#ready.requeue(keep);
    for (const e of keep) if (e.expiresAt !== 0) this.#ttlSchedule().track(e);
    if (now !== 0) this.#ttlSchedule().arm();
    if (hasLengthLimit(this.settings)) this.#dropOverLimit();
    this.dispatch();
  }

  // ---- consumers -------------------------------------------------------------------------

  addConsumer(c: Consumer): void {
    this.#consumers.add(c, this.name, this.vhost);
    this.hadConsumers = true;
    this.#idle?.clear();
  }

  /** Removes a consumer; an auto-delete queue that loses its last one deletes itself. */
  removeConsumer(c: Consumer): void {
    const i = this.#consumers.remove(c);
    if (i < 0) return;
    if (this.congested && !this.#consumers.anySocketBound()) this.#releaseFlow();
    if (this.#consumers.length === 0) {
      if (this.autoDelete && this.hadConsumers && !this.deleted) {
        this.hooks?.remove(this, 'auto-delete');
        return;
      }
      this.#armExpiry();
    } else if (i === 0 && this.settings.singleActiveConsumer) {
      // The active consumer left: the next one takes over.
      this.dispatch();
    }
  }

  // ---- flow control ----------------------------------------------------------------------

  /** Registers a paused publisher to be resumed when the backlog drains. */
  addFlowWaiter(w: FlowWaiter): void {
    this.#flowWaiters.add(w);
  }

  removeFlowWaiter(w: FlowWaiter): void {
    this.#flowWaiters.remove(w);
  }

  #releaseFlow(): void {
    this.congested = false;
    this.#flowWaiters.release(this);
  }

  /** Lets a congested queue's publishers go once its backlog has drained. */
  #drained(): void {
    if (this.congested && backlogDrained(this.#ready.length, this.#ready.bytes)) this.#releaseFlow();
  }

  // ---- queue lifetime --------------------------------------------------------------------

  /** Counts as use for x-expires (declare, basic.get). */
  touch(): void {
    if (this.#idle?.armed === true) this.#armExpiry();
  }

  /** Drops every ready message; returns how many. Unacked messages are not touched. */
  purge(): number {
    const store = this.#store;
    const n = this.#ready.clear(store === null ? undefined : (e) => e.stored && store.removeMessage(this, e));
    this.#ttl?.clear();
    if (this.congested) this.#releaseFlow();
    return n;
  }

  /** Marks the queue deleted and tells its consumers; returns the ready count it had. */
  delete(): number {
    const n = this.#ready.length;
    this.deleted = true;
    const consumers = this.#consumers.clear();
    this.#ready.clear();
    this.#ttl?.clear();
    this.#ttl?.cancel();
    this.#idle?.clear();
    for (const c of consumers) c.queueDeleted(this);
    this.#releaseFlow();
    return n;
  }

  /** Ready entries in delivery order (inspection and tests). */
  readyEntries(): QueueEntry[] {
    return [...this.#ready.iterate()];
  }

  // ---- looking and moving (peek, move, redrive: admin/transfer.ts) ------------------------

  /** The seq of the last message added: a move stops there (later arrivals are not its business). */
  get lastSeq(): number {
    return this.#seq;
  }

  /** Ready entries in delivery order after `after`, frozen ones as copies (ReadyList.walk). */
  walkReady(after: ReadyCursor | null, visit: (e: QueueEntry, frozen: boolean, level: number) => boolean): void {
    this.#ready.walk(after, visit);
  }

  /** An entry's message as a consumer would get it, read from the store when only the store has it; changes nothing. */
  messageOf(e: QueueEntry): Message | undefined {
    if (e.msg !== null) return e.msg;
    const m = e.stored ? this.#store?.readMessage(e.storeId) : undefined;
    return m === undefined ? undefined : asDelivered(m, e, this.countsDeliveries);
  }

  /**
   * Takes a ready entry out for a move (a frozen one by its copy). Its store removal is queued
   * at once, so it joins the same store batch (one transaction) as the writes the caller makes
   * to the target in the same turn. False when it is no longer ready.
   */
  withdraw(e: QueueEntry, frozen: boolean): boolean {
    if (this.deleted) return false;
    if (frozen) {
      if (!this.#ready.takeFrozen(e.seq)) return false;
    } else {
      if (!e.ready) return false;
      this.#ready.remove(e);
    }
    if (e.stored) this.#store!.removeMessage(this, e);
    e.msg = null; // a tombstone left in the ready list must not hold the body
    this.#drained();
    return true;
  }

  #armExpiry(): void {
    const ms = this.settings.expires;
    if (ms === null || this.deleted || this.#consumers.length > 0) return;
    (this.#idle ??= new IdleTimer(() => {
      try {
        if (!this.deleted && this.#consumers.length === 0) this.hooks?.remove(this, 'expired');
      } catch (err) {
        this.hooks?.error?.(this, err);
      }
    })).arm(ms);
  }

  // ---- message expiry --------------------------------------------------------------------

  /** Expires every ready entry that is due, wherever it sits in the queue. */
  #expireDue(): void {
    const ttl = this.#ttlSchedule();
    ttl.fired();
    const now = Date.now();
    for (let head = ttl.popDue(now); head !== undefined; head = ttl.popDue(now)) {
      if (!head.ready || this.deleted) continue; // delivered meanwhile: its consumer decides
      this.#ready.remove(head);
      this.#expire(head);
      head.msg = null; // the tombstone left in the ready list must not hold the body
    }
    ttl.arm();
    this.#drained();
  }

  #expire(e: QueueEntry): void {
    this.stats.expired++;
    this.#discard(e, 'expired');
  }

  /** An entry leaves for good without delivery: store removal, dead-lettering if configured. */
  #discard(e: QueueEntry, reason: DeadLetterReason): void {
    if (this.settings.deadLetterExchange !== null && !this.deleted) {
      const msg = e.msg ?? this.#store?.readMessage(e.storeId);
      if (msg !== undefined && msg !== null) this.#deadLetter(msg, reason);
    }
    if (e.stored && !this.deleted) this.#store!.removeMessage(this, e);
  }

  #deadLetter(msg: Message, reason: DeadLetterReason): void {
    if (this.settings.deadLetterExchange === null || this.hooks === null) return;
    this.stats.deadLettered++;
    this.hooks.deadLetter(this, msg, reason);
  }

  // ---- internals -------------------------------------------------------------------------

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
}
