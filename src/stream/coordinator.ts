// Named readers and consumer groups on top of streams, through the stream core's hooks
// (StreamHooks in stream-queue.ts). A consumer passing `x-stream-reader: R` starts at R's
// committed offset and moves it with its acks (stream/readers.ts). A consumer passing
// `x-consumer-group: G` on a partition of a super stream (or on a plain stream, a group of one
// partition) is a member of G there; stream/consumer-group.ts decides which consumer is
// active for each partition, and this module carries the decision out:
//   - an active consumer reads as the reader named G on its partition, from its committed offset;
//   - a standby consumer is held (gets nothing) until the group gives it the partition;
//   - handing a partition over: the old owner is held, and once its deliveries are all acked
//     (or it goes away, or HANDOVER_MS passed) it is cancelled with basic.cancel (its client
//     learns it lost the partition; it may consume again to stand by) and the new owner starts
//     at the committed offset. So no message is skipped and each partition has one reader.

import type { FieldTable } from '../codec/field-table.js';
import { ChannelError } from '../errors.js';
import type { Consumer } from '../queue/queue.js';
import { SuperStreamExchange } from '../routing/super-stream.js';
import type { VirtualHost } from '../routing/vhost.js';
import type { StartSpec } from './arguments.js';
import { ConsumerGroup, type GroupConsumer } from './consumer-group.js';
import { MAX_READER_NAME, type Reader, type StreamReaders } from './readers.js';
import type { StreamHooks, StreamQueue } from './stream-queue.js';

/** How long a partition's old owner has to ack what it holds before the new owner starts anyway. */
export const HANDOVER_MS = 5000;

export const READER_ARG = 'x-stream-reader';
export const GROUP_ARG = 'x-consumer-group';

interface Member extends GroupConsumer {
  readonly consumer: Consumer;
  readonly stream: StreamQueue;
  readonly group: GroupState;
  /** Active, waiting for the old owner to finish (pending), held (standby), or gone. */
  state: 'standby' | 'pending' | 'active' | 'draining' | 'gone';
  timer: NodeJS.Timeout | null;
}

interface GroupState {
  readonly key: string;
  readonly vhost: string;
  /** The super stream (or the stream itself for a group on a plain stream). */
  readonly superStream: string;
  readonly name: string;
  readonly group: ConsumerGroup<Member>;
  /** Each partition's old owner while it finishes its deliveries. */
  readonly draining: Map<number, Member>;
  /** What the group's first consumer asked for: where a partition new to the group starts. */
  readonly start: StartSpec;
}

export interface CoordinatorHost {
  vhost(name: string): VirtualHost | undefined;
  log?(event: string, fields: Record<string, unknown>): void;
}

export class StreamCoordinator implements StreamHooks {
  readonly readers: StreamReaders;
  readonly #host: CoordinatorHost;
  /** The reader each consumer holds (named readers and active group members). */
  readonly #readerOf = new Map<Consumer, Reader>();
  readonly #members = new Map<Consumer, Member>();
  readonly #groups = new Map<string, GroupState>();
  /** HANDOVER_MS; tests shorten it. */
  handoverMs = HANDOVER_MS;

  constructor(readers: StreamReaders, host: CoordinatorHost) {
    this.readers = readers;
    this.#host = host;
  }

  // ---- StreamHooks -----------------------------------------------------------------------

  start(stream: StreamQueue, c: Consumer, requested: StartSpec): StartSpec | undefined {
    const args: FieldTable = c.arguments ?? new Map();
    const what = `queue '${stream.name}' in vhost '${stream.vhost}'`;
    const readerName = nameArg(args, READER_ARG, what);
    const groupName = nameArg(args, GROUP_ARG, what);
    if (groupName !== undefined) {
      if (readerName !== undefined && readerName !== groupName) {
        throw new ChannelError('PRECONDITION_FAILED', `invalid arg '${READER_ARG}' for ${what}: a consumer group reads as the reader named after the group ('${groupName}')`);
      }
      return this.#joinGroup(stream, c, groupName, requested);
    }
    if (readerName === undefined) return undefined;
    const explicit = args.has('x-stream-offset');
    const r = this.readers.attach(stream.vhost, stream.name, readerName, c, () => stream.offsetOf(requested));
    // A consumer that names an offset moves its reader there; else it resumes.
    if (explicit) this.readers.move(r, c, stream.offsetOf(requested));
    this.#readerOf.set(c, r);
    return { kind: 'offset', offset: r.committed };
  }

