// x-consistent-hash exchange (rabbitmq_consistent_hash_exchange): each message goes to exactly one
// binding, chosen by hashing its routing key (or the header named by `hash-header`, or the
// property named by `hash-property`); a binding's key is its weight. Same value, same binding;
// shares proportional to weights. The choice is weighted rendezvous hashing: every binding scores
// the value and the highest score wins, so adding a binding moves only the keys it now wins, and
// removing one moves only its own keys. Seeds and weights are laid out at bind time; routing
// hashes once and scores each binding without allocating.

import type { FieldTable, FieldValue } from '../codec/field-table.js';
import { fieldString, RABBIT_TYPE_NAMES } from '../codec/field-table.js';
import { erlangBinary } from '../codec/frame-reader.js';
import { BASIC_PROPERTY_FLAGS } from '../codec/methods.generated.js';
import { ChannelError, ConnectionError } from '../errors.js';
import type { Message } from '../message.js';
import { Exchange, type Binding, type Destination, type ExchangeOptions } from './exchange.js';

const HASH_PROPERTIES = ['message_id', 'correlation_id', 'timestamp'] as const;
type HashProperty = (typeof HASH_PROPERTIES)[number];

/** What a message is hashed on. */
type HashOn = { readonly kind: 'routing-key' } | { readonly kind: 'header'; readonly name: string } | { readonly kind: 'property'; readonly name: HashProperty };

/** The hash of an absent header or property: such messages all go to one binding, as in RabbitMQ. */
const ABSENT = 0x6a09e667;

export class ConsistentHashExchange extends Exchange {
  readonly type = 'x-consistent-hash';
  readonly #hashOn: HashOn;
  // Parallel arrays over the bindings, rebuilt on bind/unbind.
  #dests: Destination[] = [];
  #seeds = new Int32Array(0);
  #weights = new Float64Array(0);
  readonly #order: Binding[] = [];

  constructor(vhost: string, name: string, options: ExchangeOptions) {
    super(vhost, name, options);
    this.#hashOn = hashOnOf(options.arguments);
  }

  /** The binding key is the weight: a decimal integer of at least 1 (Erlang's list_to_integer syntax). */
  override validateBinding(routingKey: string, _args: FieldTable): void {
    if (!/^[+-]?[0-9]+$/.test(routingKey)) {
      throw new ChannelError('PRECONDITION_FAILED', `The binding key must be an integer: ${erlangBinary(Buffer.from(routingKey))}`);
    }
    if (Number(routingKey) < 1) throw new ChannelError('PRECONDITION_FAILED', 'The binding key must be greater than 0');
  }

  routeKey(msg: Message, key: string, into: Set<Destination>): void {
    // Only the message's own routing key counts: CC/BCC keys take no part (the plugin hashes the first key).
    const dests = this.#dests;
    if (dests.length === 0 || key !== msg.routingKey) return;
    const h = this.#hashOf(msg);
    const seeds = this.#seeds;
    const weights = this.#weights;
    let best = 0;
    let bestScore = -1;
    for (let i = 0; i < dests.length; i++) {
      // u in (0, 1); -w / ln(u) is distributed so that binding i wins with probability w_i / sum(w).
      const u = (mix(h, seeds[i]!) + 0.5) / 4294967296;
      const score = -weights[i]! / Math.log(u);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    into.add(dests[best]!);
  }

  protected addToIndex(b: Binding): void {
    this.#order.push(b);
    this.#rebuild();
  }

  protected removeFromIndex(b: Binding): void {
    const i = this.#order.indexOf(b);
    if (i >= 0) this.#order.splice(i, 1);
    this.#rebuild();
  }

  #rebuild(): void {
    const n = this.#order.length;
    this.#dests = this.#order.map((b) => b.destination);
    this.#seeds = new Int32Array(n);
    this.#weights = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const b = this.#order[i]!;
      // Seeded by the binding's identity, so a binding scores the same after a restart.
      this.#seeds[i] = fmix(hashString(b.key, 0x2545f491));
      this.#weights[i] = Math.max(1, Number(b.routingKey) || 1);
    }
  }

  #hashOf(msg: Message): number {
    const on = this.#hashOn;
    if (on.kind === 'routing-key') return hashString(msg.routingKey, 0x811c9dc5);
    if (on.kind === 'header') {
      if (!msg.hasProperty(BASIC_PROPERTY_FLAGS.headers)) return ABSENT;
      const v = msg.properties.headers?.get(on.name);
      return v === undefined ? ABSENT : hashField(v);
    }
    const p = msg.properties;
    switch (on.name) {
      case 'message_id':
        return p.messageId === undefined ? ABSENT : hashString(p.messageId, 0x811c9dc5);
      case 'correlation_id':
        return p.correlationId === undefined ? ABSENT : hashString(p.correlationId, 0x811c9dc5);
      case 'timestamp':
        return p.timestamp === undefined ? ABSENT : hashNumber(Number(p.timestamp), 0x54);
    }
  }
}

