// x-delayed-message exchange (as rabbitmq-delayed-message-exchange): routes like its
// `x-delayed-type`, except that a message with a positive integer `x-delay` header (ms) is held
// and routed when due, its `x-delay` negated as the plugin does. A durable exchange keeps its
// messages in the store and only a window of the next due ones in memory (refilled from the
// store as it drains); a transient one keeps them in memory. One timer per exchange, for the
// earliest due message; due messages are routed in chunks, yielding to the event loop between.

import type { FieldTable, FieldValue } from '../codec/field-table.js';
import { fieldString } from '../codec/field-table.js';
import { BASIC_PROPERTY_FLAGS } from '../codec/methods.generated.js';
import { ChannelError, ConnectionError } from '../errors.js';
import type { Message } from '../message.js';
import type { ScheduledMessage, ScheduleKey, Store } from '../store/store.js';
import { ConsistentHashExchange } from './consistent-hash.js';
import { DirectExchange } from './direct.js';
import { Exchange, type Binding, type Destination, type ExchangeOptions } from './exchange.js';
import { FanoutExchange } from './fanout.js';
import { HeadersExchange } from './headers.js';
import { TopicExchange } from './topic.js';

type ExchangeClass = new (vhost: string, name: string, options: ExchangeOptions) => Exchange;

/** Types a delayed exchange may route by (x-delayed-type). */
const UNDERLYING: ReadonlyMap<string, ExchangeClass> = new Map<string, ExchangeClass>([
  ['direct', DirectExchange],
  ['fanout', FanoutExchange],
  ['topic', TopicExchange],
  ['headers', HeadersExchange],
  ['x-consistent-hash', ConsistentHashExchange],
]);

/** Longest delay the plugin accepts (Erlang's timer limit); longer ones are routed at once. */
export const MAX_DELAY = 4294967295;
/** Messages kept in memory per durable exchange (the next due); the rest stay in the store. */
const WINDOW = 8192;
/** ... and at most this many bytes of them (at least one message). */
const WINDOW_BYTES = 32 * 1024 * 1024;
/** Refill from the store when the window holds fewer than this... */
const LOW_WATER = WINDOW / 4;
/** ... reading at most this many per refill (a few ms of the event loop). */
const REFILL = 2048;
/** Due messages routed per event-loop turn. */
const CHUNK = 1024;
/** setTimeout's limit; longer waits wake up early and look again. */
const MAX_TIMER = 2147483647;

/** What a delayed exchange needs from its virtual host. */
export interface DelayHost {
  /** Routes a due message from `x` as a publish to `x` would be routed, and enqueues it. */
  deliver(x: DelayedExchange, msg: Message): void;
  /** The message being routed was taken for later delivery: it is not unroutable. */
  deferred(): void;
  /** Routing due messages failed; the exchange carries on. */
  error(err: unknown, x: DelayedExchange): void;
}

export class DelayedExchange extends Exchange {
  readonly type = 'x-delayed-message';
  /** The type messages are routed by (x-delayed-type). */
  readonly delayedType: string;
  readonly #inner: Exchange;
  #host: DelayHost | null = null;
  /** Where messages wait (durable exchanges); null: in memory only. */
  #store: Store | null = null;
  readonly #window = new ScheduleHeap();
  #windowBytes = 0;
  /** Messages only in the store, all after #edge. */
  #onDisk = 0;
  /** Every message up to here is in the window (meaningful while #onDisk > 0; null: none loaded). */
  #edge: ScheduleKey | null = null;
  /** Ids of messages kept in memory only. */
  #nextId = 1;
  #timer: NodeJS.Timeout | null = null;
  #timerDue = Infinity;
  #draining = false;
  #stopped = false;
  /** The due message being routed now: not delayed again, and its headers need no decoding. */
  #releasing: Message | null = null;

  constructor(vhost: string, name: string, options: ExchangeOptions) {
    super(vhost, name, options);
    const t = options.arguments.get('x-delayed-type');
    const type = t?.type === 'S' || t?.type === 'x' ? fieldString(t)! : undefined;
    if (type === undefined) {
      throw new ChannelError('PRECONDITION_FAILED', "Invalid argument, 'x-delayed-type' must be an existing exchange type");
    }
    if (type === this.type) {
      throw new ChannelError('PRECONDITION_FAILED', "Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'");
    }
    const Inner = UNDERLYING.get(type);
    if (Inner === undefined) throw new ConnectionError('COMMAND_INVALID', `unknown exchange type '${type}'`);
    this.delayedType = type;
    this.#inner = new Inner(vhost, name, options);
  }

