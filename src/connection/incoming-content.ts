// Bounds on a message still arriving on a channel, checked after each of its frames: the size
// its content header declares against the max message size (as RabbitMQ does, such a body is
// read to its end, here without keeping it, and only then is the channel closed with 406, so a
// client that writes the whole message before reading meets a clean close), and what its body frames so far
// hold (copied by the command assembler) against the connection's buffer. One message alone
// may grow to the max message size; messages arriving on several channels at once must
// together stay within the connection's buffer, or the one that goes over is refused with 406
// (RabbitMQ has no such limit; without it one connection could hold channel_max x max size).
// A body of several frames that fits in half of what the connection's buffer has left is
// given its whole buffer when its header arrives, and counts at that size from then on.

import { BASIC_PUBLISH } from '../codec/methods.generated.js';
import { ChannelError } from '../errors.js';
import type { CommandAssembler } from './command-assembler.js';
import type { ChannelHost } from './host.js';

const PUBLISH_IDS = { classId: BASIC_PUBLISH >>> 16, methodId: BASIC_PUBLISH & 0xffff };

export class IncomingContent {
  /** This channel's share of host.contentHeld. */
  held = 0;
  /** The publish being assembled is over the max message size: its body is being dropped. */
  #oversize = 0;
  readonly #host: ChannelHost;

  constructor(host: ChannelHost) {
    this.#host = host;
  }

  /** After a frame that left a command incomplete; throws 406 when a bound is passed. */
  check(a: CommandAssembler): void {
    const host = this.#host;
    if (a.inContent && a.bodySize > host.maxMessageSize && a.method?.id === BASIC_PUBLISH) {
      if (this.#oversize === 0) a.discardBody();
      this.#oversize = a.bodySize;
      return;
    }
    // A body in several frames gets its whole buffer at once if that takes at most half of what
    // the connection's buffer has left (room stays for bodies arriving on other channels):
    // copied once, never grown. Otherwise it grows with what arrives, as below.
    if (a.buffered === 0 && host.frameMax > 8 && a.bodySize > host.frameMax - 8 && 2 * a.bodySize <= host.maxConnectionBuffer - host.contentHeld) {
      a.reserveBody();
    }
    const bytes = a.buffered;
    if (bytes === this.held) return;
    host.contentHeld += bytes - this.held;
    this.held = bytes;
    if (host.contentHeld > host.maxConnectionBuffer && host.contentHeld > bytes) {
      throw new ChannelError(
        'PRECONDITION_FAILED',
        `messages arriving at once on this connection hold ${host.contentHeld} bytes, more than configured max connection buffer ${host.maxConnectionBuffer}`,
        PUBLISH_IDS,
      );
    }
  }

  /** The command completed: throws the 406 a publish over the max message size earned. */
  completed(): void {
    const size = this.#oversize;
    if (size === 0) return;
    this.#oversize = 0;
    throw new ChannelError('PRECONDITION_FAILED', `message size ${size} is larger than configured max size ${this.#host.maxMessageSize}`, PUBLISH_IDS);
  }

  /** The message completed or was dropped: its bytes are no longer held here. */
  done(): void {
    this.#host.contentHeld -= this.held;
    this.held = 0;
  }
}
