// The buffers a connection's socket reads into, when the socket lets us choose them (net.Socket's
// `onread`; see util/read-socket.ts). Node would allocate 64 KiB outside the JS heap for every
// read; for large messages, whose bodies are copied out of the reads anyway, that doubled the
// bytes allocated per message and with them the garbage collector's work. Here a connection
// reads into an arena of its own: again from its start when nothing handed out of it is still
// referenced (`pinned` is false: the frame reader copied what it needed, see
// CommandAssembler.retained; nor is the rest of a read held back while input is paused: see
// util/read-socket.ts), else into the arena's free rest, and into a new arena once that
// is small. Frames are still views of the reads (zero-copy for small messages, which pin the
// arena as they pinned Node's read buffer). An arena starts small (an idle connection holds
// only that) and doubles while reads fill it, up to 64 KiB, Node's own read size.
//
// Large bodies skip the arena: the rest of a body frame spanning reads is read straight into
// the body (FrameReader.bodyRest), and a read into the arena may be cut short where the next
// large body frame's payload should start (FrameReader.readLimit), so that it goes there too.
//
// A message being assembled holds its header frame's view only until it completes (`held`,
// per channel): a publish that went only where it is copied (streams append a copy) then pins
// nothing, and a read that ends inside a message (most do) has that message's header copied
// out (a few dozen bytes) instead of keeping the arena. So a publisher to a stream reads into
// one arena again and again instead of filling a new 64 KiB one every 60 messages of 1 KiB,
// which drove V8's full collections (README "Streams: targets, measured").

import { bufferView, type FrameHandler } from '../codec/frame-reader.js';
import type { ReadBufferSource } from '../util/read-socket.js';

/** The rest of a body frame this large is read straight into the body (see BodyReader). */
const DIRECT_MIN = 16 * 1024;
const MIN_ARENA = 2 * 1024;
const MAX_ARENA = 64 * 1024;
/** A pinned arena's rest is read into while at least this much of it is free. */
const MIN_READ = 1024;

/** What a frame's handling left referenced (see pinningHandler's `kept`). */
export const NOT_KEPT = 0;
/** Its content is not complete and holds the frame (a header) until it is. */
export const KEPT_UNTIL_COMPLETE = 1;
export const KEPT = 2;
export type Kept = typeof NOT_KEPT | typeof KEPT_UNTIL_COMPLETE | typeof KEPT;

/** What the connection tells about its frames (ChannelTable). */
export interface FrameKeepers {
  /** What a frame's handling left referenced. */
  keeps(type: number, channel: number): Kept;
  /** Copies out the header view channel `channel`'s incomplete content holds; false when it cannot. */
  detachHeader(channel: number): boolean;
}

/** The connection's frame reader, as far as reads straight into a body go (FrameReader.bodyRest). */
export interface BodyReader {
  bodyRest(min: number): Buffer | null;
  /** At most how many bytes the next read into the arena should take (0: no limit). */
  readLimit?(): number;
  /** The ArrayBuffer of the payload being handed to onFrame (cheaper than asking the payload). */
  readonly payloadBuffer?: ArrayBufferLike | null;
}

export class ReadBuffers implements ReadBufferSource {
  /**
   * Something handed out of the current arena may still be referenced: it is never read into
   * again. The first arena counts as pinned (the handshake's reads are not tracked).
   */
  pinned = true;
  /** Channels whose incomplete content holds a frame of the current arena. */
  readonly held = new Set<number>();
  /** Set by pinningHandler: who can let go of what `held` holds. */
  keepers: FrameKeepers | null = null;
  /**
   * Set by pinningHandler: while a body frame spanning reads has at least DIRECT_MIN bytes to
   * come, the next read goes straight into the body's buffer instead of the arena (saving the
   * copy: for 1 MiB bodies at frame_max 131072, about half of each frame).
   */
  reader: BodyReader | null = null;
  #arena = Buffer.allocUnsafeSlow(MIN_ARENA);
  // The current arena's ArrayBuffer, kept: V8 answers a Buffer's `buffer` in C++.
  #current: ArrayBufferLike = this.#arena.buffer;
  /** Where the last read started and ended in the arena. */
  #start = 0;
  #end = 0;
  /** The last buffer handed out went straight into a body (FrameReader.bodyRest), not the arena. */
  #direct = false;
  /**
   * The ArrayBuffer of the last read's bytes when they are in the arena, else undefined (for
   * FrameReader.push: a Buffer's `buffer` is answered in C++, twice a message and more).
   */
  lastBuffer: ArrayBufferLike | undefined = undefined;

