// One AMQP channel: turns its frames into commands, handles each method as a list of checks
// followed by the action, and owns what the spec puts on a channel: consumers, delivery tags
// and unacknowledged messages, prefetch limits, publisher confirms and transactions.
// Soft errors close only this channel (handled here); hard errors propagate to the connection.

import type { Logger } from 'pino';
import type { FrameWriter } from '../codec/frame-writer.js';
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
  BASIC_GET_EMPTY,
  BASIC_GET_OK,
  BASIC_NACK,
  BASIC_PROPERTY_FLAGS,
  BASIC_PUBLISH,
  BASIC_QOS,
  BASIC_QOS_OK,
  BASIC_RECOVER,
  BASIC_RECOVER_ASYNC,
  BASIC_RECOVER_OK,
  BASIC_REJECT,
  BASIC_RETURN,
  CHANNEL_CLOSE,
  CHANNEL_CLOSE_OK,
  CHANNEL_FLOW,
  CHANNEL_FLOW_OK,
  CHANNEL_OPEN,
  CONFIRM_SELECT,
  CONFIRM_SELECT_OK,
  FRAME_METHOD,
  methodName,
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
import type { PermissionKind } from '../auth/access.js';
import { F, fieldInteger, fieldString, RABBIT_TYPE_NAMES, type FieldTable, type FieldValue } from '../codec/field-table.js';
import { randomBytes } from 'node:crypto';
import { parseExpiration } from '../queue/arguments.js';
import { coarseClock } from '../util/clock.js';
import { AmqpError, ChannelError, ConnectionError } from '../errors.js';
import { Message } from '../message.js';
import type { Exchange } from '../routing/exchange.js';
import type { VirtualHost } from '../routing/vhost.js';
import type { Consumer, Queue, QueueEntry } from '../queue/queue.js';
import type { Store, WriteRange } from '../store/store.js';
import { Deque } from '../util/deque.js';
import { CommandAssembler } from './command-assembler.js';
import { generatedName, handleDefinitionMethod, queueName, type DefinitionContext } from './definition-methods.js';
import { UnackedLedger } from './unacked.js';

/** The direct reply-to pseudo-queue, and the prefix of the addresses it hands out. */
export const REPLY_TO = 'amq.rabbitmq.reply-to';
const REPLY_PREFIX = `${REPLY_TO}.`;

/** Routing keys in a CC or BCC header: an array of strings (other elements are skipped). */
function routingKeysIn(name: string, v: FieldValue | undefined): string[] {
  if (v === undefined) return [];
  if (v.type !== 'A') throw new ChannelError('PRECONDITION_FAILED', `invalid message: {unacceptable_type_in_header,"${name}",${RABBIT_TYPE_NAMES[v.type]}}`);
  return v.value.map((x) => (x.type === 'S' ? fieldString(x) : undefined)).filter((k): k is string => k !== undefined);
}

/** What a channel needs from its connection. */
export interface ChannelHost {
  readonly writer: FrameWriter;
  readonly vhost: VirtualHost;
  readonly store: Store;
  readonly username: string;
  readonly maxMessageSize: number;
  /** The client announced consumer_cancel_notify: tell it when the server cancels a consumer. */
  readonly consumerCancelNotify: boolean;
  /** The socket is not backed up: deliveries may be written. */
  readonly writable: boolean;
  scheduleFlush(): void;
  /** This channel has confirms or a commit waiting for the store or for the next flush. */
  wantsFlushHook(ch: Channel): void;
  /** The channel is fully closed; its number may be reused. */
  channelClosed(ch: Channel): void;
  /** Throws 403 ACCESS_REFUSED unless the user may do `kind` on the named queue or exchange. */
  checkPermission(kind: PermissionKind, resource: 'queue' | 'exchange', name: string): void;
  /** Changes whenever permissions change anywhere (invalidates cached checks). */
  readonly permissionEpoch: number;
  /** Pause reading from the client until `queue` has drained (flow control). */
  throttle(queue: Queue): void;
  /** A resource alarm is on: publishers are to be blocked (see blockForAlarm). */
  readonly alarmed: boolean;
  /** Stop reading from this publisher until the alarm clears (connection.blocked). */
  blockForAlarm(): void;
  /** Closes the whole connection with a hard error (from outside frame handling). */
  closeWithError(e: ConnectionError): void;
}

