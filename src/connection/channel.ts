// One AMQP channel: turns its frames into commands, handles each method as a list of checks
// followed by the action, and owns what the spec puts on a channel: consumers, delivery tags
// and unacknowledged messages, prefetch limits, and the confirm/transaction modes. Publishing
// (publish.ts), confirms (confirms.ts), direct reply-to (reply-to.ts), qos (prefetch.ts),
// consumer timeouts (ack-timeout.ts) and basic.get's reply (get.ts) live beside it.
// Soft errors close only this channel (handled here); hard errors propagate to the connection.

import type { Logger } from 'pino';
import {
  ACCESS_REQUEST,
  ACCESS_REQUEST_OK,
  BASIC_ACK,
  BASIC_CANCEL,
  BASIC_CANCEL_OK,
  BASIC_CONSUME,
  BASIC_CONSUME_OK,
  BASIC_DELIVER,
  BASIC_GET,
  BASIC_NACK,
  BASIC_PUBLISH,
  BASIC_QOS,
  BASIC_QOS_OK,
  BASIC_RECOVER,
  BASIC_RECOVER_ASYNC,
  BASIC_RECOVER_OK,
  BASIC_REJECT,
  CHANNEL_CLOSE,
  CHANNEL_CLOSE_OK,
  CHANNEL_FLOW,
  CHANNEL_FLOW_OK,
  CHANNEL_OPEN,
  CONFIRM_SELECT,
  CONFIRM_SELECT_OK,
  FRAME_METHOD,
  TX_COMMIT,
  TX_COMMIT_OK,
  TX_ROLLBACK,
  TX_ROLLBACK_OK,
  TX_SELECT,
  TX_SELECT_OK,
  type BasicConsume,
  type BasicDeliver,
  type BasicPublish,
  type Method,
} from '../codec/methods.generated.js';
import { coarseClock } from '../util/clock.js';
import { AmqpError, ChannelError, ConnectionError } from '../errors.js';
import type { Message } from '../message.js';
import type { QueueEntry } from '../queue/queue.js';
import type { WriteRange } from '../store/store.js';
import { ackTimeoutError, overdueDelivery } from './ack-timeout.js';
import { CommandAssembler } from './command-assembler.js';
import { Confirms } from './confirms.js';
import { ChannelConsumer, checkConsumerPriority } from './consumer.js';
import { generatedName, handleDefinitionMethod, queueName, type DefinitionContext } from './definition-methods.js';
import { IncomingContent } from './incoming-content.js';
import { writeGetEmpty, writeGetOk } from './get.js';
import { Prefetch } from './prefetch.js';
import { Publisher } from './publish.js';
import { REPLY_TO, ReplyConsumer } from './reply-to.js';
import { Transaction, type SettleKind } from './transaction.js';
import type { ChannelHost } from './host.js';
import { checkStreamSettle } from '../stream/stream-queue.js';
import { requeueAll, UnackedLedger } from './unacked.js';

export { ChannelConsumer } from './consumer.js';
export { REPLY_TO } from './reply-to.js';
export type { ChannelHost } from './host.js';

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;

