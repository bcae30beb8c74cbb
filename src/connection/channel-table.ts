// The channels of one connection by number, and the message counts of those already closed
// (the broker-wide totals of the HTTP API and /metrics include them). A channel number is free
// again as soon as its channel is removed.

import { CHANNEL_OPEN, FRAME_HEARTBEAT, FRAME_METHOD } from '../codec/methods.generated.js';
import { ConnectionError } from '../errors.js';
import type { FlowSource } from '../queue/queue.js';
import type { Channel } from './channel.js';
import type { HostedChannel } from './host.js';
import { KEPT, KEPT_UNTIL_COMPLETE, NOT_KEPT, type FrameKeepers, type Kept } from './read-buffers.js';

export class ChannelTable implements FrameKeepers {
  /** Read only outside this class: add and remove keep `#last` right. */
  readonly byId = new Map<number, Channel>();
  // The channel last looked up: most frames of a connection go to the same channel as the one
  // before (a publisher's method, header and body frames; a consumer's acks).
  #lastId = -1;
  #last: Channel | undefined = undefined;
  /** Counts of the channels that have closed (open ones keep theirs in Channel.stats). */
  readonly closedStats = { channels: 0, published: 0, delivered: 0, acked: 0 };
  /** Channels to call back once the frames of the current read are handled. */
  #afterInput: HostedChannel[] = [];

  get size(): number {
    return this.byId.size;
  }

  /** The channel numbered `id`, if open. */
  get(id: number): Channel | undefined {
    if (id === this.#lastId) return this.#last;
    const ch = this.byId.get(id);
    if (ch !== undefined) {
      this.#lastId = id;
      this.#last = ch;
    }
    return ch;
  }

  add(ch: Channel): void {
    this.byId.set(ch.id, ch);
  }

  /**
   * A frame on a number nobody holds: like RabbitMQ's reader, a new channel (refused over
   * channel_max) that expects a method, and that method must be channel.open.
   */
  checkOpening(type: number, payload: Buffer, channelMax: number): void {
    if (this.byId.size >= channelMax) {
      throw new ConnectionError('NOT_ALLOWED', `number of channels opened (${this.byId.size}) has reached the negotiated channel_max (${channelMax})`);
    }
    if (type !== FRAME_METHOD) throw new ConnectionError('UNEXPECTED_FRAME', 'expected method frame, got non method frame instead');
    const id = payload.length >= 4 ? payload.readUInt32BE(0) : 0;
    if (id !== CHANNEL_OPEN) {
      throw new ConnectionError('CHANNEL_ERROR', "expected 'channel.open'", { classId: id >>> 16, methodId: id & 0xffff });
    }
  }

  /** Where a body frame split across reads goes: into the body being assembled on its channel. */
  bodyTarget(channel: number, size: number): Buffer | null {
    return this.get(channel)?.assembler.bodyTarget(size) ?? null;
  }

  /** Whether a frame's payload may still be referenced once handled (see ReadBuffers). */
  keeps(type: number, channel: number): Kept {
    if (type === FRAME_HEARTBEAT) return NOT_KEPT;
    const a = channel === 0 ? undefined : this.get(channel)?.assembler;
    if (a === undefined || a.retained) return KEPT;
    return a.holdsView ? KEPT_UNTIL_COMPLETE : NOT_KEPT;
  }

  /** The read ended inside a content on `channel`: its header is copied out of the read buffer. */
  detachHeader(channel: number): boolean {
    const a = this.get(channel)?.assembler;
    if (a === undefined) return false;
    a.detachHeader();
    return true;
  }

  /** `ch` closed: forget it, if it still holds its number, and keep its counts. */
  remove(ch: HostedChannel): void {
    if (this.byId.get(ch.id) !== ch) return;
    this.byId.delete(ch.id);
    this.#forgetLast();
    this.#retire(ch);
  }

  /** Hands every channel's messages back (the connection is closing). */
  releaseAll(): void {
    for (const ch of this.byId.values()) ch.release();
  }

  /** The connection is gone: release every channel and keep its counts. */
  clear(): void {
    this.releaseAll();
    for (const ch of this.byId.values()) this.#retire(ch);
    this.byId.clear();
    this.#forgetLast();
  }

  /** Calls `ch` back once the frames of the current read are handled (a client close's close-ok waits for that). */
  afterInput(ch: HostedChannel): void {
    this.#afterInput.push(ch);
  }

  /** The frames of one read are handled: what waited for that goes. */
  inputHandled(): void {
    if (this.#afterInput.length === 0) return;
    const chs = this.#afterInput;
    this.#afterInput = [];
    for (const ch of chs) ch.afterInput();
  }

  /** True when a consumer on any channel reads `queue`. */
  consumesFrom(queue: FlowSource): boolean {
    for (const ch of this.byId.values()) {
      for (const c of ch.consumers.values()) if (c.queue === queue) return true;
    }
    return false;
  }

  #forgetLast(): void {
    this.#lastId = -1;
    this.#last = undefined;
  }

  #retire(ch: HostedChannel): void {
    const t = this.closedStats;
    t.channels++;
    t.published += ch.stats.published;
    t.delivered += ch.stats.delivered;
    t.acked += ch.stats.acked;
  }
}
