// Small utilities every conformance file uses: unique names, waiting with a hang guard.
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONFORMANCE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(CONFORMANCE_DIR, '..');

/** A name unique to this run, so state left behind in a long-lived RabbitMQ never collides. */
export function uid(prefix = 'conf'): string {
  return `${prefix}-${process.pid}-${randomBytes(5).toString('hex')}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `cond` until it is truthy (or throw after `timeoutMs`, a hang guard, not an assertion on speed). */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  what = 'condition',
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/** warren's "listening" log line (JSON: port, httpPort, tlsPort, ...) from its output. */
export function listeningRecord(output: string): Record<string, unknown> {
  const line = output.split('\n').find((l) => l.includes('"msg":"listening"'));
  if (line === undefined) throw new Error(`no "listening" line in warren's output:\n${output}`);
  return JSON.parse(line) as Record<string, unknown>;
}