export class Channel {
  readonly id: number;
  readonly log: Logger;
  readonly #host: ChannelHost;
  #state = OPEN;
  /** The client closed the channel; close-ok goes out in afterInput(). */
  #closeOkOwed = false;
  readonly #assembler = new CommandAssembler();
  readonly #incoming: IncomingContent;
  readonly consumers = new Map<string, ChannelConsumer>();
  readonly #unacked = new UnackedLedger();
  #deliveryTag = 0;
  readonly #prefetch = new Prefetch();
  #confirms: Confirms | null = null;
  #tx: Transaction | null = null;
  /** tx.commit waiting for the store: its write sequence. */
  #commitWaitSeq = 0;
  readonly #defs: DefinitionContext;
  // Reused for every delivery and every publish: no allocation per message.
  readonly #deliver: { -readonly [K in keyof BasicDeliver]: BasicDeliver[K] } = {
    id: BASIC_DELIVER,
    consumerTag: '',
    deliveryTag: 0,
    redelivered: false,
    exchange: '',
    routingKey: '',
  };
  readonly #publisher: Publisher;
  /** Direct reply-to consumer on this channel. */
  #replyConsumer: ReplyConsumer | null = null;
  readonly stats = { published: 0, delivered: 0, acked: 0 };

  constructor(id: number, host: ChannelHost, log: Logger) {
    this.id = id;
    this.#host = host;
    this.log = log;
    this.#publisher = new Publisher(id, host);
    this.#incoming = new IncomingContent(host);
    this.#defs = {
      vhost: host.vhost,
      owner: host,
      lastQueue: '',
      checkPermission: (kind, resource, name) => host.checkPermission(kind, resource, name),
    };
  }

  get isOpen(): boolean {
    return this.#state === OPEN;
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

  get inConfirmMode(): boolean {
    return this.#confirms !== null;
  }

  get inTransaction(): boolean {
    return this.#tx !== null;
  }

  // ---- frames in -------------------------------------------------------------------------

  /** Where split body frames go and whether a frame's payload was kept (discards bodies once closing). */
  get assembler(): CommandAssembler {
    return this.#assembler;
  }

  handleFrame(type: number, payload: Buffer): void {
    if (this.#state !== OPEN) {
      this.#whileClosing(type, payload);
      return;
    }
    const a = this.#assembler;
    try {
      if (!a.push(type, payload)) {
        this.#incoming.check(a);
        return;
      }
    } catch (e) {
      // Framing errors name their method themselves (or none, when a method was expected).
      this.#onError(e, 0);
      return;
    }
    const m = a.method!;
    if (this.#incoming.held !== 0) this.#incoming.done();
    try {
      this.#incoming.completed();
      if (m.id === BASIC_PUBLISH) this.#publish(m, a.header, a.body, a.bodyBuffer);
      else if (m.id === BASIC_ACK) this.#settle(m.deliveryTag, m.multiple, 'ack'); // not through the switches below
      else this.#handleMethod(m);
    } catch (e) {
      this.#onError(e, m.id);
    }
  }

  /** Soft errors close this channel; anything else is the connection's business. */
  #onError(e: unknown, methodId: number): void {
    if (e instanceof AmqpError && methodId !== 0) e.at(methodId);
    if (e instanceof ChannelError) this.fail(e);
    else throw e;
  }

  /**
   * A closing channel: the server closed it and waits for close-ok, or the client closed it and
   * close-ok is owed once the current read is handled. As in RabbitMQ, frames are still
   * assembled (a framing mistake is still the connection's error), channel.close gets close-ok,
   * close-ok frees the channel number (a close-ok still owed is then never sent, as RabbitMQ's
   * channel is gone by then), channel.open is still a second open, and every other command is
   * dropped.
   */
  #whileClosing(type: number, payload: Buffer): void {
    if (this.#state !== CLOSING) return;
    const a = this.#assembler;
    if (!a.push(type, payload)) return;
    const id = a.method!.id;
    if (id === CHANNEL_CLOSE_OK) {
      this.#closeOkOwed = false;
      this.#finishClose();
    } else if (id === CHANNEL_CLOSE) this.#send({ id: CHANNEL_CLOSE_OK });
    else if (id === CHANNEL_OPEN) throw new ConnectionError('CHANNEL_ERROR', "second 'channel.open' seen").at(id);
  }

  /** The frames read with the client's channel.close are handled: close-ok, and the number is free. */
  afterInput(): void {
    if (this.#state !== CLOSING || !this.#closeOkOwed) return;
    this.#closeOkOwed = false;
    this.#send({ id: CHANNEL_CLOSE_OK });
    this.#finishClose();
  }

  #handleMethod(m: Method): void {
    const reply = handleDefinitionMethod(this.#defs, m);
    if (reply !== undefined) {
      if (reply !== null) this.#send(reply);
      return;
    }
    switch (m.id) {
      case BASIC_NACK:
        return this.#settle(m.deliveryTag, m.multiple, m.requeue ? 'requeue' : 'drop');
      case BASIC_REJECT:
        return this.#settle(m.deliveryTag, false, m.requeue ? 'requeue' : 'drop');
      case BASIC_CONSUME:
        return this.#consume(m);
      case BASIC_CANCEL: {
        this.#cancel(m.consumerTag);
        if (!m.nowait) this.#send({ id: BASIC_CANCEL_OK, consumerTag: m.consumerTag });
        return;
      }
      case BASIC_GET:
        return this.#get(m.queue, m.noAck);
      case BASIC_QOS:
        return this.#qos(m.prefetchSize, m.prefetchCount, m.global);
      case BASIC_RECOVER:
      case BASIC_RECOVER_ASYNC: {
        if (!m.requeue) throw new ConnectionError('NOT_IMPLEMENTED', 'requeue=false');
        this.#requeue(this.#unacked.takeAll());
        if (m.id === BASIC_RECOVER) this.#send({ id: BASIC_RECOVER_OK });
        return;
      }
      case CHANNEL_CLOSE:
        // As in RabbitMQ, close-ok (and the number's release) waits until the frames read with
        // this close are handled: they meet a closing channel (see #whileClosing).
        this.release();
        this.#closeOkOwed = true;
        this.#host.afterInput(this);
        return;
      case CHANNEL_CLOSE_OK:
        // Only an answer to the server's channel.close (see #whileClosing): RabbitMQ's reply.
        throw new ConnectionError('COMMAND_INVALID', 'unimplemented method');
      case CHANNEL_FLOW:
        if (!m.active) throw new ConnectionError('NOT_IMPLEMENTED', 'active=false');
        this.#send({ id: CHANNEL_FLOW_OK, active: true });
        return;
      case CHANNEL_OPEN:
        throw new ConnectionError('CHANNEL_ERROR', "second 'channel.open' seen");
      case CONFIRM_SELECT:
        if (this.#tx !== null) throw new ChannelError('PRECONDITION_FAILED', 'cannot switch from tx to confirm mode');
        this.#confirms ??= new Confirms();
        if (!m.nowait) this.#send({ id: CONFIRM_SELECT_OK });
        return;
      case TX_SELECT:
        if (this.#confirms !== null) throw new ChannelError('PRECONDITION_FAILED', 'cannot switch from confirm to tx mode');
        this.#tx ??= new Transaction();
        this.#send({ id: TX_SELECT_OK });
        return;
      case TX_COMMIT:
        return this.#commit();
      case TX_ROLLBACK:
        return this.#rollback();
      case ACCESS_REQUEST:
        this.#send({ id: ACCESS_REQUEST_OK, ticket: 1 });
        return;
      default:
        // Methods only a server sends (deliver, *-ok, ...): RabbitMQ's answer.
        throw new ConnectionError('COMMAND_INVALID', 'unimplemented method');
    }
  }

  // ---- publishing ------------------------------------------------------------------------

  #publish(m: BasicPublish, header: Buffer, body: Buffer, bodyBuffer: Buffer | null): void {
    const publisher = this.#publisher;
    const msg = publisher.accept(m, header, body, this.#replyConsumer?.address ?? null, bodyBuffer);
    const x = publisher.exchange!;
    this.stats.published++;
    if (this.#tx !== null) {
      this.#tx.publishes.push({ exchange: x, msg, mandatory: m.mandatory });
      return;
    }
    if (this.#confirms === null) {
      publisher.route(x, msg, m.mandatory, this.#assembler);
      return;
    }
    const seq = this.#confirms.nextSeq();
    const store = this.#host.store;
    const before = store.writeSeq;
    const accepted = publisher.route(x, msg, m.mandatory, this.#assembler);
    this.#confirms.settle(seq, store.writeSeq > before ? store.writeSeq : 0, store.durableSeq, !accepted);
    this.#host.wantsFlushHook(this);
  }

  /** A reply sent to this channel's direct reply-to address: straight to its reply consumer. */
  deliverReply(msg: Message): void {
    const r = this.#replyConsumer;
    if (r === null || this.#state !== OPEN) return;
    const d = this.#deliver;
    d.consumerTag = r.tag;
    d.deliveryTag = ++this.#deliveryTag;
    d.redelivered = false;
    d.exchange = msg.exchange;
    d.routingKey = msg.routingKey;
    this.#host.writer.content(this.id, d as BasicDeliver, msg.header, msg.body);
    this.#host.scheduleFlush();
  }

  // ---- consuming -------------------------------------------------------------------------

  #consume(m: BasicConsume): void {
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

  #cancel(tag: string): void {
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
    if (this.#state === OPEN && this.#host.consumerCancelNotify) {
      this.#send({ id: BASIC_CANCEL, consumerTag: c.tag, nowait: true });
    }
  }

  /** Open, under its channel prefetch, but the socket is backed up. */
  socketBound(): boolean {
    return this.#state === OPEN && !this.#host.writable && this.#prefetch.open;
  }

  /** Whether deliveries may go out now: open, socket not backed up, channel prefetch not reached. */
  canDeliver(): boolean {
    return this.#state === OPEN && this.#host.writable && this.#prefetch.open;
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
    this.#host.writer.deliver(this.id, c.tag, tag, entry.redelivered, msg.exchange, msg.routingKey, msg.header, msg.body);
    if (c.noAck) entry.msg = null; // done with it (see #apply)
    if (c.noAck && msg.pool !== null) this.#host.writer.afterWrite(msg); // a pooled body goes back once the socket took it
    this.stats.delivered++;
    this.#host.scheduleFlush();
  }

  #get(queue: string, noAck: boolean): void {
    const name = queueName(this.#defs, queue);
    this.#host.checkPermission('read', 'queue', name);
    const q = this.#host.vhost.queueForUse(name, this.#host);
    const entry = q.shift();
    if (entry === undefined) {
      writeGetEmpty(this.#host.writer, this.id);
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
    writeGetOk(this.#host.writer, this.id, tag, q, entry);
    this.stats.delivered++;
    this.#host.scheduleFlush();
  }

  #qos(prefetchSize: number, prefetchCount: number, global: boolean): void {
    this.#prefetch.set(prefetchSize, prefetchCount, global);
    this.#send({ id: BASIC_QOS_OK });
    this.resume();
  }

  /** Lets queues deliver again (credit freed, socket drained). */
  resume(): void {
    for (const c of this.consumers.values()) c.queue.dispatch();
  }

  // ---- acknowledgements ------------------------------------------------------------------

  #settle(tag: number, multiple: boolean, kind: SettleKind): void {
    const entries = this.#unacked.take(tag, multiple);
    if (entries === null) throw new ChannelError('PRECONDITION_FAILED', `unknown delivery tag ${tag}`);
    if (kind !== 'ack') checkStreamSettle(entries);
    if (this.#tx !== null) {
      this.#tx.settles.push({ entries, kind });
      return;
    }
    this.#apply(entries, kind);
  }

  #apply(entries: QueueEntry[], kind: SettleKind): void {
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
    if (kind === 'ack') this.stats.acked += entries.length;
    this.resume();
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

  // ---- consumer timeout -----------------------------------------------------------------

  /**
   * Called once a second: the oldest unacknowledged delivery has waited longer than its queue's
   * x-consumer-timeout (or the broker's consumer timeout)? Then its consumer is cancelled and
   * its messages returned, when the client can hear a cancel; else the channel is closed with
   * RabbitMQ's 406, as RabbitMQ does.
   */
  checkAckTimeout(now: number, defaultTimeout: number): void {
    if (this.#state !== OPEN) return;
    const overdue = overdueDelivery(this.#unacked, now, defaultTimeout);
    if (overdue === null) return;
    const { entry: oldest, timeout } = overdue;
    const c = oldest.consumer as ChannelConsumer | null;
    if (c !== null && this.#host.consumerCancelNotify && this.consumers.get(c.tag) === c) {
      this.log.warn({ consumer: c.tag, queue: c.queue.name, timeoutMs: timeout }, 'delivery acknowledgement timed out: cancelling the consumer and returning its messages');
      this.consumers.delete(c.tag);
      c.queue.removeConsumer(c);
      this.#send({ id: BASIC_CANCEL, consumerTag: c.tag, nowait: true });
      this.#requeue(this.#unacked.takeWhere((e) => e.consumer === c));
      return;
    }
    this.fail(ackTimeoutError(this.id, timeout));
  }

  // ---- transactions ----------------------------------------------------------------------

  #commit(): void {
    const tx = this.#tx;
    if (tx === null) throw new ChannelError('PRECONDITION_FAILED', 'channel is not transactional');
    this.#tx = new Transaction();
    for (const p of tx.publishes) this.#publisher.route(p.exchange, p.msg, p.mandatory);
    for (const s of tx.settles) this.#apply(s.entries, s.kind);
    const store = this.#host.store;
    if (store.writeSeq > store.durableSeq) {
      this.#commitWaitSeq = store.writeSeq;
      this.#host.wantsFlushHook(this);
    } else {
      this.#send({ id: TX_COMMIT_OK });
    }
  }

  #rollback(): void {
    const tx = this.#tx;
    if (tx === null) throw new ChannelError('PRECONDITION_FAILED', 'channel is not transactional');
    this.#tx = new Transaction();
    for (const s of tx.settles) this.#unacked.restore(s.entries);
    this.#send({ id: TX_ROLLBACK_OK });
  }

  // ---- output hooks ----------------------------------------------------------------------

  /**
   * Called by the connection before it flushes, and when the store made more writes durable:
   * writes the publisher acks and commit-ok that became due. Returns true while still waiting.
   */
  flushHook(durableSeq: number, failed: WriteRange | null = null): boolean {
    if (this.#state !== OPEN) return false;
    const confirms = this.#confirms;
    if (confirms !== null) {
      confirms.advance(durableSeq, failed);
      if (confirms.write(this.#host.writer, this.id)) this.#host.scheduleFlush();
    }
    const commitSeq = this.#commitWaitSeq;
    if (commitSeq !== 0 && commitSeq <= durableSeq) {
      this.#commitWaitSeq = 0;
      if (failed !== null && commitSeq > failed.from && commitSeq <= failed.to) {
        this.#host.closeWithError(
          new ConnectionError('INTERNAL_ERROR', 'could not write the transaction to disk (is the disk full?); free space and retry'),
        );
        return false;
      }
      this.#send({ id: TX_COMMIT_OK });
    }
    return (confirms?.waiting ?? false) || this.#commitWaitSeq !== 0;
  }

  // ---- closing ---------------------------------------------------------------------------

  /** Soft error: tell the client, release everything, wait for close-ok. */
  fail(e: ChannelError): void {
    if (this.#state !== OPEN) return;
    this.log.warn({ code: e.replyCode, text: e.replyText, classId: e.classId, methodId: e.methodId }, 'channel error');
    this.#send({ id: CHANNEL_CLOSE, replyCode: e.replyCode, replyText: e.replyText, classId: e.classId, methodId: e.methodId });
    this.release();
  }

  /**
   * Gives back what the channel holds: unacked messages return to their queues (redelivered),
   * consumers leave (auto-delete queues may go), an open transaction is dropped.
   */
  release(): void {
    // Stop deliveries to this channel first, so requeued messages go to other consumers.
    if (this.#state === OPEN) this.#state = CLOSING;
    this.#assembler.discardBodies();
    this.#incoming.done();
    // Acks of an uncommitted transaction never happened: those messages are unacked still.
    if (this.#tx !== null) for (const s of this.#tx.settles) this.#unacked.restore(s.entries);
    this.#tx = null;
    this.#stopReplies();
    // Unacked messages go back first: a single-active-consumer queue then hands them, in
    // order, to the consumer that takes over (this channel's consumers can no longer take any).
    const unacked = this.#unacked.takeAll();
    if (unacked.length > 0) this.#requeue(unacked);
    const consumers = [...this.consumers.values()];
    this.consumers.clear();
    for (const c of consumers) c.queue.removeConsumer(c);
  }

  #finishClose(): void {
    this.#state = CLOSED;
    this.#host.channelClosed(this);
  }

  #send(m: Method): void {
    this.#host.writer.method(this.id, m);
    this.#host.scheduleFlush();
  }
}
