// Store flow control through a real client: amqplib publishes persistent messages flat out
// (no waiting on confirms until the end) to a durable queue of a warren whose store may hold
// only --store-write-buffer 64 KiB of unwritten messages. The publisher is paused (the log says
// so) instead of the broker buffering what the disk has not taken, and every message is
// confirmed and delivered intact, in order. Needs warren's option, so it runs against warren only.

import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { startBroker, type BrokerUnderTest } from './harness.js';

const brokers: BrokerUnderTest[] = [];
afterAll(async () => {
  for (const b of brokers) await b.stop();
});

describe('store flow control (warren)', () => {
  it('pauses a publisher faster than the store; every message is confirmed and delivered intact', async () => {
    if (process.env['WARREN_CONFORMANCE_URL']) return; // a warren option: nothing to compare
    const b = await startBroker({ args: ['--store-write-buffer', '65536', '--log-level', 'debug', '--log-format', 'json'] });
    brokers.push(b);
    const conn = await amqp.connect(b.url);
    const ch = await conn.createConfirmChannel();
    const q = 'store-flow';
    await ch.assertQueue(q, { durable: true });
    const n = 3000;
    const body = (i: number): Buffer => {
      const buf = Buffer.alloc(4096, i & 0xff);
      buf.writeUInt32BE(i, 0);
      return buf;
    };
    for (let i = 0; i < n; i++) {
      if (!ch.sendToQueue(q, body(i), { persistent: true })) await new Promise((r) => ch.once('drain', r));
    }
    await ch.waitForConfirms();
    const got: number[] = [];
    let intact = true;
    const sub = await conn.createChannel();
    await sub.prefetch(200);
    await new Promise<void>((resolve) => {
      void sub.consume(q, (m) => {
        if (m === null) return;
        const i = m.content.readUInt32BE(0);
        if (!m.content.equals(body(i))) intact = false;
        got.push(i);
        sub.ack(m);
        if (got.length === n) resolve();
      });
    });
    expect(intact).toBe(true);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
    await conn.close();
    // 12 MiB published against 64 KiB allowed unwritten: the publisher must have waited.
    expect(b.logs()).toContain('(store writes)');
  });
});
