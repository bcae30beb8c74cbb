// Frames -> commands for one channel: a method, or a content method with its header and body.
// A pure state machine (no sockets, no broker): push a frame, and when it returns true the
// command sits in `method` / `header` / `body` until the next push. Framing violations throw
// ConnectionError (505) with RabbitMQ's texts; decoding errors surface as CodecError.
// A body in one frame stays a view of the frame; a body in several frames is copied as it
// arrives into one buffer of its own, so a half-received message pins no socket read chunks
// and `buffered` says what it holds. A body frame split across reads is copied by the frame
// reader straight into that buffer (bodyTarget), and a large body's buffer can be allocated
// once at its declared size (reserveBody): one copy per byte, no growth, no concatenation.

import { BufferReader } from '../codec/buffer-reader.js';
import { u16, u32 } from '../codec/big-endian.js';
import { bufferView, octetsSnippet } from '../codec/frame-reader.js';
import { decodeMethodFrame } from '../codec/method-frame.js';
import { PublishDecoder } from '../codec/publish-decoder.js';
import {
  BASIC_ACK,
  BASIC_PUBLISH,
  type BasicAck,
  CONTENT_METHODS,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  type Method,
} from '../codec/methods.generated.js';
import { ConnectionError } from '../errors.js';
import { isPooled, takeBody } from '../util/body-pool.js';

const EXPECT_METHOD = 0;
const EXPECT_HEADER = 1;
const EXPECT_BODY = 2;

const EMPTY = Buffer.alloc(0);
/** basic.ack's payload: class and method ids, a 64-bit delivery tag, one octet of bits. */
const ACK_PAYLOAD = 13;
/**
 * A content header announcing a body this large is copied out of its read chunk: the body
 * is copied anyway (it spans reads), and then nothing of the message pins the chunk, which
 * the connection can then read into again (see retained).
 */
const COPY_HEADER_FROM = 32 * 1024;

export class CommandAssembler {
  method: Method | null = null;
  /** Content header payload as received (class, weight, body size, flags, properties). */
  header: Buffer = EMPTY;
  body: Buffer = EMPTY;
  /** The pooled buffer `body` is a view of (util/body-pool.ts), or null. */
  bodyBuffer: Buffer | null = null;
  /** Declared body size of the content being assembled (known once its header arrived). */
  bodySize = 0;
  /**
   * Whether the payload of the last frame pushed may be kept beyond the push (as a method's
   * fields, the content header or the body): false when everything needed was copied out.
   */
  retained = true;
  /** The content being assembled holds a view of its header frame's payload (until it completes). */
  #headerView = false;

  #state = EXPECT_METHOD;
  #remaining = 0;
  /** Bodies are counted but not kept (the channel is closing: its commands are dropped). */
  #discarding = false;
  /** The body of the content being assembled is not kept (see discardBody). */
  #discardOne = false;
  // Body bytes of a content arriving in several frames, and how many are filled.
  #acc: Buffer = EMPTY;
  #accLen = 0;
  /** #acc came from the body pool (takeBody): it may be longer than the body. */
  #accPooled = false;
  /** #acc's ArrayBuffer (asked once a body: a Buffer answers `buffer` in C++). */
  #accAb: ArrayBufferLike | null = null;
  /** The view bodyTarget handed out last: pushed back as it is, it was filled in place. */
  #target: Buffer | null = null;
  readonly #reader = new BufferReader(EMPTY);
  readonly #publish = new PublishDecoder();
  /** basic.ack, decoded on a fast path into this one object (the channel reads it before the next frame; nothing keeps it). */
  readonly #ack: { -readonly [K in keyof BasicAck]: BasicAck[K] } = { id: BASIC_ACK, deliveryTag: 0, multiple: false };

  /** A content not yet complete holds a view of a frame pushed earlier (its header): see ReadBuffers. */
  get holdsView(): boolean {
    return this.#headerView;
  }

