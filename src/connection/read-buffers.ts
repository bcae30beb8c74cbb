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

import type { FrameHandler } from '../codec/frame-reader.js';
import type { ReadBufferSource } from '../util/read-socket.js';

const MIN_ARENA = 2 * 1024;
const MAX_ARENA = 64 * 1024;
/** A pinned arena's rest is read into while at least this much of it is free. */
const MIN_READ = 1024;

export class ReadBuffers implements ReadBufferSource {
  /**
   * Something handed out of the current arena may still be referenced: it is never read into
   * again. The first arena counts as pinned (the handshake's reads are not tracked).
   */
  pinned = true;
  #arena = Buffer.allocUnsafeSlow(MIN_ARENA);
  /** Where the last read started and ended in the arena. */
  #start = 0;
  #end = 0;

  /** The ArrayBuffer of the current arena (frames that are views of it may pin it). */
  get current(): ArrayBufferLike {
    return this.#arena.buffer;
  }

  /** The buffer for the first read. */
  first(): Buffer {
    return this.#arena;
  }

  /** `n` bytes were read into `buf` (the buffer last handed out): they, as a view. */
  read(n: number, buf: Buffer): Buffer {
    this.#start = buf.byteOffset - this.#arena.byteOffset;
    this.#end = this.#start + n;
    return buf.subarray(0, n);
  }

  /** The buffer for the next read, once the last one is handled. */
  next(): Buffer {
    const arena = this.#arena;
    const filled = this.#end - this.#start >= arena.length / 2;
    if (this.pinned) {
      if (arena.length - this.#end >= MIN_READ) return arena.subarray(this.#end);
      this.pinned = false;
      this.#arena = Buffer.allocUnsafeSlow(filled ? Math.min(arena.length * 2, MAX_ARENA) : arena.length);
    } else if (filled && arena.length < MAX_ARENA) {
      this.#arena = Buffer.allocUnsafeSlow(arena.length * 2);
    }
    this.#start = this.#end = 0;
    return this.#arena;
  }
}

/**
 * Hands frames on to `inner`, and notes whether a frame that is a view of the current arena
 * is still referenced once handled (`kept`); until that is known, and if handling throws, the
 * arena counts as pinned.
 */
export function pinningHandler(inner: FrameHandler, reads: ReadBuffers, kept: (type: number, channel: number) => boolean): FrameHandler {
  return {
    onFrame(type: number, channel: number, payload: Buffer): void {
      if (reads.pinned || payload.buffer !== reads.current) {
        inner.onFrame(type, channel, payload);
        return;
      }
      reads.pinned = true;
      inner.onFrame(type, channel, payload);
      reads.pinned = kept(type, channel);
    },
    bodyTarget: (channel: number, size: number): Buffer | null => inner.bodyTarget?.(channel, size) ?? null,
  };
}
