// The warren processes and data directories of one test file that starts brokers itself: each
// comes from here, and after the file's tests every broker is killed (SIGKILL: the tests are
// done with them) and every directory removed.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { startWarren, type WarrenProcess } from './warren-process.js';

export interface WarrenFixture {
  /** A new empty directory, removed after the file's tests. */
  tempDir(): string;
  /** `warren start` on `dir` with the fixture's arguments, then `args`; killed after the file's tests. */
  start(dir: string, args?: readonly string[]): Promise<WarrenProcess>;
}

/** Call at the top level of a test file; `prefix` names its directories (warren-<prefix>-*). */
export function warrenFixture(prefix: string, baseArgs: readonly string[] = []): WarrenFixture {
  const dirs: string[] = [];
  const procs: WarrenProcess[] = [];
  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return {
    tempDir(): string {
      const d = mkdtempSync(join(tmpdir(), `warren-${prefix}-`));
      dirs.push(d);
      return d;
    },
    async start(dir: string, args: readonly string[] = []): Promise<WarrenProcess> {
      const p = await startWarren(dir, [...baseArgs, ...args]);
      procs.push(p);
      return p;
    },
  };
}
