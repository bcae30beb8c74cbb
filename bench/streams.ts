// Streams side by side (warren and RabbitMQ's streams over AMQP 0-9-1), one broker per run:
// Clients: bench/lib/raw-amqp.ts (a raw-socket publisher and consumer; amqplib caps a consumer
// near 130k msg/s here), the same for both brokers; amqplib only declares and deletes.
//   append   publish N messages of SIZE bytes into a new stream with confirms (WINDOW in
//            flight): rate and confirm latency percentiles
//   append-latency  N/10 more into another stream with LATENCY_WINDOW in flight (the confirm
//            latency a publisher sees when it does not pile up hundreds of messages);
//            --latency-window 50,100,250: one stream and one line per window
//   replay   one consumer reads the N messages from `first` with prefetch 1000 (acks with
//            multiple every 250): rate, broker RSS peak; the stream's size on disk against the payload;
//            --replay-rounds R reads it R times, one line each
//   fanout   100 consumers at once, consumer i starting at offset i*N/100 and reading N/100:
//            total delivery rate, broker RSS peak
//   retention a second stream with x-max-length-bytes = RETAIN bytes fed for RETAIN_S seconds:
//            its largest size on disk (sampled every second)
// A long run split over several lock holds (a 10M stream): --queue NAME --keep writes the stream
// and leaves it; --queue NAME --existing then reads it (replay, fanout) without writing it again.
// --out FILE: the results file (default bench/results/streams-<date>.jsonl).
// Run it under the measure lock with the broker pinned to CPU 0 and this process to CPU 1:
//   WARREN_MEASURE=1 flock /work/wt/_quiet/measure.lock taskset -c 1 node dist/bench/streams.js \
//     --url amqp://guest:guest@127.0.0.1:5682 --pid <broker pid> --data-dir <its data dir> --label rabbitmq
// Prints one JSON line per scenario and appends it to bench/results/streams-<date>.jsonl.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect, makeBody, type Channel } from './lib/amqp.js';
import { rawConsume, rawPublish } from './lib/raw-amqp.js';
import { appendJson } from './lib/report.js';
import { RESULTS_DIR } from './lib/paths.js';
import { RssSampler, cpuSeconds, dirSize } from './lib/proc.js';
import { now } from './lib/util.js';

const { values: o } = parseArgs({
  options: {
    url: { type: 'string', default: 'amqp://guest:guest@127.0.0.1:5672' },
    pid: { type: 'string', default: '0' },
    'data-dir': { type: 'string', default: '' },
    label: { type: 'string', default: 'broker' },
    n: { type: 'string', default: '1000000' },
    size: { type: 'string', default: '1024' },
    window: { type: 'string', default: '500' },
    'latency-window': { type: 'string', default: '50' },
    consumers: { type: 'string', default: '100' },
    retain: { type: 'string', default: String(1024 * 1024 * 1024) },
    'retain-s': { type: 'string', default: '120' },
    only: { type: 'string', default: 'append,replay,fanout,retention' },
    'replay-rounds': { type: 'string', default: '1' },
    queue: { type: 'string', default: '' },
    existing: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    out: { type: 'string', default: '' },
  },
});
const N = Number(o.n);
const SIZE = Number(o.size);
const WINDOW = Number(o.window);
const PIDS = o.pid === '0' ? [] : o.pid.split(',').map(Number);
const only = new Set(o.only.split(','));
const date = new Date().toISOString().slice(0, 10);
const out = o.out !== '' ? o.out : join(RESULTS_DIR, `streams-${date}.jsonl`);
const target = new URL(o.url);
const HOST = target.hostname;
const PORT = Number(target.port || 5672);

function emit(scenario: string, fields: Record<string, unknown>): void {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
  const line = JSON.stringify({ broker: o.label, scenario, n: N, size: SIZE, at: new Date().toISOString(), load, ...fields });
  process.stdout.write(line + '\n');
  appendJson(out, line);
}

/** Broker CPU seconds (user + system, all threads) so far: per-message cost, whatever the load. */
function brokerCpu(): number {
  let s = 0;
  for (const p of PIDS) s += cpuSeconds(p);
  return s;
}

