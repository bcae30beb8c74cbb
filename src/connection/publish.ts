// basic.publish on one channel, up to the queues: the checks RabbitMQ makes (size, write
// permission, exchange, properties, user_id), the header rewrites (CC/BCC routing keys,
// direct reply-to addresses), then routing with basic.return for unroutable mandatory
// messages. Confirms and transactions stay with the channel. Nothing here allocates per
// message beyond the Message itself (reused target set, cached permission check).

import { CodecError } from '../codec/codec-error.js';
import { fieldString, RABBIT_TYPE_NAMES, type FieldValue } from '../codec/field-table.js';
import { BODY_BY_REFERENCE } from '../codec/frame-writer.js';
import { BASIC_PROPERTY_FLAGS, BASIC_RETURN, type BasicPublish } from '../codec/methods.generated.js';
import { ChannelError, ConnectionError } from '../errors.js';
import { Message } from '../message.js';
import { parseExpiration } from '../queue/arguments.js';
import { BodyLease } from '../util/body-pool.js';
import type { Queue } from '../queue/queue.js';
import type { Exchange } from '../routing/exchange.js';
import { StreamQueue } from '../stream/stream-queue.js';
import type { CommandAssembler } from './command-assembler.js';
import type { ChannelHost } from './host.js';
import { REPLY_PREFIX, REPLY_TO, replyTargetFor } from './reply-to.js';
import { storeFlow, type StoreFlow } from './store-flow.js';

/** Routing keys in a CC or BCC header: an array of strings (other elements are skipped). */
function routingKeysIn(name: string, v: FieldValue | undefined): string[] {
  if (v === undefined) return [];
  if (v.type !== 'A') throw new ChannelError('PRECONDITION_FAILED', `invalid message: {unacceptable_type_in_header,"${name}",${RABBIT_TYPE_NAMES[v.type]}}`);
  return v.value.map((x) => (x.type === 'S' ? fieldString(x) : undefined)).filter((k): k is string => k !== undefined);
}

export class Publisher {
  readonly #channel: number;
  readonly #host: ChannelHost;
  readonly #targets = new Set<Queue>();
  readonly #storeFlow: StoreFlow;
  // The last exchange this channel may publish to, and the permission epoch it was checked in.
  #writableExchange: string | null = null;
  #writableEpoch = -1;
  /** The exchange of the message the last accept() returned. */
  exchange: Exchange | null = null;
  /** The last route() left no reference to the message: every place it went copied it. */
  #copied = false;

  constructor(channel: number, host: ChannelHost) {
    this.#channel = channel;
    this.#host = host;
    this.#storeFlow = storeFlow(host.store);
  }

  /**
   * Checks a publish and builds its message (its exchange in `this.exchange`). `replyAddress`:
   * the channel's direct reply-to address, null without a reply consumer. `bodyBuffer`: the
   * pooled buffer the body is a view of (CommandAssembler.bodyBuffer), or null.
   */
  accept(m: BasicPublish, header: Buffer, body: Buffer, replyAddress: string | null, bodyBuffer: Buffer | null = null): Message {
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
    let ccOrBcc: boolean;
    try {
      ccOrBcc = msg.checkProperties();
    } catch (e) {
      // A table nested too deep is warren's own limit (501, see MAX_TABLE_DEPTH).
      if (e instanceof CodecError && e.code === 'FRAME_ERROR') throw new ConnectionError('FRAME_ERROR', e.message, { classId: 0, methodId: 0 });
      // RabbitMQ's channel crashes on properties it cannot decode; the client sees 541 on the connection.
      throw new ConnectionError('INTERNAL_ERROR', '', { classId: 0, methodId: 0 });
    }
    const flags = msg.propertyFlags;
    if ((flags & BASIC_PROPERTY_FLAGS.userId) !== 0 && msg.userId !== host.username) {
      throw new ChannelError('PRECONDITION_FAILED', `user_id property set to '${msg.userId}' but authenticated user was '${host.username}'`);
    }
    if ((flags & BASIC_PROPERTY_FLAGS.expiration) !== 0) msg.ttl = parseExpiration(msg.expiration!);
    // Headers are decoded here only when CC or BCC is among them.
    if (ccOrBcc || (flags & BASIC_PROPERTY_FLAGS.replyTo) !== 0) msg = rewrite(msg, replyAddress);
    if (bodyBuffer !== null) msg.pool = new BodyLease(bodyBuffer); // held by this publish until routed
    this.exchange = x;
    return msg;
  }

