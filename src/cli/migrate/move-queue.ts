// Moves one queue's messages from RabbitMQ into the queue of the same name in warren: basic.get
// (pipelined, manual ack) from RabbitMQ, basic.publish to warren's default exchange with the
// queue's name as routing key (mandatory, publisher confirms), and an ack to RabbitMQ only for
// what warren has confirmed. A message therefore leaves RabbitMQ only once warren has it; if the
// migration dies, RabbitMQ puts back what it had not acked, and a rerun carries on.
//
// The window between warren's confirm and RabbitMQ taking the ack is covered by the state file
// (state.ts): fingerprints of confirmed messages are written before the ack is sent, and a
// rerun that gets such a message back (redelivered) acks it without publishing it again.

import { createHash } from 'node:crypto';
import { BufferReader } from '../../codec/buffer-reader.js';
import { BufferWriter } from '../../codec/buffer-writer.js';
import { BASIC_PROPERTY_FLAGS, decodeBasicProperties, encodeBasicProperties } from '../../codec/methods.generated.js';
import { PeerError, type AmqpPeer, type GotMessage } from './amqp-peer.js';
import type { MigrationState } from './state.js';

export interface MoveOptions {
  /** Messages asked for and not yet confirmed by warren, at most. */
  readonly window: number;
  /** No more gets while this many body bytes wait for warren's confirms (gets in flight are bounded by `window`). */
  readonly maxInFlightBytes: number;
  /** Move at most this many (null: all). */
  readonly limit: number | null;
  /** Wall clock, ms (tests fix it). */
  readonly now: () => number;
  readonly state: MigrationState;
  /** Called as messages are confirmed (for progress). */
  readonly progress?: (moved: number) => void;
}

export interface MoveResult {
  moved: number;
  bytes: number;
  /** Found again after an interrupted run, already in warren: acked on RabbitMQ, not published twice. */
  alreadyMoved: number;
  /** Per-message TTLs shortened by the message's age (its timestamp property). */
  ttlAdjusted: number;
  /** Per-message TTLs restarted in full (no timestamp to tell the age). */
  ttlRestarted: number;
  /** user_id properties removed (warren, like RabbitMQ, refuses another user's id from the migrating user). */
  userIdRemoved: number;
  /** Ready messages RabbitMQ still counts in the queue at the end (e.g. published meanwhile; unacked ones of other consumers are not counted). */
  left: number;
  ms: number;
}

export interface AdaptedProperties {
  readonly properties: Buffer;
  readonly ttl: 'none' | 'adjusted' | 'restarted';
  readonly userIdRemoved: boolean;
}

/**
 * The content-header properties to publish to warren: as received, except that a per-message
 * `expiration` becomes what is left of it (the age comes from the `timestamp` property, in
 * whole seconds, rounded so that no message is expired early), and a `user_id` that is not the
 * migrating user's is removed. Untouched properties keep their exact bytes.
 */
export function adaptProperties(properties: Buffer, now: number, user: string): AdaptedProperties {
  const flags = properties.length >= 2 ? properties.readUInt16BE(0) : 0;
  if ((flags & (BASIC_PROPERTY_FLAGS.expiration | BASIC_PROPERTY_FLAGS.userId)) === 0) return { properties, ttl: 'none', userIdRemoved: false };
  const p = decodeBasicProperties(new BufferReader(properties));
  let ttl: AdaptedProperties['ttl'] = 'none';
  let userIdRemoved = false;
  if (p.userId !== undefined && p.userId !== user) {
    delete p.userId;
    userIdRemoved = true;
  }
  if (p.expiration !== undefined && /^\d+$/.test(p.expiration)) {
    const expiration = Number(p.expiration);
    if (p.timestamp !== undefined && p.timestamp > 0) {
      // Published no later than the end of the second the timestamp names.
      const age = Math.max(0, now - (p.timestamp + 1) * 1000);
      p.expiration = String(Math.max(0, expiration - age));
      ttl = 'adjusted';
    } else {
      ttl = 'restarted';
    }
  }
  if (ttl === 'none' && !userIdRemoved) return { properties, ttl, userIdRemoved };
  const w = new BufferWriter(properties.length + 16);
  encodeBasicProperties(w, p);
  return { properties: w.toBuffer(), ttl, userIdRemoved };
}

/** A message's identity for the state file: a digest of its properties and body. */
export function fingerprint(m: GotMessage): string {
  return createHash('sha256').update(m.properties).update(m.body).digest('base64url').slice(0, 32);
}

interface InFlight {
  readonly tag: number;
  readonly bytes: number;
  readonly fp: string;
}