const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;

interface TxPublish {
  readonly exchange: Exchange;
  readonly msg: Message;
  readonly mandatory: boolean;
}

interface TxSettle {
  readonly entries: QueueEntry[];
  /** 'ack', or a nack/reject with its requeue flag. */
  readonly kind: 'ack' | 'requeue' | 'drop';
}

class Transaction {
  publishes: TxPublish[] = [];
  settles: TxSettle[] = [];
}

/**
 * Publisher-confirm bookkeeping. Each publish gets a sequence number; it is confirmable once
 * the store writes it needed are durable. Acks go out in order and coalesced (multiple=true);
 * a publish whose writes failed is nacked, after an ack for everything before it.
 */
class Confirms {
  #next = 1;
  /** Highest sequence number already acked or nacked to the client. */
  #reported = 0;
  /** Highest sequence number confirmable (everything up to it is settled). */
  #ready = 0;
  readonly #waitSeq = new Deque<number>();
  readonly #waitStore = new Deque<number>();
  /** Output in order: +tag = ack everything up to tag, -tag = nack tag. */
  #out: number[] = [];

  nextSeq(): number {
    return this.#next++;
  }

  /** Publish `seq` is routed; it needs store write `storeSeq` durable (0: nothing to wait for). */
  /**
   * Publish `seq` is routed; it needs store write `storeSeq` durable (0: nothing to wait for).
   * `refused`: a queue refused it (x-overflow reject-publish), so it is nacked in its turn.
   */
  settle(seq: number, storeSeq: number, durableSeq: number, refused = false): void {
    if (this.#waitSeq.length === 0 && storeSeq <= durableSeq) {
      if (refused) this.#nack(seq);
      this.#ready = seq;
    } else {
      this.#waitSeq.push(seq);
      this.#waitStore.push(refused ? -storeSeq - 1 : storeSeq);
    }
  }

  advance(durableSeq: number, failed: WriteRange | null): void {
    while (this.#waitStore.length > 0) {
      const stored = this.#waitStore.peek()!;
      const refused = stored < 0;
      const storeSeq = refused ? -stored - 1 : stored;
      if (storeSeq > durableSeq) break;
      this.#waitStore.shift();
      const seq = this.#waitSeq.shift()!;
      if (refused || (failed !== null && storeSeq > failed.from && storeSeq <= failed.to)) this.#nack(seq);
      this.#ready = seq;
    }
  }

  /** Emits the ack for everything ready before `seq`, then the nack for it. */
  #nack(seq: number): void {
    if (this.#ready > this.#reported) this.#out.push(this.#ready);
    this.#out.push(-seq);
    this.#reported = seq;
  }

  get waiting(): boolean {
    return this.#waitSeq.length > 0;
  }

  /** The acks and nacks to send now, in order (see #out). */
  take(): number[] {
    if (this.#ready > this.#reported) {
      this.#out.push(this.#ready);
      this.#reported = this.#ready;
    }
    const out = this.#out;
    if (out.length > 0) this.#out = [];
    return out;
  }

  /** Where the last take() left off, to tell a multiple ack from a single one. */
  lastReported = 0;
}

export class ChannelConsumer implements Consumer {
  readonly channel: Channel;
  readonly queue: Queue;
  readonly tag: string;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly prefetch: number;
  readonly arguments: FieldTable;
  readonly priority: number;
  unacked = 0;

  constructor(channel: Channel, queue: Queue, m: BasicConsume, tag: string, prefetch: number) {
    this.channel = channel;
    this.queue = queue;
    this.tag = tag;
    this.noAck = m.noAck;
    this.exclusive = m.exclusive;
    this.prefetch = m.noAck ? 0 : prefetch;
    this.arguments = m.arguments;
    this.priority = fieldInteger(m.arguments.get('x-priority')) ?? 0;
  }

  canDeliver(): boolean {
    return (this.prefetch === 0 || this.unacked < this.prefetch) && this.channel.canDeliver();
  }

  deliver(_queue: Queue, entry: QueueEntry): void {
    this.channel.deliver(this, entry);
  }

  queueDeleted(): void {
    this.channel.consumerCancelledByServer(this);
  }

  socketBound(): boolean {
    return (this.prefetch === 0 || this.unacked < this.prefetch) && this.channel.socketBound();
  }
}

