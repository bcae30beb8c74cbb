// What the per-message shortcuts must not change, seen by amqplib: publishes whose exchange and
// routing key repeat, change, or alternate (a channel reuses decoded names while their bytes
// repeat) arrive with exactly their own names, and publishes to the default exchange (one
// lookup by queue name, no target set) reach their queue, CC'd ones a second, unknown or
// deleted names come back NO_ROUTE; a fan-out to 10 queues with 10 consumers on one
// channel (basic.deliver frames copied from a template per consumer) gives each consumer every
// message with its own tag, the exchange, the routing key and increasing delivery tags, and
// requeued ones come back flagged redelivered.

import type { ConsumeMessage } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { uid, waitFor } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

afterEach(async () => {
  await shared.clients.closeAll();
});

describe('names on the publish fast path', () => {
  it('repeating, changing and alternating exchange and routing key (UTF-8 too): each message routed by its own', async () => {
    const ch = await shared.clients.channel();
    const x = uid('hp-direct');
    await ch.assertExchange(x, 'direct', { autoDelete: true });
    const keys = ['a', 'b', 'ключ', 'a.longer.key'];
    const queues: string[] = [];
    for (const k of keys) {
      const q = uid('hp-q');
      await ch.assertQueue(q, { exclusive: true });
      await ch.bindQueue(q, x, k);
      queues.push(q);
    }
    const returned: string[] = [];
    ch.on('return', (m: ConsumeMessage) => returned.push(m.fields.routingKey));
    const sent: Record<string, string[]> = {};
    let i = 0;
    const pub = (exchange: string, key: string): void => {
      const body = `m${i++}`;
      (sent[key] ??= []).push(body);
      ch.publish(exchange, key, Buffer.from(body), { mandatory: true });
    };
    for (let n = 0; n < 50; n++) pub(x, 'a'); // repeating
    for (let n = 0; n < 50; n++) pub(x, keys[n % 4]!); // alternating
    for (let n = 0; n < 10; n++) pub(x, 'nowhere'); // unroutable, mandatory
    for (let n = 0; n < 20; n++) pub('', queues[n % 4]!); // default exchange, queue names as keys
    const got: Record<string, { body: string; exchange: string; key: string }[]> = {};
    for (const [k, q] of queues.entries()) {
      await ch.consume(q, (m) => m && (got[q] ??= []).push({ body: m.content.toString(), exchange: m.fields.exchange, key: m.fields.routingKey }), { noAck: true });
      void k;
    }
    const expected = (q: string, k: string): number => (sent[k]?.length ?? 0) + (sent[q]?.length ?? 0);
    await waitFor(() => queues.every((q, k) => (got[q]?.length ?? 0) === expected(q, keys[k]!)) && returned.length === 10, 'every message routed');
    for (const [k, q] of queues.entries()) {
      const viaX = got[q]!.filter((m) => m.exchange === x);
      expect(viaX.map((m) => m.body)).toEqual(sent[keys[k]!]);
      expect(viaX.every((m) => m.key === keys[k])).toBe(true);
      const direct = got[q]!.filter((m) => m.exchange === '');
      expect(direct.map((m) => m.body)).toEqual(sent[q]);
      expect(direct.every((m) => m.key === q)).toBe(true);
    }
    expect(returned).toEqual(Array<string>(10).fill('nowhere'));
  });

  it('the default exchange: each queue by its name, CC keys too; unknown and deleted names come back with 312 NO_ROUTE', async () => {
    const ch = await shared.clients.channel();
    const [qa, qb] = [uid('hp-da'), uid('hp-db')];
    await ch.assertQueue(qa, { exclusive: true });
    await ch.assertQueue(qb, { exclusive: true });
    const returned: string[] = [];
    ch.on('return', (m: ConsumeMessage) => {
      const f = m.fields as unknown as { replyCode: number; replyText: string };
      returned.push(`${f.replyCode} ${f.replyText} ${m.content.toString()}`);
    });
    for (let n = 0; n < 30; n++) ch.sendToQueue(n % 2 === 0 ? qa : qb, Buffer.from(`m${n}`), { mandatory: true });
    ch.sendToQueue(qa, Buffer.from('cc'), { CC: [qb], mandatory: true });
    ch.sendToQueue(uid('hp-none'), Buffer.from('nowhere'), { mandatory: true });
    ch.sendToQueue(uid('hp-none'), Buffer.from('dropped'));
    const bodies = async (q: string): Promise<string[]> => {
      const out: string[] = [];
      for (let m = await ch.get(q, { noAck: true }); m !== false; m = await ch.get(q, { noAck: true })) out.push(m.content.toString());
      return out;
    };
    await waitFor(() => returned.length === 1, 'basic.return');
    const evens = Array.from({ length: 15 }, (_, k) => `m${2 * k}`);
    const odds = Array.from({ length: 15 }, (_, k) => `m${2 * k + 1}`);
    expect(await bodies(qa)).toEqual([...evens, 'cc']);
    expect(await bodies(qb)).toEqual([...odds, 'cc']);
    await ch.deleteQueue(qb);
    ch.sendToQueue(qb, Buffer.from('after delete'), { mandatory: true });
    await waitFor(() => returned.length === 2, 'second basic.return');
    expect(returned).toEqual(['312 NO_ROUTE nowhere', '312 NO_ROUTE after delete']);
  });
});

describe('a fan-out to 10 consumers on one channel', () => {
  it('every consumer gets every message with its own tag, the exchange and key, increasing delivery tags; requeued ones come back redelivered', async () => {
    const pub = await shared.clients.channel();
    const ch = await shared.clients.channel();
    const x = uid('hp-fan');
    await ch.assertExchange(x, 'fanout', { autoDelete: true });
    const got = new Map<string, ConsumeMessage[]>();
    const tags: string[] = [];
    for (let k = 0; k < 10; k++) {
      const q = uid('hp-fq');
      await ch.assertQueue(q, { exclusive: true });
      await ch.bindQueue(q, x, '');
      const { consumerTag } = await ch.consume(q, (m) => {
        if (m === null) return;
        const list = got.get(m.fields.consumerTag) ?? [];
        got.set(m.fields.consumerTag, list);
        list.push(m);
        // The first delivery of message 5 to each consumer goes back once.
        if (m.content.toString() === 'm5' && !m.fields.redelivered) ch.nack(m, false, true);
        else ch.ack(m);
      });
      tags.push(consumerTag);
    }
    const n = 200;
    for (let i = 0; i < n; i++) pub.publish(x, 'rk', Buffer.from(`m${i}`));
    await waitFor(() => tags.every((t) => (got.get(t)?.length ?? 0) === n + 1), 'every consumer got every message and the requeued one');
    let lastTag = 0;
    const all = [...got.values()].flat().sort((a, b) => a.fields.deliveryTag - b.fields.deliveryTag);
    for (const m of all) {
      expect(m.fields.deliveryTag).toBeGreaterThan(lastTag);
      lastTag = m.fields.deliveryTag;
    }
    expect(lastTag).toBe(10 * (n + 1));
    for (const t of tags) {
      const list = got.get(t)!;
      expect(list.every((m) => m.fields.consumerTag === t && m.fields.exchange === x && m.fields.routingKey === 'rk')).toBe(true);
      const bodies = list.map((m) => m.content.toString());
      expect(new Set(bodies).size).toBe(n);
      expect(list.filter((m) => m.fields.redelivered).map((m) => m.content.toString())).toEqual(['m5']);
    }
  });
});
