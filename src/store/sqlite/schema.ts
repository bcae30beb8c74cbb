// The database layout and opening it safely: a file that is not a warren database, or one
// written by a newer warren, is refused before anything is written to it.

import Database from 'better-sqlite3';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { StoreOpenError } from '../data-dir.js';

/**
 * 2: the limits table; 3: stream_readers; 4: policies; 5: solo_entries and solo_marks. An older file is upgraded
 * in place when opened.
 */
export const SCHEMA_VERSION = 5;
export const DB_FILE = 'warren.db';
/** The page size of a database created by this version. */
export const NEW_PAGE_SIZE = 16384;
/**
 * Each connection's page cache, in KiB (SQLite's own default). better-sqlite3 builds SQLite with
 * 16 MB a connection, which the writer thread kept resident (an 18 MiB malloc arena at the peak
 * of a 1M backlog) for pages that a WAL append does not read again.
 */
export const CACHE_KIB = 2048;

/** What every connection to the database sets, the main thread's and the writer thread's. */
export function tuneConnection(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma(`cache_size = -${CACHE_KIB}`);
}

// Limits of a vhost or user (scope 'vhost' or 'user'): a JSON object of RabbitMQ's limit names.
const LIMITS_TABLE = `
CREATE TABLE limits (scope TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (scope, name)) WITHOUT ROWID;
`;

// Named stream readers' committed offsets (stream/readers.ts): the next offset to deliver.
const READERS_TABLE = `
CREATE TABLE IF NOT EXISTS stream_readers (vhost TEXT NOT NULL, stream TEXT NOT NULL, reader TEXT NOT NULL, offset INTEGER NOT NULL, PRIMARY KEY (vhost, stream, reader)) WITHOUT ROWID;
`;

// Policies and operator policies (kind 'policy' or 'operator'): a JSON object with pattern,
// apply-to, priority and definition, as RabbitMQ's management API shows them.
const POLICIES_TABLE = `
CREATE TABLE IF NOT EXISTS policies (kind TEXT NOT NULL, vhost TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, vhost, name)) WITHOUT ROWID;
`;

// A message held by one queue only: its entry and the message in one row, one INSERT (schema 5).
// id is the message's id (the rowid: a body is read back by id alone), and `message` is its
// exchange, routing key, content header and body, each a u32 big-endian length and the bytes,
// exactly as a batch carries them (OP_MESSAGE_PUT), so the writer binds a view of the batch.
// A rowid table with an index, not a WITHOUT ROWID one keyed by (queue_id, seq): in that kind
// every interior cell holds a whole row, and SQLite advises rows under a twentieth of a page.
// The index holds every column a start-up needs, so loading a backlog reads the index and not
// the messages. The row never changes: a delivery is recorded in solo_marks (delivered, with
// its count, when it has a row there), so marks write small rows, not the message's pages.
// Messages routed to several queues keep the shape of schema 4 (a messages row and its
// entries), and so do the rows an older warren wrote: both are read side by side.
const SOLO_TABLES = `
CREATE TABLE IF NOT EXISTS solo_entries (
  id INTEGER PRIMARY KEY, queue_id INTEGER NOT NULL, seq INTEGER NOT NULL, size INTEGER NOT NULL,
  priority INTEGER NOT NULL, expires_at INTEGER NOT NULL, message BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS solo_entries_place ON solo_entries (queue_id, seq, size, priority, expires_at);
CREATE TABLE IF NOT EXISTS solo_marks (id INTEGER PRIMARY KEY, delivery_count INTEGER NOT NULL);
`;

/** Upgrades from each older schema version, in order; each runs in the opening transaction. */
const MIGRATIONS: Readonly<Record<number, string>> = {
  1: LIMITS_TABLE,
  2: READERS_TABLE,
  3: POLICIES_TABLE,
  4: SOLO_TABLES,
};

