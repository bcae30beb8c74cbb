#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=4194304 node --max-semi-space-size=4 --initial-old-space-size=32
// The `warren` command: `warren start` runs the daemon (cli/start.ts); the other commands talk
// to a running broker's HTTP API (cli/commands.ts). Exit codes: 0 done, 1 the broker refused or
// failed (or the configuration is bad), 2 usage error, 3 no broker answering.

import { processIo, runCli } from './cli/program.js';

runCli(process.argv, processIo).then(
  (code) => {
    if (code !== 0) process.exit(code);
  },
  (e: unknown) => {
    process.stderr.write(`warren: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
