// Small helpers shared by the benchmark scenarios: timing, statistics, environment settings.

import { performance } from 'node:perf_hooks';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds on a monotonic clock. */
export const now = (): number => performance.now();

/** The value after `--name` on the command line, or `def` (the benches' own flags). */
export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}

/** Integer setting from the environment (accepts 1e6, 1_000_000, 200k, 1M). */
export function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const m = /^\s*([0-9_.e+]+)\s*([kKmM]?)\s*$/.exec(raw);
  const base = m ? Number(m[1]!.replace(/_/g, '')) : NaN;
  const mult = m?.[2]?.toLowerCase() === 'k' ? 1e3 : m?.[2]?.toLowerCase() === 'm' ? 1e6 : 1;
  const v = Math.round(base * mult);
  if (!Number.isFinite(v)) throw new Error(`${name}: expected a number, got "${raw}"`);
  return v;
}

export function envStr(name: string, fallback: string): string {
  const raw = process.env[name];
  return raw === undefined ? fallback : raw;
}

export function envFlag(name: string): boolean {
  const raw = process.env[name];
  return raw !== undefined && raw !== '' && raw !== '0' && raw.toLowerCase() !== 'false';
}

export interface Summary {
  readonly n: number;
  readonly min: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(values: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    n: sorted.length,
    min: sorted.length ? sorted[0]! : NaN,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
  };
}

export function median(values: readonly number[]): number {
  return percentile(Float64Array.from(values).sort(), 50);
}

/** Rounds for display and JSON: 3 significant digits below 100, integers above. */
export function round(v: number): number {
  if (!Number.isFinite(v)) return v;
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v);
  if (a >= 10) return Math.round(v * 10) / 10;
  if (a >= 1) return Math.round(v * 100) / 100;
  return Math.round(v * 1000) / 1000;
}

export function fmtNum(v: number | string | null | undefined): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  const r = round(v);
  return Math.abs(r) >= 1000 ? r.toLocaleString('en-US') : String(r);
}

/** Rejects with a clear message if the promise does not settle in time. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Polls `check` every `everyMs` until it returns true (or throws after `timeoutMs`). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string, everyMs = 50): Promise<void> {
  const deadline = now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

export function log(msg: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${t}] ${msg}\n`);
}

export const MiB = 1024 * 1024;

/** Calls `onLine` for every complete line of text that `stream` emits (a broker's JSON log). */
export function eachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let pending = '';
  stream.on('data', (d: Buffer | string) => {
    pending += d.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      onLine(line);
    }
  });
}

/**
 * The drain benches' per-message figures (bench/sqlite-drain.ts and its log-shaped siblings):
 * CPU of the reads and of the writes in us a message, and the rate the writes' wall time allows.
 */
export function drainFigures(n: number, readUs: number, writeUs: number, writeWallMs: number, seconds: number) {
  return {
    read_us_per_msg: +(readUs / n).toFixed(2),
    write_us_per_msg: +(writeUs / n).toFixed(2),
    both_us_per_msg: +((readUs + writeUs) / n).toFixed(2),
    write_wall_us_per_msg: +((writeWallMs * 1000) / n).toFixed(2),
    writes_msgs_per_s: Math.round(n / (writeWallMs / 1000)),
    seconds: +seconds.toFixed(2),
  };
}
