// What one channel hands out and gets back: its consumers (and the direct reply-to one), the
// delivery tags, the ledger of unacknowledged deliveries with the prefetch limits over it,
// basic.get, and settling (ack, nack, reject, recover), consumer timeouts included. The
// channel's consumers deliver through this (ConsumerChannel); the channel routes the methods.

import type { Logger } from 'pino';
import { BASIC_CANCEL, BASIC_CONSUME_OK, BASIC_QOS_OK, type BasicConsume, type Method } from '../codec/methods.generated.js';
import { ChannelError, ConnectionError } from '../errors.js';
import type { Message } from '../message.js';
import type { QueueEntry } from '../queue/queue.js';
import { checkStreamSettle } from '../stream/stream-queue.js';
import { coarseClock } from '../util/clock.js';
import { ackTimeoutError, overdueDelivery } from './ack-timeout.js';
import { ChannelConsumer, checkConsumerPriority, type ConsumerChannel } from './consumer.js';
import { generatedName, queueName, type DefinitionContext } from './definition-methods.js';
import { writeGetEmpty, writeGetOk } from './get.js';
import type { ChannelHost, ChannelStats } from './host.js';
import { Prefetch } from './prefetch.js';
import { REPLY_TO, ReplyConsumer } from './reply-to.js';
import type { SettleKind } from './transaction.js';
import { requeueAll, UnackedLedger } from './unacked.js';

export class Deliveries implements ConsumerChannel {
  readonly consumers = new Map<string, ChannelConsumer>();
  readonly #id: number;
  readonly #host: ChannelHost;
  readonly #log: Logger;
  readonly #defs: DefinitionContext;
  readonly #stats: ChannelStats;
  /** False once the channel is released: nothing more goes out. */
  #open = true;
  readonly #unacked = new UnackedLedger();
  #deliveryTag = 0;
  readonly #prefetch = new Prefetch();
  /** Direct reply-to consumer on this channel. */
  #replyConsumer: ReplyConsumer | null = null;

  constructor(id: number, host: ChannelHost, log: Logger, defs: DefinitionContext, stats: ChannelStats) {
    this.#id = id;
    this.#host = host;
    this.#log = log;
    this.#defs = defs;
    this.#stats = stats;
  }

  get unacked(): Pick<UnackedLedger, 'size' | 'forEach'> {
    return this.#unacked;
  }

  get prefetchCount(): number {
    return this.#prefetch.channel || this.#prefetch.consumer;
  }

  get globalPrefetch(): number {
    return this.#prefetch.channel;
  }

  /** What reply_to amq.rabbitmq.reply-to becomes in this channel's publishes (null: no reply consumer). */
  get replyAddress(): string | null {
    return this.#replyConsumer?.address ?? null;
  }

  // ---- consumers -------------------------------------------------------------------------

