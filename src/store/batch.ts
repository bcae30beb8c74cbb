// The wire format between the store's main-thread side and its writer thread: a batch of
// write operations encoded into one transferable buffer (no per-message structured clone).

import { BufferReader } from '../codec/buffer-reader.js';
import { BufferWriter } from '../codec/buffer-writer.js';

export const OP_EXCHANGE_PUT = 1;
export const OP_EXCHANGE_DEL = 2;
export const OP_QUEUE_PUT = 3;
export const OP_QUEUE_DEL = 4;
export const OP_BINDING_PUT = 5;
export const OP_BINDING_DEL = 6;
export const OP_MESSAGE_PUT = 7;
export const OP_ENTRY_PUT = 8;
export const OP_ENTRY_DEL = 9;
export const OP_ENTRY_MARK = 10;
export const OP_QUEUE_PURGE = 11;
export const OP_USER_PUT = 12;
export const OP_USER_DEL = 13;
export const OP_VHOST_PUT = 14;
export const OP_VHOST_DEL = 15;
export const OP_PERMISSION_PUT = 16;
export const OP_PERMISSION_DEL = 17;
export const OP_DELAYED_PUT = 18;
export const OP_DELAYED_DEL = 19;
export const OP_DELAYED_DROP = 20;
export const OP_LIMITS_PUT = 21;
export const OP_READER_PUT = 22;
export const OP_READER_DEL = 23;
/** A policy put (its JSON) or deleted (value ''). */
export const OP_POLICY_PUT = 24;
/** A stream chunk (PostgreSQL store only). */
export const OP_STREAM_CHUNK = 25;
/** A stream's chunks before a byte position removed (retention). */
export const OP_STREAM_TRIM = 26;

/** A handed-back buffer up to this many times the next batch's size is reused (see BatchWriter). */
export const REUSE_SLACK = 4;

/** A BufferWriter on its own ArrayBuffer, so the finished batch can be transferred, not copied. */
export class BatchWriter extends BufferWriter {
  /**
   * `reuse`: a buffer a writer handed back (see BatchReply.buffer), taken when large enough and
   * not more than REUSE_SLACK times the size wanted: a backlog published flat out leaves a
   * spare of up to 16 MiB that the small batches of its drain (acks) would otherwise keep
   * resident for the life of the process; let go, the next batch's own buffer becomes the spare.
   */
  constructor(size = 64 * 1024, reuse: ArrayBuffer | null = null) {
    super(0);
    // Powers of two, so that a handed-back buffer fits the next batch of about the same size.
    let n = 64 * 1024;
    while (n < size) n *= 2;
    const fits = reuse !== null && reuse.byteLength >= n && reuse.byteLength <= n * REUSE_SLACK;
    this.buf = fits ? Buffer.from(reuse) : Buffer.allocUnsafeSlow(n);
  }

  protected override grow(n: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** The ArrayBuffer to transfer and how many of its bytes are the batch. */
  finish(): { buffer: ArrayBuffer; length: number } {
    return { buffer: this.buf.buffer as ArrayBuffer, length: this.pos };
  }
}

/** Reads strings as the writer's longstr (no 255-byte limit for names here). */
export class BatchReader extends BufferReader {
  /**
   * Decoded straight from the batch, without a Buffer view of the bytes first: the writer reads
   * two strings a message (exchange, routing key), and each view was a typed array allocated
   * only to be decoded.
   */
  str(): string {
    const len = this.u32();
    if (len === 0) return '';
    const start = this.pos;
    if (len > this.end - start) this.skip(len); // throws: truncated
    this.pos = start + len;
    return this.buf.toString('utf8', start, start + len);
  }
}
