// Splits a TCP byte stream into AMQP frames. Frames that lie inside one chunk are handed out as
// views of that chunk (no copy); only a frame split across chunks is copied, once: a body frame
// into the place the handler gives for it (the message's body buffer, see bodyTarget), any
// other into a buffer of exactly its size (and a read may go straight into a body target: see
// bodyRest; and a read may stop where the next large body frame's payload should start, so that
// payload too is read straight into its body: see readLimit). Size is checked from the 7-byte
// header before anything is allocated; the frame-end octet and then the type once the frame is
// complete, in RabbitMQ's order (so an unknown type's error quotes its payload, and an oversized
// one is frame_too_large whatever its type).

import { CodecError } from './codec-error.js';
import { u16, u32 } from './big-endian.js';
import { FRAME_BODY, FRAME_END, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from './methods.generated.js';

export interface FrameHandler {
  onFrame(type: number, channel: number, payload: Buffer): void;
  /**
   * A body frame of `size` bytes does not lie inside one chunk: where to copy its payload as
   * it arrives (exactly `size` bytes), or null for a buffer of its own. The frame is still
   * handed to onFrame whole, as that buffer, once its frame-end octet has been checked.
   */
  bodyTarget?(channel: number, size: number): Buffer | null;
}

/**
 * A frame's payload as a view of the bytes it was read into. A Buffer made by subarray() asks
 * its source for `buffer` and `byteOffset` each time (V8 answers `buffer` in C++), which cost
 * about 150 ns a frame, four frames a message; the reader asks once a chunk and builds the
 * views itself, as Buffers (their prototype is Buffer's) of a class of its own (Node's own
 * Buffer class is not exported).
 */
class FrameView extends Uint8Array {}
Object.setPrototypeOf(FrameView.prototype, Buffer.prototype);

function frameView(ab: ArrayBufferLike, byteOffset: number, size: number): Buffer {
  return new FrameView(ab as ArrayBuffer, byteOffset, size) as unknown as Buffer;
}

/**
 * A Buffer over `size` bytes of `ab` from `byteOffset`, made without asking a Buffer for its
 * `buffer` (subarray() does, in C++): for the read and write paths, which know their buffers.
 */
export const bufferView: (ab: ArrayBufferLike, byteOffset: number, size: number) => Buffer = frameView;

const HEADER_SIZE = 7;
/** Body frames this large that span reads teach the reader where the next one starts (readLimit). */
const GAP_LEARN_MIN = 16 * 1024;
/** Largest distance between such frames that a read is limited to (a method and a content header). */
const MAX_GAP = 4096;
/**
 * Large frames in a row at the same distance after which the other distance is forgotten (a
 * body of 16 MiB at frame_max 131072 has 128 frames; a distance seen once, shorter than the
 * usual one, would otherwise cost a read a message from then on).
 */
const ALT_KEEP = 128;
/** A content header holds at least class, weight, body size and property flags. */
const MIN_HEADER_PAYLOAD = 14;

export class FrameReader {
  /** Largest acceptable frame, header and end octet included (the negotiated frame_max). */
  frameMax: number;
  // A frame split across chunks: its bytes so far.
  #partial: Buffer | null = null;
  #partialLen = 0;
  // A split body frame whose payload goes where the handler said (partial is null then); the
  // frame-end octet follows once `intoLen` reaches its length.
  #into: Buffer | null = null;
  #intoLen = 0;
  #intoChannel = 0;
  // The target's ArrayBuffer and where the target starts in it (asked once a frame).
  #intoAb: ArrayBufferLike | null = null;
  #intoOffset = 0;
  /** The view bodyRest handed out last: pushed back as it is, it was read in place. */
  #rest: Buffer | null = null;
  /** The target is at least GAP_LEARN_MIN long: its end and the next one's start are noted. */
  #intoLarge = false;
  // Stream offsets (bytes pushed and handled so far): of the next byte to come, of the current
  // chunk's first byte, of the end of the last large target's payload (-1: none yet). `gap` is
  // the distance seen from the end of one large target's payload to the start of the next (0:
  // unknown or too far), `gapAlt` the one seen before it when that differed (0: none): a body
  // in several frames has two, the frame-end octet and the next frame's header between its
  // frames, and its last small frame, a method and a content header before the next message's
  // first (see readLimit).
  #next = 0;
  #base = 0;
  #lastIntoEnd = -1;
  #gap = 0;
  #gapAlt = 0;
  /** Large frames since `gapAlt` was last seen (see ALT_KEEP). */
  #altAge = 0;
  // A split 7-byte header, before its size is known.
  #head = Buffer.alloc(HEADER_SIZE);
  #headLen = 0;

  /** The ArrayBuffer of the payload last handed to onFrame (whether it pins a read buffer: see ReadBuffers). */
  payloadBuffer: ArrayBufferLike | null = null;

  // While paused: bytes received but not yet looked at (flow control stops mid-chunk).
  #paused = false;
  #held: Buffer[] = [];

  constructor(frameMax: number) {
    this.frameMax = frameMax;
  }

  /** Stops handing out frames after the current one; later bytes wait until resume(). */
  pause(): void {
    this.#paused = true;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Hands out the frames held back while paused (until paused again). */
  resume(handler: FrameHandler): void {
    this.#paused = false;
    while (!this.#paused && this.#held.length > 0) this.push(this.#held.shift()!, handler);
  }

  /** `ab`: chunk's ArrayBuffer when the caller knows it (chunk.buffer is asked in C++). */
  push(chunk: Buffer, handler: FrameHandler, ab?: ArrayBufferLike): void {
    if (this.#paused) {
      this.#held.push(chunk);
      return;
    }
    let pos = 0;
    const end = chunk.length;
    this.#base = this.#next;
    this.#next += end;

    if (this.#headLen > 0) {
      const take = Math.min(HEADER_SIZE - this.#headLen, end);
      chunk.copy(this.#head, this.#headLen, 0, take);
      this.#headLen += take;
      pos = take;
      if (this.#headLen < HEADER_SIZE) return;
      this.#headLen = 0;
      this.#startPartial(this.#head, 0, this.#base + pos, handler);
    }
    if (this.#into !== null) {
      pos = this.#fillInto(chunk, pos, handler);
      if (pos < 0) return;
    } else if (this.#partial !== null) {
      const frame = this.#partial;
      const take = Math.min(frame.length - this.#partialLen, end - pos);
      chunk.copy(frame, this.#partialLen, pos, pos + take);
      this.#partialLen += take;
      pos += take;
      if (this.#partialLen < frame.length) return;
      this.#partial = null;
      this.#emit(frame, frame.buffer, frame.byteOffset, 0, frame.length - HEADER_SIZE - 1, handler);
    }

    if (ab === undefined) ab = chunk.buffer;
    const abOffset = chunk.byteOffset;
    while (end - pos >= HEADER_SIZE) {
      if (this.#paused) {
        this.#held.unshift(chunk.subarray(pos));
        this.#next -= end - pos; // pushed again on resume
        return;
      }
      const size = this.#checkHeader(chunk, pos);
      const frameEnd = pos + HEADER_SIZE + size + 1;
      if (frameEnd > end) break;
      this.#emit(chunk, ab, abOffset, pos, size, handler);
      pos = frameEnd;
    }

    if (pos < end) {
      if (end - pos < HEADER_SIZE) {
        chunk.copy(this.#head, 0, pos, end);
        this.#headLen = end - pos;
      } else if (this.#startPartial(chunk, pos, this.#base + pos + HEADER_SIZE, handler)) {
        this.#fillInto(chunk, pos + HEADER_SIZE, handler);
      } else {
        chunk.copy(this.#partial!, 0, pos, end);
        this.#partialLen = end - pos;
      }
    }
  }

  /**
   * Copies what `chunk` holds from `pos` of the body frame being received into its target;
   * when the frame is complete, checks its end octet and hands it out. Returns where the
   * chunk goes on, or -1 when the chunk ended first.
   */
  #fillInto(chunk: Buffer, pos: number, handler: FrameHandler): number {
    const into = this.#into!;
    const end = chunk.length;
    if (this.#intoLen < into.length) {
      const take = Math.min(into.length - this.#intoLen, end - pos);
      // Read straight into place (bodyRest): nothing to copy. The view bodyRest made comes back
      // as it was when the read filled it; a shorter read comes back as a view of it.
      const inPlace =
        pos === 0 && (chunk === this.#rest || (chunk.buffer === this.#intoAb && chunk.byteOffset === this.#intoOffset + this.#intoLen));
      if (!inPlace) chunk.copy(into, this.#intoLen, pos, pos + take);
      this.#rest = null;
      this.#intoLen += take;
      pos += take;
      if (this.#intoLarge && this.#intoLen === into.length) this.#lastIntoEnd = this.#base + pos;
    }
    if (pos >= end) return -1; // the payload or its frame-end octet is still to come
    const marker = chunk[pos]!;
    this.#into = null;
    if (marker !== FRAME_END) {
      throw new CodecError('FRAME_ERROR', `type ${FRAME_BODY}, ${octetsSnippet(into)}: {invalid_frame_end_marker,${marker}}`);
    }
    this.payloadBuffer = this.#intoAb;
    handler.onFrame(FRAME_BODY, this.#intoChannel, into);
    return pos + 1;
  }

  /**
   * The rest of the body frame being received into its target (bodyTarget), when that is at
   * least `min` bytes and nothing read earlier waits to be handled: the next read may go
   * straight there (then pushed as it is, it is not copied). Null otherwise.
   */
  bodyRest(min: number): Buffer | null {
    const into = this.#into;
    if (into === null || this.#paused || this.#held.length > 0 || into.length - this.#intoLen < min) return null;
    return (this.#rest = frameView(this.#intoAb!, this.#intoOffset + this.#intoLen, into.length - this.#intoLen));
  }

  /**
   * At most how many bytes the next read should take (0: no limit). Large body frames spanning
   * reads that come at a regular distance (the frame-end octet and the next frame's header, or
   * the next message's method and content header: a publisher sends the same ones again and
   * again) make a read stop where the next one's payload should start; that payload then goes
   * straight into its body (bodyRest) instead of being read into the arena and copied from it.
   * Where the guess is wrong, a frame is split elsewhere and handled as any other.
   *
   * Two distances are kept, as a body in several frames has two (see gapAlt): a read stops
   * at the nearer place still ahead, then at the farther. For 1 MiB at frame_max 131072 that
   * is 8 bytes after each large frame, and after the last one, where the next message's first
   * payload starts behind the body's 64-byte last frame and the next method and header (a read
   * of 64 KiB there put half of that frame in the arena, to be copied).
   */
  readLimit(): number {
    if (this.#gap === 0 || this.#paused || this.#held.length > 0) return 0;
    const into = this.#into;
    const gap = this.#gap;
    const alt = this.#gapAlt;
    if (into !== null && this.#intoLarge) return into.length - this.#intoLen + (alt > 0 && alt < gap ? alt : gap);
    const since = this.#next - this.#lastIntoEnd;
    const a = gap - since;
    const b = alt - since;
    if (a > 0) return b > 0 && b < a ? b : a;
    return b > 0 ? b : 0;
  }

  /** True when no frame is half-read (used to check a clean end of stream). */
  get idle(): boolean {
    return this.#partial === null && this.#into === null && this.#headLen === 0;
  }

  /**
   * A frame starts at buf[pos] and does not end in it, its payload at stream offset `payloadAt`;
   * true when its payload goes to a body target.
   */
  #startPartial(buf: Buffer, pos: number, payloadAt: number, handler: FrameHandler): boolean {
    const size = this.#checkHeader(buf, pos);
    if (buf[pos] === FRAME_BODY && size > 0 && handler.bodyTarget !== undefined) {
      const channel = u16(buf, pos + 1);
      const into = handler.bodyTarget(channel, size);
      if (into !== null && into.length === size) {
        this.#into = into;
        this.#intoLen = 0;
        this.#intoChannel = channel;
        this.#intoAb = into.buffer;
        this.#intoOffset = into.byteOffset;
        this.#rest = null;
        this.#intoLarge = size >= GAP_LEARN_MIN;
        if (this.#intoLarge) {
          const seen = payloadAt - this.#lastIntoEnd;
          const gap = this.#lastIntoEnd >= 0 && seen <= MAX_GAP ? seen : 0;
          if (gap !== this.#gap) {
            this.#gapAlt = gap > 0 ? this.#gap : 0;
            this.#altAge = 0;
          } else if (this.#gapAlt > 0 && ++this.#altAge > ALT_KEEP) {
            this.#gapAlt = 0;
          }
          this.#gap = gap;
        }
        return true;
      }
    }
    const frame = Buffer.allocUnsafe(HEADER_SIZE + size + 1);
    buf.copy(frame, 0, pos, pos + HEADER_SIZE);
    this.#partial = frame;
    this.#partialLen = HEADER_SIZE;
    return false;
  }

  #checkHeader(buf: Buffer, pos: number): number {
    const type = buf[pos]!;
    const size = u32(buf, pos + 3);
    const limit = this.frameMax - 8;
    if (this.frameMax > 0 && size > limit) {
      throw new CodecError('FRAME_ERROR', `type ${type}, all octets = <<>>: {frame_too_large,${size},${limit}}`);
    }
    return size;
  }

  /** Hands out the frame at buf[pos] (`ab` and `abOffset`: buf's ArrayBuffer and where buf starts in it). */
  #emit(buf: Buffer, ab: ArrayBufferLike, abOffset: number, pos: number, size: number, handler: FrameHandler): void {
    const type = buf[pos]!;
    const payloadStart = pos + HEADER_SIZE;
    const marker = buf[payloadStart + size]!;
    const payload = frameView(ab, abOffset + payloadStart, size);
    if (marker !== FRAME_END) {
      throw new CodecError('FRAME_ERROR', `type ${type}, ${octetsSnippet(payload)}: {invalid_frame_end_marker,${marker}}`);
    }
    const known = type === FRAME_METHOD || type === FRAME_BODY || (type === FRAME_HEADER && size >= MIN_HEADER_PAYLOAD) || (type === FRAME_HEARTBEAT && size === 0);
    if (!known) throw new CodecError('FRAME_ERROR', `type ${type}, ${octetsSnippet(payload)}: unknown_frame`);
    this.payloadBuffer = ab;
    handler.onFrame(type, u16(buf, pos + 1), payload);
  }
}

/** "all octets = <<...>>" or "first 16 octets = <<...>>", as RabbitMQ quotes a bad frame. */
export function octetsSnippet(payload: Buffer): string {
  if (payload.length <= 16) return `all octets = ${erlangBinary(payload)}`;
  return `first 16 octets = ${erlangBinary(payload.subarray(0, 16))}`;
}

/** Erlang's escapes for the control characters io_lib counts as printable. */
const ERLANG_ESCAPES: Record<number, string> = { 8: '\\b', 9: '\\t', 10: '\\n', 11: '\\v', 12: '\\f', 13: '\\r', 27: '\\e', 34: '\\"', 92: '\\\\' };

/**
 * Erlang's ~p rendering of a binary: printable text in quotes (with \n-style escapes),
 * otherwise byte values. Latin-1 letters (160-255) count as printable in Erlang, but the
 * reply text goes out as UTF-8 here, so such binaries are shown as byte values instead.
 */
export function erlangBinary(b: Buffer): string {
  const printable = b.length > 0 && b.every((c) => (c >= 32 && c <= 126) || ERLANG_ESCAPES[c] !== undefined);
  if (!printable) return `<<${[...b].join(',')}>>`;
  let s = '';
  for (const c of b) s += ERLANG_ESCAPES[c] ?? String.fromCharCode(c);
  return `<<"${s}">>`;
}
