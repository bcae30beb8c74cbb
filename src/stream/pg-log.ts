// A stream's log kept in PostgreSQL, with the PostgreSQL store (`--store postgres://`), so a
// node that takes over after a failover serves the stream whole: its records are rows of
// warren.stream_chunks, written in the store's own batches (one transaction per batch, the
// lease epoch checked in it, synchronous_commit on), never in local files.
//
// Records are laid out as in a segment file (record.ts) and batched into chunks: appends go
// to the open chunk, which the store seals when it takes its next batch out, so one chunk
// holds what one batch commits (at most CHUNK_MAX; more starts another chunk). The chunk's
// op counts as a store write from the first append into it, so a publisher's confirm waits
// for the transaction that holds its record. Readers see a chunk once that transaction
// committed. Segments are logical here (a run of chunks, the unit retention removes with one
// DELETE); positions are byte positions in the stream, so a segment's bytes are read by range:
// the newest committed chunks (KEEP bytes) are kept in memory for readers at the head, older
// ones are fetched READ_BATCH bytes at a time, never the whole stream.

import type { Message } from '../message.js';
import type { QueueKey, StreamChunk, StreamChunkStore, StreamChunkWrite } from '../store/store.js';
import { recordSize, writeRecord } from './record.js';
import { locate, locateTime, logStats, Segment, segmentOf, segmentsBytes, type Located, type LogSettings, type LogStats, type StreamLogApi } from './segment.js';
import { ageCheckIntervalMs, segmentsPastRetention } from './retention.js';

/** A chunk is sealed at this size even before its batch goes (a row stays a bounded bytea). */
const CHUNK_MAX = 1024 * 1024;
/** A chunk's buffer starts at this size and doubles. */
const CHUNK_INITIAL = 16 * 1024;
/** Committed chunk bytes kept in memory for readers near the head. */
const KEEP = 4 * 1024 * 1024;
/** Bytes fetched from PostgreSQL per read at least (a reader's next blocks come with it). */
const READ_BATCH = 512 * 1024;
/** Ranges read ahead per log at most (one per reader far behind, the oldest dropped). */
const AHEAD_MAX = 4;
const EMPTY = Buffer.alloc(0);

class PgSegment extends Segment {
  /** Byte position of the segment's start in the stream. */
  readonly base: number;
  readonly #log: PgStreamLog;

  constructor(first: number, base: number, log: PgStreamLog) {
    super(first, null);
    this.base = base;
    this.#log = log;
  }

  override read(pos: number, len: number): Buffer {
    return this.#log.readAt(this, pos, len);
  }
}

/** One chunk: filled by appends until sealed, then a row. */
class Chunk implements StreamChunkWrite {
  readonly queue: QueueKey;
  readonly log: PgStreamLog;
  readonly seg: PgSegment;
  /** Byte position in its segment. */
  readonly pos: number;
  readonly firstOffset: number;
  buf: Buffer;
  used = 0;
  count = 0;
  firstTs = 0;
  lastTs = 0;
  sealed: StreamChunk | null = null;
  committed = false;

  constructor(log: PgStreamLog, queue: QueueKey, seg: PgSegment, pos: number, firstOffset: number, size: number) {
    this.log = log;
    this.queue = queue;
    this.seg = seg;
    this.pos = pos;
    this.firstOffset = firstOffset;
    this.buf = Buffer.allocUnsafeSlow(Math.max(CHUNK_INITIAL, size));
  }

  /** The end of the chunk in its segment. */
  get end(): number {
    return this.pos + this.used;
  }

  room(size: number): void {
    if (this.used + size <= this.buf.length) return;
    let n = this.buf.length * 2;
    while (n < this.used + size) n *= 2;
    const grown = Buffer.allocUnsafeSlow(n);
    this.buf.copy(grown, 0, 0, this.used);
    this.buf = grown;
  }

  seal(): StreamChunk | null {
    if (this.log.destroyed) return null;
    if (this.sealed === null) {
      // A buffer mostly empty is not kept as it is (a chunk of one small record, say).
      const records = this.used * 2 < this.buf.length ? Buffer.from(this.buf.subarray(0, this.used)) : this.buf.subarray(0, this.used);
      this.buf = records;
      this.sealed = {
        pos: this.seg.base + this.pos,
        segment: this.seg.first,
        firstOffset: this.firstOffset,
        lastOffset: this.firstOffset + this.count - 1,
        firstTs: this.firstTs,
        lastTs: this.lastTs,
        records,
      };
      this.log.chunkSealed(this);
    }
    return this.sealed;
  }

  settled(ok: boolean): void {
    if (ok) this.log.chunkCommitted(this);
  }
}