/** Broker user and system CPU seconds so far, apart (the kernel's share: socket sends, reads). */
function brokerCpuSplit(): { user: number; sys: number } {
  let user = 0;
  let sys = 0;
  for (const p of PIDS) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      user += Number(f[11]) / 100;
      sys += Number(f[12]) / 100;
    } catch {
      // gone
    }
  }
  return { user, sys };
}

function over10ms(confirmMs: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < confirmMs.length; i += 10_000) {
    let n = 0;
    for (let j = i; j < Math.min(confirmMs.length, i + 10_000); j++) if (confirmMs[j]! > 10) n++;
    out.push(n);
  }
  return out;
}

function pct(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The directory holding a stream's files: warren's (stream.json names it) or RabbitMQ's (named after it). */
function streamDir(root: string, name: string): string | null {
  const walk = (dir: string, depth: number): string | null => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return null;
    }
    if (names.includes('stream.json')) {
      try {
        if ((JSON.parse(readFileSync(join(dir, 'stream.json'), 'utf8')) as { name: string }).name === name) return dir;
      } catch {
        // not ours
      }
    }
    for (const n of names) {
      const p = join(dir, n);
      try {
        if (!statSync(p).isDirectory()) continue;
      } catch {
        continue;
      }
      if (n.includes(name)) return p;
      if (depth < 6) {
        const found = walk(p, depth + 1);
        if (found !== null) return found;
      }
    }
    return null;
  };
  return root === '' ? null : walk(root, 0);
}

async function declare(ch: Channel, name: string, args: Record<string, unknown> = {}): Promise<void> {
  await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'stream', ...args } });
}

