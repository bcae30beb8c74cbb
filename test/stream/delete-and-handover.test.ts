// Deleting a super stream in process through amqplib: exchange.delete of an x-super-stream
// exchange deletes the partition streams it made (their consumers hear basic.cancel), as
// RabbitMQ's delete_super_stream does, and leaves other queues bound to it; if-unused refuses.
// And the consumer-group handover timeout: an owner that does not ack what it holds loses its
// partition after the timeout (basic.cancel), and the new owner resumes at the committed offset.
import type { ConsumeMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import { Clients, testBroker, uid, waitFor } from '../helpers/broker.js';

let broker: RunningBroker;
let clients: Clients;

beforeAll(async () => {
  broker = await testBroker();
  clients = new Clients(broker.url);
});
afterEach(async () => clients.closeAll());
afterAll(async () => broker.close());

describe('deleting a super stream', () => {
  it('deletes its partition streams with the exchange; other queues bound to it stay', async () => {
    const c = await clients.connect();
    const ch = await c.confirmChannel();
    const x = uid('orders');
    await ch.assertExchange(x, 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': 3 } });
    const other = uid('other');
    await ch.assertQueue(other, { durable: true });
    await ch.bindQueue(other, x, '1');
    for (let i = 0; i < 30; i++) ch.publish(x, `k${i}`, Buffer.from(String(i)));
    await ch.waitForConfirms();
    const reader = await c.channel();
    await reader.prefetch(10);
    let cancelled = false;
    await reader.consume(`${x}-0`, (m: ConsumeMessage | null) => {
      if (m === null) cancelled = true;
      else reader.ack(m);
    }, { arguments: { 'x-stream-offset': 'first' } });
    const probe = await c.channel();
    await expect(probe.deleteExchange(x, { ifUnused: true })).rejects.toThrow(`PRECONDITION_FAILED - exchange '${x}' in vhost '/' in use`);
    const ch2 = await c.channel();
    await ch2.deleteExchange(x);
    await waitFor(() => cancelled, 'basic.cancel of the partition consumer');
    const v = broker.broker.vhosts.get('/')!;
    expect(v.getExchange(x)).toBeUndefined();
    for (let p = 0; p < 3; p++) expect(v.getQueue(`${x}-${p}`)).toBeUndefined();
    expect(v.getQueue(other)).toBeDefined();
  });
});

describe('consumer group handover timeout', () => {
  it('an owner that does not ack what it holds loses the partition after the timeout; the new owner resumes at the committed offset', async () => {
    const coordinator = broker.broker.coordinator;
    coordinator.handoverMs = 2000;
    try {
      const c = await clients.connect();
      const pub = await c.confirmChannel();
      const x = uid('orders');
      await pub.assertExchange(x, 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': 2 } });
      for (let seq = 0; seq < 15; seq++) for (let k = 0; k < 8; k++) pub.publish(x, `k${k}`, Buffer.from(`k${k}:${seq}`));
      await pub.waitForConfirms();
      const v = broker.broker.vhosts.get('/')!;
      const sizes = [0, 1].map((p) => v.getQueue(`${x}-${p}`)!.messageCount);
      expect(Math.min(...sizes)).toBeGreaterThan(10);
      // a holds both partitions and acks nothing (prefetch 10 per consumer).
      const a = await (await clients.connect()).channel();
      await a.prefetch(10);
      const aGot = [0, 0];
      const aCancelled: number[] = [];
      for (const p of [0, 1]) {
        await a.consume(`${x}-${p}`, (m: ConsumeMessage | null) => {
          if (m === null) aCancelled.push(p);
          else aGot[p]!++;
        }, { arguments: { 'x-consumer-group': 'g', 'x-stream-offset': 'first' } });
      }
      await waitFor(() => aGot[0] === 10 && aGot[1] === 10, 'a holds 10 on each partition');
      // b joins: one partition moves to it. a holds unacked deliveries there, so b waits.
      const b = await (await clients.connect()).channel();
      await b.prefetch(100);
      const bGot: { p: number; offset: number; body: string }[] = [];
      for (const p of [0, 1]) {
        await b.consume(`${x}-${p}`, (m: ConsumeMessage | null) => {
          if (m === null) return;
          bGot.push({ p, offset: Number(m.properties.headers?.['x-stream-offset']), body: m.content.toString() });
          b.ack(m);
        }, { arguments: { 'x-consumer-group': 'g' } });
      }
      const pending = coordinator.groups('/').find((g) => g.superStream === x)!.partitions.filter((p) => p.state === 'pending');
      expect(pending).toHaveLength(1);
      expect(bGot).toEqual([]);
      const moved = pending[0]!.partition;
      await waitFor(() => aCancelled.length === 1, 'a cancelled after the timeout', 15_000);
      expect(aCancelled).toEqual([moved]);
      await waitFor(() => bGot.length === sizes[moved], 'b reads the moved partition', 15_000);
      // From the committed offset (0: a acked nothing), so a's unacked deliveries come again, in order.
      expect(bGot.map((d) => d.offset)).toEqual([...Array(sizes[moved]).keys()]);
      expect(new Set(bGot.map((d) => d.p))).toEqual(new Set([moved]));
      const row = coordinator.groups('/').find((g) => g.superStream === x)!;
      expect(row.partitions.map((p) => p.state)).toEqual(['active', 'active']);
    } finally {
      coordinator.handoverMs = 5000;
    }
  }, 30_000);
});
