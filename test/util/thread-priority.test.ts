// V8's platform threads run ten nice steps below the event loop (src/util/thread-priority.ts). On
// Linux a nice value belongs to one thread, so the call must change every other thread and not
// the caller's. It runs the built module (npm test builds first) in a child process, where it
// cannot touch the test runner's threads.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const built = new URL('../../dist/src/util/thread-priority.js', import.meta.url).href;

/** Reads a thread's nice value (/proc/.../stat field 19); the same text runs in the child. */
const NICE_OF = `(path) => { const s = require('node:fs').readFileSync(path, 'utf8'); return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[16]); }`;

describe.runIf(process.platform === 'linux')('thread priority', () => {
  it('lowerOtherThreads lowers every thread but the caller, and says how many', () => {
    const script = `
      const niceOf = ${NICE_OF};
      const { readdirSync } = require('node:fs');
      import(${JSON.stringify(built)}).then((m) => {
        const result = m.lowerOtherThreads();
        const nice = {};
        for (const t of readdirSync('/proc/self/task')) nice[t] = niceOf('/proc/self/task/' + t + '/stat');
        console.log(JSON.stringify({ pid: process.pid, result, nice }));
      });`;
    const out = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(out.status, out.stderr).toBe(0);
    const r = JSON.parse(out.stdout.trim()) as { pid: number; result: number | string; nice: Record<string, number> };
    const loop = r.nice[String(r.pid)]!;
    const others = Object.entries(r.nice).filter(([t]) => t !== String(r.pid));
    // V8's platform threads at least
    expect(others.length).toBeGreaterThanOrEqual(2);
    expect(r.result).toBe(others.length);
    for (const [, n] of others) expect(n).toBe(Math.min(19, loop + 10));
  });
});
