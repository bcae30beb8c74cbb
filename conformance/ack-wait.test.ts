// The store's write hold (--store-ack-wait) through amqplib against the built broker: persistent
// messages a consumer acks while their batch waits are confirmed without being written, and a
// confirmed message that nobody acked is on disk, redelivered after kill -9. The hold is 50 ms
// here (2 ms by default) so that the acks of a loaded test machine still come within it.

import { createHash } from 'node:crypto';
import type { ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { connect, drain } from './drain.js';
import { waitFor } from './harness.js';
import { type WarrenProcess } from './warren-process.js';
import { warrenFixture } from './warren-fixture.js';

const { tempDir, start } = warrenFixture('ackwait', ['--store-ack-wait', '50']);

function bodyFor(i: number): string {
  return `${i}|${createHash('sha256').update(String(i)).digest('hex')}`;
}

/** The warren_store_* counters from /metrics. */
async function storeCounters(w: WarrenProcess): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${w.httpPort}/metrics`);
  expect(res.status).toBe(200);
  const out: Record<string, number> = {};
  for (const m of (await res.text()).matchAll(/^warren_store_([a-z_]+)_total (\S+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

describe('persistent messages acked while their write waits (--store-ack-wait)', () => {
  it('are confirmed, not written, and never come back after kill -9', async () => {
    const dir = tempDir();
    let w = await start(dir);
    const c = await connect(w.url);
    const sub = await c.createChannel();
    await sub.assertQueue('aw-quick', { durable: true });
    await sub.assertQueue('aw-marker', { durable: true });
    await sub.prefetch(1000);
    const got: string[] = [];
    await sub.consume('aw-quick', (m: ConsumeMessage | null) => {
      if (m === null) return;
      got.push(m.content.toString());
      sub.ack(m);
    });
    const before = await storeCounters(w);
    const pub = await c.createConfirmChannel();
    for (let i = 0; i < 300; i++) {
      pub.sendToQueue('aw-quick', Buffer.from(bodyFor(i)), { persistent: true });
      if (i % 100 === 99) await pub.waitForConfirms();
    }
    await waitFor(() => got.length === 300, 'every message consumed');
    expect(got).toEqual(Array.from({ length: 300 }, (_, i) => bodyFor(i)));
    // One more confirmed write, to another queue: every ack's delete before it is durable too.
    pub.sendToQueue('aw-marker', Buffer.from('marker'), { persistent: true });
    await pub.waitForConfirms();
    const after = await storeCounters(w);
    const d = (k: string): number => after[k]! - before[k]!;
    expect(d('holds')).toBeGreaterThan(0);
    expect(d('inserts_cancelled')).toBeGreaterThan(0);
    // Acks in order make the front of a hold durable before its last ack: confirms stream out.
    expect(d('writes_acked_early')).toBeGreaterThan(0);
    // Each of the 300 was either written or cancelled by its ack; the marker was written.
    expect(d('messages_written') - 1 + d('inserts_cancelled')).toBe(300);
    await w.kill('SIGKILL');

    w = await start(dir);
    const c2 = await connect(w.url);
    expect(await drain(c2, 'aw-quick')).toEqual([]);
    expect((await drain(c2, 'aw-marker')).map((m) => m.body)).toEqual(['marker']);
    await c2.close();
    await w.kill('SIGTERM');
  }, 60_000);

  it('a confirmed message the consumer never acked is on disk: it comes back redelivered after kill -9', async () => {
    const dir = tempDir();
    let w = await start(dir);
    const c = await connect(w.url);
    const sub = await c.createChannel();
    await sub.assertQueue('aw-held', { durable: true });
    await sub.prefetch(1000);
    const got: string[] = [];
    await sub.consume('aw-held', (m: ConsumeMessage | null) => {
      if (m !== null) got.push(m.content.toString());
    });
    const pub = await c.createConfirmChannel();
    for (let i = 0; i < 100; i++) pub.sendToQueue('aw-held', Buffer.from(bodyFor(i)), { persistent: true });
    await pub.waitForConfirms();
    await waitFor(() => got.length === 100, 'every message delivered');
    const counters = await storeCounters(w);
    expect(counters['holds']).toBeGreaterThan(0);
    expect(counters['holds_expired']).toBeGreaterThan(0);
    await w.kill('SIGKILL');

    w = await start(dir);
    const c2 = await connect(w.url);
    const back = await drain(c2, 'aw-held');
    expect(back.map((m) => m.body)).toEqual(Array.from({ length: 100 }, (_, i) => bodyFor(i)));
    expect(back.every((m) => m.redelivered)).toBe(true);
    await c2.close();
    await w.kill('SIGTERM');
  }, 60_000);
});
