// basic.publish on a fast path. A publisher sends the same exchange and routing key again and
// again, so each channel keeps the last ones with their bytes and reuses the strings while the
// bytes repeat: no UTF-8 decoding and no new strings per message, into one reused method object
// (the channel reads it before the next frame; nothing keeps it). Anything else (a new name, a
// length that does not add up) goes through the generic decoder, so every error stays as it was.

import { BASIC_PUBLISH, type BasicPublish } from './methods.generated.js';
import { u16 } from './big-endian.js';

type MutablePublish = { -readonly [K in keyof BasicPublish]: BasicPublish[K] };

/** A short string's bytes as last seen, and the string they decoded to. */
class ShortStrCache {
  readonly #bytes = Buffer.alloc(255);
  #len = -1;
  value = '';

  /** The cached string if `buf[at, at + len)` holds exactly the cached bytes, else null. */
  match(buf: Buffer, at: number, len: number): string | null {
    if (len !== this.#len) return null;
    const b = this.#bytes;
    for (let i = 0; i < len; i++) if (buf[at + i] !== b[i]) return null;
    return this.value;
  }

  learn(buf: Buffer, at: number, len: number, value: string): void {
    buf.copy(this.#bytes, 0, at, at + len);
    this.#len = len;
    this.value = value;
  }
}

export class PublishDecoder {
  readonly #m: MutablePublish = { id: BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: '', mandatory: false, immediate: false };
  readonly #exchange = new ShortStrCache();
  readonly #routingKey = new ShortStrCache();

  /**
   * The publish in `payload` (a method frame's payload, basic.publish's ids checked by the
   * caller) when its names are the cached ones; null to decode it the generic way.
   */
  decode(payload: Buffer): BasicPublish | null {
    // class, method (4) | ticket (2) | exchange: len, bytes | routing key: len, bytes | bits (1)
    const n = payload.length;
    if (n < 9) return null;
    const exLen = payload[6]!;
    const rkAt = 7 + exLen;
    if (rkAt >= n) return null;
    const rkLen = payload[rkAt]!;
    const bitsAt = rkAt + 1 + rkLen;
    if (bitsAt !== n - 1) return null;
    const exchange = this.#exchange.match(payload, 7, exLen);
    if (exchange === null) return null;
    const routingKey = this.#routingKey.match(payload, rkAt + 1, rkLen);
    if (routingKey === null) return null;
    const bits = payload[bitsAt]!;
    const m = this.#m;
    m.ticket = u16(payload, 4);
    m.exchange = exchange;
    m.routingKey = routingKey;
    m.mandatory = (bits & 1) !== 0;
    m.immediate = (bits & 2) !== 0;
    return m;
  }

  /** `m` was decoded from `payload` the generic way: keep its names for the next publishes. */
  learn(payload: Buffer, m: BasicPublish): void {
    const exLen = payload[6]!;
    this.#exchange.learn(payload, 7, exLen, m.exchange);
    const rkAt = 7 + exLen;
    this.#routingKey.learn(payload, rkAt + 1, payload[rkAt]!, m.routingKey);
  }
}
