// A virtual host: its exchanges, queues and bindings, the rules for declaring and deleting
// them (equivalence, reserved names, exclusivity, auto-delete), routing a message to its
// queues, and the store calls that keep durable definitions across restarts.
// Errors are thrown as ChannelError with RabbitMQ's texts; the channel adds the method ids.

import type { FieldTable } from '../codec/field-table.js';
import { RABBIT_TYPE_NAMES, sharedIfEmpty } from '../codec/field-table.js';
import { ChannelError, ConnectionError } from '../errors.js';
import { assertArgsEquivalent, assertEquivalent } from './equivalence.js';
import type { Message } from '../message.js';
import { parseQueueArguments, settingsOf } from '../queue/arguments.js';
import { deadLetterCopy, deathHistory, isCycle } from '../queue/dead-letter.js';
import { Queue, type DeadLetterReason, type QueueHooks } from '../queue/queue.js';
import type { BindingRecord, Store } from '../store/store.js';
import type { StreamEnv } from '../stream/env.js';
import { StreamQueue } from '../stream/stream-queue.js';
import { ConsistentHashExchange } from './consistent-hash.js';
import { DelayedExchange, type DelayHost } from './delayed.js';
import { DirectExchange } from './direct.js';
import { bindingKey, Exchange, type Binding, type Destination, type ExchangeOptions } from './exchange.js';
import { FanoutExchange } from './fanout.js';
import { HeadersExchange } from './headers.js';
import { PolicySet } from './policies.js';
import { QueueBindings } from './queue-bindings.js';
import { checkSuperStreamDeclaration, createPartitions, isSuperStreamDeclaration, SuperStreamExchange } from './super-stream.js';
import { TopicExchange } from './topic.js';

type ExchangeClass = new (vhost: string, name: string, options: ExchangeOptions) => Exchange;

export const EXCHANGE_TYPES: ReadonlyMap<string, ExchangeClass> = new Map<string, ExchangeClass>([
  ['direct', DirectExchange],
  ['fanout', FanoutExchange],
  ['topic', TopicExchange],
  ['headers', HeadersExchange],
  ['x-delayed-message', DelayedExchange],
  ['x-consistent-hash', ConsistentHashExchange],
]);

/** The nameless exchange every queue is bound to by its name. Only publishing is allowed. */
class DefaultExchange extends DirectExchange {
  readonly #queues: Map<string, Queue>;
  constructor(vhost: string, queues: Map<string, Queue>) {
    super(vhost, '', { durable: true, autoDelete: false, internal: false, arguments: new Map() });
    this.#queues = queues;
  }
  override routeKey(_msg: Message, key: string, into: Set<Destination>): void {
    const q = this.#queues.get(key);
    if (q !== undefined) into.add(q);
  }
}

const PREDECLARED: readonly [string, string, boolean][] = [
  ['amq.direct', 'direct', false],
  ['amq.fanout', 'fanout', false],
  ['amq.topic', 'topic', false],
  ['amq.headers', 'headers', false],
  ['amq.match', 'headers', false],
  ['amq.rabbitmq.trace', 'topic', true],
];

/** Queue arguments RabbitMQ compares when a queue is declared again. */
const EQUIVALENT_QUEUE_ARGS = [
  'x-expires',
  'x-message-ttl',
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-max-length',
  'x-max-length-bytes',
  'x-max-in-memory-length',
  'x-max-in-memory-bytes',
  'x-max-priority',
  'x-overflow',
  'x-queue-mode',
  'x-queue-type',
  'x-single-active-consumer',
  'x-queue-master-locator',
  'x-delivery-limit',
  'x-max-age',
  'x-stream-max-segment-size-bytes',
];

export interface ExchangeDeclare {
  readonly name: string;
  readonly type: string;
  readonly durable: boolean;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: FieldTable;
}

export interface QueueDeclare {
  readonly name: string;
  readonly durable: boolean;
  readonly exclusive: boolean;
  readonly autoDelete: boolean;
  readonly arguments: FieldTable;
}

export interface VhostEvents {
  /** A queue left the vhost (deleted, auto-deleted, owner gone). */
  queueDeleted?(q: Queue): void;
  /** Something failed in work no client started (a queue's timers): report it. */
  error?(err: unknown, context: Record<string, string>): void;
  /** The vhost's max-queues limit, or null for none. */
  queueLimit?(vhost: string): number | null;
  /** Where streams keep their logs (x-queue-type: stream is refused without it). */
  streams?(): StreamEnv;
}