export class PgStreamLog implements StreamLogApi {
  readonly baseSettings: LogSettings;
  settings: LogSettings;
  readonly segments: PgSegment[] = [];
  readonly #store: StreamChunkStore;
  readonly #queue: QueueKey;
  #next = 0;
  #committed = 0;
  #lastTs = 0;
  /** The chunk appends go to (null: the next append starts one). */
  #open: Chunk | null = null;
  /** Sealed and open chunks, oldest first: those not committed, and the newest committed ones (KEEP bytes). */
  #recent: Chunk[] = [];
  #recentHead = 0;
  #recentCommittedBytes = 0;
  #ageTimer: NodeJS.Timeout | null = null;
  /** Reads ahead in flight, by the stream position they start at. */
  readonly #ahead = new Map<number, { take(): { pos: number; records: Buffer }[]; drop(): void }>();
  destroyed = false;
  onCommitted: () => void = () => {};
  onError: (err: unknown) => void = () => {};

  constructor(queue: QueueKey, settings: LogSettings, store: StreamChunkStore) {
    this.#queue = queue;
    this.baseSettings = settings;
    this.settings = settings;
    this.#store = store;
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

  /** Reads the segments' summaries back from PostgreSQL (a stream declared just now has none). */
  open(fresh = false): void {
    const layout = fresh ? { segments: [], index: [] } : this.#store.loadStreamLayout(this.#queue);
    let i = 0;
    for (const [first, base, size, count, firstTs, lastTs] of layout.segments) {
      const idxOffset: number[] = [];
      const idxPos: number[] = [];
      const idxTs: number[] = [];
      while (i < layout.index.length && layout.index[i]![0] < first) i++;
      for (; i < layout.index.length && layout.index[i]![0] === first; i++) {
        const [, pos, offset, ts] = layout.index[i]!;
        idxOffset.push(offset);
        idxPos.push(pos - base);
        idxTs.push(ts);
      }
      const seg = new PgSegment(first, base, this);
      seg.restore({ first, count, size, firstTs, lastTs, idxOffset, idxPos, idxTs });
      this.segments.push(seg);
    }
    const last = this.segments.at(-1);
    this.#next = last?.next ?? 0;
    this.#committed = this.#next;
    this.#lastTs = last?.lastTs ?? 0;
    if (last === undefined) this.segments.push(new PgSegment(0, 0, this));
    this.#applyRetention();
    this.#armAgeTimer();
  }

  // ---- appending -------------------------------------------------------------------------

  append(msg: Message, filter: string | null): number {
    const offset = this.#next;
    let ts = Date.now();
    if (ts < this.#lastTs) ts = this.#lastTs; // timestamps never go back: time lookups bisect
    this.#lastTs = ts;
    const input = { msg, offset, timestamp: ts, filter };
    const { size, header } = recordSize(input);
    let seg = this.segments.at(-1)!;
    if (seg.size > 0 && seg.size + size > this.settings.maxSegmentBytes) seg = this.#roll();
    let c = this.#open;
    if (c === null || c.seg !== seg || (c.used > 0 && c.used + size > CHUNK_MAX)) {
      c?.seal();
      c = new Chunk(this, this.#queue, seg, seg.size, offset, size);
      this.#open = c;
      this.#recent.push(c);
      // A store write from now on: confirms of what goes into this chunk wait for its batch.
      this.#store.appendStreamChunk(c);
    }
    c.room(size);
    writeRecord(input, size, header, c.buf, c.used);
    if (c.count === 0) c.firstTs = ts;
    c.lastTs = ts;
    c.count++;
    c.used += size;
    seg.noteRecord(offset, seg.size, size, ts);
    this.#next = offset + 1;
    this.#store.noteStreamBytes(size);
    return offset;
  }

  /** The store took the chunk out (or it filled up): appends go to a new one. */
  chunkSealed(c: Chunk): void {
    if (this.#open === c) this.#open = null;
  }

  /** The chunk's transaction committed: its records (and all before them) are readable. */
  chunkCommitted(c: Chunk): void {
    if (this.destroyed || c.committed) return;
    c.committed = true;
    this.#recentCommittedBytes += c.used;
    this.#dropRecent();
    const upTo = c.firstOffset + c.count;
    if (upTo <= this.#committed) return;
    // Chunks commit in order: every segment before this one is durable whole.
    for (const s of this.segments) {
      if (s === c.seg) break;
      s.durableSize = s.size;
    }
    if (c.end > c.seg.durableSize) c.seg.durableSize = c.end;
    this.#committed = upTo;
    this.onCommitted();
  }

  /** Keeps only KEEP bytes of committed chunks in memory (uncommitted ones always stay). */
  #dropRecent(): void {
    const r = this.#recent;
    while (this.#recentHead < r.length && this.#recentCommittedBytes > KEEP) {
      const c = r[this.#recentHead]!;
      if (!c.committed) break;
      this.#recentCommittedBytes -= c.used;
      r[this.#recentHead++] = undefined as unknown as Chunk;
    }
    if (this.#recentHead > 1024 && this.#recentHead * 2 > r.length) {
      this.#recent = r.slice(this.#recentHead);
      this.#recentHead = 0;
    }
  }

  /** Seals the last segment's chunk and starts the next segment. */
  #roll(): PgSegment {
    const seg = this.segments.at(-1)!;
    if (this.#open !== null && this.#open.seg === seg) this.#open.seal();
    const next = new PgSegment(this.#next, seg.base + seg.size, this);
    this.segments.push(next);
    this.#applyRetention();
    return next;
  }

  // ---- retention -------------------------------------------------------------------------

  #applyRetention(): void {
    for (let n = segmentsPastRetention(this.segments, this.bytes, this.settings, Date.now()); n > 0; n--) {
      this.#removeOldest();
    }
  }

  setRetention(maxBytes: number | null, maxAgeMs: number | null): void {
    if (maxBytes === this.settings.maxBytes && maxAgeMs === this.settings.maxAgeMs) return;
    this.settings = { ...this.settings, maxBytes, maxAgeMs };
    if (this.destroyed) return;
    if (this.#ageTimer !== null) clearInterval(this.#ageTimer);
    this.#ageTimer = null;
    this.#armAgeTimer();
    this.#applyRetention();
  }

  #removeOldest(): void {
    const seg = this.segments.shift()!;
    seg.removed = true;
    // One DELETE of the segment's chunks, in the store's next batch (after their inserts).
    this.#store.trimStream(this.#queue, this.segments[0]!.base);
  }

  #armAgeTimer(): void {
    const age = this.settings.maxAgeMs;
    if (age === null) return;
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

  /**
   * Durable bytes of `seg` from `pos`: a view of a chunk kept in memory (to its end at most),
   * or what one query fetches (at least READ_BATCH bytes, whole chunks, up to the durable end).
   * A fetch starts reading the next range ahead (in the store's thread, while this one is
   * delivered), which the reader's next read takes.
   */
  readAt(seg: PgSegment, pos: number, len: number): Buffer {
    const end = Math.min(pos + len, seg.durableSize);
    if (end <= pos) return EMPTY;
    const c = this.#recentAt(seg, pos);
    if (c !== null) return c.buf.subarray(pos - c.pos, Math.min(c.used, end - c.pos));
    const from = seg.base + pos;
    const ahead = this.#ahead.get(from);
    let rows: { pos: number; records: Buffer }[];
    if (ahead !== undefined) {
      this.#ahead.delete(from);
      rows = ahead.take();
    } else {
      rows = this.#store.readStreamChunks(this.#queue, from, seg.base + Math.min(seg.durableSize, Math.max(end, pos + READ_BATCH)));
    }
    if (rows.length > 0) this.#readAhead(seg, rows.at(-1)!);
    if (rows.length === 0 || rows[0]!.pos > from) throw new Error(`stream '${this.#queue.name}' in vhost '${this.#queue.vhost}': no chunk in PostgreSQL holds byte ${from}`);
    const last = rows.at(-1)!;
    const stop = Math.min(last.pos + last.records.length, seg.base + seg.durableSize);
    if (rows.length === 1) return last.records.subarray(from - last.pos, stop - last.pos);
    const out = Buffer.allocUnsafeSlow(stop - from);
    let w = 0;
    for (const r of rows) {
      const a = Math.max(from, r.pos) - r.pos;
      const b = Math.min(stop, r.pos + r.records.length) - r.pos;
      if (b > a) w += r.records.copy(out, w, a, b);
    }
    return out.subarray(0, w);
  }

  /** Starts reading the range after `last` (a chunk just fetched) ahead, within the segment's durable bytes. */
  #readAhead(seg: PgSegment, last: { pos: number; records: Buffer }): void {
    const at = last.pos + last.records.length;
    const end = seg.base + seg.durableSize;
    if (at >= end || this.#ahead.has(at)) return;
    // What is still in memory needs no query.
    if (this.#recentAt(seg, at - seg.base) !== null) return;
    if (this.#ahead.size >= AHEAD_MAX) {
      const [oldest, r] = this.#ahead.entries().next().value!;
      r.drop();
      this.#ahead.delete(oldest);
    }
    this.#ahead.set(at, this.#store.readStreamChunksAhead(this.#queue, at, Math.min(end, at + READ_BATCH)));
  }

  /** The committed chunk in memory holding `pos` of `seg`, or null. */
  #recentAt(seg: PgSegment, pos: number): Chunk | null {
    const r = this.#recent;
    let lo = this.#recentHead;
    let hi = r.length - 1;
    if (lo > hi) return null;
    const abs = seg.base + pos;
    if (abs < r[lo]!.seg.base + r[lo]!.pos) return null;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (r[mid]!.seg.base + r[mid]!.pos <= abs) lo = mid;
      else hi = mid - 1;
    }
    const c = r[lo]!;
    return c.committed && c.seg === seg && pos < c.end ? c : null;
  }

  // ---- closing ---------------------------------------------------------------------------

  /** Shutdown: chunks not yet written go with the store's last batches (the store waits for them). */
  close(): void {
    if (this.#ageTimer !== null) clearInterval(this.#ageTimer);
    this.#ageTimer = null;
    for (const r of this.#ahead.values()) r.drop();
    this.#ahead.clear();
  }

  /** The stream was deleted: its chunks go with the queue's deletion (same transaction). */
  destroy(): void {
    this.destroyed = true;
    this.close();
    for (const s of this.segments) s.removed = true;
    this.#recent = [];
    this.#recentHead = 0;
  }
}

