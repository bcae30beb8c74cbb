// What every stream log shares, whatever holds its bytes (segment files, memory, PostgreSQL
// chunks: log.ts, pg-log.ts): the Segment (a run of records numbered from `first`, with its
// sparse index: an entry every INDEX_EVERY bytes, offset, position, timestamp), the finding
// of an offset or a time in a list of segments, and StreamLogApi, what readers and the stream
// queue use of a log.

import { readSync } from 'node:fs';
import type { Message } from '../message.js';
import { recordAt, recordOffset, recordTimestamp } from './record.js';
import { summaryPath, writeSummary, type SegmentSummary } from './segment-index.js';

export const INDEX_EVERY = 64 * 1024;
const SCAN_CHUNK = 1024 * 1024;

export interface LogSettings {
  readonly maxSegmentBytes: number;
  /** x-max-length-bytes (null: none). */
  readonly maxBytes: number | null;
  /** x-max-age in ms (null: none). */
  readonly maxAgeMs: number | null;
}

export class Segment {
  readonly first: number;
  readonly path: string | null;
  fd = -1;
  /** Bytes appended (written or staged). */
  size = 0;
  /** Bytes fsynced: what readers may read. */
  durableSize = 0;
  /** Offsets appended to it: first .. first + count - 1. */
  count = 0;
  firstTs = 0;
  lastTs = 0;
  removed = false;
  /** Memory mode: the bytes themselves. */
  mem: Buffer | null = null;
  // Sparse index.
  idxOffset: number[] = [];
  idxPos: number[] = [];
  idxTs: number[] = [];
  #nextIndexAt = 0;

  constructor(first: number, path: string | null) {
    this.first = first;
    this.path = path;
  }

  get next(): number {
    return this.first + this.count;
  }

  noteRecord(offset: number, pos: number, size: number, ts: number): void {
    if (this.count === 0) this.firstTs = ts;
    this.lastTs = ts;
    this.count++;
    if (pos >= this.#nextIndexAt) {
      this.idxOffset.push(offset);
      this.idxPos.push(pos);
      this.idxTs.push(ts);
      this.#nextIndexAt = pos + INDEX_EVERY;
    }
    this.size = pos + size;
  }

  /** Takes count, timestamps and sparse index from a trusted summary instead of a scan. */
  restore(s: SegmentSummary): void {
    this.count = s.count;
    this.size = s.size;
    this.durableSize = s.size;
    this.firstTs = s.firstTs;
    this.lastTs = s.lastTs;
    this.idxOffset = [...s.idxOffset];
    this.idxPos = [...s.idxPos];
    this.idxTs = [...s.idxTs];
    this.#nextIndexAt = this.idxPos.length === 0 ? 0 : this.idxPos.at(-1)! + INDEX_EVERY;
  }

  /** Writes this segment's summary file (best effort: without it a restart scans the segment). */
  saveSummary(): void {
    if (this.path === null || this.count === 0) return;
    try {
      writeSummary(summaryPath(this.path), this);
    } catch {
      // A full disk, say: the next start reads the segment instead.
    }
  }

  /** Whether read() fills the buffer it is given (a file), not views (memory) or buffers of its own (PostgreSQL). */
  get fillsBuffers(): boolean {
    return this.mem === null && this.fd >= 0;
  }

