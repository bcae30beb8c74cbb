// A stream's log: numbered records in segment files (`<first offset>.seg` in the stream's own
// directory), or in memory buffers when the broker has no data directory. Appends are copied
// into a staging buffer and written at the end of the event-loop turn; one fdatasync at a time
// makes them durable (group commit: what arrives during a sync goes in the next one). Readers
// see only durable records. Each segment keeps a sparse index (an entry every INDEX_EVERY
// bytes: offset, position, timestamp) to find an offset or a time without reading it all.
// Retention removes whole segments, oldest first, past x-max-length-bytes or x-max-age.
// A sealed segment has a summary file beside it (stream/segment-index.ts), so a restart reads
// only the summaries and, after a crash, the last segment (to cut off a torn tail).

import { closeSync, fdatasync, fdatasyncSync, fstatSync, ftruncateSync, mkdirSync, openSync, readdirSync, readSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from '../message.js';
import { recordAt, recordOffset, recordSize, recordTimestamp, writeRecord } from './record.js';
import { readSummary, SEGMENT_FILE, summaryPath, SUMMARY_FILE } from './segment-index.js';
import { locate, locateTime, logStats, Segment, segmentOf, segmentsBytes, type Located, type LogSettings, type LogStats, type StreamLogApi } from './segment.js';
import type { ExternalWrite, WriteJoin } from './write-join.js';
import { ageCheckIntervalMs, segmentsPastRetention } from './retention.js';

export { Segment, type LogSettings, type LogStats } from './segment.js';

const STAGING = 1024 * 1024;
const SCAN_CHUNK = 1024 * 1024;
/** In memory, a segment grows by doubling from this. */
const MEM_INITIAL = 64 * 1024;

export class StreamLog implements StreamLogApi {
  readonly dir: string | null;
  /** As the stream's arguments set them; a policy may lower the limits (setRetention). */
  readonly baseSettings: LogSettings;
  settings: LogSettings;
  readonly segments: Segment[] = [];
  #join: WriteJoin | null;
  /** Next offset to assign. */
  #next = 0;
  /** Offsets below this are durable. */
  #committed = 0;
  #lastTs = 0;
  #staging: Buffer | null = null;
  #staged = 0;
  /** Offset after the last staged record. */
  #stagedNext = 0;
  #flushQueued = false;
  #syncing = false;
  #batch: ExternalWrite | null = null;
  #closed = false;
  #ageTimer: NodeJS.Timeout | null = null;
  /** Called when more records became durable (readers may go on). */
  onCommitted: () => void = () => {};
  /** Called when a write or sync failed: the stream cannot go on safely. */
  onError: (err: unknown) => void = () => {};
  /** How the last open() got its segments: from summaries, or by reading them (for tests and logs). */
  readonly opened = { summaries: 0, scanned: 0 };

  constructor(dir: string | null, settings: LogSettings, join: WriteJoin | null) {
    this.dir = dir;
    this.baseSettings = settings;
    this.settings = settings;
    this.#join = join;
  }

  get nextOffset(): number {
    return this.#next;
  }

  get committedOffset(): number {
    return this.#committed;
  }

  get firstOffset(): number {
    return this.segments[0]?.first ?? this.#next;
  }

  get bytes(): number {
    return segmentsBytes(this.segments);
  }

  stats(): LogStats {
    return logStats(this.segments, this.#next);
  }

  // ---- opening ---------------------------------------------------------------------------

  /**
   * Reads the segments back, or starts empty. A segment whose summary matches its file is taken
   * from the summary; any other is read through (a torn record at its end is cut off) and its
   * summary written. Leftovers of a crash go: temporary files, summaries without a segment.
   */
  open(): void {
    if (this.dir !== null) {
      mkdirSync(this.dir, { recursive: true });
      const all = readdirSync(this.dir);
      const files = all.filter((f) => SEGMENT_FILE.test(f)).sort();
      const segs = new Set(files);
      for (const f of all) {
        const orphan = SUMMARY_FILE.test(f) && !segs.has(`${f.slice(0, 20)}.seg`);
        if (orphan || f.endsWith('.tmp')) rmSync(join(this.dir, f), { force: true });
      }
      for (const f of files) {
        const seg = new Segment(Number(f.slice(0, 20)), join(this.dir, f));
        seg.fd = openSync(seg.path!, 'r+');
        const summary = readSummary(summaryPath(seg.path!));
        if (summary !== null && summary.first === seg.first && summary.size === fstatSync(seg.fd).size) {
          seg.restore(summary);
          this.opened.summaries++;
        } else {
          this.#recover(seg);
          this.opened.scanned++;
          if (f !== files.at(-1)) seg.saveSummary();
        }
        if (seg.count === 0 && this.segments.length > 0) {
          closeSync(seg.fd);
          unlinkSync(seg.path!);
          rmSync(summaryPath(seg.path!), { force: true });
          continue;
        }
        this.segments.push(seg);
      }
    }
    const last = this.segments.at(-1);
    if (last !== undefined) this.#next = last.next;
    this.#committed = this.#next;
    this.#stagedNext = this.#next;
    if (last === undefined) this.#newSegment();
    this.#lastTs = last?.lastTs ?? 0;
    this.#applyRetention();
    this.#armAgeTimer();
  }

  #recover(seg: Segment): void {
    const total = fstatSync(seg.fd).size;
    seg.durableSize = total;
    let pos = 0;
    let expected = seg.first;
    let buf: Buffer = Buffer.alloc(0);
    let bufAt = 0;
    for (;;) {
      let n = recordAt(buf, pos - bufAt, buf.length);
      if (n === -1) {
        // Not all of it in the buffer: read from its start (at least the whole record).
        const rest = buf.length - (pos - bufAt);
        const want = rest >= 4 ? buf.readUInt32BE(pos - bufAt) + 4 : 0;
        const len = Math.min(Math.max(SCAN_CHUNK, want), total - pos);
        if (len <= rest) break;
        buf = seg.read(pos, len);
        bufAt = pos;
        n = recordAt(buf, 0, buf.length);
      }
      if (n < 0 || recordOffset(buf, pos - bufAt) !== expected) break;
      seg.noteRecord(expected, pos, n, recordTimestamp(buf, pos - bufAt));
      pos += n;
      expected++;
    }
    // A record cut short by a crash (never confirmed: confirms wait for the fsync) goes.
    if (pos < total) ftruncateSync(seg.fd, pos);
    seg.size = pos;
    seg.durableSize = pos;
  }

  #newSegment(): Segment {
    const first = this.#stagedNext;
    const path = this.dir === null ? null : join(this.dir, `${String(first).padStart(20, '0')}.seg`);
    const seg = new Segment(first, path);
    if (path !== null) {
      seg.fd = openSync(path, 'w+');
      // The new file's name must survive a crash too.
      const d = openSync(this.dir!, 'r');
      try {
        fdatasyncSync(d);
      } finally {
        closeSync(d);
      }
    } else {
      seg.mem = Buffer.allocUnsafeSlow(MEM_INITIAL);
    }
    this.segments.push(seg);
    return seg;
  }

  // ---- appending -------------------------------------------------------------------------

  /** Appends a message; returns its offset. Durable (and readable) after a later commit. */
  append(msg: Message, filter: string | null): number {
    const offset = this.#stagedNext;
    let ts = Date.now();
    if (ts < this.#lastTs) ts = this.#lastTs; // timestamps never go back: time lookups bisect
    this.#lastTs = ts;
    const input = { msg, offset, timestamp: ts, filter };
    const { size, header } = recordSize(input);
    let seg = this.segments.at(-1)!;
    if (seg.size > 0 && seg.size + size > this.settings.maxSegmentBytes) seg = this.#roll();
    const pos = seg.size;
    if (seg.mem !== null) {
      if (pos + size > seg.mem.length) {
        const grown = Buffer.allocUnsafeSlow(Math.max(seg.mem.length * 2, pos + size));
        seg.mem.copy(grown, 0, 0, pos);
        seg.mem = grown;
      }
      writeRecord(input, size, header, seg.mem, pos);
    } else {
      if (this.#staging === null) this.#staging = Buffer.allocUnsafeSlow(STAGING);
      if (this.#staged + size > this.#staging.length) this.#writeStaged();
      if (size > this.#staging.length) {
        const own = Buffer.allocUnsafeSlow(size);
        writeRecord(input, size, header, own, 0);
        this.#writeAll(seg, own, pos);
      } else {
        writeRecord(input, size, header, this.#staging, this.#staged);
        this.#staged += size;
      }
    }
    seg.noteRecord(offset, pos, size, ts);
    this.#stagedNext = offset + 1;
    this.#next = offset + 1;
    if (this.dir !== null) {
      this.#batch ??= { done: false, failed: false };
      // A number for every append: a publisher's confirm waits for a write numbered after the
      // ones before its publish (see WriteJoin); all of a batch's numbers pass at its fsync.
      if (this.#join !== null) this.#join.issue(this.#batch);
    }
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      setImmediate(this.#flush);
    }
    return offset;
  }

  #writeAll(seg: Segment, buf: Buffer, pos: number): void {
    let done = 0;
    while (done < buf.length) done += writeSync(seg.fd, buf, done, buf.length - done, pos + done);
  }

  /** Writes the staged records of the last segment to its file. */
  #writeStaged(): void {
    if (this.#staged === 0) return;
    const seg = this.segments.at(-1)!;
    const staging = this.#staging!;
    const from = seg.size - this.#pendingStagedBytes(seg);
    this.#writeAll(seg, staging.subarray(0, this.#staged), from);
    this.#staged = 0;
  }

  /** Bytes of `seg` still in the staging buffer (they are its last ones). */
  #pendingStagedBytes(_seg: Segment): number {
    return this.#staged;
  }

  readonly #flush = (): void => {
    this.#flushQueued = false;
    if (this.#closed) return;
    if (this.dir === null) {
      const last = this.segments.at(-1)!;
      this.#commit(last, this.#next, last.size);
      return;
    }
    try {
      this.#writeStaged();
    } catch (err) {
      this.onError(err);
      return;
    }
    this.#startSync();
  };

  #startSync(): void {
    if (this.#syncing || this.#batch === null) return;
    const batch = this.#batch;
    this.#batch = null;
    const seg = this.segments.at(-1)!;
    const upTo = this.#next;
    const upToPos = seg.size;
    this.#syncing = true;
    fdatasync(seg.fd, (err) => {
      this.#syncing = false;
      batch.done = true;
      // Closed or deleted meanwhile: close() synced what was written; a deleted stream is gone.
      if (this.#closed) return;
      if (err) {
        batch.failed = true;
        this.onError(err);
      } else if (!seg.removed) {
        this.#commit(seg, upTo, upToPos);
      }
      this.#join?.settled();
      if (this.#batch !== null && !this.#flushQueued && !this.#closed) this.#startSync();
    });
  }

  /** Everything before `upTo` (ending in `seg` at `pos`) is durable: readers may read it. */
  #commit(seg: Segment, upTo: number, pos: number): void {
    if (upTo <= this.#committed) return;
    // Segments rolled before this one were synced when they rolled.
    for (const s of this.segments) {
      if (s === seg) break;
      s.durableSize = s.size;
    }
    seg.durableSize = pos;
    this.#committed = upTo;
    this.onCommitted();
  }

  /** Closes the last segment (made durable first) and starts the next. */
  #roll(): Segment {
    const seg = this.segments.at(-1)!;
    if (seg.mem === null) {
      this.#writeStaged();
      fdatasyncSync(seg.fd);
      seg.saveSummary();
    } else {
      seg.mem = seg.mem.subarray(0, seg.size);
    }
    const next = this.#newSegment();
    this.#applyRetention();
    return next;
  }

  // ---- retention -------------------------------------------------------------------------

  /** Removes whole segments, oldest first, past the size or age limit (the last one stays). */
  #applyRetention(): void {
    for (let n = segmentsPastRetention(this.segments, this.bytes, this.settings, Date.now()); n > 0; n--) {
      this.#removeOldest();
    }
  }

  /** New size and age limits (a policy changed): applied at once, the age timer re-armed. */
  setRetention(maxBytes: number | null, maxAgeMs: number | null): void {
    if (maxBytes === this.settings.maxBytes && maxAgeMs === this.settings.maxAgeMs) return;
    this.settings = { ...this.settings, maxBytes, maxAgeMs };
    if (this.#closed) return;
    if (this.#ageTimer !== null) clearInterval(this.#ageTimer);
    this.#ageTimer = null;
    this.#armAgeTimer();
    this.#applyRetention();
  }

  #removeOldest(): void {
    const seg = this.segments.shift()!;
    seg.removed = true;
    if (seg.fd >= 0) {
      closeSync(seg.fd);
      seg.fd = -1;
      // The segment first: a crash in between leaves a summary alone, which open() removes.
      unlinkSync(seg.path!);
      rmSync(summaryPath(seg.path!), { force: true });
    }
    seg.mem = null;
  }

  #armAgeTimer(): void {
    const age = this.settings.maxAgeMs;
    if (age === null) return;
    // Age is checked on each roll and on this coarse timer (a quiet stream ages too).
    this.#ageTimer = setInterval(() => this.#applyRetention(), ageCheckIntervalMs(age));
    this.#ageTimer.unref();
  }

  // ---- reading ---------------------------------------------------------------------------

  segmentOf(offset: number): Segment | undefined {
    return segmentOf(this.segments, offset);
  }

  locate(offset: number, limit?: number): Located | undefined {
    return locate(this.segments, offset, limit);
  }

  locateTime(ts: number): Located | undefined {
    return locateTime(this.segments, ts);
  }

  // ---- closing ---------------------------------------------------------------------------

  /** Writes and fsyncs what is staged, then closes the files. */
  close(): void {
    if (this.#closed) return;
    try {
      this.#writeStaged();
      const last = this.segments.at(-1);
      if (last !== undefined && last.fd >= 0) {
        fdatasyncSync(last.fd);
        // A clean restart then reads no segment at all.
        last.saveSummary();
      }
      if (this.#batch !== null) {
        this.#batch.done = true;
        this.#batch = null;
        this.#join?.settled();
      }
    } finally {
      this.#closed = true;
      if (this.#ageTimer !== null) clearInterval(this.#ageTimer);
      for (const s of this.segments) if (s.fd >= 0) closeSync(s.fd);
      for (const s of this.segments) s.fd = -1;
    }
  }

  /** The stream was deleted: its files close (StreamEnv.dropLog removes its folder). */
  destroy(): void {
    this.#closed = true;
    if (this.#ageTimer !== null) clearInterval(this.#ageTimer);
    for (const s of this.segments) {
      s.removed = true;
      if (s.fd >= 0) closeSync(s.fd);
      s.fd = -1;
      s.mem = null;
    }
    if (this.#batch !== null) {
      this.#batch.done = true;
      this.#join?.settled();
    }
  }
}