  /** Connects the exchange to its virtual host; `store` keeps its messages (null: memory). */
  attach(host: DelayHost, store: Store | null): void {
    this.#host = host;
    this.#store = store;
  }

  /** Messages waiting to be routed (the plugin's messages_delayed). */
  get delayedCount(): number {
    return this.#window.size + this.#onDisk;
  }

  /** Of those, how many are in memory now (for a durable exchange, a bounded window). */
  get windowSize(): number {
    return this.#window.size;
  }

  override validateBinding(routingKey: string, args: FieldTable): void {
    this.#inner.validateBinding(routingKey, args);
  }

  override route(msg: Message, into: Set<Destination>): void {
    const delay = this.#host === null || msg === this.#releasing ? 0 : delayOf(msg);
    if (delay > 0) this.#schedule(msg, delay);
    else this.#inner.route(msg, into);
  }

  routeKey(msg: Message, key: string, into: Set<Destination>): void {
    // A delayed message was taken whole by route(), its CC keys with it.
    if (this.#host !== null && msg !== this.#releasing && delayOf(msg) > 0) return;
    this.#inner.routeKey(msg, key, into);
  }

  protected addToIndex(b: Binding): void {
    this.#inner.bind(b);
  }

  protected removeFromIndex(b: Binding): void {
    this.#inner.unbind(b.key);
  }

  /** After a restart: counts the messages the store holds for this exchange, loads the first due. */
  restoreScheduled(): number {
    if (this.#store === null) return 0;
    this.#onDisk = this.#store.countScheduled(this.vhost, this.name);
    this.#edge = null;
    this.#arm();
    return this.delayedCount;
  }

  /** Shutdown: no more timers; what is stored stays stored. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** The exchange was deleted: its scheduled messages go with it. */
  dispose(): void {
    this.stop();
    this.#window.clear();
    this.#windowBytes = 0;
    this.#onDisk = 0;
    this.#store?.dropScheduled(this.vhost, this.name);
  }

  // ---- scheduling ------------------------------------------------------------------------

  #schedule(msg: Message, delay: number): void {
    // Deleted meanwhile (a transaction committing a publish to it): nowhere to keep it.
    if (this.#stopped) return;
    const dueAt = Date.now() + delay;
    // Delivered with x-delay negated: not delayed again, and consumers can tell it was delayed.
    const held = msg.withHeader('x-delay', delay <= 0x7fffffff ? { type: 'I', value: -delay } : { type: 'l', value: -delay });
    held.storeId = 0;
    held.detach(); // held for a while: not with the read chunk its body arrived in
    this.#host!.deferred();
    const store = this.#store;
    const id = store === null ? this.#nextId++ : store.scheduleMessage(this.vhost, this.name, dueAt, held);
    const item: ScheduledMessage = { id, dueAt, message: held };
    if (store === null || this.#onDisk === 0 || (this.#edge !== null && byDue(item, this.#edge) < 0)) {
      this.#window.push(item);
      this.#windowBytes += held.size;
      if (store !== null && (this.#window.size > 2 * WINDOW || this.#windowBytes > 2 * WINDOW_BYTES)) this.#trim();
    } else {
      this.#onDisk++;
    }
    this.#arm();
  }

  /** The window grew past its bounds: keep the earliest, the rest is read back from the store later. */
  #trim(): void {
    const all = this.#window.takeSorted();
    let keep = 0;
    let bytes = 0;
    while (keep < all.length && keep < WINDOW) {
      const b = bytes + all[keep]!.message.size;
      if (keep > 0 && b > WINDOW_BYTES) break;
      bytes = b;
      keep++;
    }
    const last = all[keep - 1]!;
    this.#edge = { dueAt: last.dueAt, id: last.id };
    this.#onDisk += all.length - keep;
    all.length = keep;
    this.#window.setSorted(all);
    this.#windowBytes = bytes;
  }

  /** Reads the next due messages after the window's edge back from the store. */
  #refill(): void {
    const rows = this.#store!.loadScheduled(
      this.vhost,
      this.name,
      this.#edge,
      Math.min(REFILL, WINDOW - this.#window.size),
      Math.max(0, WINDOW_BYTES - this.#windowBytes),
    );
    if (rows.length === 0) {
      this.#onDisk = 0;
      return;
    }
    for (const r of rows) {
      this.#window.push(r);
      this.#windowBytes += r.message.size;
    }
    const last = rows[rows.length - 1]!;
    this.#edge = { dueAt: last.dueAt, id: last.id };
    this.#onDisk = Math.max(0, this.#onDisk - rows.length);
  }

  /** One timer, for the earliest due message. */
  #arm(): void {
    if (this.#draining || this.#stopped || this.#host === null) return;
    if (this.#window.size === 0 && this.#onDisk > 0) this.#refill();
    const top = this.#window.peek();
    if (top === undefined) {
      if (this.#timer !== null) clearTimeout(this.#timer);
      this.#timer = null;
      this.#timerDue = Infinity;
      return;
    }
    if (this.#timer !== null && this.#timerDue <= top.dueAt) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const now = Date.now();
    const wait = Math.min(Math.max(0, top.dueAt - now), MAX_TIMER);
    this.#timerDue = wait === MAX_TIMER ? now + wait : top.dueAt;
    this.#timer = setTimeout(this.#fire, wait);
    this.#timer.unref();
  }

  readonly #fire = (): void => {
    this.#timer = null;
    this.#timerDue = Infinity;
    this.#drain();
  };

  /** Routes what is due, CHUNK messages per turn of the event loop, then sets the timer again. */
  readonly #drain = (): void => {
    if (this.#stopped) {
      this.#draining = false;
      return;
    }
    const host = this.#host!;
    const window = this.#window;
    try {
      const now = Date.now();
      for (let n = 0; ; n++) {
        if (this.#onDisk > 0 && window.size < LOW_WATER) this.#refill();
        const top = window.peek();
        if (top === undefined || top.dueAt > now) break;
        if (n === CHUNK) {
          this.#draining = true;
          setImmediate(this.#drain);
          return;
        }
        window.pop();
        this.#windowBytes -= top.message.size;
        // Forgotten in the same store batch as the writes routing it makes: moved atomically.
        this.#store?.removeScheduled(top.id);
        this.#releasing = top.message;
        try {
          host.deliver(this, top.message);
        } catch (err) {
          host.error(err, this);
        }
        this.#releasing = null;
      }
    } catch (err) {
      host.error(err, this);
    }
    this.#draining = false;
    this.#arm();
  };
}

/**
 * The delay a message asks for, as the plugin reads `x-delay`: integers of any width, floats
 * truncated, decimal strings; 0 (route now) when absent, not a number, not positive, or beyond
 * MAX_DELAY. (The plugin's channel crashes on a non-numeric string; here it is just not delayed.)
 */
export function delayOf(msg: Message): number {
  if (!msg.hasProperty(BASIC_PROPERTY_FLAGS.headers)) return 0;
  const v = msg.properties.headers?.get('x-delay');
  if (v === undefined) return 0;
  const d = delayValue(v);
  return d > 0 && d <= MAX_DELAY ? d : 0;
}

function delayValue(v: FieldValue): number {
  switch (v.type) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
      return v.value;
    case 'l':
      return Number(v.value);
    case 'f':
    case 'd':
      return Math.trunc(v.value);
    case 'D':
      return Math.trunc(v.value.value / 10 ** v.value.scale);
    case 'S': {
      const s = fieldString(v)!;
      return /^[+-]?[0-9]+$/.test(s) ? Number(s) : 0;
    }
    default:
      return 0;
  }
}

function byDue(a: ScheduleKey, b: ScheduleKey): number {
  return a.dueAt - b.dueAt || a.id - b.id;
}

/** A binary min-heap of scheduled messages by (dueAt, id): same-millisecond ones in publish order. */
class ScheduleHeap {
  #a: ScheduledMessage[] = [];

  get size(): number {
    return this.#a.length;
  }

  peek(): ScheduledMessage | undefined {
    return this.#a[0];
  }

  push(item: ScheduledMessage): void {
    const a = this.#a;
    let i = a.length;
    a.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (byDue(a[parent]!, item) <= 0) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = item;
  }

  pop(): ScheduledMessage | undefined {
    const a = this.#a;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const child = r < a.length && byDue(a[r]!, a[l]!) < 0 ? r : l;
      if (byDue(a[child]!, last) >= 0) break;
      a[i] = a[child]!;
      i = child;
    }
    a[i] = last;
    return top;
  }

  /** Every item, earliest first; the heap is left empty. */
  takeSorted(): ScheduledMessage[] {
    const a = this.#a;
    this.#a = [];
    return a.sort(byDue);
  }

  /** Takes items already in order (a sorted array is a heap). */
  setSorted(items: ScheduledMessage[]): void {
    this.#a = items;
  }

  clear(): void {
    this.#a = [];
  }
}
