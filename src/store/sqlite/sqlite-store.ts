// The durable store: SQLite in the data directory, written by a worker thread.
//
// The write side (grouped batches, cancelled writes, confirms) is BatchedStore's; here the
// batches go to worker.ts, which commits each in one transaction and one fsync. Reads
// (start-up, and bodies of a long backlog read back on demand) run on this thread; WAL lets
// them go on beside the writer.

import Database from 'better-sqlite3';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { Message } from '../../message.js';
import { BatchedStore, type BatchReply } from '../batched-store.js';
import { DataDirLock, prepareDataDir, StoreOpenError } from '../data-dir.js';
import type { Definitions, QueueKey, ReaderOffsetRecord, StoredEntry } from '../store.js';
import { readDefinitions, readReaderOffsets } from './definitions.js';
import type { ScheduledReads, ScheduledRow } from '../scheduled.js';
import { PackedReader } from './packed-read.js';
import { SoloReader } from './solo-read.js';
import { DB_FILE, openDatabase } from './schema.js';
import type { WorkerInit } from './worker.js';
import { workerScript } from '../worker-script.js';

export interface SqliteStoreOptions {
  /** Create the directory if it is missing (the default location); otherwise it must exist. */
  readonly createDir?: boolean;
  /** Cap on the database file size in bytes (0: none); beyond it writes fail as on a full disk. */
  readonly maxBytes?: number;
  /**
   * A bug in handling a commit, or the writer thread dying: the store's state is unknown.
   * `warren start` exits on it (cli/run-broker.ts); without it the error is logged.
   */
  readonly fatal?: (err: unknown, what: string) => void;
  /** --store-ack-wait: how long a batch of delivered inserts may wait for their acks (ms; 0: never). */
  readonly ackWaitMs?: number;
}

/** A range read may pass over up to this many other rows per message wanted. */
const RANGE_SPAN = 4;

function ascending(ids: readonly number[]): boolean {
  for (let i = 1; i < ids.length; i++) if (ids[i]! <= ids[i - 1]!) return false;
  return true;
}

export class SqliteStore extends BatchedStore {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #lock: DataDirLock;
  readonly #worker: Worker;
  readonly #readMessage: Database.Statement;
  readonly #readRange: PackedReader;
  readonly #solo: SoloReader;
  readonly #loadEntries: Database.Statement;
  readonly #count: Database.Statement;

  private constructor(path: string, db: Database.Database, lock: DataDirLock, worker: Worker, log: Logger, fatal: ((err: unknown, what: string) => void) | null, ackWaitMs?: number) {
    const maxQ = db.prepare('SELECT max(id) FROM queues').pluck().get() as number | null;
    // One sequence of ids for both tables a message can be in.
    const maxM = db.prepare('SELECT max(m) FROM (SELECT max(id) AS m FROM messages UNION ALL SELECT max(id) FROM solo_entries)').pluck().get() as number | null;
    const queues = db.prepare('SELECT id, vhost, name FROM queues').all() as { id: number; vhost: string; name: string }[];
    super({ queues, maxQueueId: maxQ ?? 0, maxMessageId: maxM ?? 0 }, scheduledReads(db), log, fatal, ackWaitMs);
    this.path = path;
    this.#db = db;
    this.#lock = lock;
    this.#worker = worker;
    this.#readMessage = db.prepare('SELECT exchange, routing_key, header, body FROM messages WHERE id = ?').raw();
    this.#readRange = new PackedReader(db);
    this.#solo = new SoloReader(db);
    // A queue's entries in both layouts (schema.ts), merged by seq: SQLite merges the two
    // index-ordered halves of a compound ORDER BY as it goes, without sorting them first, and
    // solo_entries' half reads only its index (and solo_marks), never the messages' pages.
    this.#loadEntries = db
      .prepare(
        'SELECT seq, msg_id, delivered, size, multi, priority, expires_at, delivery_count FROM entries WHERE queue_id = ? ' +
          'UNION ALL SELECT s.seq, s.id, m.id IS NOT NULL, s.size, 0, s.priority, s.expires_at, coalesce(m.delivery_count, 0) ' +
          'FROM solo_entries s LEFT JOIN solo_marks m ON m.id = s.id WHERE s.queue_id = ? ORDER BY 1',
      )
      .raw();
    this.#count = db.prepare('SELECT (SELECT count(*) FROM entries WHERE queue_id = ?) + (SELECT count(*) FROM solo_entries WHERE queue_id = ?)').pluck();
    worker.on('message', (reply: BatchReply | 'closed') => {
      if (reply !== 'closed') this.handleReply(reply);
    });
    worker.on('error', (err) => this.fail(err, 'store writer thread failed'));
  }