const SCHEMA = `
CREATE TABLE exchanges (
  vhost TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
  auto_delete INTEGER NOT NULL, internal INTEGER NOT NULL, arguments BLOB NOT NULL,
  PRIMARY KEY (vhost, name)
) WITHOUT ROWID;
CREATE TABLE queues (
  id INTEGER PRIMARY KEY, vhost TEXT NOT NULL, name TEXT NOT NULL,
  auto_delete INTEGER NOT NULL, arguments BLOB NOT NULL,
  UNIQUE (vhost, name)
);
CREATE TABLE bindings (
  key TEXT PRIMARY KEY, vhost TEXT NOT NULL, source TEXT NOT NULL, destination TEXT NOT NULL,
  destination_kind TEXT NOT NULL, routing_key TEXT NOT NULL, arguments BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE users (
  name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, hashing_algorithm TEXT NOT NULL, tags TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE vhosts (name TEXT PRIMARY KEY, description TEXT NOT NULL, tags TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE permissions (
  user TEXT NOT NULL, vhost TEXT NOT NULL, configure TEXT NOT NULL, write TEXT NOT NULL, read TEXT NOT NULL,
  PRIMARY KEY (user, vhost)
) WITHOUT ROWID;
-- One row per message held by several queues (or written by schema 4 or older); refs counts
-- those queues. A message held by one queue is in solo_entries instead.
CREATE TABLE messages (
  id INTEGER PRIMARY KEY, refs INTEGER NOT NULL, exchange TEXT NOT NULL, routing_key TEXT NOT NULL,
  header BLOB NOT NULL, body BLOB NOT NULL
);
-- A message's place in a queue. multi: the message is shared, so deleting the entry
-- decrements messages.refs instead of deleting the message outright.
CREATE TABLE entries (
  queue_id INTEGER NOT NULL, seq INTEGER NOT NULL, msg_id INTEGER NOT NULL,
  delivered INTEGER NOT NULL, size INTEGER NOT NULL, multi INTEGER NOT NULL,
  priority INTEGER NOT NULL, expires_at INTEGER NOT NULL, delivery_count INTEGER NOT NULL,
  PRIMARY KEY (queue_id, seq)
) WITHOUT ROWID;
-- Messages a delayed exchange (x-delayed-message) holds until due_at (ms since the epoch), read
-- in (due_at, id) order. message packs what routing it needs, read back in one piece: longstr
-- exchange published to, longstr routing key, longstr CC keys as JSON ('' for none), u64 TTL + 1
-- (0: none), longstr content header, then the body (the rest).
CREATE TABLE delayed (
  id INTEGER PRIMARY KEY, vhost TEXT NOT NULL, exchange TEXT NOT NULL, due_at INTEGER NOT NULL,
  message BLOB NOT NULL
);
CREATE INDEX delayed_due ON delayed (vhost, exchange, due_at);
${LIMITS_TABLE}${READERS_TABLE}${POLICIES_TABLE}${SOLO_TABLES}`;

const SQLITE_MAGIC = Buffer.from('SQLite format 3\u0000', 'latin1');

/**
 * Opens (creating if needed) the database at `path` for the broker's main thread. Validates an
 * existing file first, read-only: not SQLite, corrupt, or from a newer schema -> StoreOpenError,
 * and the file is left as it was.
 */
export function openDatabase(path: string): Database.Database {
  const existing = existsSync(path) && statSync(path).size > 0;
  if (existing) validateExisting(path);
  let db: Database.Database;
  try {
    db = new Database(path);
    // A new database only (an existing one keeps the size it was made with): a 1 KiB message
    // spans a quarter of a 4 KiB page, so a batch dirtied many pages and each carried its own
    // header and WAL frame. 16 KiB pages cost the writer about a fifth less CPU per message
    // (bench/sqlite-batches.ts, 50 a batch: 6.2-6.5 against 7.8-8.1 us).
    if (!existing) db.pragma(`page_size = ${NEW_PAGE_SIZE}`);
    // WAL: readers (this thread) never block the writer (the store's worker), and a commit
    // is one sequential append plus fsync. auto_vacuum must be chosen before the first table.
    db.pragma('auto_vacuum = INCREMENTAL');
    tuneConnection(db);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version === 0) {
      db.exec('BEGIN');
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.exec('COMMIT');
    } else if (version < SCHEMA_VERSION) {
      db.exec('BEGIN');
      for (let v = version; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.exec('COMMIT');
    }
  } catch (e) {
    throw new StoreOpenError(`cannot open database ${path}: ${(e as Error).message}`);
  }
  return db;
}

function validateExisting(path: string): void {
  const head = Buffer.alloc(16);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (!head.equals(SQLITE_MAGIC)) {
    throw new StoreOpenError(`${path} is not a warren database (not an SQLite file); move it away or pass another --data-dir`);
  }
  let db: Database.Database | null = null;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new StoreOpenError(
        `${path} was written by a newer warren (schema ${version}; this one understands up to ${SCHEMA_VERSION}); run a newer warren on it`,
      );
    }
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    if (version === 0 && tables.length > 0) {
      throw new StoreOpenError(`${path} is an SQLite database but not a warren one; move it away or pass another --data-dir`);
    }
  } catch (e) {
    if (e instanceof StoreOpenError) throw e;
    throw new StoreOpenError(`${path} cannot be read as a warren database (${(e as Error).message}); restore it from a backup or move it away`);
  } finally {
    db?.close();
  }
}
