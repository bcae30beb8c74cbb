// Named readers and consumer groups through pika across kill -9 of the broker mid-stream (the
// amqplib versions are in stream-groups.test.ts): pika processes read, warren is killed under
// them, and after the restart new pika processes go on from the committed offsets. Checked:
// at-least-once (nothing skipped), each session in order, per-key order for the group. warren
// only: RabbitMQ 3.10 has no named readers or consumer groups over AMQP 0-9-1.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PikaProcess, runPika, uid, waitFor } from './harness.js';
import { startWarren, type WarrenProcess } from './warren-process.js';

const external = process.env['WARREN_CONFORMANCE_URL'] !== undefined;
const dirs: string[] = [];
const procs: WarrenProcess[] = [];
const pikas: PikaProcess[] = [];

afterAll(async () => {
  for (const p of pikas) p.kill();
  for (const w of procs) await w.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(dir?: string): Promise<{ w: WarrenProcess; dir: string }> {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'warren-pika-kill-'));
  if (dir === undefined) dirs.push(d);
  const w = await startWarren(d);
  procs.push(w);
  return { w, dir: d };
}

async function api<T>(w: WarrenProcess, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${w.httpPort}/api${path}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  return (await res.json()) as T;
}

function pika(url: string, args: string[]): PikaProcess {
  const p = new PikaProcess(url, 'stream_groups', args);
  pikas.push(p);
  return p;
}

const deliveries = (p: PikaProcess): number[] => p.events.filter((e) => e['event'] === 'delivery').map((e) => Number(e['offset']));

describe.skipIf(external)('pika across kill -9 of the broker', () => {
  it('a named reader: the new process resumes at the committed offset; nothing skipped, each session in order', async () => {
    let { w, dir } = await start();
    const s = uid('s');
    const total = 4000;
    await runPika(w.url, 'streams', ['fill', s, String(total), '100']);
    const first = pika(w.url, ['read', s, 'ledger', String(total), 'first']);
    await first.waitForEvent(() => deliveries(first).length >= 1500, '1500 deliveries', 30_000);
    await w.kill('SIGKILL');
    await first.exited;
    const seen1 = deliveries(first);
    ({ w } = await start(dir));
    const reader = (await api<{ name: string; committed_offset: number }[]>(w, `/stream-readers/%2F/${s}`)).find((r) => r.name === 'ledger')!;
    const resumeAt = reader.committed_offset;
    // Never past what was processed (pika acks right after printing); commits are written in
    // batches, so it may be behind: those come again.
    expect(resumeAt).toBeLessThanOrEqual(seen1.at(-1)! + 1);
    expect(resumeAt).toBeGreaterThan(0);
    // Hang guards, not speed limits: on a loaded machine pika alone can take a minute here.
    const rest = await runPika(w.url, 'stream_groups', ['read', s, 'ledger', String(total - resumeAt)], 150_000);
    expect(rest.timedOut, `pika was stopped by the hang guard; stderr: ${rest.stderr}`).toBe(false);
    const seen2 = rest.events.filter((e) => e['event'] === 'delivery').map((e) => Number(e['offset']));
    expect(seen1).toEqual(seen1.map((_, i) => i));
    expect(seen2).toEqual(seen2.map((_, i) => resumeAt + i));
    expect(seen2.at(-1)).toBe(total - 1);
  }, 300_000);

  it('a consumer group of two pika members: after the restart one member finishes every key in order, none skipped', async () => {
    let { w, dir } = await start();
    const x = uid('orders');
    const keys = 12;
    const per = 60;
    await runPika(w.url, 'stream_groups', ['declare', x, '3']);
    // Members first, so the assignment is settled before anything is published (no handover).
    const m1 = pika(w.url, ['member', x, '3', 'billing', '3']);
    const m2 = pika(w.url, ['member', x, '3', 'billing', '3']);
    await m1.waitForEvent((e) => e['event'] === 'ready', 'm1 ready');
    await m2.waitForEvent((e) => e['event'] === 'ready', 'm2 ready');
    await waitFor(async () => {
      const g = (await api<{ super_stream: string; members: number; partitions: { state: string }[] }[]>(w, '/consumer-groups/%2F')).find((r) => r.super_stream === x);
      return g?.members === 2 && g.partitions.length === 3 && g.partitions.every((p) => p.state === 'active') ? true : undefined;
    }, 'two members, three active partitions');
    await runPika(w.url, 'stream_groups', ['publish', x, String(keys), String(per)], 60_000);
    const processed = (p: PikaProcess) => p.events.filter((e) => e['event'] === 'processed') as { key: string; seq: number }[];
    await waitFor(() => (processed(m1).length + processed(m2).length >= 200 ? true : undefined), '200 processed', 30_000);
    await w.kill('SIGKILL');
    await Promise.all([m1.exited, m2.exited]);
    const session1 = [...processed(m1), ...processed(m2)];
    ({ w } = await start(dir));
    const m3 = pika(w.url, ['member', x, '3', 'billing']);
    // A partition finished and committed before the kill gives m3 nothing: count both sessions.
    const done = (): boolean => {
      const top = new Map<string, number>();
      for (const e of [...session1, ...processed(m3)]) top.set(e.key, Math.max(top.get(e.key) ?? -1, e.seq));
      return top.size === keys && [...top.values()].every((v) => v === per - 1);
    };
    await waitFor(() => (done() ? true : undefined), 'every key to the end', 60_000);
    for (let k = 0; k < keys; k++) {
      const key = `key-${k}`;
      const before = session1.filter((e) => e.key === key).map((e) => e.seq);
      const after = processed(m3).filter((e) => e.key === key).map((e) => e.seq);
      // One owner per key per session: in order, without repeats inside a session.
      expect(before, `${key} before the kill`).toEqual(before.map((_, i) => i));
      if (after.length === 0) {
        expect(before.length, `${key} finished before the kill`).toBe(per);
        continue;
      }
      expect(after, `${key} after the restart`).toEqual(after.map((_, i) => after[0]! + i));
      // The new owner starts at or before the first message not processed: nothing skipped.
      expect(after[0]!, `${key} resumed without a gap`).toBeLessThanOrEqual(before.length);
      expect(after.at(-1)).toBe(per - 1);
    }
  }, 120_000);
});
