// What draining a backlog costs SQLite alone, without the broker: --n 1 KiB messages stored as
// schema 5 does (one solo_entries row each, the real schema and connection settings), then read
// back in id ranges of --per rows with the store's own reader (src/store/sqlite/solo-read.ts),
// and removed in transactions of --batch acks as the writer thread applies a drain's acks: the
// delivered-marks of the next --batch entries (one INSERT ... SELECT), the range delete of the
// acked rows and of their marks, COMMIT (WAL, synchronous=FULL: one fdatasync each). Prints CPU
// a message of each part (user + system, microseconds), and the rate the writes alone allow.
//
//   --read get       the range statement as it was until 2026-12-05 alone (each row prefixed by
//                    concat(): SQLite builds the packed value; nothing parsed)
//          getsep    the store's range statement alone (the rows' ids as group_concat's separators)
//          solo      SoloReader.read: the value cut into Messages (the store's read-back)
//   --marks 1 | 0    write the delivered-marks (the store does)
//
//   npm run build && node dist/bench/sqlite-drain.js [--n 200000] [--per 512] [--batch 100] [--read solo]

import Database from 'better-sqlite3';
import { mkdirSync, rmSync } from 'node:fs';
import type { Message } from '../src/message.js';
import { openDatabase, tuneConnection } from '../src/store/sqlite/schema.js';
import { PACKED_ROW_MAX } from '../src/store/sqlite/packed-read.js';
import { SOLO_RANGE_SQL, SoloReader } from '../src/store/sqlite/solo-read.js';
import { arg, drainFigures } from './lib/util.js';

/** The range statement's earlier shape, for the comparison: every row prefixed with `id,messageBytes;`. */
const SOLO_RANGE_PREFIXED_SQL =
  "SELECT CAST(group_concat(concat(id, ',', length(message), ';', message), '') AS BLOB) FROM solo_entries " +
  `WHERE id BETWEEN ? AND ? AND length(message) <= ${PACKED_ROW_MAX}`;

const dir = arg('dir', '/tmp/warren-sqlite-drain');
const n = Number(arg('n', '200000'));
const per = Number(arg('per', '512'));
const batch = Number(arg('batch', '100'));
const prefetch = Number(arg('prefetch', '100'));
const read = arg('read', 'solo');
const marks = arg('marks', '1') !== '0';
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const file = `${dir}/warren.db`;

const w = openDatabase(file);
w.pragma('wal_autocheckpoint = 0');
w.exec("INSERT INTO queues (id, vhost, name, auto_delete, arguments) VALUES (1, '/', 'q', 0, x'')");

// A message value as the batch carries it: exchange '', routing key 'q', a 20-byte header, 1 KiB body.
const header = Buffer.alloc(20, 1);
const body = Buffer.alloc(1024, 7);
const value = Buffer.alloc(16 + 1 + header.length + body.length);
let at = value.writeUInt32BE(0, 0);
at = value.writeUInt32BE(1, at);
at += value.write('q', at);
at = value.writeUInt32BE(header.length, at);
at += header.copy(value, at);
at = value.writeUInt32BE(body.length, at);
body.copy(value, at);

const put = w.prepare('INSERT INTO solo_entries (id, queue_id, seq, size, priority, expires_at, message) VALUES (?, 1, ?, ?, 0, 0, ?)');
const fill = w.transaction((from: number, to: number) => {
  for (let i = from; i <= to; i++) put.run(i, i, body.length, value);
});
for (let i = 1; i <= n; i += 50) fill(i, Math.min(n, i + 49));
w.pragma('wal_checkpoint(TRUNCATE)');

const markRange = w.prepare('INSERT OR REPLACE INTO solo_marks (id, delivery_count) SELECT id, ? FROM solo_entries WHERE queue_id = ? AND seq BETWEEN ? AND ?');
const delRange = w.prepare('DELETE FROM solo_entries WHERE id BETWEEN ? AND ?');
const markDelRange = w.prepare('DELETE FROM solo_marks WHERE id BETWEEN ? AND ?');
const begin = w.prepare('BEGIN');
const commit = w.prepare('COMMIT');

const r = new Database(file);
tuneConnection(r);
const reader = new SoloReader(r);
// The store's range statement, and its earlier shape (each row prefixed by concat()).
const getSep = r.prepare(SOLO_RANGE_SQL).raw();
const getRange = r.prepare(SOLO_RANGE_PREFIXED_SQL).pluck();

let readUs = 0;
let writeUs = 0;
let writeWallMs = 0;
let commits = 0;
let bytes = 0;
const ids: number[] = [];
const out: (Message | undefined)[] = [];
let acked = 0; // the drain's acks so far: ids 1..acked are gone
let marked = Math.min(n, prefetch); // the first prefetch were delivered at once: marks 1..prefetch

function ackThrough(last: number): void {
  while (acked < last) {
    const to = Math.min(last, acked + batch);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    begin.run();
    // Acking `to - acked` makes room for as many deliveries, each marked.
    const markTo = Math.min(n, marked + (to - acked));
    if (marks && markTo > marked) markRange.run(0, 1, marked + 1, markTo);
    delRange.run(acked + 1, to);
    if (marks) markDelRange.run(acked + 1, to);
    commit.run();
    writeWallMs += performance.now() - t0;
    const c = process.cpuUsage(c0);
    writeUs += c.user + c.system;
    commits++;
    marked = markTo;
    acked = to;
  }
}

const t0 = performance.now();
for (let first = 1; first <= n; first += per) {
  const last = Math.min(n, first + per - 1);
  ids.length = 0;
  for (let i = first; i <= last; i++) ids.push(i);
  out.length = ids.length;
  out.fill(undefined);
  const c0 = process.cpuUsage();
  if (read === 'get') {
    const v = getRange.get(first, last) as Buffer;
    bytes += v.length;
  } else if (read === 'getsep') {
    const v = getSep.get(first, last) as [number, Buffer];
    bytes += v[1].length;
  } else {
    reader.read(ids, out);
    if (out[ids.length - 1] === undefined) throw new Error(`message ${last} not read`);
  }
  const c = process.cpuUsage(c0);
  readUs += c.user + c.system;
  // The range is delivered and acked before the next one is read (the store reads ahead as
  // the ready list's head empties).
  ackThrough(last);
}
const seconds = (performance.now() - t0) / 1000;
console.log(
  JSON.stringify({
    n,
    per,
    batch,
    read,
    marks,
    commits,
    ...drainFigures(n, readUs, writeUs, writeWallMs, seconds),
  }),
);
r.close();
w.close();
rmSync(dir, { recursive: true, force: true });
