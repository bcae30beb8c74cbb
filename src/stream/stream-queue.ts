// A stream (x-queue-type: stream): a queue whose messages are appended to a log and never
// removed by consumers. Each consumer reads through its own StreamReader from the offset it
// asked for (x-stream-offset); every delivery carries x-stream-offset; an ack only returns
// credit. Routing, channels and the management API see a Queue, so the parts of Queue a stream
// does not have (basic.get, purge, requeue, reject) are refused here with RabbitMQ's texts.
//
// Hooks for code built on streams (named readers, consumer groups): StreamHooks, set on the
// broker's StreamEnv (`broker.streams.hooks`), apply to every stream:
//   - start(stream, consumer, requested): the offset a new consumer starts at. `requested` is
//     what its x-stream-offset asked for (or `next`); return a StartSpec to override it, or
//     undefined to keep it. The consumer's arguments are `consumer.arguments`. May throw a
//     ChannelError/ConnectionError to refuse the consumer.
//   - acked(stream, consumer, mark): the consumer's acks moved its mark: every delivery to it
//     below `mark` is acked (records its filter skipped count as done). Called once per move.
//   - removed(stream, consumer): the consumer is gone (cancel, channel or connection closed,
//     stream deleted).
// StreamQueue.cancelConsumer(c) cancels a consumer from the server side (basic.cancel to a
// client that announced consumer_cancel_notify), seekConsumer(c, offset) moves one, and
// holdConsumer(c, true) keeps one registered but given nothing (a consumer group's standby).

import type { FieldTable } from '../codec/field-table.js';
import { ChannelError, ConnectionError } from '../errors.js';
import type { Message } from '../message.js';
import { type Consumer, Queue, QueueEntry, type QueueOptions } from '../queue/queue.js';
import { parseAge, parseFilter, parseStartSpec, type StartSpec } from './arguments.js';
import type { StreamEnv } from './env.js';
import type { StreamLogApi } from './segment.js';
import { filterValueOf } from './record.js';
import { StreamReader } from './reader.js';

/**
 * A consumer whose deliver() copies what it sends (the content header, the names, and bodies
 * shorter than copiesBodiesBelow) and keeps no reference to the message: a reader's block may
 * then be read into again (StreamReader.copied). ChannelConsumer is one (FrameWriter copies
 * bodies below BODY_BY_REFERENCE into its slab).
 */
export interface CopyingConsumer extends Consumer {
  readonly copiesBodiesBelow?: number;
}

export interface StreamHooks {
  start?(stream: StreamQueue, consumer: Consumer, requested: StartSpec): StartSpec | undefined;
  acked?(stream: StreamQueue, consumer: Consumer, mark: number): void;
  removed?(stream: StreamQueue, consumer: Consumer): void;
}

/** Records a reader may look at (filtered out) per dispatch before yielding the event loop. */
const SCAN_BUDGET = 20_000;

export class StreamQueue extends Queue {
  readonly log: StreamLogApi;
  readonly env: StreamEnv;
  /** Consumers registered but given nothing (consumer-group standbys; see holdConsumer). */
  readonly #held = new Set<Consumer>();
  readonly #readers = new Map<Consumer, StreamReader>();
  readonly #list: Consumer[] = [];
  #dispatchingStream = false;
  #redispatchQueued = false;
  readonly #budget = { n: 0 };

  /** `restored`: read back at start (else a new stream: leftover files of an old one go). */
  constructor(vhost: string, name: string, options: QueueOptions, env: StreamEnv, restored: boolean) {
    super(vhost, name, options, null);
    this.env = env;
    this.log = env.openLog(this, !restored);
    this.log.onCommitted = () => this.dispatch();
    this.log.onError = (err) => this.hooks?.error?.(this, err);
  }

  /**
   * A policy's `max-length-bytes` and `max-age` bound the stream as RabbitMQ's do: the lower of
   * argument and policy wins, applied at once to what the stream holds.
   */
  applyRetentionPolicy(def: Readonly<Record<string, unknown>>): void {
    const base = this.log.baseSettings;
    const bytes = def['max-length-bytes'];
    const age = def['max-age'];
    this.log.setRetention(
      lower(base.maxBytes, typeof bytes === 'number' ? bytes : null),
      lower(base.maxAgeMs, typeof age === 'string' ? policyAge(age) : null),
    );
  }

