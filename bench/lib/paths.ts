// Where things are: the repository (found from this file, compiled or not), the built broker,
// the shared load generator's sources, and the results directories.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'warren') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    dir = dirname(dir);
  }
  throw new Error('bench: cannot find the warren repository root above ' + fileURLToPath(import.meta.url));
}

export const REPO_ROOT = findRepoRoot();
export const WARREN_MAIN = join(REPO_ROOT, 'dist', 'src', 'main.js');
export const BENCH_DIST = join(REPO_ROOT, 'dist', 'bench');
export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');
/** Scratch space (gitignored): broker data dirs, logs, the amqp-perf build. */
export const TMP_DIR = process.env['BENCH_TMPDIR'] ? resolve(process.env['BENCH_TMPDIR']) : join(RESULTS_DIR, 'tmp');
/** The shared load generator (amqp-perf.c, run-matrix.sh, ...); read-only, built from a copy. */
export const SHARED_BENCH_DIR = process.env['BENCH_SHARED_DIR'] ? resolve(process.env['BENCH_SHARED_DIR']) : resolve(REPO_ROOT, '..', 'shared', 'bench');
