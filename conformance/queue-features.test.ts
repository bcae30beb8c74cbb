// Classic-queue features driven by x-arguments and message properties: TTL, dead-lettering,
// max-length, priorities, queue expiry. (Not in the tutorials, but every RabbitMQ app leans on them.)
import { beforeAll, describe, expect, it } from 'vitest';
import type { Channel } from 'amqplib';
import { body, Inbox, sync, uid, waitFor, waitForCount } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();
let ch: Channel;

beforeAll(async () => {
  ch = await shared.clients.channel();
});

async function drain(q: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (!m) return out;
    out.push(body(m));
  }
}

/** A dead-letter target: fanout exchange + exclusive queue bound to it. */
async function dlxTarget(): Promise<{ dlx: string; dlq: string }> {
  const dlx = uid('dlx');
  await ch.assertExchange(dlx, 'fanout', { durable: false });
  const dlq = (await ch.assertQueue('', { exclusive: true })).queue;
  await ch.bindQueue(dlq, dlx, '');
  return { dlx, dlq };
}

describe('TTL', () => {
  it('x-message-ttl=0 expires messages that cannot be delivered immediately', async () => {
    const q = uid('ttl0');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 0 } });
    ch.sendToQueue(q, Buffer.from('gone'));
    await sync(ch);
    expect(await ch.get(q, { noAck: true })).toBe(false);
    await ch.deleteQueue(q);
  });

  it('x-message-ttl=0 still delivers to a waiting consumer', async () => {
    const q = uid('ttl0-consumer');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 0 } });
    const inbox = new Inbox();
    const c = await shared.clients.channel();
    await c.consume(q, inbox.push, { noAck: true });
    ch.sendToQueue(q, Buffer.from('caught'));
    expect(body(await inbox.next())).toBe('caught');
    await ch.deleteQueue(q);
  });

  it('per-message expiration "0" expires, other messages stay', async () => {
    const q = uid('expiration');
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('kept-1'));
    ch.sendToQueue(q, Buffer.from('expired'), { expiration: '0' });
    ch.sendToQueue(q, Buffer.from('kept-2'), { expiration: '600000' });
    await sync(ch);
    expect(await drain(q)).toEqual(['kept-1', 'kept-2']);
    await ch.deleteQueue(q);
  });

  it('a short TTL expires messages eventually', async () => {
    const q = uid('ttl-short');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 50 } });
    ch.sendToQueue(q, Buffer.from('soon gone'));
    await waitFor(async () => (await ch.checkQueue(q)).messageCount === 0, 'message expiry');
    expect(await ch.get(q, { noAck: true })).toBe(false);
    await ch.deleteQueue(q);
  });
});

