// The Exchange contract and what every exchange type shares: identity, flags, arguments, and
// the bindings it is the source of. A type only decides which destinations a message goes to;
// its matching structures are built at bind time so that `route` allocates nothing.

import type { FieldTable, FieldValue } from '../codec/field-table.js';
import { fieldString } from '../codec/field-table.js';
import type { Message } from '../message.js';
import type { Queue } from '../queue/queue.js';

export type Destination = Queue | Exchange;

export interface Binding {
  readonly source: Exchange;
  readonly destination: Destination;
  readonly routingKey: string;
  readonly arguments: FieldTable;
  /** Identity within the source: destination, key and arguments. */
  readonly key: string;
}

export interface ExchangeOptions {
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: FieldTable;
}

export abstract class Exchange {
  readonly kind = 'exchange' as const;
  abstract readonly type: string;
  readonly vhost: string;
  readonly name: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: FieldTable;
  /** Bindings with this exchange as source, by identity. */
  readonly bindings = new Map<string, Binding>();
  /** Bindings with this exchange as destination (exchange-to-exchange). */
  readonly incoming = new Set<Binding>();
  /** True once some binding has had it as its source (auto-delete waits for that). */
  hadBindings = false;
  /** Number of bindings whose destination is an exchange: routing follows those. */
  exchangeDestinations = 0;
  /** alternate-exchange: where messages this exchange cannot route go instead (argument, else policy). */
  alternate: string | null;
  /** The policy that applies to the exchange (null: none). */
  policy: string | null = null;

  constructor(vhost: string, name: string, options: ExchangeOptions) {
    this.vhost = vhost;
    this.name = name;
    this.durable = options.durable;
    this.autoDelete = options.autoDelete;
    this.internal = options.internal;
    this.arguments = options.arguments;
    const ae = options.arguments.get('alternate-exchange');
    this.alternate = ae !== undefined && ae.type === 'S' ? fieldString(ae)! : null;
  }

  /** Adds the destinations of `msg` to `into`, routing on its routing key. */
  route(msg: Message, into: Set<Destination>): void {
    this.routeKey(msg, msg.routingKey, into);
  }

  /** Adds the destinations of `msg` routed with `key` (CC/BCC and dead-letter keys use others). */
  abstract routeKey(msg: Message, key: string, into: Set<Destination>): void;
  /** Type-specific validation of a binding's arguments; throws ChannelError. */
  validateBinding(_routingKey: string, _args: FieldTable): void {}
  protected abstract addToIndex(b: Binding): void;
  protected abstract removeFromIndex(b: Binding): void;

  /** Adds a binding; false when an identical one exists. */
  bind(b: Binding): boolean {
    if (this.bindings.has(b.key)) return false;
    this.bindings.set(b.key, b);
    this.hadBindings = true;
    if (b.destination.kind === 'exchange') this.exchangeDestinations++;
    this.addToIndex(b);
    return true;
  }

  unbind(key: string): Binding | undefined {
    const b = this.bindings.get(key);
    if (b === undefined) return undefined;
    this.bindings.delete(key);
    if (b.destination.kind === 'exchange') this.exchangeDestinations--;
    this.removeFromIndex(b);
    return b;
  }
}

/** The identity of a binding: RabbitMQ treats the same key with other arguments as another binding. */
export function bindingKey(destination: Destination, routingKey: string, args: FieldTable): string {
  const argKey = args.size === 0 ? '' : typedKey(args);
  return `${destination.kind === 'exchange' ? 'e' : 'q'}\u0000${destination.name}\u0000${routingKey}\u0000${argKey}`;
}

/** A table as a string that keeps value types (I 1 and l 1 are different), keys sorted. */
function typedKey(t: FieldTable): string {
  return [...t.keys()]
    .sort()
    .map((k) => `${JSON.stringify(k)}=${typedValue(t.get(k)!)}`)
    .join(',');
}

function typedValue(v: FieldValue): string {
  switch (v.type) {
    case 'F':
      return `F{${typedKey(v.value)}}`;
    case 'A':
      return `A[${v.value.map(typedValue).join(',')}]`;
    case 'S':
    case 'x':
      return `${v.type}${(typeof v.value === 'string' ? Buffer.from(v.value) : v.value).toString('hex')}`;
    case 'D':
      return `D${v.value.scale}:${v.value.value}`;
    default:
      return `${v.type}${String(v.value)}`;
  }
}

/** Shared by every DestinationCounts until it has two destinations; replaced, never written. */
const NO_DESTINATIONS: Destination[] = [];

/** A multiset of destinations: several bindings may lead to the same place. */
export class DestinationCounts {
  // Most keys lead to one destination (a direct key bound to one queue): that one is kept as
  // itself, and the Map and the array come only with a second distinct destination, so an
  // idle binding costs one small object.
  #one: Destination | null = null;
  #oneCount = 0;
  #counts: Map<Destination, number> | null = null;
  /** The distinct destinations, as an array: routing walks it without an iterator. */
  #list: Destination[] = NO_DESTINATIONS;

  add(d: Destination): void {
    if (this.#counts === null) {
      if (this.#one === null || this.#one === d) {
        this.#one = d;
        this.#oneCount++;
        return;
      }
      this.#counts = new Map([[this.#one, this.#oneCount]]);
      this.#one = null;
      this.#oneCount = 0;
    }
    const n = this.#counts.get(d) ?? 0;
    this.#counts.set(d, n + 1);
    if (n === 0) this.#list = [...this.#counts.keys()];
  }

  /** Returns true when the set became empty. */
  remove(d: Destination): boolean {
    if (this.#counts === null) {
      if (this.#one === d && --this.#oneCount === 0) this.#one = null;
      return this.#one === null;
    }
    const n = (this.#counts.get(d) ?? 0) - 1;
    if (n <= 0) {
      this.#counts.delete(d);
      this.#list = [...this.#counts.keys()];
    } else this.#counts.set(d, n);
    return this.#counts.size === 0;
  }

  addAllTo(into: Set<Destination>): void {
    if (this.#counts === null) {
      if (this.#one !== null) into.add(this.#one);
      return;
    }
    const list = this.#list;
    for (let i = 0; i < list.length; i++) into.add(list[i]!);
  }

  get size(): number {
    return this.#counts === null ? (this.#one === null ? 0 : 1) : this.#counts.size;
  }
}