  /** The ArrayBuffer of the current arena (frames that are views of it may pin it). */
  get current(): ArrayBufferLike {
    return this.#current;
  }

  /** The buffer for the first read. */
  first(): Buffer {
    this.#direct = false;
    return this.#arena;
  }

  /** `n` bytes were read into `buf` (the buffer last handed out): they, as a view. */
  read(n: number, buf: Buffer): Buffer {
    if (this.#direct) {
      // Straight into a body: the arena is as it was.
      this.lastBuffer = undefined;
      return n === buf.length ? buf : buf.subarray(0, n);
    }
    // The arena is a buffer of its own (allocUnsafeSlow): its offsets are its ArrayBuffer's.
    const start = buf.byteOffset;
    this.#start = start - this.#arena.byteOffset;
    this.#end = this.#start + n;
    this.lastBuffer = this.#current;
    return n === buf.length ? buf : bufferView(this.#current, start, n);
  }

  /** The buffer for the next read, once the last one is handled. */
  next(): Buffer {
    const direct = this.reader?.bodyRest(DIRECT_MIN) ?? null;
    this.#direct = direct !== null;
    if (direct !== null) return direct;
    const arena = this.#arena;
    const filled = this.#end - this.#start >= arena.length / 2;
    if (!this.pinned && this.held.size > 0 && this.keepers !== null) {
      // The read ended inside messages: their headers are copied out, and the arena is free.
      for (const ch of this.held) if (!this.keepers.detachHeader(ch)) this.pinned = true;
      if (!this.pinned) this.held.clear();
    }
    if (this.pinned || this.held.size > 0) {
      if (arena.length - this.#end >= MIN_READ) return this.#limited(bufferView(this.#current, arena.byteOffset + this.#end, arena.length - this.#end));
      this.pinned = false;
      this.held.clear();
      this.#arena = Buffer.allocUnsafeSlow(filled ? Math.min(arena.length * 2, MAX_ARENA) : arena.length);
      this.#current = this.#arena.buffer;
    } else if (filled && arena.length < MAX_ARENA) {
      this.#arena = Buffer.allocUnsafeSlow(arena.length * 2);
      this.#current = this.#arena.buffer;
    }
    this.#start = this.#end = 0;
    return this.#limited(this.#arena);
  }

  /** `buf`, or as much of it as the reader asks for (see FrameReader.readLimit). */
  #limited(buf: Buffer): Buffer {
    const limit = this.reader?.readLimit?.() ?? 0;
    return limit > 0 && limit < buf.length ? bufferView(this.#current, buf.byteOffset, limit) : buf;
  }
}

/**
 * Hands frames on to `inner`, and notes whether a frame that is a view of the current arena
 * is still referenced once handled (`kept`), or held until its content completes (then the
 * completing frame, wherever it was read, says whether the content is kept); until that is
 * known, and if handling throws, the arena counts as pinned.
 */
export function pinningHandler(inner: FrameHandler, reads: ReadBuffers, keepers: FrameKeepers, reader: BodyReader | null = null): FrameHandler {
  const held = reads.held;
  reads.keepers = keepers;
  reads.reader = reader;
  return {
    onFrame(type: number, channel: number, payload: Buffer): void {
      if (reads.pinned || ((reader?.payloadBuffer ?? payload.buffer) !== reads.current && !(held.size > 0 && held.has(channel)))) {
        inner.onFrame(type, channel, payload);
        return;
      }
      reads.pinned = true;
      inner.onFrame(type, channel, payload);
      const k = keepers.keeps(type, channel);
      reads.pinned = k === KEPT;
      if (k === KEPT_UNTIL_COMPLETE) held.add(channel);
      else if (held.size > 0) held.delete(channel);
    },
    bodyTarget: (channel: number, size: number): Buffer | null => inner.bodyTarget?.(channel, size) ?? null,
  };
}
