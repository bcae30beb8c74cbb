// The floor under any store for (h)'s drain, SQLite left out: --n 1 KiB messages stored as one
// plain file of message values back to back (the log layout's rows, bench/lib/log-batches.ts,
// written once and synced; not timed), then read back in delivery order --rows-of messages a
// read (one pread into a new buffer) and cut into Messages as the store cuts a range; the acks
// recorded --batch to a commit as one 16-byte record (delivered through, acked through) appended
// to an ack file and fdatasync'ed. Nothing is deleted or reclaimed (a real log also drops or
// compacts finished segments). Same output fields as bench/sqlite-drain.ts and
// bench/sqlite-log-drain.ts, so bench/h-floor-store.sh can interleave them.
//
//   npm run build && node dist/bench/file-log-drain.js [--n 200000] [--rows-of 100] [--batch 700] [--cut view]

import { closeSync, fdatasyncSync, mkdirSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import type { Message } from '../src/message.js';
import { LogBatchCutter, messageValue } from './lib/log-batches.js';
import { arg, drainFigures } from './lib/util.js';

const dir = arg('dir', '/tmp/warren-file-log-drain');
const n = Number(arg('n', '200000'));
const rowsOf = Number(arg('rows-of', '100'));
const per = Number(arg('per', '512'));
const batch = Number(arg('batch', '700'));
const prefetch = Number(arg('prefetch', '100'));
const cut = arg('cut', 'view');
if (cut !== 'copy' && cut !== 'view') throw new Error(`--cut takes copy or view, not ${cut}`);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const value = messageValue('', 'q', Buffer.alloc(20, 1), Buffer.alloc(1024, 7));
const data = openSync(`${dir}/messages`, 'w+');
const chunk = Buffer.concat(Array<Buffer>(rowsOf).fill(value));
for (let first = 1; first <= n; first += rowsOf) writeSync(data, chunk, 0, Math.min(rowsOf, n - first + 1) * value.length);
fdatasyncSync(data);
const acks = openSync(`${dir}/acks`, 'a');
const record = Buffer.alloc(16);

const cutter = new LogBatchCutter(cut === 'view');
let readUs = 0;
let writeUs = 0;
let writeWallMs = 0;
let commits = 0;
const out: Message[] = [];
let acked = 0;
let marked = Math.min(n, prefetch);

function ackThrough(last: number): void {
  while (acked < last) {
    const to = Math.min(last, acked + batch);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    marked = Math.min(n, marked + (to - acked));
    acked = to;
    record.writeDoubleBE(marked, 0);
    record.writeDoubleBE(acked, 8);
    writeSync(acks, record);
    fdatasyncSync(acks);
    writeWallMs += performance.now() - t0;
    const c = process.cpuUsage(c0);
    writeUs += c.user + c.system;
    commits++;
  }
}

const t0 = performance.now();
let next = 1;
while (next <= n) {
  out.length = 0;
  const c0 = process.cpuUsage();
  while (next <= n && out.length < per) {
    const k = Math.min(rowsOf, n - next + 1);
    const buf = Buffer.allocUnsafeSlow(k * value.length);
    if (readSync(data, buf, 0, buf.length, (next - 1) * value.length) !== buf.length) throw new Error(`short read at ${next}`);
    cutter.cut(next, k, buf, out);
    next += k;
  }
  const c = process.cpuUsage(c0);
  readUs += c.user + c.system;
  ackThrough(next - 1);
}
const seconds = (performance.now() - t0) / 1000;
console.log(
  JSON.stringify({
    layout: 'file',
    n,
    rows_of: rowsOf,
    per,
    batch,
    cut,
    commits,
    ...drainFigures(n, readUs, writeUs, writeWallMs, seconds),
  }),
);
closeSync(data);
closeSync(acks);
rmSync(dir, { recursive: true, force: true });