  /** The incomplete content's header, a view of a frame, is copied into a buffer of its own. */
  detachHeader(): void {
    if (!this.#headerView) return;
    this.header = copyOf(this.header);
    this.#headerView = false;
  }

  /**
   * The command just completed was copied out wherever it went (a publish routed only to
   * streams, say): nothing of its frames is kept, so its read buffer may be read into again.
   */
  release(): void {
    this.retained = false;
    this.header = EMPTY;
    this.body = EMPTY;
  }

  /** True while a content method waits for its header or body. */
  get inContent(): boolean {
    return this.#state !== EXPECT_METHOD;
  }

  /** Feeds one frame; true when a complete command is ready. */
  push(type: number, payload: Buffer): boolean {
    switch (this.#state) {
      case EXPECT_METHOD: {
        if (type !== FRAME_METHOD) {
          throw new ConnectionError('UNEXPECTED_FRAME', 'expected method frame, got non method frame instead');
        }
        const id = payload.length >= 4 ? u32(payload, 0) : 0;
        if (id === BASIC_ACK && payload.length === ACK_PAYLOAD) return this.#ackFrom(payload);
        let m: Method | null = id === BASIC_PUBLISH && payload.length >= 9 ? this.#publish.decode(payload) : null;
        if (m === null) {
          m = decodeMethodFrame(this.#reader, payload);
          if (m.id === BASIC_PUBLISH) this.#publish.learn(payload, m);
        }
        this.method = m;
        // basic.publish decodes to strings and bits: nothing of the payload is kept.
        this.retained = m.id !== BASIC_PUBLISH;
        // basic.publish, the content method of nearly every frame here, skips the Set lookup.
        if (m.id !== BASIC_PUBLISH && !CONTENT_METHODS.has(m.id)) return true;
        this.bodySize = 0; // until its header says (the last message's size must not be checked again)
        this.#state = EXPECT_HEADER;
        return false;
      }
      case EXPECT_HEADER: {
        const classId = this.method!.id >>> 16;
        if (type !== FRAME_HEADER) {
          throw new ConnectionError('UNEXPECTED_FRAME', `expected content header for class ${classId}, got non content header frame instead`, this.#ids());
        }
        if (payload.length < 14) {
          // The frame reader already refuses these; kept so the assembler is safe on its own.
          throw new ConnectionError('FRAME_ERROR', `type ${FRAME_HEADER}, ${octetsSnippet(payload)}: unknown_frame`, { classId: 0, methodId: 0 });
        }
        const headerClass = u16(payload, 0);
        if (headerClass !== classId) {
          throw new ConnectionError('UNEXPECTED_FRAME', `expected content header for class ${classId}, got one for class ${headerClass} instead`, this.#ids());
        }
        const size = u32(payload, 4) * 0x1_0000_0000 + u32(payload, 8);
        const view = size < COPY_HEADER_FROM;
        this.header = view ? payload : copyOf(payload);
        this.bodySize = size;
        if (size === 0) {
          this.retained = view;
          this.body = EMPTY;
          this.#state = EXPECT_METHOD;
          return true;
        }
        // Held only until the content completes (holdsView): the command may be copied out then.
        this.retained = false;
        this.#headerView = view;
        this.#remaining = size;
        this.#state = EXPECT_BODY;
        return false;
      }
      default: {
        if (type !== FRAME_BODY) {
          throw new ConnectionError('UNEXPECTED_FRAME', 'expected content body, got non content body frame instead', this.#ids());
        }
        // A body longer than declared leaves `remaining` negative: like RabbitMQ, the content
        // never completes and the next non-body frame is the error.
        const before = this.#remaining;
        this.#remaining -= payload.length;
        const dropped = this.#discarding || this.#discardOne;
        if (this.#remaining === 0 && this.#accLen === 0 && this.#acc === EMPTY) {
          this.body = dropped ? EMPTY : payload; // the whole body in one frame: no copy
          this.bodyBuffer = null;
          this.retained = !dropped || this.#headerView;
        } else {
          this.retained = false;
          if (before > 0 && !dropped) this.#append(payload);
          if (this.#remaining !== 0) return false;
          this.body = this.#acc.length === this.#accLen ? this.#acc : this.#acc.subarray(0, this.#accLen);
          this.bodyBuffer = this.#accPooled ? this.#acc : null;
          this.#accPooled = false;
          this.#acc = EMPTY;
          this.#accAb = null;
          this.#target = null;
          this.#accLen = 0;
          this.retained = this.#headerView;
        }
        this.#headerView = false;
        this.#discardOne = false;
        this.#state = EXPECT_METHOD;
        return true;
      }
    }
  }

  /**
   * basic.ack as the generic decoder reads it (a 64-bit tag, the multiple bit; other bits of
   * the octet ignored), without a reader, a try block or a new object per ack. Only numbers
   * come out of the payload, so the read buffer it lies in is not held (retained false).
   */
  #ackFrom(payload: Buffer): true {
    const ack = this.#ack;
    ack.deliveryTag = u32(payload, 4) * 0x1_0000_0000 + u32(payload, 8);
    ack.multiple = (payload[12]! & 1) !== 0;
    this.method = ack;
    this.retained = false;
    return true;
  }

  /**
   * Where the frame reader may copy a body frame of `size` bytes that spans reads: the free
   * part of the body buffer (allocated now, at the body's size, when this frame is the whole
   * body). Null when the body is not kept, or a buffer growing by doubling has no room (the
   * frame is then copied into a buffer of its own and from there, as before).
   */
  bodyTarget(size: number): Buffer | null {
    if (this.#state !== EXPECT_BODY || this.#discarding || this.#discardOne || size > this.#remaining) return null;
    if (this.#acc === EMPTY && size === this.#remaining) this.#takeAcc(size);
    if (this.#acc.length - this.#accLen < size) return null;
    this.#accAb ??= this.#acc.buffer;
    return (this.#target = bufferView(this.#accAb, this.#acc.byteOffset + this.#accLen, size));
  }

  /**
   * Allocates the whole body buffer now, at the declared size, so the body is copied once and
   * never grown (the channel calls this when the connection's buffer allows for it).
   */
  reserveBody(): void {
    if (this.#state !== EXPECT_BODY || this.#discarding || this.#discardOne || this.#accLen !== 0 || this.#acc.length >= this.bodySize) return;
    this.#takeAcc(this.bodySize);
  }

  /** The body buffer at its full size, from the body pool. */
  #takeAcc(size: number): void {
    this.#acc = takeBody(size);
    this.#accAb = null;
    this.#accPooled = isPooled(this.#acc);
  }

  /** The body of the content now arriving is read to its end but not kept (a message over the max size). */
  discardBody(): void {
    this.#discardOne = true;
    this.#acc = EMPTY;
    this.#accAb = null;
    this.#target = null;
    this.#accLen = 0;
    this.#accPooled = false;
  }

  /** Bytes held for a body that has not arrived whole (what a half-received message costs). */
  get buffered(): number {
    return this.#accPooled ? this.bodySize : this.#acc.length; // a pooled buffer's rounding is the pool's
  }

  /**
   * Copies a body frame into the body buffer. It grows by doubling, never past the declared
   * size nor past twice what arrived: a header declaring 128 MiB costs nothing until the
   * bytes come.
   */
  #append(part: Buffer): void {
    const need = this.#accLen + part.length;
    // Copied in place by the frame reader (bodyTarget): only count it.
    const target = this.#target;
    this.#target = null;
    if (part === target || (part.buffer === this.#acc.buffer && part.byteOffset === this.#acc.byteOffset + this.#accLen)) {
      this.#accLen = need;
      return;
    }
    if (need > this.#acc.length) {
      const size = Math.min(this.bodySize, Math.max(need, this.#acc.length * 2));
      const grown = Buffer.allocUnsafeSlow(Math.max(size, need)); // not from the pool: a slab of its own
      this.#acc.copy(grown, 0, 0, this.#accLen);
      this.#acc = grown;
      this.#accAb = null;
      this.#accPooled = false;
    }
    part.copy(this.#acc, this.#accLen);
    this.#accLen = need;
  }

  /** The class and method ids of the content method being assembled, for errors about it. */
  #ids(): { classId: number; methodId: number } {
    const id = this.method?.id ?? 0;
    return { classId: id >>> 16, methodId: id & 0xffff };
  }

  /**
   * From now on bodies are not kept (the channel is closing and drops its commands). Framing
   * is still checked, as RabbitMQ's reader keeps assembling a closing channel's frames: the
   * rest of a half-sent message is consumed quietly, a stray frame is still an error.
   */
  discardBodies(): void {
    this.#discarding = true;
    this.#acc = EMPTY;
    this.#accAb = null;
    this.#target = null;
    this.#accLen = 0;
    this.#accPooled = false;
    this.header = EMPTY;
    this.body = EMPTY;
  }
}

/** A copy in a buffer of its own (not Node's pool, whose slab it would pin). */
function copyOf(b: Buffer): Buffer {
  const c = Buffer.allocUnsafeSlow(b.length);
  b.copy(c);
  return c;
}