export class Channel {
  readonly id: number;
  readonly log: Logger;
  readonly #host: ChannelHost;
  #state = OPEN;
  readonly #assembler = new CommandAssembler();
  readonly consumers = new Map<string, ChannelConsumer>();
  readonly #unacked = new UnackedLedger();
  #deliveryTag = 0;
  /** Deliveries to consumers (not basic.get) awaiting ack, for the channel-wide prefetch. */
  #consumerUnacked = 0;
  /** basic.qos global=false: prefetch for consumers created from now on. */
  #consumerPrefetch = 0;
  /** basic.qos global=true: limit over all consumers of the channel. */
  #channelPrefetch = 0;
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
  readonly #targets = new Set<Queue>();
  /** Direct reply-to consumer on this channel, and the token in its reply address. */
  #replyConsumer: { readonly tag: string; readonly token: string } | null = null;
  // The last exchange this channel may publish to, and the permission epoch it was checked in.
  #writableExchange: string | null = null;
  #writableEpoch = -1;
  readonly stats = { published: 0, delivered: 0, acked: 0 };

  constructor(id: number, host: ChannelHost, log: Logger) {
    this.id = id;
    this.#host = host;
    this.log = log;
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

  get unackedCount(): number {
    return this.#unacked.size;
  }

  get prefetchCount(): number {
    return this.#channelPrefetch || this.#consumerPrefetch;
  }

  get globalPrefetch(): number {
    return this.#channelPrefetch;
  }

  get inConfirmMode(): boolean {
    return this.#confirms !== null;
  }

  get inTransaction(): boolean {
    return this.#tx !== null;
  }

  // ---- frames in -------------------------------------------------------------------------

  handleFrame(type: number, payload: Buffer): void {
    if (this.#state !== OPEN) {
      this.#whileClosing(type, payload);
      return;
    }
    const a = this.#assembler;
    try {
      if (!a.push(type, payload)) {
        this.#checkContentSize();
        return;
      }
    } catch (e) {
      // Framing errors name their method themselves (or none, when a method was expected).
      this.#onError(e, 0);
      return;
    }
    const m = a.method!;
    try {
      if (m.id === BASIC_PUBLISH) this.#publish(m, a.header, a.body);
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

  /** A closing channel ignores everything but channel.close / close-ok. */
  #whileClosing(type: number, payload: Buffer): void {
    if (this.#state !== CLOSING || type !== FRAME_METHOD || payload.length < 4) return;
    const id = payload.readUInt32BE(0);
    if (id === CHANNEL_CLOSE_OK) this.#finishClose();
    else if (id === CHANNEL_CLOSE) {
      this.#send({ id: CHANNEL_CLOSE_OK });
      this.#finishClose();
    }
  }

  #checkContentSize(): void {
    const a = this.#assembler;
    if (a.inContent && a.bodySize > this.#host.maxMessageSize && a.method?.id === BASIC_PUBLISH) {
      throw new ChannelError('PRECONDITION_FAILED', `message size ${a.bodySize} is larger than configured max size ${this.#host.maxMessageSize}`, {
        classId: BASIC_PUBLISH >>> 16,
        methodId: BASIC_PUBLISH & 0xffff,
      });
    }
  }

  #handleMethod(m: Method): void {
    const reply = handleDefinitionMethod(this.#defs, m);
    if (reply !== undefined) {
      if (reply !== null) this.#send(reply);
      return;
    }
    switch (m.id) {
      case BASIC_ACK:
        return this.#settle(m.deliveryTag, m.multiple, 'ack');
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
        this.#send({ id: CHANNEL_CLOSE_OK });
        this.release();
        this.#finishClose();
        return;
      case CHANNEL_CLOSE_OK:
        return;
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

  #publish(m: BasicPublish, header: Buffer, body: Buffer): void {
    if (m.immediate) throw new ConnectionError('NOT_IMPLEMENTED', 'immediate=true');
    const host = this.#host;
    if (body.length > host.maxMessageSize) {
      throw new ChannelError('PRECONDITION_FAILED', `message size ${body.length} is larger than configured max size ${host.maxMessageSize}`);
    }
    if (this.#writableExchange !== m.exchange || this.#writableEpoch !== host.permissionEpoch) {
      host.checkPermission('write', 'exchange', m.exchange);
      this.#writableExchange = m.exchange;
      this.#writableEpoch = host.permissionEpoch;
    }
    if (host.alarmed) host.blockForAlarm();
    const vhost = host.vhost;
    const x = vhost.exchangeForPublish(m.exchange);
    if (x.internal) {
      throw new ChannelError('ACCESS_REFUSED', `cannot publish to internal exchange '${x.name}' in vhost '${vhost.name}'`);
    }
    let msg = new Message(m.exchange, m.routingKey, header, body);
    try {
      msg.checkProperties();
    } catch {
      // RabbitMQ's channel crashes on properties it cannot decode; the client sees 541 on the connection.
      throw new ConnectionError('INTERNAL_ERROR', '', { classId: 0, methodId: 0 });
    }
    const flags = msg.propertyFlags;
    if ((flags & BASIC_PROPERTY_FLAGS.userId) !== 0 && msg.properties.userId !== this.#host.username) {
      throw new ChannelError(
        'PRECONDITION_FAILED',
        `user_id property set to '${msg.properties.userId}' but authenticated user was '${this.#host.username}'`,
      );
    }
    if ((flags & BASIC_PROPERTY_FLAGS.expiration) !== 0) msg.ttl = parseExpiration(msg.properties.expiration!);
    if ((flags & (BASIC_PROPERTY_FLAGS.headers | BASIC_PROPERTY_FLAGS.replyTo)) !== 0) msg = this.#rewrite(msg);
    this.stats.published++;
    if (this.#tx !== null) {
      this.#tx.publishes.push({ exchange: x, msg, mandatory: m.mandatory });
      return;
    }
    if (this.#confirms === null) {
      this.#route(x, msg, m.mandatory);
      return;
    }
    const seq = this.#confirms.nextSeq();
    const store = this.#host.store;
    const before = store.writeSeq;
    const accepted = this.#route(x, msg, m.mandatory);
    this.#confirms.settle(seq, store.writeSeq > before ? store.writeSeq : 0, store.durableSeq, !accepted);
    this.#host.wantsFlushHook(this);
  }

  /**
   * Headers CC/BCC add routing keys (BCC is taken out of the message); reply_to
   * amq.rabbitmq.reply-to becomes this channel's direct reply-to address.
   */
  #rewrite(msg: Message): Message {
    const props = msg.properties;
    let changed = false;
    let headers = props.headers;
    if (headers !== undefined && (headers.has('CC') || headers.has('BCC'))) {
      const keys = [...routingKeysIn('CC', headers.get('CC')), ...routingKeysIn('BCC', headers.get('BCC'))];
      if (headers.has('BCC')) {
        headers = new Map(headers);
        headers.delete('BCC');
        changed = true;
      }
      msg.ccKeys = keys.length > 0 ? keys : null;
    }
    let replyTo = props.replyTo;
    if (replyTo === REPLY_TO) {
      if (this.#replyConsumer === null) throw new ChannelError('PRECONDITION_FAILED', 'fast reply consumer does not exist');
      replyTo = `${REPLY_TO}.${this.#replyConsumer.token}`;
      changed = true;
    }
    if (!changed) return msg;
    const copy = msg.withProperties({ ...props, ...(headers ? { headers } : {}), ...(replyTo !== undefined ? { replyTo } : {}) });
    copy.ccKeys = msg.ccKeys;
    return copy;
  }

  /**
   * Routes and enqueues; an unroutable mandatory message goes back as basic.return. Returns
   * false when a queue refused it (x-overflow reject-publish): confirms nack it.
   */
  #route(x: Exchange, msg: Message, mandatory: boolean): boolean {
    const vhost = this.#host.vhost;
    if (x === vhost.defaultExchange && msg.routingKey.startsWith(REPLY_PREFIX)) {
      const to = vhost.replyConsumers.get(msg.routingKey.slice(REPLY_PREFIX.length));
      if (to !== undefined) to.deliverReply(msg);
      else if (mandatory) this.#returnUnroutable(msg);
      return true;
    }
    const targets = this.#targets;
    targets.clear();
    vhost.route(x, msg, targets);
    if (targets.size === 0) {
      // A delayed exchange holding the message has not failed to route it (yet).
      if (mandatory && !vhost.lastRouteDeferred) this.#returnUnroutable(msg);
      return true;
    }
    let accepted = true;
    for (const q of targets) {
      if (!q.enqueue(msg)) accepted = false;
      if (q.congested) this.#host.throttle(q);
    }
    return accepted;
  }

  #returnUnroutable(msg: Message): void {
    this.#host.writer.content(
      this.id,
      { id: BASIC_RETURN, replyCode: 312, replyText: 'NO_ROUTE', exchange: msg.exchange, routingKey: msg.routingKey },
      msg.header,
      msg.body,
    );
    this.#host.scheduleFlush();
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
    if (m.queue === REPLY_TO) return this.#consumeReplies(m);
    const name = queueName(this.#defs, m.queue);
    this.#host.checkPermission('read', 'queue', name);
    const tag = m.consumerTag === '' ? generatedName('amq.ctag') : m.consumerTag;
    const q = this.#host.vhost.queueForUse(name, this.#host);
    const priority = m.arguments.get('x-priority');
    if (priority !== undefined && (priority.type === 'T' || fieldInteger(priority) === undefined)) {
      throw new ChannelError(
        'PRECONDITION_FAILED',
        `invalid arg 'x-priority' for queue '${q.name}' in vhost '${q.vhost}': "expected integer, got ${RABBIT_TYPE_NAMES[priority.type]}"`,
      );
    }
    const c = new ChannelConsumer(this, q, m, tag, this.#consumerPrefetch);
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
    const token = randomBytes(18).toString('base64url');
    this.#replyConsumer = { tag, token };
    this.#host.vhost.replyConsumers.set(token, this);
    if (!m.nowait) this.#send({ id: BASIC_CONSUME_OK, consumerTag: tag });
  }

  #stopReplies(): void {
    if (this.#replyConsumer === null) return;
    this.#host.vhost.replyConsumers.delete(this.#replyConsumer.token);
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
    return (
      this.#state === OPEN &&
      !this.#host.writable &&
      (this.#channelPrefetch === 0 || this.#consumerUnacked < this.#channelPrefetch)
    );
  }

  /** Whether deliveries may go out now: open, socket not backed up, channel prefetch not reached. */
  canDeliver(): boolean {
    return (
      this.#state === OPEN &&
      this.#host.writable &&
      (this.#channelPrefetch === 0 || this.#consumerUnacked < this.#channelPrefetch)
    );
  }

  deliver(c: ChannelConsumer, entry: QueueEntry): void {
    const tag = ++this.#deliveryTag;
    if (!c.noAck) {
      entry.tag = tag;
      entry.consumer = c;
      this.#unacked.add(tag, entry, coarseClock.now);
      c.unacked++;
      this.#consumerUnacked++;
    }
    const d = this.#deliver;
    // Queues hand over only entries whose message is in memory.
    const msg = entry.msg!;
    d.consumerTag = c.tag;
    d.deliveryTag = tag;
    d.redelivered = entry.redelivered;
    d.exchange = msg.exchange;
    d.routingKey = msg.routingKey;
    this.#host.writer.content(this.id, d as BasicDeliver, msg.header, msg.body);
    if (c.noAck) entry.msg = null; // done with it (see #apply)
    this.stats.delivered++;
    this.#host.scheduleFlush();
  }

  #get(queue: string, noAck: boolean): void {
    const name = queueName(this.#defs, queue);
    this.#host.checkPermission('read', 'queue', name);
    const q = this.#host.vhost.queueForUse(name, this.#host);
    const entry = q.shift();
    if (entry === undefined) {
      this.#send({ id: BASIC_GET_EMPTY, clusterId: '' });
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
    // Quorum queues tell basic.get how often the message went out before (0 the first time).
    const msg = q.settings.queueType === 'quorum' ? entry.msg!.withHeader('x-delivery-count', F.long(entry.deliveryCount)) : entry.msg!;
    this.#host.writer.content(
      this.id,
      {
        id: BASIC_GET_OK,
        deliveryTag: tag,
        redelivered: entry.redelivered,
        exchange: msg.exchange,
        routingKey: msg.routingKey,
        messageCount: q.messageCount,
      },
      msg.header,
      msg.body,
    );
    this.stats.delivered++;
    this.#host.scheduleFlush();
  }

  #qos(prefetchSize: number, prefetchCount: number, global: boolean): void {
    if (prefetchSize !== 0) throw new ConnectionError('NOT_IMPLEMENTED', `prefetch_size!=0 (${prefetchSize})`);
    if (global) this.#channelPrefetch = prefetchCount;
    else this.#consumerPrefetch = prefetchCount;
    this.#send({ id: BASIC_QOS_OK });
    this.resume();
  }

  /** Lets queues deliver again (credit freed, socket drained). */
  resume(): void {
    for (const c of this.consumers.values()) c.queue.dispatch();
  }

  // ---- acknowledgements ------------------------------------------------------------------

  #settle(tag: number, multiple: boolean, kind: 'ack' | 'requeue' | 'drop'): void {
    const entries = this.#unacked.take(tag, multiple);
    if (entries === null) throw new ChannelError('PRECONDITION_FAILED', `unknown delivery tag ${tag}`);
    if (this.#tx !== null) {
      this.#tx.settles.push({ entries, kind });
      return;
    }
    this.#apply(entries, kind);
  }

  #apply(entries: QueueEntry[], kind: 'ack' | 'requeue' | 'drop'): void {
    if (kind === 'requeue') {
      this.#requeue(entries);
      return;
    }
    for (const e of entries) {
      this.#released(e);
      if (kind === 'ack') e.queue.settle(e, true);
      else e.queue.reject(e);
      // The entry may be old (a long backlog): left pointing at its message, it would keep
      // a young body alive until the next full GC.
      e.msg = null;
    }
    if (kind === 'ack') this.stats.acked += entries.length;
    this.resume();
  }

  /** Bookkeeping when an entry leaves this channel's hands. */
  #released(e: QueueEntry): void {
    const c = e.consumer as ChannelConsumer | null;
    if (c !== null) {
      c.unacked--;
      this.#consumerUnacked--;
    }
  }