/**
 * `hash-header` / `hash-property` as the plugin validates them. A value that is not a longstr
 * crashes the plugin's channel in RabbitMQ (541 on the connection); so here.
 */
function hashOnOf(args: FieldTable): HashOn {
  const header = args.get('hash-header');
  const property = args.get('hash-property');
  for (const v of [header, property]) {
    if (v !== undefined && v.type !== 'S') throw new ConnectionError('INTERNAL_ERROR', '', { classId: 0, methodId: 0 });
  }
  if (header !== undefined && property !== undefined) {
    throw new ChannelError('PRECONDITION_FAILED', 'hash-header and hash-property are mutually exclusive');
  }
  if (header !== undefined) return { kind: 'header', name: fieldString(header)! };
  if (property !== undefined) {
    const name = fieldString(property)!;
    const known = HASH_PROPERTIES.find((p) => p === name);
    if (known === undefined) throw new ChannelError('PRECONDITION_FAILED', `Unsupported property: ${name}`);
    return { kind: 'property', name: known };
  }
  return { kind: 'routing-key' };
}

// ---- hashing (32-bit, allocation-free) -------------------------------------------------------

/** MurmurHash3's finaliser: every input bit affects every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** The value's hash combined with a binding's seed, as an unsigned 32-bit number. */
function mix(h: number, seed: number): number {
  return fmix((h ^ seed) + Math.imul(seed, 0x27d4eb2d)) >>> 0;
}

/** FNV-1a over UTF-16 code units (bytes for ASCII), then mixed. */
function hashString(s: string, basis: number): number {
  let h = basis;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix(h ^ s.length);
}

function hashBytes(b: Buffer, basis: number): number {
  let h = basis;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
  return fmix(h ^ b.length);
}

// The bits of a double, read through one shared buffer.
const f64 = new Float64Array(1);
const f64Words = new Int32Array(f64.buffer);

/** A number by its IEEE 754 bits (integers of any field width hash alike within one tag). */
function hashNumber(n: number, tag: number): number {
  f64[0] = n;
  return fmix(Math.imul(fmix(f64Words[0]! ^ tag), 0x9e3779b1) ^ f64Words[1]!);
}

/** A header value with its type (as the plugin hashes the {Type, Value} pair). */
function hashField(v: FieldValue): number {
  const tag = v.type.charCodeAt(0);
  switch (v.type) {
    case 'S':
      return typeof v.value === 'string' ? hashString(v.value, 0x811c9dc5 ^ tag) : hashBytes(v.value, 0x811c9dc5 ^ tag);
    case 'x':
      return hashBytes(v.value, 0x811c9dc5 ^ tag);
    case 't':
      return hashNumber(v.value ? 1 : 0, tag);
    case 'l':
    case 'T':
      return typeof v.value === 'bigint' ? hashString(v.value.toString(), tag) : hashNumber(v.value, tag);
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
    case 'f':
    case 'd':
      return hashNumber(v.value, tag);
    default:
      // Tables, arrays, decimals, void: rare as hash keys; hashed by a typed rendering.
      return hashString(`${RABBIT_TYPE_NAMES[v.type]}:${JSON.stringify(v.value, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x instanceof Map ? [...x] : x))}`, tag);
  }
}
