// A long persistent backlog from a publisher that does not pace itself: amqplib publishes --n
// persistent messages of --size bytes to one durable queue as fast as its socket takes them,
// waiting for confirms only every --every messages (waitForConfirms), with no consumer. Then
// one consumer (prefetch 100, ack each) drains it. The broker's RSS (--pid, or found from the
// port) is sampled every 100 ms. Prints one JSON line: publish and drain rates, peak RSS while
// publishing and while draining, and the data directory's size (--data-dir) against the payload.
// With --smaps, /proc/PID/smaps is also read every 500 ms, and where the broker's memory was at
// each phase's highest reading is printed too (MiB): file-backed mappings (Node's binary and
// libraries), glibc's main heap ([heap]), glibc's per-thread arenas (64 MiB-aligned
// reservations), and all other anonymous memory (V8's heaps, large mapped buffers, stacks).
//
//   npm run build && node dist/bench/flatout-backlog.js --url amqp://guest:guest@127.0.0.1:5672 --pid PID [--n 1000000] [--smaps]

import amqp from 'amqplib';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { arg } from './lib/util.js';

const url = arg('url', 'amqp://guest:guest@127.0.0.1:5672');
const n = Number(arg('n', '1000000'));
const every = Number(arg('every', '20000'));
const size = Number(arg('size', '1024'));
const pid = Number(arg('pid', '0'));
const dataDir = arg('data-dir', '');
const queue = `flatout-${process.pid}`;
const withSmaps = process.argv.includes('--smaps') && pid !== 0;

function rssKiB(): number {
  if (pid === 0) return 0;
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) {
    const s = statSync(join(dir, f));
    total += s.isDirectory() ? dirBytes(join(dir, f)) : s.size;
  }
  return total;
}

interface Breakdown {
  rss: number;
  file: number;
  heap: number;
  arenas: number;
  otherAnon: number;
}

const ARENA = 64n * 1024n * 1024n;

/** RSS of the broker by kind of mapping, KiB. */
function smaps(): Breakdown {
  const b: Breakdown = { rss: rssKiB(), file: 0, heap: 0, arenas: 0, otherAnon: 0 };
  const maps: { start: bigint; end: bigint; perm: string; kind: 'file' | 'heap' | 'anon'; rss: number }[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (m) {
      const name = m[5]!;
      const kind = name === '[heap]' ? 'heap' : m[4] !== '0' || (name !== '' && !name.startsWith('[')) ? 'file' : 'anon';
      maps.push({ start: BigInt(`0x${m[1]}`), end: BigInt(`0x${m[2]}`), perm: m[3]!, kind, rss: 0 });
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r && maps.length > 0) maps[maps.length - 1]!.rss = Number(r[1]);
  }
  for (let i = 0; i < maps.length; i++) {
    const mp = maps[i]!;
    if (mp.kind === 'file') b.file += mp.rss;
    else if (mp.kind === 'heap') b.heap += mp.rss;
    else {
      // A glibc arena: 64 MiB-aligned, its used part then the rest of the 64 MiB reserved (---p).
      const next = maps[i + 1];
      const end = next !== undefined && next.start === mp.end && next.perm === '---p' ? next.end : mp.end;
      if (mp.start % ARENA === 0n && mp.perm.startsWith('rw') && end - mp.start === ARENA) b.arenas += mp.rss;
      else b.otherAnon += mp.rss;
    }
  }
  return b;
}

let peak = 0;
let peakSmaps: Breakdown | null = null;
let ticks = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, rssKiB());
  if (withSmaps && ticks++ % 5 === 0) {
    const b = smaps();
    if (peakSmaps === null || b.rss > peakSmaps.rss) peakSmaps = b;
  }
}, 100);

const conn = await amqp.connect(url);
const ch = await conn.createConfirmChannel();
await ch.assertQueue(queue, { durable: true });
const body = Buffer.alloc(size, 120);
const rssBefore = rssKiB();
let t0 = performance.now();
for (let i = 1; i <= n; i++) {
  if (!ch.sendToQueue(queue, body, { persistent: true })) await new Promise((r) => ch.once('drain', r));
  if (i % every === 0 || i === n) await ch.waitForConfirms();
}
const publishS = (performance.now() - t0) / 1000;
const publishPeak = Math.max(peak, rssKiB());
const publishSmaps = peakSmaps;
peakSmaps = null;
const dbAfterPublish = dataDir ? dirBytes(dataDir) : 0;
peak = 0;
// Where the phases meet, for samplers of the broker's memory running beside this tool.
console.error(JSON.stringify({ phase: 'drain', t: Date.now() }));

const sub = await conn.createChannel();
await sub.prefetch(100);
t0 = performance.now();
await new Promise<void>((resolve) => {
  let got = 0;
  void sub.consume(queue, (m) => {
    if (m === null) return;
    sub.ack(m);
    if (++got === n) resolve();
  });
});
const drainS = (performance.now() - t0) / 1000;
const drainPeak = Math.max(peak, rssKiB());
clearInterval(sampler);
await sub.deleteQueue(queue);
await conn.close();
const mib = (kib: number): number => Math.round(kib / 102.4) / 10;
const inMiB = (b: Breakdown | null): Record<string, number> | null =>
  b === null ? null : { rss: mib(b.rss), file: mib(b.file), heap: mib(b.heap), arenas: mib(b.arenas), other_anon: mib(b.otherAnon) };
console.log(
  JSON.stringify({
    n,
    size,
    every,
    publish_per_s: Math.round(n / publishS),
    drain_per_s: Math.round(n / drainS),
    rss_before_mib: mib(rssBefore),
    rss_peak_publish_mib: mib(publishPeak),
    rss_peak_drain_mib: mib(drainPeak),
    db_after_publish_mib: dataDir ? Math.round(dbAfterPublish / 104857.6) / 10 : null,
    payload_mib: Math.round((n * size) / 104857.6) / 10,
    ...(withSmaps ? { smaps_at_peak_publish_mib: inMiB(publishSmaps), smaps_at_peak_drain_mib: inMiB(peakSmaps) } : {}),
  }),
);