  consume(m: BasicConsume): void {
    if (this.consumers.has(m.consumerTag) || (this.#replyConsumer !== null && this.#replyConsumer.tag === m.consumerTag)) {
      throw new ConnectionError('NOT_ALLOWED', `attempt to reuse consumer tag '${m.consumerTag}'`);
    }
    const max = this.#host.consumerMaxPerChannel;
    if (max !== null && this.consumers.size >= max) throw new ConnectionError('NOT_ALLOWED', `reached maximum (${max}) of consumers per channel`);
    if (m.queue === REPLY_TO) return this.#consumeReplies(m);
    const name = queueName(this.#defs, m.queue);
    this.#host.checkPermission('read', 'queue', name);
    const tag = m.consumerTag === '' ? generatedName('amq.ctag') : m.consumerTag;
    const q = this.#host.vhost.queueForUse(name, this.#host);
    checkConsumerPriority(q, m.arguments);
    const c = new ChannelConsumer(this, q, m, tag, this.#prefetch.consumer);
    q.addConsumer(c);
    this.consumers.set(tag, c);
    if (!m.nowait) this.#send({ id: BASIC_CONSUME_OK, consumerTag: tag });
    q.dispatch();
  }

  /** Direct reply-to: a pseudo-queue whose "messages" are replies addressed to this channel. */
  #consumeReplies(m: BasicConsume): void {
    if (!m.noAck) throw new ChannelError('PRECONDITION_FAILED', 'reply consumer cannot acknowledge');
    if (this.#replyConsumer !== null) throw new ChannelError('PRECONDITION_FAILED', 'reply consumer already set');
    const tag = m.consumerTag === '' ? generatedName('amq.ctag') : m.consumerTag;
    this.#replyConsumer = new ReplyConsumer(this.#host.vhost, tag, this);
    if (!m.nowait) this.#send({ id: BASIC_CONSUME_OK, consumerTag: tag });
  }

  #stopReplies(): void {
    if (this.#replyConsumer === null) return;
    this.#replyConsumer.stop();
    this.#replyConsumer = null;
  }

  cancel(tag: string): void {
    if (this.#replyConsumer?.tag === tag) {
      this.#stopReplies();
      return;
    }
    const c = this.consumers.get(tag);
    if (c === undefined) return;
    this.consumers.delete(tag);
    c.queue.removeConsumer(c);
  }

  /** The queue of `c` was deleted: forget the consumer, and tell the client if it can hear it. */
  consumerCancelledByServer(c: ChannelConsumer): void {
    if (this.consumers.get(c.tag) !== c) return;
    this.consumers.delete(c.tag);
    if (this.#open && this.#host.consumerCancelNotify) {
      this.#send({ id: BASIC_CANCEL, consumerTag: c.tag, nowait: true });
    }
  }

  qos(prefetchSize: number, prefetchCount: number, global: boolean): void {
    this.#prefetch.set(prefetchSize, prefetchCount, global);
    this.#send({ id: BASIC_QOS_OK });
    this.resume();
  }

  /** Lets queues deliver again (credit freed, socket drained). */
  resume(): void {
    for (const c of this.consumers.values()) c.queue.dispatch();
  }

  // ---- delivering ------------------------------------------------------------------------

  /** Open, under its channel prefetch, but the socket is backed up. */
  socketBound(): boolean {
    return this.#open && !this.#host.writable && this.#prefetch.open;
  }

  /** Whether deliveries may go out now: open, socket not backed up, channel prefetch not reached. */
  canDeliver(): boolean {
    return this.#open && this.#host.writable && this.#prefetch.open;
  }

  deliver(c: ChannelConsumer, entry: QueueEntry): void {
    const tag = ++this.#deliveryTag;
    if (!c.noAck) {
      entry.tag = tag;
      entry.consumer = c;
      this.#unacked.add(tag, entry, coarseClock.now);
      this.#prefetch.delivered(c);
    }
    // Queues hand over only entries whose message is in memory.
    const msg = entry.msg!;
    this.#host.writer.deliver(this.#id, c.tag, tag, entry.redelivered, msg.exchange, msg.routingKey, msg.header, msg.body);
    if (c.noAck) entry.msg = null; // done with it (see apply)
    if (c.noAck && msg.pool !== null) this.#host.writer.afterWrite(msg); // a pooled body goes back once the socket took it
    this.#stats.delivered++;
    this.#host.scheduleFlush();
  }

  /** A reply sent to this channel's direct reply-to address: straight to its reply consumer. */
  deliverReply(msg: Message): void {
    const r = this.#replyConsumer;
    if (r === null || !this.#open) return;
    this.#host.writer.deliver(this.#id, r.tag, ++this.#deliveryTag, false, msg.exchange, msg.routingKey, msg.header, msg.body);
    this.#host.scheduleFlush();
  }

  get(queue: string, noAck: boolean): void {
    const name = queueName(this.#defs, queue);
    this.#host.checkPermission('read', 'queue', name);
    const q = this.#host.vhost.queueForUse(name, this.#host);
    const entry = q.shift();
    if (entry === undefined) {
      writeGetEmpty(this.#host.writer, this.#id);
      this.#host.scheduleFlush();
      return;
    }
    const tag = ++this.#deliveryTag;
    if (noAck) {
      q.settle(entry, false);
    } else {
      entry.tag = tag;
      entry.consumer = null;
      q.markUnacked(entry);
      this.#unacked.add(tag, entry, coarseClock.now);
    }
    writeGetOk(this.#host.writer, this.#id, tag, q, entry);
    this.#stats.delivered++;
    this.#host.scheduleFlush();
  }

  // ---- settling --------------------------------------------------------------------------

  /** The deliveries (tag, multiple) settles, taken off the ledger; 406 for an unknown tag. */
  take(tag: number, multiple: boolean, kind: SettleKind): QueueEntry[] {
    const entries = this.#unacked.take(tag, multiple);
    if (entries === null) throw new ChannelError('PRECONDITION_FAILED', `unknown delivery tag ${tag}`);
    if (kind !== 'ack') checkStreamSettle(entries);
    return entries;
  }

  /** Puts entries taken earlier back on the ledger (a transaction's acks that did not happen). */
  restore(entries: readonly QueueEntry[]): void {
    this.#unacked.restore(entries);
  }

  apply(entries: QueueEntry[], kind: SettleKind): void {
    if (kind === 'requeue') {
      this.#requeue(entries);
      return;
    }
    for (const e of entries) {
      this.#released(e);
      if (kind === 'ack') e.queue.settle(e, true);
      else e.queue.reject(e);
      if (kind === 'ack' && e.msg !== null && e.msg.pool !== null) this.#host.writer.afterWrite(e.msg); // a pooled body goes back once written
      e.msg = null; // an old entry (a long backlog) pointing at its message would keep a young body alive until the next full GC
    }
    if (kind === 'ack') this.#stats.acked += entries.length;
    this.resume();
  }

  /** basic.recover: every unacknowledged delivery goes back to its queue. */
  recover(): void {
    this.#requeue(this.#unacked.takeAll());
  }

  /** Bookkeeping when an entry leaves this channel's hands. */
  #released(e: QueueEntry): void {
    const c = e.consumer as ChannelConsumer | null;
    if (c !== null) this.#prefetch.released(c);
    e.msg?.holdUntilWritten(this.#host.writer); // its delivery may still be in the socket's queue
  }

  /** Returns entries to their queues (original position, redelivered). */
  #requeue(entries: QueueEntry[]): void {
    if (entries.length === 0) return;
    for (const e of entries) this.#released(e);
    requeueAll(entries);
    this.resume();
  }

  /**
   * Called once a second: the oldest unacknowledged delivery has waited longer than its queue's
   * x-consumer-timeout (or the broker's consumer timeout)? Then its consumer is cancelled and
   * its messages returned, when the client can hear a cancel; else returns RabbitMQ's 406 for
   * the channel to close with, as RabbitMQ does.
   */
  checkAckTimeout(now: number, defaultTimeout: number): ChannelError | null {
    const overdue = overdueDelivery(this.#unacked, now, defaultTimeout);
    if (overdue === null) return null;
    const { entry: oldest, timeout } = overdue;
    const c = oldest.consumer as ChannelConsumer | null;
    if (c !== null && this.#host.consumerCancelNotify && this.consumers.get(c.tag) === c) {
      this.#log.warn({ consumer: c.tag, queue: c.queue.name, timeoutMs: timeout }, 'delivery acknowledgement timed out: cancelling the consumer and returning its messages');
      this.consumers.delete(c.tag);
      c.queue.removeConsumer(c);
      this.#send({ id: BASIC_CANCEL, consumerTag: c.tag, nowait: true });
      this.#requeue(this.#unacked.takeWhere((e) => e.consumer === c));
      return null;
    }
    return ackTimeoutError(this.#id, timeout);
  }

  /** The channel is closing: nothing more goes out, unacked messages go back, consumers leave. */
  release(): void {
    // Stop deliveries to this channel first, so requeued messages go to other consumers.
    this.#open = false;
    this.#stopReplies();
    // Unacked messages go back first: a single-active-consumer queue then hands them, in
    // order, to the consumer that takes over (this channel's consumers can no longer take any).
    const unacked = this.#unacked.takeAll();
    if (unacked.length > 0) this.#requeue(unacked);
    const consumers = [...this.consumers.values()];
    this.consumers.clear();
    for (const c of consumers) c.queue.removeConsumer(c);
  }

  #send(m: Method): void {
    this.#host.writer.method(this.#id, m);
    this.#host.scheduleFlush();
  }
}
