// A long persistent backlog from a publisher that does not pace itself: amqplib publishes --n
// persistent messages of --size bytes to one durable queue as fast as its socket takes them,
// waiting for confirms only every --every messages (waitForConfirms), with no consumer. Then
// one consumer (prefetch 100, ack each) drains it. The broker's RSS (--pid, or found from the
// port) is sampled every 100 ms. Prints one JSON line: publish and drain rates, peak RSS while
// publishing and while draining, and the data directory's size (--data-dir) against the payload.
//
//   npm run build && node dist/bench/flatout-backlog.js --url amqp://guest:guest@127.0.0.1:5672 --pid PID [--n 1000000]

import amqp from 'amqplib';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

const url = arg('url', 'amqp://guest:guest@127.0.0.1:5672');
const n = Number(arg('n', '1000000'));
const every = Number(arg('every', '20000'));
const size = Number(arg('size', '1024'));
const pid = Number(arg('pid', '0'));
const dataDir = arg('data-dir', '');
const queue = `flatout-${process.pid}`;

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

let peak = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, rssKiB());
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
  }),
);