  /** Returns entries to their queues (original position, redelivered). */
  #requeue(entries: QueueEntry[]): void {
    if (entries.length === 0) return;
    let byQueue: Map<Queue, QueueEntry[]> | null = null;
    const first = entries[0]!.queue;
    for (const e of entries) {
      this.#released(e);
      if (e.queue !== first) byQueue ??= new Map();
    }
    if (byQueue === null) {
      first.requeue(entries);
    } else {
      for (const e of entries) {
        const list = byQueue.get(e.queue);
        if (list) list.push(e);
        else byQueue.set(e.queue, [e]);
      }
      for (const [q, list] of byQueue) q.requeue(list);
    }
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
    const first = this.#unacked.oldest();
    if (first === undefined) return;
    const oldest = first.entry;
    const timeout = oldest.queue.settings.consumerTimeout ?? defaultTimeout;
    if (timeout <= 0 || now - first.at <= timeout) return;
    const c = oldest.consumer as ChannelConsumer | null;
    if (c !== null && this.#host.consumerCancelNotify && this.consumers.get(c.tag) === c) {
      this.log.warn({ consumer: c.tag, queue: c.queue.name, timeoutMs: timeout }, 'delivery acknowledgement timed out: cancelling the consumer and returning its messages');
      this.consumers.delete(c.tag);
      c.queue.removeConsumer(c);
      this.#send({ id: BASIC_CANCEL, consumerTag: c.tag, nowait: true });
      this.#requeue(this.#unacked.takeWhere((e) => e.consumer === c));
      return;
    }
    this.fail(
      new ChannelError(
        'PRECONDITION_FAILED',
        `delivery acknowledgement on channel ${this.id} timed out. Timeout value used: ${timeout} ms. This timeout value can be configured, see consumers doc guide to learn more`,
        { classId: 0, methodId: 0 },
      ),
    );
  }

  // ---- transactions ----------------------------------------------------------------------

  #commit(): void {
    const tx = this.#tx;
    if (tx === null) throw new ChannelError('PRECONDITION_FAILED', 'channel is not transactional');
    this.#tx = new Transaction();
    for (const p of tx.publishes) this.#route(p.exchange, p.msg, p.mandatory);
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
      const out = confirms.take();
      if (out.length > 0) {
        let last = confirms.lastReported;
        for (const t of out) {
          if (t > 0) this.#host.writer.method(this.id, { id: BASIC_ACK, deliveryTag: t, multiple: t - last > 1 });
          else this.#host.writer.method(this.id, { id: BASIC_NACK, deliveryTag: -t, multiple: false, requeue: false });
          last = Math.abs(t);
        }
        confirms.lastReported = last;
        this.#host.scheduleFlush();
      }
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
    this.#assembler.reset();
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