  acked(stream: StreamQueue, c: Consumer, mark: number): void {
    const r = this.#readerOf.get(c);
    if (r !== undefined) this.readers.commit(r, c, mark);
    const m = this.#members.get(c);
    if (m !== undefined && m.state === 'draining' && this.#drained(m)) this.#finishHandover(m);
  }

  removed(_stream: StreamQueue, c: Consumer): void {
    const r = this.#readerOf.get(c);
    if (r !== undefined) {
      this.#readerOf.delete(c);
      this.readers.detach(r, c);
    }
    const m = this.#members.get(c);
    if (m === undefined) return;
    this.#members.delete(c);
    const wasDraining = m.state === 'draining';
    m.state = 'gone';
    if (m.timer !== null) clearTimeout(m.timer);
    const g = m.group;
    if (wasDraining && g.draining.get(m.partition) === m) {
      g.draining.delete(m.partition);
      this.#startPending(g, m.partition);
    }
    this.#apply(g, g.group.leave(m));
    if (g.group.empty && g.draining.size === 0) this.#groups.delete(g.key);
  }

  // ---- inspection ------------------------------------------------------------------------

  /** The groups with members, for the HTTP API. */
  groups(vhost: string): { superStream: string; name: string; generation: number; members: number; partitions: { partition: number; stream: string; consumerTag: string; state: string }[] }[] {
    const out = [];
    for (const g of this.#groups.values()) {
      if (g.vhost !== vhost) continue;
      const partitions = [...g.group.assignment()].sort((a, b) => a[0] - b[0]).map(([p, m]) => ({ partition: p, stream: m.stream.name, consumerTag: tagOf(m.consumer), state: m.state }));
      out.push({ superStream: g.superStream, name: g.name, generation: g.group.generation, members: g.group.size, partitions });
    }
    return out;
  }

  // ---- groups ----------------------------------------------------------------------------

  #joinGroup(stream: StreamQueue, c: Consumer, name: string, requested: StartSpec): StartSpec {
    const { superStream, partition } = this.#partitionOf(stream);
    const key = `${stream.vhost}\u0000${superStream}\u0000${name}`;
    let g = this.#groups.get(key);
    if (g === undefined) {
      g = { key, vhost: stream.vhost, superStream, name, group: new ConsumerGroup(name), draining: new Map(), start: requested };
      this.#groups.set(key, g);
    }
    const m: Member = { member: memberOf(c), partition, consumer: c, stream, group: g, state: 'standby', timer: null };
    this.#members.set(c, m);
    // Held until the group makes it active: no delivery goes out before the decision.
    stream.holdConsumer(c, true);
    const change = g.group.join(m);
    this.#apply(g, change, m);
    if (m.state === 'active') {
      const r = this.#readerOf.get(c)!;
      return { kind: 'offset', offset: r.committed };
    }
    return { kind: 'next' };
  }

