// What every stream of one broker shares: the directory their logs live in (`streams/` in the
// data directory, one folder per stream named by a hash of vhost and name, with a stream.json
// saying which), the write sequence their fsyncs join (WriteJoin), and the hooks (StreamHooks)
// other features plug in. Without a data directory, logs are kept in memory.

import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import { fieldInteger } from '../codec/field-table.js';
import { fieldString } from '../codec/field-table.js';
import { parseAge } from './arguments.js';
import { StreamLog } from './log.js';
import { segmentBytes, type StreamHooks, type StreamQueue } from './stream-queue.js';
import type { WriteJoin } from './write-join.js';

/** Segment size when x-max-length-bytes is set and x-stream-max-segment-size-bytes is not. */
const MIN_SEGMENT = 1024 * 1024;

export class StreamEnv {
  /** null: logs in memory. */
  readonly dir: string | null;
  readonly join: WriteJoin | null;
  hooks: StreamHooks = {};
  readonly #logs = new Map<StreamQueue, StreamLog>();

  constructor(dataDir: string | null, join: WriteJoin | null) {
    this.dir = dataDir === null ? null : joinPath(dataDir, 'streams');
    this.join = join;
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
  openLog(q: StreamQueue, fresh: boolean): StreamLog {
    const dir = this.folderOf(q.vhost, q.name);
    if (dir !== null) {
      if (fresh) rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      if (fresh) writeFileSync(joinPath(dir, 'stream.json'), JSON.stringify({ vhost: q.vhost, name: q.name }) + '\n');
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
    // Whole segments are removed: with the default 500 MB segments a 1 GiB limit could hold
    // 1.5 GiB. Unless the client chose a size, a segment is a tenth of the limit.
    if (maxBytes !== null && !args.has('x-stream-max-segment-size-bytes')) segment = Math.min(segment, Math.max(MIN_SEGMENT, Math.floor(maxBytes / 10)));
    const log = new StreamLog(dir, { maxSegmentBytes: segment, maxBytes, maxAgeMs }, this.join);
    log.open();
    this.#logs.set(q, log);
    return log;
  }

  /** The stream was deleted: its files go. */
  dropLog(q: StreamQueue): void {
    const log = this.#logs.get(q);
    if (log === undefined) return;
    this.#logs.delete(q);
    log.destroy();
  }

  /** Shutdown: every log writes and fsyncs what it holds. */
  closeAll(): void {
    for (const log of this.#logs.values()) log.close();
    this.#logs.clear();
  }
}