export class VirtualHost {
  readonly name: string;
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, Queue>();
  readonly defaultExchange: DefaultExchange;
  /** Direct reply-to: channels consuming amq.rabbitmq.reply-to, by the token in their address. */
  readonly replyConsumers = new Map<string, { deliverReply(msg: Message): void }>();
  /** Policies and operator policies; applied to each queue and exchange as it is added. */
  readonly policies = new PolicySet();
  readonly #store: Store;
  readonly #queueBindings = new QueueBindings();
  readonly #events: VhostEvents;
  // Reused per publish so routing allocates nothing.
  readonly #routeScratch = new Set<Destination>();
  readonly #visited = new Set<Exchange>();
  /** The last route() handed the message to a delayed exchange for later (not unroutable). */
  lastRouteDeferred = false;
  readonly #dueTargets = new Set<Queue>();
  readonly #delayHost: DelayHost = {
    deliver: (x, msg) => {
      if (this.exchanges.get(x.name) !== x) return;
      const targets = this.#dueTargets;
      targets.clear();
      this.route(x, msg, targets);
      for (const q of targets) q.enqueue(msg);
    },
    deferred: () => {
      this.lastRouteDeferred = true;
    },
    error: (err, x) => this.#events.error?.(err, { vhost: this.name, exchange: x.name }),
  };
  readonly #queueHooks: QueueHooks = {
    deadLetter: (q, msg, reason) => this.#deadLetter(q, msg, reason),
    remove: (q) => {
      this.removeQueue(q);
    },
    error: (q, err) => this.#events.error?.(err, { vhost: this.name, queue: q.name }),
  };

  constructor(name: string, store: Store, events: VhostEvents = {}) {
    this.name = name;
    this.#store = store;
    this.#events = events;
    this.defaultExchange = new DefaultExchange(name, this.queues);
    for (const [xname, type, internal] of PREDECLARED) {
      const X = EXCHANGE_TYPES.get(type)!;
      this.exchanges.set(xname, new X(name, xname, { durable: true, autoDelete: false, internal, arguments: new Map() }));
    }
  }

  // ---- exchanges -------------------------------------------------------------------------

  /** The exchange a publish names: '' is the default exchange. */
  exchangeForPublish(name: string): Exchange {
    if (name === '') return this.defaultExchange;
    return this.#exchangeOrDie(name);
  }

  getExchange(name: string): Exchange | undefined {
    return name === '' ? this.defaultExchange : this.exchanges.get(name);
  }

  declareExchangePassive(name: string): Exchange {
    if (name === '') return this.defaultExchange;
    return this.#exchangeOrDie(name);
  }

  declareExchange(d: ExchangeDeclare): Exchange {
    const X = EXCHANGE_TYPES.get(d.type);
    if (X === undefined) throw new ConnectionError('COMMAND_INVALID', `unknown exchange type '${d.type}'`);
    if (d.name === '') throw defaultExchangeRefused();
    const existing = this.exchanges.get(d.name);
    if (existing !== undefined) {
      const what = `exchange '${d.name}' in vhost '${this.name}'`;
      assertEquivalent('type', what, d.type, existing.type);
      assertEquivalent('durable', what, d.durable, existing.durable);
      assertEquivalent('auto_delete', what, d.autoDelete, existing.autoDelete);
      assertEquivalent('internal', what, d.internal, existing.internal);
      assertArgsEquivalent(['alternate-exchange'], what, d.arguments, existing.arguments);
      return existing;
    }
    if (d.name.startsWith('amq.')) {
      throw new ChannelError('ACCESS_REFUSED', `exchange name '${d.name}' contains reserved prefix 'amq.*'`);
    }
    const ae = d.arguments.get('alternate-exchange');
    if (ae !== undefined && ae.type !== 'S') {
      throw new ChannelError(
        'PRECONDITION_FAILED',
        `invalid type '${RABBIT_TYPE_NAMES[ae.type]}' for arg 'alternate-exchange' in exchange '${d.name}' in vhost '${this.name}'`,
      );
    }
    const superStream = isSuperStreamDeclaration(d.arguments);
    const partitions = superStream ? checkSuperStreamDeclaration(d.name, this.name, d.type, d.durable, d.arguments) : 0;
    const x = superStream ? new SuperStreamExchange(this.name, d.name, d) : new X(this.name, d.name, d);
    if (x instanceof DelayedExchange) x.attach(this.#delayHost, x.durable ? this.#store : null);
    this.exchanges.set(d.name, x);
    this.policies.applyToExchange(x);
    if (x.durable) {
      this.#store.saveExchange({ vhost: this.name, name: x.name, type: x.type, autoDelete: x.autoDelete, internal: x.internal, arguments: x.arguments });
    }
    if (partitions > 0) {
      try {
        this.addPartitions(d.name, partitions);
      } catch (e) {
        // A partition that could not be made (a max-queues limit, a name taken by another kind
        // of queue): the declaration fails whole. Partitions made so far stay, as declared queues.
        this.#removeExchange(x);
        throw e;
      }
    }
    return x;
  }

  /** Grows super stream `name` to `count` partitions (fewer: nothing to do). Returns the new count. */
  addPartitions(name: string, count: number): number {
    const x = this.#exchangeOrDie(name);
    if (!(x instanceof SuperStreamExchange)) throw new ChannelError('PRECONDITION_FAILED', `exchange '${name}' in vhost '${this.name}' is not a super stream`);
    if (count > x.partitionCount) createPartitions(this, name, x.partitionCount, count);
    return x.partitionCount;
  }

  deleteExchange(name: string, ifUnused: boolean): void {
    if (name === '') throw defaultExchangeRefused();
    if (name.startsWith('amq.')) {
      throw new ChannelError('ACCESS_REFUSED', `deletion of system exchange '${name}' in vhost '${this.name}' not allowed`);
    }
    const x = this.exchanges.get(name);
    if (x === undefined) return;
    if (ifUnused && x.bindings.size > 0) {
      throw new ChannelError('PRECONDITION_FAILED', `exchange '${name}' in vhost '${this.name}' in use`);
    }
    const partitions = x instanceof SuperStreamExchange ? x.ownPartitions() : [];
    this.#removeExchange(x);
    // As RabbitMQ's delete_super_stream: the partition streams go with the super stream.
    for (const p of partitions) if (this.queues.get(p) instanceof StreamQueue) this.removeQueue(this.queues.get(p)!);
  }

  // ---- queues ----------------------------------------------------------------------------

  getQueue(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  /** The queue, or 404; and 405 when another connection owns it exclusively. */
  queueForUse(name: string, owner: object): Queue {
    const q = this.#queueOrDie(name);
    checkExclusive(q, owner);
    return q;
  }

  declareQueuePassive(name: string, owner: object): Queue {
    const q = this.queueForUse(name, owner);
    q.touch();
    return q;
  }

  /** Declares (or re-declares) a queue. `serverNamed`: the name was generated here, so `amq.` is fine. */
  declareQueue(d: QueueDeclare, owner: object, serverNamed = false): Queue {
    const name = d.name;
    if (!serverNamed) checkQueueName(name);
    const durable = d.durable && !d.exclusive;
    const existing = this.queues.get(name);
    if (existing !== undefined) {
      checkExclusive(existing, d.exclusive ? owner : null, true);
      const what = `queue '${name}' in vhost '${this.name}'`;
      assertEquivalent('durable', what, durable, existing.durable);
      assertEquivalent('auto_delete', what, d.autoDelete, existing.autoDelete);
      assertArgsEquivalent(EQUIVALENT_QUEUE_ARGS, what, d.arguments, existing.arguments);
      existing.touch();
      return existing;
    }
    // Only new queues count against max-queues; RabbitMQ checks it before the arguments.
    const limit = this.#events.queueLimit?.(this.name) ?? null;
    if (limit !== null && this.queues.size >= limit) {
      throw new ChannelError('PRECONDITION_FAILED', `cannot declare queue '${name}': queue limit in vhost '${this.name}' (${limit}) is reached`);
    }
    validateDeadLetterExchangeType(name, this.name, d.arguments);
    const settings = parseQueueArguments(d.arguments, name, this.name, { durable: d.durable, exclusive: d.exclusive, autoDelete: d.autoDelete, serverNamed });
    const options = { durable, exclusiveOwner: d.exclusive ? owner : null, autoDelete: d.autoDelete, arguments: sharedIfEmpty(d.arguments), settings };
    const q = settings.queueType === 'stream' ? new StreamQueue(this.name, name, options, this.#streamEnv(), false) : new Queue(this.name, name, options, this.#store);
    this.#addQueue(q);
    if (durable) this.#store.saveQueue({ vhost: this.name, name, autoDelete: d.autoDelete, arguments: d.arguments });
    return q;
  }

  /** Deletes a queue; returns its ready message count. Missing queues are fine (idempotent). */
  deleteQueue(name: string, owner: object, ifUnused: boolean, ifEmpty: boolean): number {
    const q = this.queues.get(name);
    if (q === undefined) return 0;
    checkExclusive(q, owner);
    const what = `queue '${name}' in vhost '${this.name}'`;
    if (ifEmpty && q.messageCount > 0) throw new ChannelError('PRECONDITION_FAILED', `${what} not empty`);
    if (ifUnused && q.consumerCount > 0) throw new ChannelError('PRECONDITION_FAILED', `${what} in use`);
    return this.removeQueue(q);
  }

  purgeQueue(name: string, owner: object): number {
    const q = this.queueForUse(name, owner);
    return q.purge();
  }

  /** Removes a queue with its bindings (also used for auto-delete and exclusive owners leaving). */
  removeQueue(q: Queue): number {
    if (q.deleted || this.queues.get(q.name) !== q) return 0;
    this.queues.delete(q.name);
    for (const b of this.#queueBindings.take(q)) this.#dropBinding(b, false);
    if (q.durable) this.#store.deleteQueue(this.name, q.name);
    const n = q.delete();
    this.#events.queueDeleted?.(q);
    return n;
  }

  /** Deletes every exclusive queue owned by a closing connection. */
  removeExclusiveQueues(owner: object): void {
    for (const q of [...this.queues.values()]) if (q.exclusiveOwner === owner) this.removeQueue(q);
  }

  // ---- bindings --------------------------------------------------------------------------

  bindQueue(queueName: string, exchangeName: string, routingKey: string, args: FieldTable, owner: object): void {
    if (exchangeName === '') throw defaultExchangeRefused();
    const x = this.#exchangeOrDie(exchangeName);
    const q = this.#queueOrDie(queueName);
    checkExclusive(q, owner);
    this.#addBinding(x, q, routingKey, args);
  }

  unbindQueue(queueName: string, exchangeName: string, routingKey: string, args: FieldTable, owner: object): void {
    if (exchangeName === '') throw defaultExchangeRefused();
    const x = this.exchanges.get(exchangeName);
    const q = this.queues.get(queueName);
    if (x === undefined || q === undefined) return;
    checkExclusive(q, owner);
    const b = x.bindings.get(bindingKey(q, routingKey, args));
    if (b !== undefined) this.#dropBinding(b, true);
  }

  bindExchange(destinationName: string, sourceName: string, routingKey: string, args: FieldTable): void {
    if (destinationName === '' || sourceName === '') throw defaultExchangeRefused();
    const source = this.#exchangeOrDie(sourceName);
    const destination = this.#exchangeOrDie(destinationName);
    this.#addBinding(source, destination, routingKey, args);
  }

  unbindExchange(destinationName: string, sourceName: string, routingKey: string, args: FieldTable): void {
    if (destinationName === '' || sourceName === '') throw defaultExchangeRefused();
    const source = this.exchanges.get(sourceName);
    const destination = this.exchanges.get(destinationName);
    if (source === undefined || destination === undefined) return;
    const b = source.bindings.get(bindingKey(destination, routingKey, args));
    if (b !== undefined) this.#dropBinding(b, true);
  }

  /** Every explicit binding, for inspection (the default exchange's implicit ones are not listed). */
  allBindings(): Binding[] {
    const out: Binding[] = [];
    for (const x of this.exchanges.values()) out.push(...x.bindings.values());
    return out;
  }

  // ---- routing ---------------------------------------------------------------------------

  /**
   * Fills `into` with the queues `msg` reaches from `exchange`: its routing key and CC/BCC keys,
   * through exchange-to-exchange bindings, and on to alternate exchanges when nothing matched.
   */
  route(exchange: Exchange, msg: Message, into: Set<Queue>): void {
    this.lastRouteDeferred = false;
    const found = this.#routeScratch;
    found.clear();
    exchange.route(msg, found);
    const cc = msg.ccKeys;
    if (cc !== null) for (const k of cc) exchange.routeKey(msg, k, found);
    if (exchange.exchangeDestinations === 0 && (found.size > 0 || exchange.alternate === null)) {
      for (const d of found) into.add(d as Queue);
      return;
    }
    const visited = this.#visited;
    visited.clear();
    visited.add(exchange);
    const before = into.size;
    this.#collect(found, msg, into, visited);
    if (into.size === before && !this.lastRouteDeferred) this.#routeAlternate(exchange, msg, into, visited);
  }

  #collect(found: Set<Destination>, msg: Message, into: Set<Queue>, visited: Set<Exchange>): void {
    const next: Exchange[] = [];
    for (const d of found) {
      if (d.kind === 'queue') into.add(d);
      else if (!visited.has(d)) {
        visited.add(d);
        next.push(d);
      }
    }
    for (const x of next) {
      const more = new Set<Destination>();
      x.route(msg, more);
      if (msg.ccKeys !== null) for (const k of msg.ccKeys) x.routeKey(msg, k, more);
      this.#collect(more, msg, into, visited);
    }
  }

  /** Unroutable from `x`: try its alternate exchange, and that one's, never the same one twice. */
  #routeAlternate(x: Exchange, msg: Message, into: Set<Queue>, visited: Set<Exchange>): void {
    for (let ae = x.alternate; ae !== null; ) {
      const alt = this.exchanges.get(ae);
      if (alt === undefined || visited.has(alt)) return;
      visited.add(alt);
      const found = new Set<Destination>();
      alt.route(msg, found);
      if (msg.ccKeys !== null) for (const k of msg.ccKeys) alt.routeKey(msg, k, found);
      const before = into.size;
      this.#collect(found, msg, into, visited);
      if (into.size > before) return;
      ae = alt.alternate;
    }
  }

  // ---- dead-lettering --------------------------------------------------------------------

  /** Publishes the dead-lettered copy of `msg` leaving `q`, skipping queues it would cycle into. */
  #deadLetter(q: Queue, msg: Message, reason: DeadLetterReason): void {
    const dlxName = q.settings.deadLetterExchange;
    if (dlxName === null) return;
    const dlx = dlxName === '' ? this.defaultExchange : this.exchanges.get(dlxName);
    if (dlx === undefined) return; // RabbitMQ drops the message when the DLX does not exist
    const copy = deadLetterCopy(msg, q.name, reason, dlxName, q.settings.deadLetterRoutingKey, Math.floor(Date.now() / 1000));
    const targets = new Set<Queue>();
    this.route(dlx, copy, targets);
    const history = reason === 'rejected' ? [] : deathHistory(copy);
    for (const t of targets) {
      if (history.length > 0 && isCycle(t.name, history)) continue;
      t.enqueue(copy);
    }
  }

  // ---- restore ---------------------------------------------------------------------------

  /** Recreates durable definitions read from the store (no store writes). */
  restoreExchange(name: string, type: string, options: ExchangeOptions): void {
    const X = type === 'direct' && isSuperStreamDeclaration(options.arguments) ? SuperStreamExchange : EXCHANGE_TYPES.get(type);
    if (X === undefined || this.exchanges.has(name)) return;
    const x = new X(this.name, name, options);
    if (x instanceof DelayedExchange) x.attach(this.#delayHost, this.#store);
    this.exchanges.set(name, x);
    this.policies.applyToExchange(x);
  }

  /** After restoring exchanges and bindings: delayed exchanges pick up their stored messages. Returns how many. */
  restoreScheduled(): number {
    let n = 0;
    for (const x of this.exchanges.values()) if (x instanceof DelayedExchange) n += x.restoreScheduled();
    return n;
  }

  /** Shutdown: delayed exchanges stop their timers (stored messages stay). */
  stopScheduling(): void {
    for (const x of this.exchanges.values()) if (x instanceof DelayedExchange) x.stop();
  }

  restoreQueue(name: string, autoDelete: boolean, args: FieldTable): Queue {
    const settings = settingsOf(args, name, this.name);
    const options = { durable: true, exclusiveOwner: null, autoDelete, arguments: sharedIfEmpty(args), settings };
    const q = settings.queueType === 'stream' ? new StreamQueue(this.name, name, options, this.#streamEnv(), true) : new Queue(this.name, name, options, this.#store);
    this.#addQueue(q);
    return q;
  }

  #streamEnv(): StreamEnv {
    const env = this.#events.streams?.();
    if (env === undefined) throw new ChannelError('PRECONDITION_FAILED', `invalid arg 'x-queue-type': "unsupported queue type 'stream'"`);
    return env;
  }

  restoreBinding(r: BindingRecord): void {
    const source = this.exchanges.get(r.source);
    const destination = r.destinationKind === 'queue' ? this.queues.get(r.destination) : this.exchanges.get(r.destination);
    if (source === undefined || destination === undefined) return;
    this.#link(source, destination, r.routingKey, r.arguments);
  }

  // ---- internals -------------------------------------------------------------------------

  #addQueue(q: Queue): void {
    this.queues.set(q.name, q);
    q.hooks = this.#queueHooks;
    this.policies.applyToQueue(q);
  }

  /** Policies changed: every queue and exchange gets the ones that match it now. */
  applyPolicies(): void {
    for (const q of [...this.queues.values()]) this.policies.applyToQueue(q);
    for (const x of this.exchanges.values()) this.policies.applyToExchange(x);
  }

  #exchangeOrDie(name: string): Exchange {
    const x = this.exchanges.get(name);
    if (x === undefined) throw new ChannelError('NOT_FOUND', `no exchange '${name}' in vhost '${this.name}'`);
    return x;
  }

  #queueOrDie(name: string): Queue {
    const q = this.queues.get(name);
    if (q === undefined) throw new ChannelError('NOT_FOUND', `no queue '${name}' in vhost '${this.name}'`);
    return q;
  }

  #addBinding(source: Exchange, destination: Destination, routingKey: string, args: FieldTable): void {
    source.validateBinding(routingKey, args);
    const b = this.#link(source, destination, routingKey, args);
    if (b !== null && source.durable && destination.durable) this.#store.saveBinding(bindingRecord(this.name, b));
  }

  #link(source: Exchange, destination: Destination, routingKey: string, args: FieldTable): Binding | null {
    // Idle bindings cost less: no empty table of their own, and the queue's name when the key is it.
    const key = routingKey === destination.name ? destination.name : routingKey;
    const b: Binding = { source, destination, routingKey: key, arguments: sharedIfEmpty(args), key: bindingKey(destination, key, args) };
    if (!source.bind(b)) return null;
    if (destination.kind === 'queue') this.#queueBindings.add(destination, b);
    else destination.incoming.add(b);
    return b;
  }

  /** Removes a binding; an auto-delete source left without bindings goes too. */
  #dropBinding(b: Binding, fromStore: boolean): void {
    b.source.unbind(b.key);
    if (b.destination.kind === 'queue') this.#queueBindings.remove(b.destination, b);
    else b.destination.incoming.delete(b);
    if (fromStore && b.source.durable && b.destination.durable) this.#store.deleteBinding(bindingRecord(this.name, b));
    const x = b.source;
    if (x.autoDelete && x.bindings.size === 0 && this.exchanges.get(x.name) === x) this.#removeExchange(x);
  }

  #removeExchange(x: Exchange): void {
    this.exchanges.delete(x.name);
    // The store drops bindings of a deleted exchange itself.
    for (const b of [...x.bindings.values()]) this.#dropBinding(b, false);
    for (const b of [...x.incoming]) this.#dropBinding(b, false);
    if (x instanceof DelayedExchange) x.dispose();
    if (x.durable) this.#store.deleteExchange(this.name, x.name);
  }
}

