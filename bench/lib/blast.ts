// The shared raw-socket load generator (../shared/bench/amqp-blast.c), built beside amqp-perf
// in the scratch copy. The shared source sends a body as one frame, so bodies over its
// frame_max (131072) would be refused; the copy is built with the body split into frames of at
// most frame_max - 8 bytes, and with deliveries of bodies of 4 KiB or more counted one by one
// (the shared source adds them up 256 at a time: at 1 MiB that is a quarter of a second's
// worth). Two one-line edits, checked; smaller bodies are sent and counted as before.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildPerf, PERF_BUILD_DIR } from './perf.js';
import { SHARED_BENCH_DIR } from './paths.js';
import { canPin, cpuSeconds, rssKb } from './proc.js';

const ONE_FRAME = 'if (body_size > 0) { put(&p, body, body_size); frame(&one, 3, 1, &p); }';
const COUNT_EVERY = 'if (local >= 256) { atomic_fetch_add(&consumed, local); local = 0; }';
const COUNT_LARGE = 'if (local >= (body_size >= 4096 ? 1 : 256)) { atomic_fetch_add(&consumed, local); local = 0; }';
const SPLIT =
  'for (int off = 0; off < body_size; off += 131064) { int n = body_size - off < 131064 ? body_size - off : 131064; put(&p, body + off, n); frame(&one, 3, 1, &p); }';

export interface BlastBuild {
  readonly bin: string | null;
  readonly reason: string;
}

let cached: BlastBuild | null = null;

export function buildBlast(): BlastBuild {
  if (cached) return cached;
  if (process.env['BENCH_BLAST_BIN']) return (cached = { bin: process.env['BENCH_BLAST_BIN'], reason: '' });
  const perf = buildPerf(); // copies ../shared/bench into PERF_BUILD_DIR
  const src = join(SHARED_BENCH_DIR, 'amqp-blast.c');
  if (!existsSync(src)) return (cached = { bin: null, reason: perf.reason || `no ${src}` });
  // Its own name: the copy of the shared folder also brings the shared, unsplit binary.
  const bin = join(PERF_BUILD_DIR, 'amqp-blast-split');
  try {
    if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(src).mtimeMs) {
      mkdirSync(PERF_BUILD_DIR, { recursive: true });
      const copy = join(PERF_BUILD_DIR, 'amqp-blast-split.c');
      const text = readFileSync(src, 'utf8');
      if (!text.includes(ONE_FRAME) || !text.includes(COUNT_EVERY)) return (cached = { bin: null, reason: 'amqp-blast.c changed: a line to edit was not found' });
      writeFileSync(copy, text.replace(ONE_FRAME, SPLIT).replace(COUNT_EVERY, COUNT_LARGE));
      execFileSync('cc', ['-O2', '-o', bin, copy, '-lpthread'], { stdio: ['ignore', 'pipe', 'pipe'] });
    }
    cached = { bin, reason: '' };
  } catch (e) {
    cached = { bin: null, reason: `cannot build amqp-blast: ${(e as Error).message}` };
  }
  return cached;
}

export interface BlastResult {
  readonly consumedPerS: number;
  readonly publishedPerS: number;
  readonly clientCpuShare: number;
  /** Broker CPU over the whole run, 100 = one core. */
  readonly brokerCpuPct: number | null;
  /** Broker RSS sampled once a second during the run, kB. */
  readonly rssKb: readonly number[];
}

/** Runs amqp-blast against `port`, sampling the broker's RSS once a second. */
export function runBlast(bin: string, port: number, o: { size: number; seconds: number; warmup: number; clientCpus: string; pids: readonly number[]; fanout?: number }): Promise<BlastResult> {
  const args = ['-P', String(port), '-s', String(o.size), '-t', String(o.seconds), '-w', String(o.warmup)];
  if ((o.fanout ?? 1) > 1) args.push('-n', String(o.fanout));
  const pin = canPin(o.clientCpus);
  const child = spawn(pin ? 'taskset' : bin, pin ? ['-c', o.clientCpus, bin, ...args] : args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const cpu0 = o.pids.reduce((s, p) => s + cpuSeconds(p), 0);
  const t0 = Date.now();
  const rss: number[] = [];
  const timer = setInterval(() => rss.push(rssKb(o.pids)), 1000);
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      clearInterval(timer);
      const cpu = o.pids.reduce((s, p) => s + cpuSeconds(p), 0) - cpu0;
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`amqp-blast exit ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
        return;
      }
      const j = JSON.parse(last) as { consumed_per_s: number; published_per_s: number; client_cpu_share: number };
      resolve({
        consumedPerS: j.consumed_per_s,
        publishedPerS: j.published_per_s,
        clientCpuShare: j.client_cpu_share,
        brokerCpuPct: o.pids.length > 0 ? (100 * cpu) / ((Date.now() - t0) / 1000) : null,
        rssKb: rss,
      });
    });
  });
}