export async function moveQueue(src: AmqpPeer, dst: AmqpPeer, vhost: string, queue: string, o: MoveOptions): Promise<MoveResult> {
  const started = o.now();
  const r: MoveResult = { moved: 0, bytes: 0, alreadyMoved: 0, ttlAdjusted: 0, ttlRestarted: 0, userIdRemoved: 0, left: 0, ms: 0 };
  const key = { vhost, queue };
  // Fingerprints of messages a previous run had moved but may not have acked on RabbitMQ.
  const leftovers = o.state.takePending(key);
  // warren's confirm sequence number -> the RabbitMQ delivery, in publishing order.
  const unconfirmed = new Map<number, InFlight>();
  const order: number[] = [];
  let orderHead = 0;
  let failure: Error | null = null;
  let inFlightBytes = 0;
  let wake: (() => void) | null = null;
  const signal = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  // Acks sent to RabbitMQ whose fingerprints stay in the state file until a later reply shows RabbitMQ took them.
  let getsSent = 0;
  const ackedBatches: { afterGet: number; fps: string[] }[] = [];

  // A return (the queue went away in warren) or a nack stops the queue: nothing more is acked on
  // RabbitMQ, so what warren did not take stays there.
  dst.onReturn = (code, text) => {
    failure ??= new PeerError(`warren returned a message for queue '${queue}' in vhost '${vhost}': ${code} ${text}`);
  };
  dst.onConfirm = (tag, multiple, ok) => {
    let confirmedAny = false;
    const settle = (seq: number): void => {
      const f = unconfirmed.get(seq);
      if (f === undefined) return;
      unconfirmed.delete(seq);
      inFlightBytes -= f.bytes;
      if (!ok) failure ??= new PeerError(`warren refused a message for queue '${queue}' in vhost '${vhost}' (basic.nack: it could not store it)`);
      confirmedAny = true;
    };
    if (multiple) for (const seq of [...unconfirmed.keys()]) if (seq <= tag) settle(seq);
    if (!multiple) settle(tag);
    if (!confirmedAny) return;
    // Ack on RabbitMQ everything up to the first message warren has not confirmed yet.
    if (failure === null) {
      let lastTag = -1;
      const fps: string[] = [];
      while (orderHead < order.length && !unconfirmed.has(order[orderHead]!)) {
        const f = confirmedInfo.get(order[orderHead]!)!;
        confirmedInfo.delete(order[orderHead]!);
        lastTag = f.tag;
        fps.push(f.fp);
        r.moved++;
        r.bytes += f.bytes;
        orderHead++;
      }
      if (orderHead > 4096 && orderHead * 2 > order.length) {
        order.splice(0, orderHead);
        orderHead = 0;
      }
      if (lastTag >= 0) {
        // Written before the ack goes out: a run killed in between knows these are in warren.
        o.state.addPending(key, fps);
        src.ack(lastTag, true);
        ackedBatches.push({ afterGet: getsSent, fps });
        o.progress?.(r.moved);
      }
    }
    signal();
  };
  // Every in-flight entry, kept until it is acked on RabbitMQ in order.
  const confirmedInfo = new Map<number, InFlight>();

  const gets: Promise<GotMessage | null>[] = [];
  let empty = false;
  let asked = 0;
  const wantMore = (): boolean =>
    !empty && failure === null && gets.length + unconfirmed.size < o.window && inFlightBytes < o.maxInFlightBytes && (o.limit === null || asked < o.limit);

  try {
    for (;;) {
      while (wantMore()) {
        gets.push(src.get(queue));
        getsSent++;
        asked++;
      }
      if (failure !== null) break;
      if (gets.length === 0) {
        if (unconfirmed.size === 0) break;
        // Waiting for warren's confirms (or for room in the window).
        await new Promise<void>((resolve) => {
          wake = resolve;
          dst.onFailure = resolve;
          if (dst.failure) resolve();
        });
        if (dst.failure) throw dst.failure;
        continue;
      }
      const m = await gets.shift()!;
      const replyNumber = getsSent - gets.length;
      // A reply to a get sent after an ack shows RabbitMQ has taken that ack.
      while (ackedBatches.length > 0 && ackedBatches[0]!.afterGet < replyNumber) o.state.dropPending(key, ackedBatches.shift()!.fps);
      if (m === null) {
        empty = true;
        continue;
      }
      const fp = fingerprint(m);
      if (m.redelivered && leftovers.take(fp)) {
        // Moved by an interrupted run and confirmed by warren; only the ack was lost.
        src.ack(m.deliveryTag, false);
        r.alreadyMoved++;
        asked--;
        continue;
      }
      if (!m.redelivered) leftovers.clear();
      const adapted = adaptProperties(m.properties, o.now(), dst.user);
      if (adapted.ttl === 'adjusted') r.ttlAdjusted++;
      if (adapted.ttl === 'restarted') r.ttlRestarted++;
      if (adapted.userIdRemoved) r.userIdRemoved++;
      const seq = dst.publish('', queue, adapted.properties, m.body, true);
      const f = { tag: m.deliveryTag, bytes: m.body.length, fp };
      unconfirmed.set(seq, f);
      confirmedInfo.set(seq, f);
      order.push(seq);
      inFlightBytes += m.body.length;
      if (dst.backedUp) await dst.drained();
    }
    // Let outstanding gets finish (their messages go back to RabbitMQ when we close if unmoved).
    await Promise.allSettled(gets);
    if (failure !== null) throw failure;
    if (src.failure) throw src.failure;
    // A round trip on the source channel: RabbitMQ has taken every ack sent before it.
    r.left = (await src.queueCounts(queue)).messages;
    o.state.finishQueue(key);
  } finally {
    o.state.flush();
  }
  r.ms = o.now() - started;
  return r;
}
