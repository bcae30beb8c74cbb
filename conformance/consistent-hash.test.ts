// x-consistent-hash exchange (rabbitmq_consistent_hash_exchange), through amqplib: weights as
// binding keys and the 406s for bad ones, hash-header / hash-property and their errors, one
// queue per message, the same key always to the same queue, shares proportional to weights,
// adding a queue moves only a share of keys (all to the new queue), CC keys ignored, mandatory
// returns without bindings. Against RabbitMQ the plugin must be enabled:
//   rabbitmq-plugins -n <node> enable rabbitmq_consistent_hash_exchange
// (with conformance/rabbitmq-ref.sh's environment). Only behaviour both brokers share is asserted:
// which queue a given key lands on differs (RabbitMQ hashes with erlang:phash2).
import { describe, expect, it } from 'vitest';
import type { Channel, ConfirmChannel } from 'amqplib';
import { failure, uid } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

/** An exchange with one exclusive queue per weight; returns the exchange and the queue names. */
async function setup(ch: Channel, weights: number[], args: Record<string, unknown> = {}): Promise<{ x: string; qs: string[] }> {
  const x = uid('chx');
  await ch.assertExchange(x, 'x-consistent-hash', { durable: false, autoDelete: false, arguments: args });
  const qs: string[] = [];
  for (const w of weights) qs.push(await addQueue(ch, x, w));
  return { x, qs };
}

async function addQueue(ch: Channel, x: string, weight: number): Promise<string> {
  const { queue } = await ch.assertQueue('', { exclusive: true });
  await ch.bindQueue(queue, x, String(weight));
  return queue;
}

/** Reads every queue dry: message id -> queue name. */
async function whereTheyWent(ch: Channel, qs: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const q of qs) {
    for (;;) {
      const m = await ch.get(q, { noAck: true });
      if (!m) break;
      const id = m.properties.messageId as string;
      expect(out.has(id), `${id} delivered twice`).toBe(false);
      out.set(id, q);
    }
  }
  return out;
}

/** Publishes n messages (routing key key(i), message id `m<i>`) and waits for the confirms. */
async function publishAll(ch: ConfirmChannel, x: string, n: number, key: (i: number) => string, extra: (i: number) => Record<string, unknown> = () => ({})): Promise<void> {
  for (let i = 0; i < n; i++) ch.publish(x, key(i), Buffer.from('x'), { messageId: `m${i}`, ...extra(i) });
  await ch.waitForConfirms();
}

describe('binding keys are weights', () => {
  it('accepts positive integers, refuses the rest with the plugin texts', async () => {
    const conn = await shared.clients.connect();
    const ch = await shared.clients.channel(conn);
    const { x } = await setup(ch, []);
    const { queue } = await ch.assertQueue('', { exclusive: true });
    for (const k of ['1', '+5', '007']) await ch.bindQueue(queue, x, k);
    for (const [k, shown] of [
      ['abc', '<<"abc">>'],
      ['', '<<>>'],
      ['1.5', '<<"1.5">>'],
    ] as const) {
      const c = await shared.clients.channel(conn);
      const f = await failure(c.bindQueue(queue, x, k));
      expect([f.code, f.replyText]).toEqual([406, `PRECONDITION_FAILED - The binding key must be an integer: ${shown}`]);
    }
    for (const k of ['0', '-3']) {
      const c = await shared.clients.channel(conn);
      const f = await failure(c.bindQueue(queue, x, k));
      expect([f.code, f.replyText]).toEqual([406, 'PRECONDITION_FAILED - The binding key must be greater than 0']);
    }
    await ch.deleteExchange(x);
  });
});

describe('exchange arguments', () => {
  it('refuses an unknown hash-property, and hash-header with hash-property', async () => {
    let ch = await shared.clients.channel();
    let f = await failure(ch.assertExchange(uid('chx'), 'x-consistent-hash', { durable: false, arguments: { 'hash-property': 'app_id' } }));
    expect([f.code, f.replyText]).toEqual([406, 'PRECONDITION_FAILED - Unsupported property: app_id']);
    ch = await shared.clients.channel();
    f = await failure(ch.assertExchange(uid('chx'), 'x-consistent-hash', { durable: false, arguments: { 'hash-property': 'message_id', 'hash-header': 'h' } }));
    expect([f.code, f.replyText]).toEqual([406, 'PRECONDITION_FAILED - hash-header and hash-property are mutually exclusive']);
  });

  it('a hash-header that is not a string closes the connection with 541', async () => {
    const conn = await shared.clients.connectTracked();
    const ch = await conn.model.createChannel();
    ch.on('error', () => {});
    await failure(ch.assertExchange(uid('chx'), 'x-consistent-hash', { durable: false, arguments: { 'hash-header': 5 } }));
    const err = await conn.whenClosed;
    expect(err?.message).toContain('541');
  });
});