  /** Messages in the stream (first to last offset kept). */
  override get messageCount(): number {
    return this.log.nextOffset - this.log.firstOffset;
  }

  override get readyBytes(): number {
    return this.log.bytes;
  }

  override get consumerCount(): number {
    return this.#list.length;
  }

  override get consumers(): readonly Consumer[] {
    return this.#list;
  }

  readerOf(c: Consumer): StreamReader | undefined {
    return this.#readers.get(c);
  }

  #what(): string {
    return `queue '${this.name}' in vhost '${this.vhost}'`;
  }

  // ---- publishing ------------------------------------------------------------------------

  override restore(): void {
    // A stream's messages are in its log, not in the store.
  }

  override enqueue(msg: Message): boolean {
    this.log.append(msg, filterValueOf(msg));
    this.stats.published++;
    return true;
  }

  // ---- consumers -------------------------------------------------------------------------

  override addConsumer(c: Consumer): void {
    const what = this.#what();
    const args: FieldTable = c.arguments ?? new Map();
    if (args.has('x-priority')) throw new ChannelError('PRECONDITION_FAILED', `invalid arg 'x-priority' for ${what} of queue type rabbit_stream_queue`);
    if ((c.qosPrefetch ?? 0) === 0) throw new ChannelError('PRECONDITION_FAILED', `consumer prefetch count is not set for '${what}'`);
    if (c.noAck) throw new ConnectionError('NOT_IMPLEMENTED', `automatic acknowledgement not supported by stream queues ${what}`);
    if ((c.globalPrefetch ?? 0) > 0) throw new ConnectionError('NOT_IMPLEMENTED', `${what} does not support global qos`);
    if (c.exclusive && this.#list.length > 0) throw new ChannelError('ACCESS_REFUSED', `${what} in exclusive use`);
    if (this.#list.some((x) => x.exclusive)) throw new ChannelError('ACCESS_REFUSED', `${what} in exclusive use`);
    const requested = parseStartSpec(args, what);
    const filter = parseFilter(args, what);
    const spec = this.env.hooks.start?.(this, c, requested) ?? requested;
    const reader = new StreamReader(this.log, this.offsetOf(spec), filter);
    this.#readers.set(c, reader);
    this.#list.push(c);
    this.hadConsumers = true;
  }

  /** The offset a start spec names now. */
  offsetOf(spec: StartSpec): number {
    const log = this.log;
    switch (spec.kind) {
      case 'first':
        return log.firstOffset;
      case 'next':
        return log.nextOffset;
      case 'last':
        // RabbitMQ starts at the last chunk; warren's chunks are single messages.
        return Math.max(log.firstOffset, log.committedOffset - 1);
      case 'offset':
        return Math.min(Math.max(spec.offset, log.firstOffset), log.nextOffset);
      case 'time':
        return log.locateTime(spec.at)?.offset ?? log.nextOffset;
    }
  }

  override removeConsumer(c: Consumer): void {
    const i = this.#list.indexOf(c);
    if (i < 0) return;
    this.#list.splice(i, 1);
    this.#readers.delete(c);
    this.#held.delete(c);
    this.env.hooks.removed?.(this, c);
  }

  /** Cancels a consumer from the server side (the client hears basic.cancel if it can). */
  cancelConsumer(c: Consumer): void {
    if (!this.#readers.has(c)) return;
    this.removeConsumer(c);
    c.queueDeleted(this);
  }

  /** Holds a consumer (registered, given nothing) or releases it; may be called before addConsumer. */
  holdConsumer(c: Consumer, held: boolean): void {
    if (held) this.#held.add(c);
    else if (this.#held.delete(c)) this.dispatch();
  }

  /** Moves a consumer's cursor; deliveries it has not acked no longer move its mark. */
  seekConsumer(c: Consumer, offset: number): void {
    this.#readers.get(c)?.seek(this.log, offset);
    this.dispatch();
  }

  // ---- delivering ------------------------------------------------------------------------

  override dispatch(): void {
    if (this.#dispatchingStream || this.deleted) return;
    this.#dispatchingStream = true;
    let yielded = false;
    try {
      for (const c of this.#list) {
        const r = this.#readers.get(c);
        if (r === undefined || (this.#held.size > 0 && this.#held.has(c))) continue;
        this.#budget.n = SCAN_BUDGET;
        while (c.canDeliver()) {
          const rec = r.next(this.log, this.#budget);
          if (rec === null) {
            if (this.#budget.n < 0) yielded = true;
            break;
          }
          const entry = new QueueEntry(this, rec.msg, rec.offset, rec.msg.body.length, false, 0, 0);
          this.unacked++;
          this.stats.delivered++;
          r.delivered(rec.offset);
          c.deliver(this, entry);
          if (rec.msg.body.length < ((c as CopyingConsumer).copiesBodiesBelow ?? 0)) r.copied();
          // Sent: its bytes were copied to the connection's output (or queued there by
          // reference), and a stream entry needs only its offset until the ack. Dropped now,
          // the message and its views die young instead of surviving to the ack in the heap,
          // and the read block they point into is not kept alive by a window of unacked ones.
          entry.msg = null;
          // deliver() may close the channel and remove the consumer.
          if (!this.#readers.has(c)) break;
        }
      }
    } finally {
      this.#dispatchingStream = false;
    }
    if (yielded && !this.#redispatchQueued) {
      // A filter skipped many records: go on after other work.
      this.#redispatchQueued = true;
      setImmediate(() => {
        this.#redispatchQueued = false;
        try {
          this.dispatch();
        } catch (err) {
          this.hooks?.error?.(this, err);
        }
      });
    }
  }

  override shift(): QueueEntry | undefined {
    throw new ConnectionError('NOT_IMPLEMENTED', `basic.get not supported by stream queues ${this.#what()}`);
  }

  override markUnacked(): void {
    this.unacked++;
  }

  override settle(entry: QueueEntry, wasUnacked: boolean): void {
    if (!wasUnacked) return;
    this.unacked--;
    this.stats.acked++;
    const c = entry.consumer as Consumer | null; // this queue's entries go out to its own consumers
    const r = c === null ? undefined : this.#readers.get(c);
    if (c !== null && r !== undefined && r.acked(entry.seq)) this.env.hooks.acked?.(this, c, r.mark);
  }

  override reject(): void {
    throw refuseSettle(this.#what());
  }

  /** Deliveries left unacked when a channel closes (or a consumer timed out): only credit. */
  override requeue(entries: QueueEntry[]): void {
    this.unacked -= entries.length;
    this.dispatch();
  }

  override purge(): number {
    throw new ConnectionError('NOT_IMPLEMENTED', `queue.purge not supported by stream queues ${this.#what()}`);
  }

  /** Returns 0, as RabbitMQ's queue.delete-ok for a stream says. */
  override delete(): number {
    const consumers = [...this.#list];
    this.#list.length = 0;
    this.#readers.clear();
    for (const c of consumers) {
      this.env.hooks.removed?.(this, c);
      c.queueDeleted(this);
    }
    super.delete();
    this.env.dropLog(this);
    return 0;
  }
}

/** basic.nack / basic.reject of a stream delivery: RabbitMQ's 540. */
export function refuseSettle(what: string): ConnectionError {
  return new ConnectionError('NOT_IMPLEMENTED', `basic.nack and basic.reject not supported by stream queues ${what}`);
}

/** Throws RabbitMQ's refusal when a nack or reject names a stream delivery. */
export function checkStreamSettle(entries: readonly QueueEntry[]): void {
  for (const e of entries) if (e.queue instanceof StreamQueue) throw refuseSettle(`queue '${e.queue.name}' in vhost '${e.queue.vhost}'`);
}

function lower(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}

/** A policy's max-age in ms; validation refused bad ones already, so a bad one means none. */
function policyAge(s: string): number | null {
  try {
    return parseAge(s);
  } catch {
    return null;
  }
}
