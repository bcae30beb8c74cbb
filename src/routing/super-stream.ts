// Super stream exchanges: a `direct` exchange declared with `x-super-stream: true` and
// `x-partitions: N` stands in front of N partition streams `<name>-0` .. `<name>-(N-1)`, bound
// with the partition numbers as binding keys. It routes each message to exactly one partition,
// chosen from the `x-partition-key` header (a string) or else the routing key by
// stream/partition-key.ts, so one key always lands in one partition and keeps its order. The
// number of partitions is the highest bound partition number + 1: adding partitions is binding
// `<name>-N` with key `N` (VirtualHost.addPartitions does it). Deleting the exchange deletes
// the partition streams it made (`<name>-N` bound under `N`), as RabbitMQ's delete_super_stream
// does; other queues bound to it only lose their binding.

import type { FieldTable } from '../codec/field-table.js';
import { fieldInteger, isIntegerField, RABBIT_TYPE_NAMES } from '../codec/field-table.js';
import { ChannelError } from '../errors.js';
import type { Message } from '../message.js';
import { partitionOf } from '../stream/partition-key.js';
import { DestinationCounts, Exchange, type Binding, type Destination, type ExchangeOptions } from './exchange.js';

/** Bound on partitions per super stream: every input is bounded. */
export const MAX_PARTITIONS = 1024;
/** The header that overrides the routing key as the partition key. */
export const PARTITION_KEY_HEADER = 'x-partition-key';

/** Whether an exchange declaration asks for a super stream. */
export function isSuperStreamDeclaration(args: FieldTable): boolean {
  const v = args.get('x-super-stream');
  return v !== undefined && v.type === 't' && v.value === true;
}

/** The name of partition `i` of super stream `name`. */
export function partitionName(name: string, i: number): string {
  return `${name}-${i}`;
}

/**
 * Checks a super stream declaration (type, durability, x-partitions) and returns the number of
 * partitions. Texts follow RabbitMQ's argument errors.
 */
export function checkSuperStreamDeclaration(name: string, vhost: string, type: string, durable: boolean, args: FieldTable): number {
  const what = `exchange '${name}' in vhost '${vhost}'`;
  if (type !== 'direct') throw new ChannelError('PRECONDITION_FAILED', `invalid arg 'x-super-stream' for ${what}: "a super stream exchange must be of type direct, not '${type}'"`);
  if (!durable) throw new ChannelError('PRECONDITION_FAILED', `invalid arg 'x-super-stream' for ${what}: "a super stream exchange must be durable"`);
  const v = args.get('x-partitions');
  if (v === undefined) throw new ChannelError('PRECONDITION_FAILED', `invalid arg 'x-partitions' for ${what}: "x-partitions is required with x-super-stream"`);
  if (!isIntegerField(v)) throw new ChannelError('PRECONDITION_FAILED', `invalid arg 'x-partitions' for ${what}: "expected integer, got ${RABBIT_TYPE_NAMES[v.type]}"`);
  const n = fieldInteger(v)!;
  if (n < 1) throw new ChannelError('PRECONDITION_FAILED', `invalid arg 'x-partitions' for ${what}: {value_too_small,${n}}`);
  if (n > MAX_PARTITIONS) throw new ChannelError('PRECONDITION_FAILED', `invalid arg 'x-partitions' for ${what}: {max_value_exceeded,${n}}`);
  return n;
}

export class SuperStreamExchange extends Exchange {
  readonly type = 'direct';
  /** Destinations bound under each partition number. */
  #partitions: (DestinationCounts | undefined)[] = [];
  /** Partition number of each bound queue (a queue bound under two numbers keeps the first). */
  readonly #partitionOfQueue = new Map<string, number>();

  constructor(vhost: string, name: string, options: ExchangeOptions) {
    super(vhost, name, options);
  }

  /** The number of partitions: the highest bound partition number + 1. */
  get partitionCount(): number {
    return this.#partitions.length;
  }

  /** Which partition a queue is, or -1 when it is not bound here. */
  partitionOfQueue(queue: string): number {
    return this.#partitionOfQueue.get(queue) ?? -1;
  }

  /** The partition streams this super stream made: `<name>-N` bound under `N` (deleted with it). */
  ownPartitions(): string[] {
    const out: string[] = [];
    for (const [queue, p] of this.#partitionOfQueue) if (queue === partitionName(this.name, p)) out.push(queue);
    return out;
  }

  /** A binding key is a partition number. */
  override validateBinding(routingKey: string, _args: FieldTable): void {
    if (partitionNumber(routingKey) < 0) {
      throw new ChannelError('PRECONDITION_FAILED', `binding key '${routingKey}' of super stream exchange '${this.name}' in vhost '${this.vhost}' must be a partition number from 0 to ${MAX_PARTITIONS - 1}`);
    }
  }

  routeKey(msg: Message, key: string, into: Set<Destination>): void {
    // CC/BCC keys take no part: a message goes to one partition.
    const n = this.#partitions.length;
    if (n === 0 || key !== msg.routingKey) return;
    const pk = msg.stringHeader(PARTITION_KEY_HEADER);
    this.#partitions[partitionOf(pk ?? key, n)]?.addAllTo(into);
  }

  protected addToIndex(b: Binding): void {
    const p = partitionNumber(b.routingKey);
    if (p < 0) return; // restored from a store written otherwise: never routed to
    let set = this.#partitions[p];
    if (set === undefined) {
      while (this.#partitions.length <= p) this.#partitions.push(undefined);
      set = new DestinationCounts();
      this.#partitions[p] = set;
    }
    set.add(b.destination);
    if (b.destination.kind === 'queue' && !this.#partitionOfQueue.has(b.destination.name)) this.#partitionOfQueue.set(b.destination.name, p);
  }

  protected removeFromIndex(b: Binding): void {
    const p = partitionNumber(b.routingKey);
    const set = p < 0 ? undefined : this.#partitions[p];
    if (set === undefined) return;
    if (set.remove(b.destination)) this.#partitions[p] = undefined;
    if (b.destination.kind === 'queue' && this.#partitionOfQueue.get(b.destination.name) === p) this.#partitionOfQueue.delete(b.destination.name);
    while (this.#partitions.length > 0 && this.#partitions[this.#partitions.length - 1] === undefined) this.#partitions.pop();
  }
}

/** A binding key as a partition number, or -1. */
function partitionNumber(key: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(key)) return -1;
  const n = Number(key);
  return n < MAX_PARTITIONS ? n : -1;
}

/** What creating partitions needs of the virtual host. */
export interface PartitionHost {
  declareQueue(d: { name: string; durable: boolean; exclusive: boolean; autoDelete: boolean; arguments: FieldTable }, owner: object): unknown;
  bindQueue(queueName: string, exchangeName: string, routingKey: string, args: FieldTable, owner: object): void;
}

/**
 * Declares partition streams `from` .. `to - 1` of super stream `name` (durable streams; an
 * existing stream of that name is used as it is) and binds each under its number.
 */
export function createPartitions(host: PartitionHost, name: string, from: number, to: number): void {
  if (to > MAX_PARTITIONS) throw new ChannelError('PRECONDITION_FAILED', `super stream '${name}' cannot have more than ${MAX_PARTITIONS} partitions`);
  for (let i = from; i < to; i++) {
    const args: FieldTable = new Map([['x-queue-type', { type: 'S', value: 'stream' }]]);
    host.declareQueue({ name: partitionName(name, i), durable: true, exclusive: false, autoDelete: false, arguments: args }, host);
    host.bindQueue(partitionName(name, i), name, String(i), new Map(), host);
  }
}