  /**
   * Routes and enqueues; an unroutable mandatory message goes back as basic.return. Returns
   * false when a queue refused it (x-overflow reject-publish): confirms nack it.
   *
   * A pooled body (Message.pool) gets one hold per queue that keeps it in memory (released
   * when its consumer is done: Channel.deliver, Channel's acks), then the publish lets go of
   * its own. Anywhere else it goes (a stream, the store, a delayed exchange, direct reply-to,
   * basic.return, a refusing queue's dead-lettering) cannot say when it is done: the body then
   * leaves the pool for good (pool = null) and the collector frees it, as any other.
   */
  route(x: Exchange, msg: Message, mandatory: boolean, from: CommandAssembler | null = null): boolean {
    this.#copied = false;
    const accepted = this.#route(x, msg, mandatory);
    // Its frames (views of the connection's read buffer) are then not kept: see ReadBuffers.
    if (from !== null && this.#copied) from.release();
    const p = msg.pool;
    // Held by a queue besides this publish: let go. Held by nothing else: not pooled after all.
    if (p !== null && p.holds > 1) p.holds--;
    else msg.pool = null;
    return accepted;
  }

  #route(x: Exchange, msg: Message, mandatory: boolean): boolean {
    const host = this.#host;
    const vhost = host.vhost;
    // A reply, a basic.return: written out at once, copied but for a body FrameWriter queues by reference.
    const sentCopied = msg.body.length < BODY_BY_REFERENCE;
    if (x === vhost.defaultExchange) {
      if (msg.routingKey.startsWith(REPLY_PREFIX)) {
        const to = replyTargetFor(vhost, msg.routingKey);
        if (to !== undefined) to.deliverReply(msg);
        else if (mandatory) this.#returnUnroutable(msg);
        this.#copied = sentCopied;
        return true;
      }
      // The common case, a publish to a queue by its name: one lookup, no target set (what
      // vhost.route would find too: the default exchange has no bindings to exchanges).
      if (msg.ccKeys === null && x.alternate === null) {
        const q = vhost.queues.get(msg.routingKey);
        if (q === undefined) {
          if (mandatory) this.#returnUnroutable(msg);
          this.#copied = sentCopied;
          return true;
        }
        // A stream appends a copy of the message; other queues keep it.
        this.#copied = q instanceof StreamQueue;
        const accepted = this.#enqueueInto(q, msg);
        this.#waitForStoreIfBehind(msg);
        return accepted;
      }
    }
    const targets = this.#targets;
    targets.clear();
    vhost.route(x, msg, targets);
    if (vhost.lastRouteDeferred) msg.pool = null; // a delayed exchange keeps a copy sharing the body
    if (targets.size === 0) {
      // A delayed exchange holding the message has not failed to route it (yet).
      if (mandatory && !vhost.lastRouteDeferred) this.#returnUnroutable(msg);
      this.#copied = sentCopied && !vhost.lastRouteDeferred;
      return true;
    }
    let accepted = true;
    let copied = !vhost.lastRouteDeferred;
    for (const q of targets) {
      if (!this.#enqueueInto(q, msg)) accepted = false;
      if (!(q instanceof StreamQueue)) copied = false;
    }
    this.#copied = copied;
    this.#waitForStoreIfBehind(msg);
    return accepted;
  }

  /** Enqueues into one routed queue; a queue over its limits stops this connection's reads. */
  #enqueueInto(q: Queue, msg: Message): boolean {
    if (msg.pool !== null) holdFor(q, msg);
    const accepted = q.enqueue(msg);
    if (!accepted) msg.pool = null;
    if (q.congested) this.#host.throttle(q);
    return accepted;
  }

  /** Written to the store (storeId set) while the store is far behind: wait for it. */
  #waitForStoreIfBehind(msg: Message): void {
    if (msg.storeId !== 0 && this.#storeFlow.over) this.#host.throttle(this.#storeFlow);
  }

  #returnUnroutable(msg: Message): void {
    msg.pool = null; // written out without a hold
    this.#host.writer.content(
      this.#channel,
      { id: BASIC_RETURN, replyCode: 312, replyText: 'NO_ROUTE', exchange: msg.exchange, routingKey: msg.routingKey },
      msg.header,
      msg.body,
    );
    this.#host.scheduleFlush();
  }
}

/**
 * A queue that keeps a pooled body in memory until its consumer is done holds it; a stream
 * (its log) or the store (a persistent message in a durable queue) may still read it later.
 */
function holdFor(q: Queue, msg: Message): void {
  if (q instanceof StreamQueue || (q.durable && msg.persistent)) msg.pool = null;
  else msg.pool!.holds++;
}

/**
 * Headers CC/BCC add routing keys (BCC is taken out of the message); reply_to
 * amq.rabbitmq.reply-to becomes this channel's direct reply-to address.
 */
function rewrite(msg: Message, replyAddress: string | null): Message {
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
    if (replyAddress === null) throw new ChannelError('PRECONDITION_FAILED', 'fast reply consumer does not exist');
    replyTo = replyAddress;
    changed = true;
  }
  if (!changed) return msg;
  const copy = msg.withProperties({ ...props, ...(headers ? { headers } : {}), ...(replyTo !== undefined ? { replyTo } : {}) });
  copy.ccKeys = msg.ccKeys;
  return copy;
}
