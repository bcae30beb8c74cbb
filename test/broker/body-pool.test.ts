// Pooled bodies through an in-process broker over TCP (amqplib): one large body fanned out to
// queues consumed without acks, with acks (some late), with a requeue first, and to a durable
// queue as a persistent message; every delivered body is checked byte for byte, while the pool
// hands the buffers of finished messages to later ones (so a buffer given back too early would
// show as another message's bytes).

import type { ConsumeMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import { bodyPoolStats } from '../../src/util/body-pool.js';
import { Clients, testBroker, uid, waitFor } from '../helpers/broker.js';

let broker: RunningBroker;
let clients: Clients;

beforeAll(async () => {
  broker = await testBroker();
  clients = new Clients(broker.url);
});
afterEach(async () => clients.closeAll());
afterAll(async () => broker.close());

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7 + (i >>> 12)) & 0xff;
  return b;
}

describe('pooled large bodies', () => {
  it('fan-out to no-ack, acking, late-acking (two at a time), requeueing and durable queues: every body intact, buffers reused', async () => {
    const conn = await clients.connect();
    const other = await clients.connect();
    const pub = await conn.channel();
    const x = uid('fan');
    await pub.assertExchange(x, 'fanout', { autoDelete: true });
    const names = { fast: uid('fast'), ack: uid('ack'), late: uid('late'), requeue: uid('requeue'), durable: uid('durable') };
    for (const [k, q] of Object.entries(names)) {
      await pub.assertQueue(q, { durable: k === 'durable', autoDelete: k !== 'durable' });
      await pub.bindQueue(q, x, '');
    }
    const sizes = [64 * 1024, 1024 * 1024, 40 * 1024, 100_003, 64 * 1024];
    const n = 60;
    const got: Record<string, Map<number, Buffer>> = {};
    const check = (name: string) => (m: ConsumeMessage | null): number | null => {
      if (m === null) return null;
      const i = m.properties.headers!['i'] as number;
      (got[name] ??= new Map()).set(i, m.content);
      return i;
    };
    const c1 = await conn.channel();
    await c1.consume(names.fast, check('fast'), { noAck: true });
    const c2 = await other.channel();
    await c2.prefetch(3);
    await c2.consume(names.ack, (m) => check('ack')(m) !== null && c2.ack(m!));
    const c3 = await other.channel();
    await c3.prefetch(2);
    const late: ConsumeMessage[] = [];
    await c3.consume(names.late, (m) => {
      if (check('late')(m) === null) return;
      late.push(m!);
      if (late.length === 2) for (const l of late.splice(0)) c3.ack(l); // acked two at a time, behind
    });
    const c4 = await conn.channel();
    await c4.prefetch(4);
    await c4.consume(names.requeue, (m) => {
      if (m === null) return;
      if (!m.fields.redelivered) return c4.nack(m, false, true);
      check('requeue')(m);
      c4.ack(m);
    });
    const c5 = await conn.channel();
    await c5.consume(names.durable, (m) => check('durable')(m) !== null && c5.ack(m!));
    const all = (k: number) => ['fast', 'ack', 'requeue', 'durable'].every((q) => got[q]?.size === k) && (got['late']?.size ?? 0) >= k - 1;
    const reusedBefore = bodyPoolStats.reused;
    // Two halves: the second is published once the first is consumed, into buffers it gave back.
    for (const half of [0, 1]) {
      for (let i = (half * n) / 2; i < ((half + 1) * n) / 2; i++) {
        pub.publish(x, '', pattern(sizes[i % sizes.length]!, i), { headers: { i }, persistent: i % 3 === 0 });
      }
      await waitFor(() => all(((half + 1) * n) / 2), `deliveries of half ${half}`, 30_000);
      for (const l of late.splice(0)) c3.ack(l);
    }
    await waitFor(() => got['late']?.size === n, 'the last late delivery', 30_000);
    for (const [name, byIndex] of Object.entries(got)) {
      for (let i = 0; i < n; i++) {
        const want = pattern(sizes[i % sizes.length]!, i);
        expect(byIndex.get(i)?.equals(want), `${name} message ${i} intact`).toBe(true);
      }
    }
    expect(bodyPoolStats.reused).toBeGreaterThan(reusedBefore);
  });

  it('a body a delayed exchange also holds (through an exchange-to-exchange binding) is not reused when the queue is done with it', async () => {
    const conn = await clients.connect();
    const ch = await conn.channel();
    const x = uid('direct');
    const dx = uid('delayed');
    const now = uid('now');
    const later = uid('later');
    await ch.assertExchange(x, 'direct', { autoDelete: true });
    await ch.assertExchange(dx, 'x-delayed-message', { autoDelete: true, arguments: { 'x-delayed-type': 'direct' } });
    await ch.assertQueue(now, { autoDelete: true });
    await ch.assertQueue(later, { autoDelete: true });
    await ch.bindQueue(now, x, 'k');
    await ch.bindExchange(dx, x, 'k');
    await ch.bindQueue(later, dx, 'k');
    const n = 20;
    const sent = Array.from({ length: 2 * n }, (_, i) => pattern(64 * 1024, 1000 + i));
    const gotNow: Buffer[] = [];
    const gotLater: Buffer[] = [];
    await ch.consume(now, (m) => m && (gotNow.push(m.content), ch.ack(m)));
    await ch.consume(later, (m) => m && (gotLater.push(m.content), ch.ack(m)));
    // The first n go to both queues, the second straight to `now` (into buffers the first gave back, if any).
    for (let i = 0; i < n; i++) ch.publish(x, 'k', sent[i]!, { headers: { 'x-delay': 400 } });
    await waitFor(() => gotNow.length === n, 'the direct deliveries', 30_000);
    for (let i = n; i < 2 * n; i++) ch.sendToQueue(now, sent[i]!);
    await waitFor(() => gotNow.length === 2 * n && gotLater.length === n, 'every delivery', 30_000);
    for (let i = 0; i < 2 * n; i++) expect(gotNow[i]!.equals(sent[i]!), `direct ${i} intact`).toBe(true);
    for (let i = 0; i < n; i++) expect(gotLater[i]!.equals(sent[i]!), `delayed ${i} intact`).toBe(true);
  });
});