  /** Opens the store in `dataDir`: checks the directory, takes its lock, opens and validates the database. */
  static open(dataDir: string, log: Logger, options: SqliteStoreOptions = {}): SqliteStore {
    const dir = prepareDataDir(dataDir, options.createDir ?? false);
    const lock = DataDirLock.acquire(dir);
    try {
      const path = join(dir, DB_FILE);
      const db = openDatabase(path);
      const init: WorkerInit = { path, maxBytes: options.maxBytes ?? 0 };
      const worker = new Worker(workerScript(import.meta.url, 'worker.js'), { workerData: init });
      worker.unref();
      return new SqliteStore(path, db, lock, worker, log.child({ component: 'store' }), options.fatal ?? null, options.ackWaitMs);
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  loadDefinitions(): Definitions {
    try {
      return readDefinitions(this.#db);
    } catch (e) {
      throw new StoreOpenError(`cannot read ${this.path} (${(e as Error).message}); restore it from a backup or move it away`);
    }
  }

  loadReaderOffsets(): ReaderOffsetRecord[] {
    return readReaderOffsets(this.#db);
  }

  *loadEntries(queue: QueueKey): Iterable<StoredEntry> {
    const q = this.queueId(queue);
    if (q === 0) return;
    const rows = this.#loadEntries.iterate(q, q) as IterableIterator<[number, number, number, number, number, number, number, number]>;
    for (const r of rows) {
      yield { seq: r[0], storeId: r[1], delivered: r[2] !== 0, size: r[3], multi: r[4] !== 0, priority: r[5], expiresAt: r[6], deliveryCount: r[7] };
    }
  }

  protected readStoredMessage(storeId: number): Message | undefined {
    const solo = this.#solo.readOne(storeId);
    if (solo !== undefined) return solo;
    const row = this.#readMessage.get(storeId) as [string, string, Buffer, Buffer] | undefined;
    if (row === undefined) return undefined;
    const msg = new Message(row[0], row[1], row[2], row[3]);
    msg.storeId = storeId;
    return msg;
  }

  /**
   * A backlog's next bodies: ids in ascending order and close together (a queue's own messages,
   * stored in publish order) are read with one range query (packed-read.ts), the rows between
   * that belong to other queues skipped; otherwise one query each.
   */
  protected override readStoredMessages(storeIds: readonly number[]): (Message | undefined)[] {
    const n = storeIds.length;
    const first = storeIds[0];
    const last = storeIds[n - 1];
    if (n < 2 || first === undefined || last === undefined || !ascending(storeIds) || last - first >= RANGE_SPAN * n) {
      return super.readStoredMessages(storeIds);
    }
    const out = new Array<Message | undefined>(n).fill(undefined);
    this.#solo.read(storeIds, out);
    // Those not held by one queue alone (or written before schema 5) are in the messages table.
    let lo = 0;
    let hi = n - 1;
    while (lo <= hi && out[lo] !== undefined) lo++;
    while (hi >= lo && out[hi] !== undefined) hi--;
    if (lo < hi) this.#readRange.read(lo === 0 && hi === n - 1 ? storeIds : storeIds.slice(lo, hi + 1), out, lo);
    // Messages larger than PACKED_ROW_MAX are not in the packed values (and missing ones stay so).
    for (let k = 0; k < n; k++) if (out[k] === undefined) out[k] = this.readStoredMessage(storeIds[k]!);
    return out;
  }

  countMessages(queue: QueueKey): number {
    const q = this.queueId(queue);
    return q === 0 ? 0 : (this.#count.get(q, q) as number);
  }

  protected sendBatch(id: number, buffer: ArrayBuffer, length: number): void {
    this.#worker.postMessage({ id, buffer, length }, [buffer]);
  }

  protected async release(): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = (m: unknown): void => {
        if (m === 'closed') {
          this.#worker.off('message', done);
          resolve();
        }
      };
      this.#worker.on('message', done);
      this.#worker.postMessage('close');
    });
    await this.#worker.terminate();
    this.#db.close();
    this.#lock.release();
  }
}

/** The `delayed` table, read on this thread. */
function scheduledReads(db: Database.Database): ScheduledReads {
  const load = db
    .prepare(
      'SELECT id, due_at, message FROM delayed WHERE vhost = ? AND exchange = ? AND due_at >= ? AND (due_at > ? OR id > ?) AND id >= ? ' +
        'ORDER BY due_at, id LIMIT ?',
    )
    .raw();
  const count = db.prepare('SELECT count(*) FROM delayed WHERE vhost = ? AND exchange = ? AND id >= ?').pluck();
  const owner = db.prepare('SELECT vhost, exchange FROM delayed WHERE id = ?').raw();
  return {
    page: (vhost, exchange, fromDue, fromId, below, limit) => load.all(vhost, exchange, fromDue, fromDue, fromId, below, limit) as ScheduledRow[],
    // One read transaction: the writer may commit meanwhile, the snapshot stays the same.
    count: (vhost, exchange, below, candidates) =>
      db.transaction(() => {
        const owned = new Set<number>();
        for (const id of candidates) {
          const row = owner.get(id) as [string, string] | undefined;
          if (row !== undefined && row[0] === vhost && row[1] === exchange && id >= below) owned.add(id);
        }
        return { count: count.get(vhost, exchange, below) as number, owned };
      })(),
    maxId: () => (db.prepare('SELECT max(id) FROM delayed').pluck().get() as number | null) ?? 0,
  };
}

