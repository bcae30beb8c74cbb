// Builders for unit tests of the broker model: messages, queues, bindings made by hand, and
// a fake Consumer that records what it was given. No sockets, no channels.

import type { FieldTable } from '../../src/codec/field-table.js';
import type { BasicProperties } from '../../src/codec/methods.generated.js';
import { Message } from '../../src/message.js';
import { bindingKey, type Binding, type Destination, type Exchange } from '../../src/routing/exchange.js';
import { Queue, type Consumer, type QueueEntry, type QueueOptions } from '../../src/queue/queue.js';
import type { Store } from '../../src/store/store.js';

export function message(routingKey: string, properties: BasicProperties = {}, body = 'x', exchange = 'x'): Message {
  return Message.fromProperties(exchange, routingKey, properties, Buffer.from(body));
}

export function queue(name: string, options: Partial<QueueOptions> = {}, store: Store | null = null): Queue {
  return new Queue(
    '/',
    name,
    { durable: false, exclusiveOwner: null, autoDelete: false, arguments: new Map(), ...options },
    store,
  );
}

export function binding(source: Exchange, destination: Destination, routingKey: string, args: FieldTable = new Map()): Binding {
  return { source, destination, routingKey, arguments: args, key: bindingKey(destination, routingKey, args) };
}

export function bind(source: Exchange, destination: Destination, routingKey: string, args: FieldTable = new Map()): boolean {
  return source.bind(binding(source, destination, routingKey, args));
}

export function unbind(source: Exchange, destination: Destination, routingKey: string, args: FieldTable = new Map()): boolean {
  return source.unbind(bindingKey(destination, routingKey, args)) !== undefined;
}

/** Names of the destinations `x` routes `msg` to, sorted. */
export function routed(x: Exchange, msg: Message): string[] {
  const into = new Set<Destination>();
  x.route(msg, into);
  return [...into].map((d) => d.name).sort();
}

/** A consumer whose credit the test controls; it records deliveries and cancellation. */
export class FakeConsumer implements Consumer {
  readonly tag: string;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly priority: number;
  /** Deliveries it will still accept; Infinity = unlimited. */
  credit: number;
  readonly delivered: QueueEntry[] = [];
  cancelled = 0;
  /** What socketBound() answers: has credit, but its socket is backed up. */
  bound = false;

  constructor(tag: string, options: { noAck?: boolean; exclusive?: boolean; credit?: number; priority?: number } = {}) {
    this.tag = tag;
    this.priority = options.priority ?? 0;
    this.noAck = options.noAck ?? false;
    this.exclusive = options.exclusive ?? false;
    this.credit = options.credit ?? Infinity;
  }

  canDeliver(): boolean {
    return this.credit > 0;
  }

  deliver(_queue: Queue, entry: QueueEntry): void {
    if (this.credit <= 0) throw new Error(`${this.tag}: delivery without credit`);
    this.credit--;
    this.delivered.push(entry);
  }

  queueDeleted(_queue: Queue): void {
    this.cancelled++;
  }

  socketBound(): boolean {
    return this.bound;
  }

  /** Bodies of what it received, in order. */
  bodies(): string[] {
    return bodies(this.delivered);
  }
}

export function bodies(entries: readonly QueueEntry[]): string[] {
  return entries.map((e) => (e.msg === null ? '<on disk>' : e.msg.body.toString()));
}
