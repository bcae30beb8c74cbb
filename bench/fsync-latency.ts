// This disk's fdatasync latency, the floor under every persistent confirm: the store's writer
// commits each batch with one fsync of SQLite's WAL (synchronous=FULL). Three cases:
//   append     write --size bytes at the end of the file, fdatasync (a growing WAL: the size
//              change is metadata, so ext4 commits its journal too)
//   overwrite  the same into a file already that long (a WAL reused from its start after a
//              checkpoint: data only)
//   pipelined  one thread fdatasyncs the file in a loop while this one keeps writing to it:
//              whether writes wait for a sync in progress (could batch N+1 be written while
//              batch N syncs?) and how many syncs a second that gives
// Prints one JSON line per case: latencies in microseconds.
//
//   npm run build && node dist/bench/fsync-latency.js [--dir bench/results/tmp] [--n 1000] [--size 20480]

import { closeSync, fdatasyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { arg } from './lib/util.js';

function pct(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0);
}

function summary(name: string, us: number[], seconds: number, extra: Record<string, number> = {}): string {
  us.sort((a, b) => a - b);
  return JSON.stringify({ case: name, n: us.length, p50_us: pct(us, 0.5), p90_us: pct(us, 0.9), p99_us: pct(us, 0.99), max_us: pct(us, 1), per_s: Math.round(us.length / seconds), ...extra });
}

/** Writes `size` bytes `n` times (at the end, or over an existing file) with an fdatasync after each. */
function writeAndSync(file: string, n: number, size: number, overwrite: boolean): { us: number[]; seconds: number } {
  const buf = Buffer.alloc(size, 0x5a);
  if (overwrite) {
    const fd = openSync(file, 'w');
    for (let i = 0; i < n; i++) writeSync(fd, buf);
    fdatasyncSync(fd);
    closeSync(fd);
  }
  const fd = openSync(file, overwrite ? 'r+' : 'w');
  const us: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    writeSync(fd, buf, 0, size, i * size);
    const s = performance.now();
    fdatasyncSync(fd);
    us.push((performance.now() - s) * 1000);
  }
  const seconds = (performance.now() - t0) / 1000;
  closeSync(fd);
  return { us, seconds };
}

if (!isMainThread) {
  // The syncing thread of the pipelined case: fdatasync until told to stop, then report.
  const { file, flag } = workerData as { file: string; flag: SharedArrayBuffer };
  const stop = new Int32Array(flag);
  const fd = openSync(file, 'r+');
  const us: number[] = [];
  while (Atomics.load(stop, 0) === 0) {
    const s = performance.now();
    fdatasyncSync(fd);
    us.push((performance.now() - s) * 1000);
  }
  closeSync(fd);
  parentPort!.postMessage(us);
} else {
  const dir = arg('dir', 'bench/results/tmp');
  const n = Number(arg('n', '1000'));
  const size = Number(arg('size', '20480'));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `fsync-latency-${process.pid}.bin`);
  try {
    const a = writeAndSync(file, n, size, false);
    console.log(summary('append', a.us, a.seconds, { size }));
    const o = writeAndSync(file, n, size, true);
    console.log(summary('overwrite', o.us, o.seconds, { size }));

    // Pipelined: the other thread syncs while this one writes the same amount again.
    const fd = openSync(file, 'w');
    const flag = new SharedArrayBuffer(4);
    const syncer = new Worker(new URL(import.meta.url), { workerData: { file, flag } });
    await new Promise((r) => syncer.once('online', r));
    const buf = Buffer.alloc(size, 0x5a);
    const writes: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      writeSync(fd, buf, 0, size, i * size);
      writes.push((performance.now() - s) * 1000);
      // Pace the writes like batches arriving: about one per 100 us.
      while (performance.now() - s < 0.1);
    }
    const seconds = (performance.now() - t0) / 1000;
    Atomics.store(new Int32Array(flag), 0, 1);
    const syncs = (await new Promise((r) => syncer.once('message', r))) as number[];
    closeSync(fd);
    await syncer.terminate();
    console.log(summary('pipelined-writes', writes, seconds, { size }));
    console.log(summary('pipelined-syncs', syncs, seconds));
  } finally {
    rmSync(file, { force: true });
  }
}
