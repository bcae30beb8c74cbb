// The responsiveness probe in raw frames (bench/lib/probe-raw.py) against a broker in this
// process: it negotiates with python3's standard library alone, its publishes come back to its
// own consumer and its passive declares are answered, and it prints probe.ts's sample shape.
// Timing is not judged here (that is the benchmark's job); that every probe was answered is.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import { testBroker } from '../helpers/broker.js';

const PYTHON = '/usr/bin/python3';
const script = fileURLToPath(new URL('../../bench/lib/probe-raw.py', import.meta.url));
let b: RunningBroker;

beforeAll(async () => {
  b = await testBroker();
});
afterAll(async () => {
  await b?.close();
});

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // a guard against hangs, not a timing check
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe.runIf(existsSync(PYTHON))('raw-frame probe', () => {
  it('gets every publish delivered back and every passive declare answered', async () => {
    const r = await run([b.url, 'probe-raw-test', '500', '10']);
    expect(r.code, r.err).toBe(0);
    const s = JSON.parse(r.out.trim()) as { deliver: number[]; rpc: number[]; late: number[]; lost: number };
    expect(s.lost).toBe(0);
    expect(s.deliver).toHaveLength(50);
    expect(s.late).toHaveLength(50);
    // a declare is sent with a publish whenever none is outstanding: at least one, at most one each
    expect(s.rpc.length).toBeGreaterThan(0);
    expect(s.rpc.length).toBeLessThanOrEqual(50);
    for (const x of [...s.deliver, ...s.rpc]) expect(x).toBeGreaterThan(0);
  });

  it('refused (a wrong password), it exits 1 with one line saying why', async () => {
    const r = await run([b.url.replace('guest:guest', 'guest:wrong'), 'probe-raw-test', '100', '10']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^probe-raw: /);
    expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});