describe('dead-lettering', () => {
  it('expired messages are dead-lettered with x-death (reason expired)', async () => {
    const { dlx, dlq } = await dlxTarget();
    const q = uid('dl-expired');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 0, 'x-dead-letter-exchange': dlx } });
    ch.sendToQueue(q, Buffer.from('expired'), { headers: { mine: 'kept' } });
    await waitFor(async () => (await ch.checkQueue(dlq)).messageCount === 1, 'dead-lettered message');
    const m = await ch.get(dlq, { noAck: true });
    expect(body(m)).toBe('expired');
    if (!m) throw new Error('no message');
    expect(m.fields).toMatchObject({ exchange: dlx, routingKey: q });
    const h = m.properties.headers as Record<string, unknown>;
    expect(h['mine']).toBe('kept');
    expect(h['x-first-death-reason']).toBe('expired');
    expect(h['x-first-death-queue']).toBe(q);
    expect(h['x-first-death-exchange']).toBe('');
    const death = (h['x-death'] as Array<Record<string, unknown>>)[0]!;
    expect(death).toMatchObject({ count: 1, reason: 'expired', queue: q, exchange: '', 'routing-keys': [q] });
    expect(death['time']).toBeDefined();
    await ch.deleteQueue(q);
    await ch.deleteExchange(dlx);
  });

  it('messages expiring through x-message-ttl while waiting are dead-lettered oldest first', async () => {
    const { dlx, dlq } = await dlxTarget();
    const q = uid('dl-expired-order');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 200, 'x-dead-letter-exchange': dlx } });
    // Many published within the same millisecond: they expire together, in queue order.
    const sent = Array.from({ length: 500 }, (_, i) => `m${i}`);
    for (const b of sent) ch.sendToQueue(q, Buffer.from(b));
    await sync(ch);
    await waitForCount(ch, dlq, sent.length);
    expect(await drain(dlq)).toEqual(sent);
    await ch.deleteQueue(q);
    await ch.deleteExchange(dlx);
  });

  it('rejected (requeue=false) messages are dead-lettered with reason rejected and the DLX routing key', async () => {
    const dlx = uid('dlx-direct');
    await ch.assertExchange(dlx, 'direct', { durable: false });
    const dlq = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(dlq, dlx, 'dead');
    const q = uid('dl-rejected');
    await ch.assertQueue(q, {
      durable: false,
      arguments: { 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'dead' },
    });
    ch.sendToQueue(q, Buffer.from('nacked'));
    ch.sendToQueue(q, Buffer.from('rejected'));
    ch.sendToQueue(q, Buffer.from('requeued'));
    const c = await shared.clients.channel();
    const a = await c.get(q, { noAck: false });
    const b = await c.get(q, { noAck: false });
    const r = await c.get(q, { noAck: false });
    c.nack(a as never, false, false);
    c.reject(b as never, false);
    c.reject(r as never, true); // requeue: not dead-lettered
    await sync(c);
    await waitFor(async () => (await ch.checkQueue(dlq)).messageCount === 2, 'two dead-lettered messages');
    const d1 = await ch.get(dlq, { noAck: true });
    const d2 = await ch.get(dlq, { noAck: true });
    expect([body(d1), body(d2)]).toEqual(['nacked', 'rejected']);
    if (!d1) throw new Error('no message');
    expect(d1.fields).toMatchObject({ exchange: dlx, routingKey: 'dead' });
    const death = ((d1.properties.headers as Record<string, unknown>)['x-death'] as Array<Record<string, unknown>>)[0]!;
    expect(death).toMatchObject({ count: 1, reason: 'rejected', queue: q, exchange: '', 'routing-keys': [q] });
    expect(await drain(q)).toEqual(['requeued']);
    await ch.deleteQueue(q);
    await ch.deleteExchange(dlx);
  });

  it('messages dropped by x-max-length are dead-lettered with reason maxlen', async () => {
    const { dlx, dlq } = await dlxTarget();
    const q = uid('dl-maxlen');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 2, 'x-dead-letter-exchange': dlx } });
    for (const t of ['a', 'b', 'c']) ch.sendToQueue(q, Buffer.from(t));
    await waitFor(async () => (await ch.checkQueue(dlq)).messageCount === 1, 'dead-lettered head');
    const m = await ch.get(dlq, { noAck: true });
    expect(body(m)).toBe('a');
    if (!m) throw new Error('no message');
    const death = ((m.properties.headers as Record<string, unknown>)['x-death'] as Array<Record<string, unknown>>)[0]!;
    expect(death['reason']).toBe('maxlen');
    expect(await drain(q)).toEqual(['b', 'c']);
    await ch.deleteQueue(q);
    await ch.deleteExchange(dlx);
  });
});

describe('length limits', () => {
  it('x-max-length drops from the head by default', async () => {
    const q = uid('maxlen');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 3 } });
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await sync(ch);
    expect(await drain(q)).toEqual(['m2', 'm3', 'm4']);
    await ch.deleteQueue(q);
  });

  it('x-max-length-bytes counts body bytes', async () => {
    const q = uid('maxbytes');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length-bytes': 10 } });
    for (const t of ['12345', '67890', 'abcde']) ch.sendToQueue(q, Buffer.from(t));
    await sync(ch);
    expect(await drain(q)).toEqual(['67890', 'abcde']);
    await ch.deleteQueue(q);
  });

  it('x-overflow reject-publish keeps the oldest messages', async () => {
    const q = uid('reject-pub');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 2, 'x-overflow': 'reject-publish' } });
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await sync(ch);
    expect(await drain(q)).toEqual(['m0', 'm1']);
    await ch.deleteQueue(q);
  });
});

describe('priorities', () => {
  it('x-max-priority delivers higher priorities first, FIFO within a priority', async () => {
    const q = uid('prio');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': 10 } });
    const msgs: Array<[string, number | undefined]> = [
      ['low-1', 1],
      ['none', undefined],
      ['high-1', 9],
      ['mid', 5],
      ['high-2', 9],
      ['over-max', 200], // treated as the maximum
      ['low-2', 1],
    ];
    for (const [t, p] of msgs) ch.sendToQueue(q, Buffer.from(t), p === undefined ? {} : { priority: p });
    await sync(ch);
    expect(await drain(q)).toEqual(['over-max', 'high-1', 'high-2', 'mid', 'low-1', 'low-2', 'none']);
    await ch.deleteQueue(q);
  });
});

describe('queue expiry', () => {
  it('x-expires deletes an unused queue', async () => {
    const q = uid('expires');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 100 } });
    // Probe with mandatory publishes (a passive declare would count as use and reset the timer):
    // once the queue is gone, the default exchange returns the message as unroutable.
    const probe = await shared.clients.confirmChannel();
    let returned = 0;
    probe.on('return', () => {
      returned++;
    });
    await waitFor(async () => {
      probe.publish('', q, Buffer.from('probe'), { mandatory: true });
      await probe.waitForConfirms();
      return returned > 0;
    }, 'queue expiry', 10_000, 100);
    const f = await shared.clients.channel();
    await expect(f.checkQueue(q)).rejects.toThrow(`NOT_FOUND - no queue '${q}' in vhost '/'`);
  });
});