async function main(): Promise<void> {
  const conn = await connect(o.url);
  const ch = await conn.model.createConfirmChannel();
  const q = o.queue !== '' ? o.queue : `bench-stream-${process.pid}-${Date.now()}`;
  const body = makeBody(SIZE);
  const rss = new RssSampler(() => PIDS, 100).start();

  if (!o.existing && (only.has('append') || only.has('replay') || only.has('fanout'))) {
    await declare(ch, q);
    rss.phasePeakKb();
    const cpu0 = brokerCpu();
    const own0 = process.cpuUsage();
    const r = await rawPublish(HOST, PORT, q, body, N, WINDOW);
    const cpu = brokerCpu() - cpu0;
    const own = process.cpuUsage(own0);
    const lat = Float64Array.from(r.confirmMs).sort();
    emit('append', {
      broker_cpu_us_per_msg: +((cpu * 1e6) / N).toFixed(2),
      client_cpu_us_per_msg: +((own.user + own.system) / N).toFixed(2),
      window: WINDOW,
      rate: Math.round((N / r.ms) * 1000),
      ms: Math.round(r.ms),
      nacked: r.nacked,
      confirm_p50_ms: +pct(lat, 50).toFixed(2),
      confirm_p90_ms: +pct(lat, 90).toFixed(2),
      confirm_p99_ms: +pct(lat, 99).toFixed(2),
      confirm_max_ms: +pct(lat, 100).toFixed(2),
      // Confirms over 10 ms per 10,000 messages, in publish order: a tail spread evenly is
      // queueing; one in clusters is stalls (a segment roll, a GC, a slow fsync).
      over_10ms_per_10k: over10ms(r.confirmMs),
      rss_peak_mib: +(rss.phasePeakKb() / 1024).toFixed(1),
    });
  }

  if (only.has('append')) {
    // Each window of --latency-window (a list: 50,100,250) into a stream of its own, N/10 each.
    for (const w of o['latency-window'].split(',').map(Number)) {
      const lq = `${q}-latency-${w}`;
      await declare(ch, lq);
      const n = Math.max(1000, Math.floor(N / 10));
      const cpu0 = brokerCpu();
      const r = await rawPublish(HOST, PORT, lq, body, n, w);
      const cpu = brokerCpu() - cpu0;
      const lat = Float64Array.from(r.confirmMs).sort();
      emit('append-latency', {
        window: w,
        messages: n,
        broker_cpu_us_per_msg: +((cpu * 1e6) / n).toFixed(2),
        rate: Math.round((n / r.ms) * 1000),
        nacked: r.nacked,
        confirm_p50_ms: +pct(lat, 50).toFixed(2),
        confirm_p90_ms: +pct(lat, 90).toFixed(2),
        confirm_p99_ms: +pct(lat, 99).toFixed(2),
        confirm_max_ms: +pct(lat, 100).toFixed(2),
      });
      await ch.deleteQueue(lq);
    }
  }

  if (only.has('replay')) {
    // Rounds read the same stream again: the later ones from the page cache, like the first
    // (the stream was just written).
    const rounds = Number(o['replay-rounds']);
    for (let round = 1; round <= rounds; round++) {
      rss.phasePeakKb();
      const cpu0 = brokerCpu();
      const split0 = brokerCpuSplit();
      const own0 = process.cpuUsage();
      // Every second: messages read and the broker's CPU µs per message in it (does the cost
      // change along a read?).
      const progress = { got: 0 };
      const perSecond: [number, number][] = [];
      let lastGot = 0;
      let lastCpu = cpu0;
      const sampler = setInterval(() => {
        const c = brokerCpu();
        const got = progress.got - lastGot;
        perSecond.push([got, got === 0 ? 0 : +(((c - lastCpu) * 1e6) / got).toFixed(2)]);
        lastGot = progress.got;
        lastCpu = c;
      }, 1000);
      const { ms } = await rawConsume(HOST, PORT, q, 'first', N, 1000, progress);
      clearInterval(sampler);
      const cpu = brokerCpu() - cpu0;
      const split = brokerCpuSplit();
      const own = process.cpuUsage(own0);
      const dir = streamDir(o['data-dir'], q);
      const disk = dir === null ? null : dirSize(dir);
      emit('replay', {
        round,
        prefetch: 1000,
        broker_cpu_us_per_msg: +((cpu * 1e6) / N).toFixed(2),
        broker_sys_share: cpu > 0 ? +((split.sys - split0.sys) / cpu).toFixed(3) : null,
        // The client's own CPU: whether it, not the broker, set the pace.
        client_cpu_us_per_msg: +((own.user + own.system) / N).toFixed(2),
        rate: Math.round((N / ms) * 1000),
        ms: Math.round(ms),
        rss_peak_mib: +(rss.phasePeakKb() / 1024).toFixed(1),
        disk_bytes: disk?.bytes ?? null,
        payload_bytes: N * SIZE,
        disk_over_payload_per_msg: disk === null ? null : +((disk.bytes - N * SIZE) / N).toFixed(1),
        per_second_msgs_and_cpu_us: perSecond,
      });
    }
  }

  if (only.has('fanout')) {
    const k = Number(o.consumers);
    const per = Math.floor(N / k);
    rss.phasePeakKb();
    const t0 = now();
    const cpu0 = brokerCpu();
    await Promise.all(Array.from({ length: k }, (_, i) => rawConsume(HOST, PORT, q, i * per, per, 100)));
    const ms = now() - t0;
    emit('fanout', { broker_cpu_us_per_msg: +(((brokerCpu() - cpu0) * 1e6) / (k * per)).toFixed(2), consumers: k, per_consumer: per, rate: Math.round(((k * per) / ms) * 1000), ms: Math.round(ms), rss_peak_mib: +(rss.phasePeakKb() / 1024).toFixed(1) });
  }

  if (!o.keep && (only.has('append') || only.has('replay') || only.has('fanout'))) await ch.deleteQueue(q);

  if (only.has('retention')) {
    const r = `${q}-retention`;
    const limit = Number(o.retain);
    await declare(ch, r, { 'x-max-length-bytes': limit });
    const seconds = Number(o['retain-s']);
    let maxBytes = 0;
    let samples = 0;
    const sample = setInterval(() => {
      const dir = streamDir(o['data-dir'], r);
      if (dir === null) return;
      samples++;
      maxBytes = Math.max(maxBytes, dirSize(dir).bytes);
    }, 1000);
    let fed = 0;
    const deadline = now() + seconds * 1000;
    while (now() < deadline) {
      await rawPublish(HOST, PORT, r, body, 10_000, WINDOW, false);
      fed += 10_000;
    }
    clearInterval(sample);
    emit('retention', { limit_bytes: limit, seconds, fed_bytes: fed * SIZE, max_disk_bytes: maxBytes, samples, max_over_limit: +(maxBytes / limit).toFixed(3) });
    await ch.deleteQueue(r);
  }
  rss.stop();
  await conn.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  },
);