  /** The super stream and partition a stream is, or the stream itself as partition 0. */
  #partitionOf(stream: StreamQueue): { superStream: string; partition: number } {
    const v = this.#host.vhost(stream.vhost);
    if (v !== undefined) {
      for (const x of v.exchanges.values()) {
        if (!(x instanceof SuperStreamExchange)) continue;
        const p = x.partitionOfQueue(stream.name);
        if (p >= 0) return { superStream: x.name, partition: p };
      }
    }
    return { superStream: stream.name, partition: 0 };
  }

  /** Carries out a rebalance: the old owners start handing over, then the new ones start. `joining`: not started yet. */
  #apply(g: GroupState, change: { deactivate: readonly Member[]; activate: readonly Member[] }, joining?: Member): void {
    for (const m of change.deactivate) this.#revoke(m);
    for (const m of change.activate) this.#activate(m, m === joining);
    if (change.deactivate.length > 0 || change.activate.length > 0) {
      this.#host.log?.('consumer group rebalanced', {
        vhost: g.vhost,
        superStream: g.superStream,
        group: g.name,
        generation: g.group.generation,
        assignment: Object.fromEntries([...g.group.assignment()].map(([p, m]) => [p, tagOf(m.consumer)])),
      });
    }
  }

  #activate(m: Member, joining: boolean): void {
    const g = m.group;
    if (m.state === 'draining') {
      // Given back its partition before it finished handing it over: it simply goes on.
      if (m.timer !== null) clearTimeout(m.timer);
      m.timer = null;
      g.draining.delete(m.partition);
      m.state = 'active';
      m.stream.holdConsumer(m.consumer, false);
      return;
    }
    if (g.draining.has(m.partition)) {
      m.state = 'pending';
      return;
    }
    const r = this.readers.attach(g.vhost, m.stream.name, g.name, m.consumer, () => m.stream.offsetOf(g.start), true);
    this.#readerOf.set(m.consumer, r);
    m.state = 'active';
    if (joining) {
      // The stream core places its cursor from what start() returns.
      m.stream.holdConsumer(m.consumer, false);
      return;
    }
    m.stream.seekConsumer(m.consumer, r.committed);
    m.stream.holdConsumer(m.consumer, false);
  }

  /** `m` loses its partition: held now, cancelled once its deliveries are acked. */
  #revoke(m: Member): void {
    if (m.state === 'pending' || m.state === 'standby') {
      m.state = 'standby';
      return;
    }
    m.stream.holdConsumer(m.consumer, true);
    m.state = 'draining';
    m.group.draining.set(m.partition, m);
    // Finished after the rebalance under way is carried out (the cancel starts another one),
    // at once when nothing is unacked, else at the last ack or after HANDOVER_MS.
    m.timer = setTimeout(
      () => {
        m.timer = null;
        if (m.state === 'draining') this.#finishHandover(m);
      },
      this.#drained(m) ? 0 : this.handoverMs,
    );
    m.timer.unref();
  }

  #drained(m: Member): boolean {
    const r = m.stream.readerOf(m.consumer);
    return r === undefined || r.mark >= r.offset;
  }

  /** The old owner is done (or out of time): it is cancelled, and the new owner starts. */
  #finishHandover(m: Member): void {
    const g = m.group;
    if (m.timer !== null) clearTimeout(m.timer);
    m.timer = null;
    if (g.draining.get(m.partition) === m) g.draining.delete(m.partition);
    const r = this.#readerOf.get(m.consumer);
    if (r !== undefined) {
      this.#readerOf.delete(m.consumer);
      this.readers.detach(r, m.consumer);
    }
    m.state = 'standby';
    // basic.cancel tells the client it lost the partition; removed() takes it out of the group.
    m.stream.cancelConsumer(m.consumer);
    this.#startPending(g, m.partition);
  }

  #startPending(g: GroupState, partition: number): void {
    const next = g.group.assignment().get(partition);
    if (next !== undefined && next.state === 'pending') this.#activate(next, false);
  }
}

/** A reader or group name argument: a string of 1 to 255 bytes. */
function nameArg(args: FieldTable, key: string, what: string): string | undefined {
  const v = args.get(key);
  if (v === undefined) return undefined;
  const s = v.type === 'S' ? (typeof v.value === 'string' ? v.value : v.value.toString('utf8')) : undefined;
  if (s === undefined || s.length === 0 || Buffer.byteLength(s) > MAX_READER_NAME) {
    throw new ChannelError('PRECONDITION_FAILED', `invalid arg '${key}' for ${what}: expected a string of 1 to ${MAX_READER_NAME} bytes`);
  }
  return s;
}

/** Consumers of one channel are one member of a group. */
function memberOf(c: Consumer): object {
  return (c as { channel?: object }).channel ?? c;
}

function tagOf(c: Consumer): string {
  return (c as { tag?: string }).tag ?? '';
}
