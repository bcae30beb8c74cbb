// One consumer's cursor over a stream log: where it reads next (segment, position, offset), the
// block of segment bytes it reads records out of (messages are views into it: no copy), its
// exact filter, and its acknowledgement mark: the offset below which every delivery to it has
// been acked (what a named reader commits; see stream-queue.ts, StreamHooks).
//
// The block is read into again once every record handed out of it was declared copied
// (copied(): its delivery copied the bytes to the connection's output and nothing keeps the
// message). A replay otherwise allocated a new 256 KiB block outside the JS heap for every
// 256 KiB read (about 1 KiB per 1 KiB message), and those allocations drove V8 to a full
// collection every few MB (README "Streams: targets, measured"). A record not declared copied
// (a large body queued by reference, a caller that keeps messages) leaves the block to the
// collector and the next read gets a new one.

import type { Message } from '../message.js';
import { Deque } from '../util/deque.js';
import type { FilterSpec } from './arguments.js';
import type { Segment, StreamLogApi } from './segment.js';
import { recordAt, recordFilter, recordMessage, recordOffset } from './record.js';

/** Bytes read from a segment at a time. */
const READ_BLOCK = 256 * 1024;
/** The smallest block a reader allocates (one near the end of the log reads little at a time). */
const MIN_BLOCK = 16 * 1024;

export class StreamReader {
  readonly filter: FilterSpec | null;
  #seg: Segment | null = null;
  #pos = 0;
  /** Next offset to read. */
  #offset: number;
  /** Set while the start offset is not durable yet: located once it is. */
  #target: number | null = null;
  #buf: Buffer | null = null;
  #bufAt = 0;
  /** The reader's own block (file segments are read into it), reused while nothing handed out of it is kept. */
  #block: Buffer | null = null;
  /** A record handed out of #block may still be referenced: the block is not read into again. */
  #blockKept = false;
  /** The last record handed out was not declared copied (yet). */
  #handedOut = false;
  /** Delivered offsets not yet acked, ascending; acked ones out of order wait in #ackedEarly. */
  readonly #outstanding = new Deque<number>();
  #ackedEarly: Set<number> | null = null;
  #mark: number;
  /** Offset of the last record handed out by next() (-1: none yet). */
  lastOffset = -1;
  /** What next() returns, reused: one allocation fewer per delivery. */
  readonly #rec: { msg: Message; offset: number } = { msg: null as unknown as Message, offset: 0 };

  constructor(log: StreamLogApi, start: number, filter: FilterSpec | null) {
    this.filter = filter;
    this.#offset = start;
    this.#mark = start;
    this.#position(log, start);
  }

  /** Next offset this reader will look at. */
  get offset(): number {
    return this.#offset;
  }

  /** Every delivery below this offset has been acked (records skipped by the filter count as done). */
  get mark(): number {
    return this.#mark;
  }

  /** Moves the cursor to `offset` (clamped to what the log holds). */
  seek(log: StreamLogApi, offset: number): void {
    this.#settleHandedOut();
    this.#buf = null;
    this.#position(log, offset);
    this.#outstanding.clear();
    this.#ackedEarly = null;
    this.#mark = this.#offset;
  }