describe('routing', () => {
  it('one queue per message; the same key always to the same queue; shares follow the weights', async () => {
    const ch = await shared.clients.confirmChannel();
    const { x, qs } = await setup(ch, [1, 2, 3]);
    const n = 3000;
    const key = (i: number): string => `key-${i % 1500}`;
    await publishAll(ch, x, n, key);
    const where = await whereTheyWent(ch, qs);
    expect(where.size).toBe(n);
    for (let i = 0; i < 1500; i++) expect(where.get(`m${i}`)).toBe(where.get(`m${i + 1500}`));
    const count = (q: string): number => [...where.values()].filter((v) => v === q).length;
    const share = qs.map((q, i) => count(q) / ((n * (i + 1)) / 6));
    for (const s of share) {
      expect(s).toBeGreaterThan(0.8);
      expect(s).toBeLessThan(1.2);
    }
    await ch.deleteExchange(x);
  });

  it('adding a queue moves only a share of the keys, all of them to the new queue', async () => {
    const ch = await shared.clients.confirmChannel();
    const { x, qs } = await setup(ch, [1, 1, 1]);
    const n = 2000;
    await publishAll(ch, x, n, (i) => `key-${i}`);
    const before = await whereTheyWent(ch, qs);
    const added = await addQueue(ch, x, 1);
    await publishAll(ch, x, n, (i) => `key-${i}`);
    const after = await whereTheyWent(ch, [...qs, added]);
    let moved = 0;
    for (const [id, q] of before) {
      if (after.get(id) === q) continue;
      moved++;
      expect(after.get(id)).toBe(added);
    }
    expect(moved / n).toBeGreaterThan(0.15);
    expect(moved / n).toBeLessThan(0.35);
    await ch.deleteExchange(x);
  });

  it('hash-header hashes the header (messages without it all go to one queue)', async () => {
    const ch = await shared.clients.confirmChannel();
    const { x, qs } = await setup(ch, [1, 1, 1], { 'hash-header': 'tenant' });
    await publishAll(ch, x, 600, (i) => `rk-${i}`, (i) => ({ headers: { tenant: `t${i % 200}` } }));
    const where = await whereTheyWent(ch, qs);
    expect(new Set(where.values()).size).toBe(3);
    for (let i = 0; i < 200; i++) {
      expect(where.get(`m${i}`)).toBe(where.get(`m${i + 200}`));
      expect(where.get(`m${i}`)).toBe(where.get(`m${i + 400}`));
    }
    await publishAll(ch, x, 60, (i) => `rk-${i}`);
    expect(new Set((await whereTheyWent(ch, qs)).values()).size).toBe(1);
    await ch.deleteExchange(x);
  });

  it('hash-property message_id hashes the message id', async () => {
    const ch = await shared.clients.confirmChannel();
    const { x, qs } = await setup(ch, [1, 1, 1], { 'hash-property': 'message_id' });
    // Same message id, different routing keys: one queue each time.
    for (let i = 0; i < 100; i++) ch.publish(x, `rk-a-${i}`, Buffer.from('x'), { messageId: `id-${i}`, correlationId: 'a' });
    for (let i = 0; i < 100; i++) ch.publish(x, `rk-b-${i}`, Buffer.from('x'), { messageId: `id-${i}`, correlationId: 'b' });
    await ch.waitForConfirms();
    const firstRound = new Map<string, string>();
    let seen = 0;
    for (const q of qs) {
      for (;;) {
        const m = await ch.get(q, { noAck: true });
        if (!m) break;
        seen++;
        const id = m.properties.messageId as string;
        const prev = firstRound.get(id);
        if (prev === undefined) firstRound.set(id, q);
        else expect(prev).toBe(q);
      }
    }
    expect(seen).toBe(200);
    expect(new Set(firstRound.values()).size).toBe(3);
    await ch.deleteExchange(x);
  });

  it('CC keys take no part: one copy, where the routing key hashes', async () => {
    const ch = await shared.clients.confirmChannel();
    const { x, qs } = await setup(ch, [1, 1, 1, 1]);
    await publishAll(ch, x, 40, () => 'same-key', (i) => ({ CC: [`cc-a-${i}`, `cc-b-${i}`, `cc-c-${i}`] }));
    const where = await whereTheyWent(ch, qs);
    expect(where.size).toBe(40);
    expect(new Set(where.values()).size).toBe(1);
    await ch.deleteExchange(x);
  });

  it('without bindings a mandatory message comes back as 312 NO_ROUTE', async () => {
    const ch = await shared.clients.confirmChannel();
    const { x } = await setup(ch, []);
    const returned = new Promise<string>((resolve) => ch.once('return', (m) => resolve(`${m.fields.replyCode} ${m.fields.replyText}`)));
    ch.publish(x, 'k', Buffer.from('x'), { mandatory: true });
    await ch.waitForConfirms();
    expect(await returned).toBe('312 NO_ROUTE');
    await ch.deleteExchange(x);
  });
});