  /**
   * Reads durable bytes from `pos`: at most `len` (views in memory mode; a subclass may return
   * fewer, up to where a record ends, or more, up to the durable end). Callers read on from
   * where the records they found end. `into`: a buffer to read into when it is large enough
   * (files only: see fillsBuffers), so a reader can reuse its block.
   */
  read(pos: number, len: number, into: Buffer | null = null): Buffer {
    const end = Math.min(pos + len, this.durableSize);
    if (this.mem !== null) return this.mem.subarray(pos, end);
    const n = Math.max(0, end - pos);
    const buf = into !== null && into.length >= n ? into.subarray(0, n) : Buffer.allocUnsafeSlow(n);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(this.fd, buf, got, buf.length - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    return got === buf.length ? buf : buf.subarray(0, got);
  }
}

export interface LogStats {
  messages: number;
  bytes: number;
  segments: number;
  firstOffset: number;
  lastOffset: number;
  firstTimestamp: number;
}

/** A record's place: its segment, its byte position there and its offset. */
export interface Located {
  seg: Segment;
  pos: number;
  offset: number;
}

/** What a stream queue and its readers use of a log (log.ts: files or memory; pg-log.ts: PostgreSQL). */
export interface StreamLogApi {
  /** As the stream's arguments set them; a policy may lower the limits (setRetention). */
  readonly baseSettings: LogSettings;
  readonly settings: LogSettings;
  /** Oldest first; the last one takes appends. */
  readonly segments: readonly Segment[];
  /** Next offset to assign. */
  readonly nextOffset: number;
  /** Offsets below this are durable: readers may read them. */
  readonly committedOffset: number;
  readonly firstOffset: number;
  readonly bytes: number;
  /** Called when more records became durable (readers may go on). */
  onCommitted: () => void;
  /** Called when a write failed so that the stream cannot go on safely. */
  onError: (err: unknown) => void;
  stats(): LogStats;
  open(): void;
  /** Appends a message; returns its offset. Durable (and readable) after a later commit. */
  append(msg: Message, filter: string | null): number;
  setRetention(maxBytes: number | null, maxAgeMs: number | null): void;
  /** The segment holding `offset` (the first one if it was removed), or undefined past the end. */
  segmentOf(offset: number): Segment | undefined;
  /** Where `offset` starts (offsets before the first go to the first, at or past the end to the end). */
  locate(offset: number, limit?: number): Located | undefined;
  /** The first record at or after `ts` (ms), or the end. */
  locateTime(ts: number): Located | undefined;
  /** Shutdown: what is written becomes durable, resources are released. */
  close(): void;
  /** The stream was deleted. */
  destroy(): void;
}

/** The segment holding `offset` (the first one if it was removed), or undefined past the end. */
/** Bytes held by a log's segments. */
export function segmentsBytes(segs: readonly Segment[]): number {
  let n = 0;
  for (const s of segs) n += s.size;
  return n;
}

/** A log's figures, from its segments and the offset its next record will get (both logs share it). */
export function logStats(segs: readonly Segment[], next: number): LogStats {
  const first = segs[0]?.first ?? next;
  return {
    messages: next - first,
    bytes: segmentsBytes(segs),
    segments: segs.length,
    firstOffset: first,
    lastOffset: next - 1,
    firstTimestamp: segs[0]?.count ? segs[0].firstTs : 0,
  };
}

export function segmentOf(segs: readonly Segment[], offset: number): Segment | undefined {
  let lo = 0;
  let hi = segs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (segs[mid]!.first <= offset) lo = mid;
    else hi = mid - 1;
  }
  return segs[lo];
}

/**
 * Where `offset` starts: its segment and position (offsets before the first go to the first,
 * at or past the end to the end). `limit`: bytes of the segment that may be read.
 */
export function locate(segs: readonly Segment[], offset: number, limit?: number): Located | undefined {
  const seg = segmentOf(segs, offset);
  if (seg === undefined) return undefined;
  if (offset <= seg.first) return { seg, pos: 0, offset: seg.first };
  if (offset >= seg.next) return { seg, pos: seg.size, offset: seg.next };
  const i = bisect(seg.idxOffset, offset);
  const pos = seg.idxPos[i]!;
  const at = seg.idxOffset[i]!;
  return scan(seg, pos, at, limit ?? seg.durableSize, (o) => o >= offset) ?? { seg, pos: seg.size, offset: seg.next };
}

/** The first record at or after `ts` (ms), or the end. */
export function locateTime(segs: readonly Segment[], ts: number): Located | undefined {
  const seg = segs.find((s) => s.count > 0 && s.lastTs >= ts) ?? segs.at(-1);
  if (seg === undefined) return undefined;
  if (seg.count === 0 || seg.firstTs >= ts) return { seg, pos: 0, offset: seg.first };
  const i = Math.max(0, bisect(seg.idxTs, ts) - 1);
  return scan(seg, seg.idxPos[i]!, seg.idxOffset[i]!, seg.durableSize, (_o, t) => t >= ts) ?? { seg, pos: seg.size, offset: seg.next };
}

function scan(seg: Segment, pos: number, offset: number, limit: number, stop: (offset: number, ts: number) => boolean): Located | undefined {
  while (pos < limit) {
    const buf = seg.read(pos, Math.min(SCAN_CHUNK, limit - pos));
    let p = 0;
    let found = false;
    for (;;) {
      const n = recordAt(buf, p, buf.length);
      if (n < 0) break;
      found = true;
      if (stop(recordOffset(buf, p), recordTimestamp(buf, p))) return { seg, pos: pos + p, offset: recordOffset(buf, p) };
      p += n;
      offset++;
    }
    if (!found) return undefined;
    pos += p;
  }
  return undefined;
}

/** Index of the last element <= x (0 if none). */
export function bisect(a: number[], x: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (a[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