  #position(log: StreamLogApi, offset: number): void {
    const first = log.firstOffset;
    if (offset < first) offset = first;
    if (offset >= log.nextOffset) {
      // Not written yet: wait at the end (a later roll is followed by #advance).
      offset = log.nextOffset;
      const last = log.segments.at(-1)!;
      this.#seg = last;
      this.#pos = last.size;
      this.#offset = offset;
      this.#target = null;
      return;
    }
    if (offset >= log.committedOffset) {
      this.#seg = null;
      this.#target = offset;
      this.#offset = offset;
      return;
    }
    const at = log.locate(offset)!;
    this.#seg = at.seg;
    this.#pos = at.pos;
    this.#offset = at.offset;
    this.#target = null;
  }

  /**
   * The next record that passes the filter, or null when the reader is at the durable end or
   * has looked at `budget.n` records (decremented) without finding one. The object returned
   * is the reader's own, overwritten by the next call.
   */
  next(log: StreamLogApi, budget: { n: number }): { msg: Message; offset: number } | null {
    this.#settleHandedOut();
    if (this.#target !== null) {
      if (this.#target >= log.committedOffset) return null;
      this.#position(log, this.#target);
    }
    for (;;) {
      let seg = this.#seg!;
      if (seg.removed) {
        // Retention took the segment: go on from the oldest message left.
        this.#buf = null;
        this.#position(log, log.firstOffset);
        seg = this.#seg!;
        if (this.#target !== null) return null;
      }
      if (this.#pos >= seg.durableSize) {
        if (this.#pos < seg.size || seg === log.segments.at(-1)) return null;
        const nextSeg = log.segmentOf(seg.next);
        if (nextSeg === undefined || nextSeg === seg) return null;
        this.#seg = nextSeg;
        this.#pos = 0;
        this.#buf = null;
        continue;
      }
      if (budget.n-- <= 0) return null;
      let buf = this.#buf;
      let p = this.#pos - this.#bufAt;
      let n = buf === null || p < 0 || p >= buf.length ? -1 : recordAt(buf, p, buf.length);
      if (n === -1) {
        const want = buf !== null && p >= 0 && buf.length - p >= 4 ? buf.readUInt32BE(p) + 4 : 0;
        const len = Math.max(READ_BLOCK, want);
        buf = seg.read(this.#pos, len, this.#blockFor(seg, len));
        this.#buf = buf;
        this.#bufAt = this.#pos;
        p = 0;
        n = recordAt(buf, 0, buf.length);
        if (n === -1 && buf.length >= 4) {
          // A record larger than the block.
          const whole = buf.readUInt32BE(0) + 4;
          buf = seg.read(this.#pos, whole, this.#blockFor(seg, whole));
          this.#buf = buf;
          n = recordAt(buf, 0, buf.length);
        }
      }
      if (n < 0) throw new Error(`stream segment ${seg.path ?? seg.first} is damaged at byte ${this.#pos}`);
      const offset = recordOffset(buf!, p);
      this.#pos += n;
      this.#offset = offset + 1;
      const f = this.filter;
      if (f !== null) {
        const value = recordFilter(buf!, p);
        if (value === null ? !f.matchUnfiltered : !f.values.has(value)) {
          if (this.#outstanding.length === 0) this.#mark = this.#offset;
          continue;
        }
      }
      this.lastOffset = offset;
      this.#handedOut = true;
      const rec = this.#rec;
      rec.msg = recordMessage(buf!, p, n);
      rec.offset = offset;
      return rec;
    }
  }

  /**
   * The record next() returned last was copied out and its message is not kept: the block it
   * is a view of may be read into again (unless another record of it is kept).
   */
  copied(): void {
    this.#handedOut = false;
  }

  /** A record handed out and not declared copied keeps its block from being read into again. */
  #settleHandedOut(): void {
    if (!this.#handedOut) return;
    this.#handedOut = false;
    const buf = this.#buf;
    if (buf !== null && this.#block !== null && buf.buffer === this.#block.buffer) this.#blockKept = true;
  }

  /** The buffer to read up to `len` bytes of `seg` into: the reader's block, or a new one; null when `seg` does not read into buffers. */
  #blockFor(seg: Segment, len: number): Buffer | null {
    if (!seg.fillsBuffers) return null;
    const need = Math.min(len, Math.max(0, seg.durableSize - this.#pos));
    const b = this.#block;
    if (b !== null && !this.#blockKept && b.length >= need) return b;
    // Kept (left to the collector) or too small: a new one, at least twice the old (a tailing
    // reader's reads grow as it falls behind), at most what this read needs beyond a block.
    let size = Math.max(MIN_BLOCK, b === null || this.#blockKept ? 0 : b.length * 2);
    while (size < need) size *= 2;
    size = Math.min(size, Math.max(READ_BLOCK, need));
    this.#block = Buffer.allocUnsafeSlow(size);
    this.#blockKept = false;
    return this.#block;
  }

  /** The record at `offset` went to the consumer. */
  delivered(offset: number): void {
    this.#outstanding.push(offset);
  }

  /** A delivery was acked; returns whether the mark moved. */
  acked(offset: number): boolean {
    const out = this.#outstanding;
    if (out.length === 0) return false;
    if (out.peek() !== offset) {
      (this.#ackedEarly ??= new Set()).add(offset);
      return false;
    }
    out.shift();
    const early = this.#ackedEarly;
    if (early !== null) {
      while (out.length > 0 && early.delete(out.peek()!)) out.shift();
      if (early.size === 0) this.#ackedEarly = null;
    }
    const mark = out.length > 0 ? out.peek()! : this.#offset;
    if (mark <= this.#mark) return false;
    this.#mark = mark;
    return true;
  }
}
