// What every stream of one broker shares: the directory their logs live in (`streams/` in the
// data directory, one folder per stream named by a hash of vhost and name, with a stream.json
// saying which), the write sequence their fsyncs join (WriteJoin), and the hooks (StreamHooks)
// other features plug in. Without a data directory, logs are kept in memory. With a store
// that keeps streams itself (PostgreSQL), logs are chunks in it (pg-log.ts) and no folder is used.
// A deleted stream's folder is renamed aside at once (`<folder>.deleted-<ms>-<n>`, one atomic step)
// and removed once the store has made the queue's deletion durable. A crash before that brings
// the stream back with its folder; at start, sweep() removes what a crash left: renamed-aside
// folders and folders of streams that no longer exist.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rm, rmSync, writeFileSync } from 'node:fs';
import { basename, join as joinPath } from 'node:path';
import { fieldInteger } from '../codec/field-table.js';
import { fieldString } from '../codec/field-table.js';
import { parseAge, segmentBytes } from './arguments.js';
import { keepsStreams, type StreamChunkStore } from '../store/store.js';
import { StreamLog } from './log.js';
import { PgStreamLog } from './pg-log.js';
import type { StreamLogApi } from './segment.js';
import type { StreamHooks, StreamQueue } from './stream-queue.js';
import type { WriteJoin } from './write-join.js';

/** Segment size when x-max-length-bytes is set and x-stream-max-segment-size-bytes is not. */
const MIN_SEGMENT = 1024 * 1024;
/** A stream folder renamed aside on deletion, waiting for the deletion to be durable. */
const DELETED = /^([0-9a-f]{32})\.deleted-\d{13}-\d{6}$/;

export class StreamEnv {
  /** null: logs in memory, or in the store (`chunks`). */
  readonly dir: string | null;
  readonly join: WriteJoin | null;
  /** The store, when it keeps streams' records (PostgreSQL). */
  readonly chunks: StreamChunkStore | null;
  hooks: StreamHooks = {};
  readonly #logs = new Map<StreamQueue, StreamLogApi>();
  /** Folders renamed aside, each removed once the store's write `seq` (the queue's deletion) is durable. */
  readonly #deleting: { path: string; seq: number }[] = [];
  #deletedSeq = 0;

  constructor(dataDir: string | null, join: WriteJoin | null) {
    this.chunks = join !== null && keepsStreams(join.inner) ? join.inner : null;
    this.dir = dataDir === null || this.chunks !== null ? null : joinPath(dataDir, 'streams');
    this.join = join;
    join?.onDurable((durable) => this.#removeDeleted(durable));
  }

  get streams(): IterableIterator<StreamQueue> {
    return this.#logs.keys();
  }

  /** The folder of a stream's segments. */
  folderOf(vhost: string, name: string): string | null {
    if (this.dir === null) return null;
    return joinPath(this.dir, createHash('sha256').update(vhost).update('\0').update(name).digest('hex').slice(0, 32));
  }

  /** Opens (restored) or creates (fresh: any leftover files go) the log of a stream. */
  openLog(q: StreamQueue, fresh: boolean): StreamLogApi {
    const dir = this.folderOf(q.vhost, q.name);
    if (dir !== null) {
      if (fresh) rmSync(dir, { recursive: true, force: true });
      // The store still has the stream, so its deletion never became durable: it comes back whole.
      else if (!existsSync(dir)) this.#undelete(dir);
      mkdirSync(dir, { recursive: true });
      if (fresh || !existsSync(joinPath(dir, 'stream.json'))) writeFileSync(joinPath(dir, 'stream.json'), JSON.stringify({ vhost: q.vhost, name: q.name }) + '\n');
    }
    const args = q.arguments;
    const maxBytes = fieldInteger(args.get('x-max-length-bytes')) ?? null;
    const age = fieldString(args.get('x-max-age'));
    let maxAgeMs: number | null = null;
    if (age !== undefined) {
      try {
        maxAgeMs = parseAge(age);
      } catch {
        maxAgeMs = null;
      }
    }
    let segment = segmentBytes(args);
    // Whole segments are removed, when one fills up: with the default 500 MB segments a 1 GiB
    // limit could hold 1.5 GiB. Unless the client chose a size, a segment is a twentieth of the
    // limit, so the stream holds at most 105 % of it (a tenth came to 1.1004 × 1 GiB with the
    // summary files: bench/results/streams-20261204-b.md).
    if (maxBytes !== null && !args.has('x-stream-max-segment-size-bytes')) segment = Math.min(segment, Math.max(MIN_SEGMENT, Math.floor(maxBytes / 20)));
    const settings = { maxSegmentBytes: segment, maxBytes, maxAgeMs };
    let log: StreamLogApi;
    if (this.chunks !== null) {
      const pg = new PgStreamLog(q, settings, this.chunks);
      pg.open(fresh);
      log = pg;
    } else {
      log = new StreamLog(dir, settings, this.join);
      log.open();
    }
    this.#logs.set(q, log);
    return log;
  }

  /** The stream was deleted (the store told already): its files go once that is durable. */
  dropLog(q: StreamQueue): void {
    const log = this.#logs.get(q);
    if (log === undefined) return;
    this.#logs.delete(q);
    log.destroy();
    if (!(log instanceof StreamLog) || log.dir === null || !existsSync(log.dir)) return;
    const aside = `${log.dir}.deleted-${Date.now()}-${String(++this.#deletedSeq % 1e6).padStart(6, '0')}`;
    try {
      renameSync(log.dir, aside);
    } catch {
      // Cannot rename (permissions, say): remove it in place, as before the set-aside existed.
      rm(log.dir, { recursive: true, force: true }, () => {});
      return;
    }
    const seq = this.join?.writeSeq ?? 0;
    this.#deleting.push({ path: aside, seq });
    this.#removeDeleted(this.join?.durableSeq ?? seq);
  }

  #removeDeleted(durable: number): void {
    while (this.#deleting.length > 0 && this.#deleting[0]!.seq <= durable) {
      const { path } = this.#deleting.shift()!;
      rm(path, { recursive: true, force: true }, () => {});
    }
  }

  /** Renames the newest folder set aside for `dir` back. */
  #undelete(dir: string): void {
    const hash = basename(dir);
    let newest: string | undefined;
    if (!existsSync(this.dir!)) return;
    for (const f of readdirSync(this.dir!)) {
      const m = DELETED.exec(f);
      if (m !== null && m[1] === hash && (newest === undefined || f > newest)) newest = f;
    }
    if (newest !== undefined) renameSync(joinPath(this.dir!, newest), dir);
  }

  /**
   * At start, after every stream was restored: removes what a crash left in the streams folder
   * (folders set aside by a deletion, folders of streams that no longer exist). Returns their names.
   */
  sweep(): string[] {
    if (this.dir === null || !existsSync(this.dir)) return [];
    const open = new Set<string>();
    for (const log of this.#logs.values()) if (log instanceof StreamLog && log.dir !== null) open.add(basename(log.dir));
    const removed: string[] = [];
    for (const f of readdirSync(this.dir)) {
      if (open.has(f)) continue;
      rmSync(joinPath(this.dir, f), { recursive: true, force: true });
      removed.push(f);
    }
    return removed;
  }

  /** Shutdown: every log writes and fsyncs what it holds. */
  closeAll(): void {
    for (const log of this.#logs.values()) log.close();
    this.#logs.clear();
  }
}
