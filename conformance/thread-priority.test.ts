// The built warren runs V8's platform threads ten nice steps below its event loop
// (src/util/thread-priority.ts), so that on a shared core the loop, which serves every client, is
// not kept waiting by them; the SQLite store's writer keeps the loop's nice value (lowered, a
// backlog's drain held far more memory) under SCHED_BATCH. Checked in /proc after an amqplib
// client's confirmed persistent publish, with the writer at work: the event loop keeps the nice
// value warren was started with.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWarren, type WarrenProcess } from './warren-process.js';

const SCHED_BATCH = 3;
let dir: string;
let w: WarrenProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-threads-'));
  w = await startWarren(dir);
});

afterAll(async () => {
  await w?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

interface ThreadInfo {
  readonly tid: number;
  readonly nice: number;
  readonly policy: number;
}

/** /proc/<pid>/task/<tid>/stat: nice is field 19, the scheduling policy field 41. */
function threads(pid: number): ThreadInfo[] {
  const out: ThreadInfo[] = [];
  for (const name of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${name}/stat`, 'utf8');
      // the fields after the command name, which is in parentheses and may hold spaces
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ tid: Number(name), nice: Number(f[19 - 3]), policy: Number(f[41 - 3]) });
    } catch {
      // the thread ended while we looked
    }
  }
  return out;
}

describe.runIf(process.platform === 'linux')('helper threads', () => {
  it('run ten nice steps below the event loop, the store writer at its level', async () => {
    const conn = await amqp.connect(w.url);
    try {
      const ch = await conn.createConfirmChannel();
      const q = `threads-${process.pid}`;
      await ch.assertQueue(q, { durable: true });
      ch.sendToQueue(q, Buffer.from('persistent'), { persistent: true });
      await ch.waitForConfirms();
      await ch.deleteQueue(q);
    } finally {
      await conn.close();
    }
    const all = threads(w.pid);
    const loop = all.find((t) => t.tid === w.pid);
    expect(loop).toBeDefined();
    const helperNice = Math.min(19, loop!.nice + 10);
    const writer = all.filter((t) => t.policy === SCHED_BATCH);
    expect(writer).toHaveLength(1);
    expect(writer[0]!.nice).toBe(loop!.nice);
    // V8's platform threads (four by default) and libuv's pool, started with the process
    const lowered = all.filter((t) => t.tid !== w.pid && t.policy !== SCHED_BATCH && t.nice === helperNice);
    expect(lowered.length).toBeGreaterThanOrEqual(4);
  });
});
