// confirm-blast (bench/confirm-blast.c and bench/confirm-blast/*.c): scenarios (c) and (h) on raw
// sockets, the persistent path's load generator whose own CPU a message stays far below
// amqp-perf's. Built with the system's C compiler (Debian: gcc libc6-dev) into the scratch dir,
// again whenever a source file is newer.
//
//   node -e "import('./dist/bench/lib/confirm-blast.js').then((m) => console.log(m.buildConfirmBlast().bin))"

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, TMP_DIR } from './paths.js';

export const CONFIRM_BLAST_SOURCE = join(REPO_ROOT, 'bench', 'confirm-blast.c');
const PARTS_DIR = join(REPO_ROOT, 'bench', 'confirm-blast');
/** The main file, then the parts it is linked with. */
export const CONFIRM_BLAST_SOURCES = [CONFIRM_BLAST_SOURCE, ...['wire.c', 'proc.c', 'backlog.c'].map((f) => join(PARTS_DIR, f))];
const CONFIRM_BLAST_HEADER = join(PARTS_DIR, 'blast.h');

export interface ConfirmBlastBuild {
  readonly bin: string | null;
  /** Why there is no binary. */
  readonly reason: string;
}

let cached: ConfirmBlastBuild | null = null;

/** Compiles bench/confirm-blast.c and its parts unless an up-to-date binary is there (or BENCH_CONFIRM_BLAST_BIN names one). */
export function buildConfirmBlast(outDir = join(TMP_DIR, 'confirm-blast')): ConfirmBlastBuild {
  if (cached) return cached;
  const given = process.env['BENCH_CONFIRM_BLAST_BIN'];
  if (given) return (cached = { bin: given, reason: '' });
  const bin = join(outDir, 'confirm-blast');
  try {
    const newest = Math.max(...[...CONFIRM_BLAST_SOURCES, CONFIRM_BLAST_HEADER].map((f) => statSync(f).mtimeMs));
    if (!existsSync(bin) || statSync(bin).mtimeMs < newest) {
      mkdirSync(outDir, { recursive: true });
      execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', bin, ...CONFIRM_BLAST_SOURCES, '-lpthread'], { stdio: ['ignore', 'pipe', 'pipe'] });
    }
    cached = { bin, reason: '' };
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const detail = err.stderr?.toString().trim().split('\n').slice(-3).join(' | ') || err.message;
    cached = { bin: null, reason: `cannot build confirm-blast (needs a C compiler: gcc libc6-dev): ${detail}` };
  }
  return cached;
}
