// The shared C load generator (../shared/bench/amqp-perf.c): built from a copy of its folder
// into the scratch dir (the shared folder is read-only), then run pinned to the client CPU.

import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_BENCH_DIR, TMP_DIR } from './paths.js';
import { canPin } from './proc.js';

export const PERF_BUILD_DIR = join(TMP_DIR, 'shared-bench');

export interface PerfBuild {
  readonly bin: string | null;
  /** Why there is no binary. */
  readonly reason: string;
}

let cached: PerfBuild | null = null;

/** Copies ../shared/bench and runs make there; reuses an up-to-date binary. */
export function buildPerf(): PerfBuild {
  if (cached) return cached;
  const src = join(SHARED_BENCH_DIR, 'amqp-perf.c');
  if (process.env['BENCH_PERF_BIN']) {
    cached = { bin: process.env['BENCH_PERF_BIN'], reason: '' };
    return cached;
  }
  if (!existsSync(src)) {
    cached = { bin: null, reason: `no ${src} (set BENCH_SHARED_DIR)` };
    return cached;
  }
  const bin = join(PERF_BUILD_DIR, 'amqp-perf');
  try {
    const fresh = existsSync(bin) && statSync(bin).mtimeMs >= statSync(src).mtimeMs;
    if (!fresh) {
      mkdirSync(PERF_BUILD_DIR, { recursive: true });
      for (const f of readdirSync(SHARED_BENCH_DIR)) {
        if (f === 'results' || f === 'amqp-perf') continue;
        cpSync(join(SHARED_BENCH_DIR, f), join(PERF_BUILD_DIR, f), { recursive: true, force: true });
      }
      chmodSync(PERF_BUILD_DIR, 0o755);
      for (const f of readdirSync(PERF_BUILD_DIR)) {
        const p = join(PERF_BUILD_DIR, f);
        chmodSync(p, statSync(p).mode | 0o200);
      }
      execFileSync('make', ['-C', PERF_BUILD_DIR, 'amqp-perf'], { stdio: ['ignore', 'pipe', 'pipe'] });
    }
    cached = { bin, reason: '' };
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const detail = err.stderr?.toString().trim().split('\n').slice(-3).join(' | ') ?? err.message;
    cached = {
      bin: null,
      reason: `cannot build amqp-perf (needs build-essential pkg-config librabbitmq-dev): ${detail}`,
    };
  }
  return cached;
}

export interface PerfRun {
  readonly ok: boolean;
  readonly result: Record<string, unknown> | null;
  readonly error: string;
}

/** Runs amqp-perf with these arguments and returns its JSON result line. */
export function runPerf(bin: string, url: string, args: readonly string[], opts: { brokerPids: readonly number[]; clientCpus: string; label: string }): Promise<PerfRun> {
  const full = ['--uri', url, '--label', opts.label, '--quiet', ...args];
  if (opts.brokerPids.length) full.push('--broker-pid', opts.brokerPids.join(','));
  const pin = canPin(opts.clientCpus);
  const child = spawn(pin ? 'taskset' : bin, pin ? ['-c', opts.clientCpus, bin, ...full] : full, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      let result: Record<string, unknown> | null = null;
      try {
        result = last.startsWith('{') ? (JSON.parse(last) as Record<string, unknown>) : null;
      } catch {
        result = null;
      }
      const ok = code === 0 && result !== null && result['ok'] !== false;
      const why = result && typeof result['error'] === 'string' ? result['error'] : `exit ${code ?? signal}`;
      resolve({ ok, result, error: ok ? '' : `amqp-perf ${why}: ${err.trim().split('\n').slice(-5).join(' | ')}` });
    });
  });
}