/** Clients may not name queues `amq.*` (server-generated names use that prefix). */
export function checkQueueName(name: string): void {
  if (name.startsWith('amq.')) throw new ChannelError('ACCESS_REFUSED', `queue name '${name}' contains reserved prefix 'amq.*'`);
}

function bindingRecord(vhost: string, b: Binding): BindingRecord {
  return {
    vhost,
    source: b.source.name,
    destination: b.destination.name,
    destinationKind: b.destination.kind,
    routingKey: b.routingKey,
    arguments: b.arguments,
  };
}

function defaultExchangeRefused(): ChannelError {
  return new ChannelError('ACCESS_REFUSED', 'operation not permitted on the default exchange');
}

/**
 * 405 unless `owner` may use the queue. `strict` (re-declare) also refuses a declare whose
 * exclusive flag differs from the queue's.
 */
function checkExclusive(q: Queue, owner: object | null, strict = false): void {
  if (q.exclusiveOwner === owner) return;
  if (!strict && q.exclusiveOwner === null) return;
  throw new ChannelError(
    'RESOURCE_LOCKED',
    `cannot obtain exclusive access to locked queue '${q.name}' in vhost '${q.vhost}'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
  );
}

function validateDeadLetterExchangeType(queue: string, vhost: string, args: FieldTable): void {
  const dlx = args.get('x-dead-letter-exchange');
  if (dlx !== undefined && dlx.type !== 'S') {
    throw new ChannelError(
      'PRECONDITION_FAILED',
      `invalid type '${RABBIT_TYPE_NAMES[dlx.type]}' for arg 'x-dead-letter-exchange' in queue '${queue}' in vhost '${vhost}'`,
    );
  }
}
