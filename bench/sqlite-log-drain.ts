// What draining a backlog costs SQLite alone with a log-shaped layout (bench/lib/log-batches.ts;
// not warren's): --n 1 KiB messages stored --rows-of to a row (one publish commit's messages as
// one row, their values back to back), on a database opened as the store opens its own (page
// size, auto_vacuum, WAL, synchronous=FULL). Then read back in delivery order, one batch row a
// statement, cut into Messages as the store cuts a range; and acked as the writer would apply a
// drain's acks, --batch to a transaction: the next --batch deliveries and the --batch acks set
// bits in the bitmaps of the batches they fall in, each touched batch's state row rewritten
// (INSERT OR REPLACE) or, once all its messages are acked, the batch row and its state deleted;
// COMMIT (one fdatasync). The schema 5 twin is bench/sqlite-drain.ts (same output fields), so the
// two can run interleaved: bench/h-floor-store.sh.
//
//   --cut copy | view   header and body copied into the read slab (as the store does), or views of
//                       the row's value (nothing copied; the value lives while its messages do)
//
//   npm run build && node dist/bench/sqlite-log-drain.js [--n 200000] [--rows-of 100] [--per 512] [--batch 100] [--cut copy]

import { mkdirSync, rmSync } from 'node:fs';
import type { Message } from '../src/message.js';
import { openDatabase, tuneConnection } from '../src/store/sqlite/schema.js';
import Database from 'better-sqlite3';
import { LOG_SCHEMA_SQL, LogBatchCutter, LogLedger, messageValue } from './lib/log-batches.js';
import { arg, drainFigures } from './lib/util.js';

const dir = arg('dir', '/tmp/warren-sqlite-log-drain');
const n = Number(arg('n', '200000'));
const rowsOf = Number(arg('rows-of', '100'));
const per = Number(arg('per', '512'));
const batch = Number(arg('batch', '100'));
const prefetch = Number(arg('prefetch', '100'));
const cut = arg('cut', 'copy');
if (cut !== 'copy' && cut !== 'view') throw new Error(`--cut takes copy or view, not ${cut}`);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const file = `${dir}/warren.db`;

const w = openDatabase(file);
w.pragma('wal_autocheckpoint = 0');
for (const sql of LOG_SCHEMA_SQL) w.exec(sql);

// Each message as the batch carries it: exchange '', routing key 'q', a 20-byte header, 1 KiB body.
const value = messageValue('', 'q', Buffer.alloc(20, 1), Buffer.alloc(1024, 7));
const ledger = new LogLedger();
const put = w.prepare('INSERT INTO log_batches (id, queue_id, n, messages) VALUES (?, 1, ?, ?)');
const full = Buffer.concat(Array<Buffer>(rowsOf).fill(value));
const fill = w.transaction((from: number) => {
  for (let first = from; first <= n && first < from + 50 * rowsOf; first += rowsOf) {
    const k = Math.min(rowsOf, n - first + 1);
    put.run(first, k, k === rowsOf ? full : full.subarray(0, k * value.length));
    ledger.add(first, k);
  }
});
for (let first = 1; first <= n; first += 50 * rowsOf) fill(first);
w.pragma('wal_checkpoint(TRUNCATE)');

const putState = w.prepare('INSERT OR REPLACE INTO log_state (batch_id, delivered, acked) VALUES (?, ?, ?)');
const delBatch = w.prepare('DELETE FROM log_batches WHERE id = ?');
const delState = w.prepare('DELETE FROM log_state WHERE batch_id = ?');
const begin = w.prepare('BEGIN');
const commit = w.prepare('COMMIT');

const r = new Database(file);
tuneConnection(r);
const getBatch = r.prepare('SELECT n, messages FROM log_batches WHERE id = ?').raw();
const cutter = new LogBatchCutter(cut === 'view');

let readUs = 0;
let writeUs = 0;
let writeWallMs = 0;
let commits = 0;
let stateWrites = 0;
let batchDeletes = 0;
const out: Message[] = [];
let acked = 0; // ids 1..acked are acked
let marked = 0; // ids 1..marked are delivered
for (; marked < Math.min(n, prefetch); ) ledger.deliver(++marked);

function ackThrough(last: number): void {
  while (acked < last) {
    const to = Math.min(last, acked + batch);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    // Acking `to - acked` makes room for as many deliveries, each marked.
    const markTo = Math.min(n, marked + (to - acked));
    while (marked < markTo) ledger.deliver(++marked);
    while (acked < to) ledger.ack(++acked);
    const ops = ledger.flush();
    begin.run();
    for (const b of ops.states) putState.run(b.first, b.delivered, b.acked);
    for (const id of ops.deletes) {
      delBatch.run(id);
      delState.run(id);
    }
    commit.run();
    writeWallMs += performance.now() - t0;
    const c = process.cpuUsage(c0);
    writeUs += c.user + c.system;
    commits++;
    stateWrites += ops.states.length;
    batchDeletes += ops.deletes.length;
  }
}

const t0 = performance.now();
let next = 1; // the first id of the next batch row to read
while (next <= n) {
  // Rows read until at least --per messages are out (the store reads ahead as the ready list empties).
  out.length = 0;
  const c0 = process.cpuUsage();
  while (next <= n && out.length < per) {
    const row = getBatch.get(next) as [number, Buffer] | undefined;
    if (row === undefined) throw new Error(`batch ${next} not read`);
    cutter.cut(next, row[0], row[1], out);
    next += row[0];
  }
  const c = process.cpuUsage(c0);
  readUs += c.user + c.system;
  ackThrough(next - 1);
}
const seconds = (performance.now() - t0) / 1000;
if (ledger.size !== 0 || (r.prepare('SELECT count(*) FROM log_batches').pluck().get() as number) !== 0) throw new Error('batches left after the drain');
console.log(
  JSON.stringify({
    layout: 'log',
    n,
    rows_of: rowsOf,
    per,
    batch,
    cut,
    commits,
    state_writes: stateWrites,
    batch_deletes: batchDeletes,
    ...drainFigures(n, readUs, writeUs, writeWallMs, seconds),
  }),
);
r.close();
w.close();
rmSync(dir, { recursive: true, force: true });
