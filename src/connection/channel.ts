// One AMQP channel: turns its frames into commands, routes each method to the part of the
// channel that handles it, and runs the channel's life from open to close-ok. What it hands out
// and gets back (consumers, delivery tags, unacked messages, prefetch, basic.get, settling) is
// in deliveries.ts; publishing under the confirm and transaction modes in publish-modes.ts.
// Soft errors close only this channel (handled here); hard errors propagate to the connection.

import type { Logger } from 'pino';
import {
  ACCESS_REQUEST,
  ACCESS_REQUEST_OK,
  BASIC_ACK,
  BASIC_CANCEL,
  BASIC_CANCEL_OK,
  BASIC_CONSUME,
  BASIC_GET,
  BASIC_NACK,
  BASIC_PUBLISH,
  BASIC_QOS,
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
  TX_COMMIT,
  TX_ROLLBACK,
  TX_SELECT,
  type Method,
} from '../codec/methods.generated.js';
import { AmqpError, ChannelError, ConnectionError } from '../errors.js';
import type { WriteRange } from '../store/store.js';
import { CommandAssembler } from './command-assembler.js';
import type { ChannelConsumer } from './consumer.js';
import { Deliveries } from './deliveries.js';
import { handleDefinitionMethod, type DefinitionContext } from './definition-methods.js';
import type { ChannelHost, ChannelStats, HostedChannel } from './host.js';
import { IncomingContent } from './incoming-content.js';
import { PublishModes } from './publish-modes.js';
import type { SettleKind } from './transaction.js';
import type { UnackedLedger } from './unacked.js';

export { ChannelConsumer } from './consumer.js';
export { REPLY_TO } from './reply-to.js';
export type { ChannelHost } from './host.js';

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;

export class Channel implements HostedChannel {
  readonly id: number;
  readonly log: Logger;
  readonly #host: ChannelHost;
  #state = OPEN;
  /** The client closed the channel; close-ok goes out in afterInput(). */
  #closeOkOwed = false;
  readonly #assembler = new CommandAssembler();
  readonly #incoming: IncomingContent;
  readonly #defs: DefinitionContext;
  readonly #deliveries: Deliveries;
  readonly #modes: PublishModes;
  readonly stats: ChannelStats = { published: 0, delivered: 0, acked: 0 };

  constructor(id: number, host: ChannelHost, log: Logger) {
    this.id = id;
    this.#host = host;
    this.log = log;
    this.#incoming = new IncomingContent(host);
    this.#defs = {
      vhost: host.vhost,
      owner: host,
      lastQueue: '',
      checkPermission: (kind, resource, name) => host.checkPermission(kind, resource, name),
    };
    this.#deliveries = new Deliveries(id, host, log, this.#defs, this.stats);
    this.#modes = new PublishModes(this, host, this.#deliveries);
  }

  get isOpen(): boolean {
    return this.#state === OPEN;
  }

  /** This channel's consumers by tag. */
  get consumers(): ReadonlyMap<string, ChannelConsumer> {
    return this.#deliveries.consumers;
  }

  get unacked(): Pick<UnackedLedger, 'size' | 'forEach'> {
    return this.#deliveries.unacked;
  }

  get prefetchCount(): number {
    return this.#deliveries.prefetchCount;
  }

  get globalPrefetch(): number {
    return this.#deliveries.globalPrefetch;
  }

  get inConfirmMode(): boolean {
    return this.#modes.inConfirmMode;
  }

  get inTransaction(): boolean {
    return this.#modes.inTransaction;
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
      if (m.id === BASIC_PUBLISH) this.#modes.publish(m, a.header, a.body, a.bodyBuffer, a);
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
        return this.#deliveries.consume(m);
      case BASIC_CANCEL: {
        this.#deliveries.cancel(m.consumerTag);
        if (!m.nowait) this.#send({ id: BASIC_CANCEL_OK, consumerTag: m.consumerTag });
        return;
      }
      case BASIC_GET:
        return this.#deliveries.get(m.queue, m.noAck);
      case BASIC_QOS:
        return this.#deliveries.qos(m.prefetchSize, m.prefetchCount, m.global);
      case BASIC_RECOVER:
      case BASIC_RECOVER_ASYNC: {
        if (!m.requeue) throw new ConnectionError('NOT_IMPLEMENTED', 'requeue=false');
        this.#deliveries.recover();
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
        return this.#modes.selectConfirm(m.nowait);
      case TX_SELECT:
        return this.#modes.selectTx();
      case TX_COMMIT:
        return this.#modes.commit();
      case TX_ROLLBACK:
        return this.#modes.rollback();
      case ACCESS_REQUEST:
        this.#send({ id: ACCESS_REQUEST_OK, ticket: 1 });
        return;
      default:
        // Methods only a server sends (deliver, *-ok, ...): RabbitMQ's answer.
        throw new ConnectionError('COMMAND_INVALID', 'unimplemented method');
    }
  }

  /** basic.ack, nack and reject: applied now, or held by an open transaction. */
  #settle(tag: number, multiple: boolean, kind: SettleKind): void {
    const entries = this.#deliveries.take(tag, multiple, kind);
    if (!this.#modes.holdSettle(entries, kind)) this.#deliveries.apply(entries, kind);
  }

  /** Lets queues deliver again (credit freed, socket drained). */
  resume(): void {
    this.#deliveries.resume();
  }

  /** Called once a second: see Deliveries.checkAckTimeout. */
  checkAckTimeout(now: number, defaultTimeout: number): void {
    if (this.#state !== OPEN) return;
    const e = this.#deliveries.checkAckTimeout(now, defaultTimeout);
    if (e !== null) this.fail(e);
  }

  /**
   * Called by the connection before it flushes, and when the store made more writes durable:
   * writes the publisher acks and commit-ok that became due. Returns true while still waiting.
   */
  flushHook(durableSeq: number, failed: WriteRange | null = null): boolean {
    if (this.#state !== OPEN) return false;
    return this.#modes.flushHook(durableSeq, failed);
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
    if (this.#state === OPEN) this.#state = CLOSING;
    this.#assembler.discardBodies();
    this.#incoming.done();
    this.#modes.release();
    this.#deliveries.release();
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
