// Redelivery: unacknowledged messages come back with redelivered=true, at their original position,
// when a channel closes, when the connection drops, on nack/reject with requeue and on basic.recover;
// nack/reject without requeue drops them.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Channel, GetMessage } from 'amqplib';
import { body, Inbox, runPika, sync, uid, waitFor } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();
let admin: Channel;

beforeAll(async () => {
  admin = await shared.clients.channel();
});

async function queueWith(n: number, prefix = 'm'): Promise<string> {
  const q = uid('redeliver');
  await admin.assertQueue(q, { durable: false });
  for (let i = 0; i < n; i++) admin.sendToQueue(q, Buffer.from(`${prefix}${i}`));
  await sync(admin);
  return q;
}

/** Drain with basic.get (no-ack) and return "body" or "body*" for redelivered messages. */
async function drain(q: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await admin.get(q, { noAck: true });
    if (!m) return out;
    out.push(`${body(m)}${m.fields.redelivered ? '*' : ''}`);
  }
}

async function getN(ch: Channel, q: string, n: number): Promise<GetMessage[]> {
  const out: GetMessage[] = [];
  for (let i = 0; i < n; i++) {
    const m = await ch.get(q, { noAck: false });
    if (!m) throw new Error('queue unexpectedly empty');
    out.push(m);
  }
  return out;
}

describe('requeue on channel close and connection loss', () => {
  it('unacked deliveries return to their original position with redelivered=true when the channel closes', async () => {
    const q = await queueWith(5);
    const ch = await shared.clients.channel();
    await ch.prefetch(2);
    const inbox = new Inbox();
    await ch.consume(q, inbox.push);
    const got = await inbox.take(2);
    expect(got.map(body)).toEqual(['m0', 'm1']);
    expect(got.every((m) => !m.fields.redelivered)).toBe(true);
    await ch.close();
    expect(await drain(q)).toEqual(['m0*', 'm1*', 'm2', 'm3', 'm4']);
    await admin.deleteQueue(q);
  });

  it('messages fetched with basic.get (ack mode) are requeued too; no-ack ones are gone', async () => {
    const q = await queueWith(4);
    const ch = await shared.clients.channel();
    const a = await ch.get(q, { noAck: true });
    const b = await ch.get(q, { noAck: false });
    expect([body(a), body(b)]).toEqual(['m0', 'm1']);
    await ch.close();
    expect(await drain(q)).toEqual(['m1*', 'm2', 'm3']);
    await admin.deleteQueue(q);
  });

  it('unacked deliveries are requeued when the TCP connection is dropped without a close', async () => {
    const q = await queueWith(4);
    const conn = await shared.clients.connect();
    const ch = await shared.clients.channel(conn);
    const inbox = new Inbox();
    await ch.prefetch(3);
    await ch.consume(q, inbox.push);
    await inbox.take(3);
    shared.clients.drop(conn);
    await waitFor(async () => (await admin.checkQueue(q)).messageCount === 4, 'requeue after socket drop');
    expect(await drain(q)).toEqual(['m0*', 'm1*', 'm2*', 'm3']);
    await admin.deleteQueue(q);
  });

  it('a redelivered message goes to another consumer (pika sees redelivered=true)', async () => {
    const q = await queueWith(2);
    const ch = await shared.clients.channel();
    const first = await ch.get(q, { noAck: false });
    expect(body(first)).toBe('m0');
    await ch.close();
    const r = await runPika(shared.broker.url, 'tutorials', ['receive', q, '2']);
    const msgs = r.events.filter((e) => e['event'] === 'message');
    expect(msgs.map((e) => [e['body'], e['redelivered']])).toEqual([
      ['m0', true],
      ['m1', false],
    ]);
    await admin.deleteQueue(q);
  });
});

describe('nack / reject', () => {
  it('reject with requeue puts the message back at its position, flagged redelivered', async () => {
    const q = await queueWith(4);
    const ch = await shared.clients.channel();
    const [m0, m1, m2] = await getN(ch, q, 3);
    ch.reject(m1!, true);
    ch.reject(m0!, true);
    ch.ack(m2!);
    await sync(ch);
    expect(await drain(q)).toEqual(['m0*', 'm1*', 'm3']);
    await admin.deleteQueue(q);
  });

  it('nack multiple with requeue requeues everything up to the tag', async () => {
    const q = await queueWith(5);
    const ch = await shared.clients.channel();
    const got = await getN(ch, q, 4);
    ch.nack(got[2]!, true, true); // m0..m2
    await sync(ch);
    expect(await admin.checkQueue(q)).toMatchObject({ messageCount: 4 });
    ch.ack(got[3]!);
    await sync(ch);
    expect(await drain(q)).toEqual(['m0*', 'm1*', 'm2*', 'm4']);
    await admin.deleteQueue(q);
  });

  it('nack and reject without requeue drop the message', async () => {
    const q = await queueWith(4);
    const ch = await shared.clients.channel();
    const [m0, m1, m2] = await getN(ch, q, 3);
    ch.reject(m0!, false);
    ch.nack(m1!, false, false);
    ch.nack(m2!, false, true);
    await sync(ch);
    expect(await drain(q)).toEqual(['m2*', 'm3']);
    await ch.close();
    expect(await drain(q)).toEqual([]);
    await admin.deleteQueue(q);
  });

  it('nackAll without requeue drops all outstanding deliveries', async () => {
    const q = await queueWith(3);
    const ch = await shared.clients.channel();
    await getN(ch, q, 3);
    ch.nackAll(false);
    await ch.close();
    expect(await admin.checkQueue(q)).toMatchObject({ messageCount: 0 });
    await admin.deleteQueue(q);
  });

  it('a requeued message is redelivered to a consumer with redelivered=true and a new delivery tag', async () => {
    const q = await queueWith(1);
    const ch = await shared.clients.channel();
    const inbox = new Inbox();
    await ch.consume(q, inbox.push);
    const first = await inbox.next();
    expect(first!.fields.redelivered).toBe(false);
    ch.nack(first!, false, true);
    const again = await inbox.next();
    expect(body(again)).toBe('m0');
    expect(again!.fields.redelivered).toBe(true);
    expect(again!.fields.deliveryTag).toBe(first!.fields.deliveryTag + 1);
    ch.ack(again!);
    await sync(ch);
    expect(await admin.checkQueue(q)).toMatchObject({ messageCount: 0 });
    await admin.deleteQueue(q);
  });
});

describe('basic.recover', () => {
  it('recover (requeue=true) redelivers all unacked messages with redelivered=true', async () => {
    const q = await queueWith(3);
    const ch = await shared.clients.channel();
    const inbox = new Inbox();
    await ch.consume(q, inbox.push);
    const first = await inbox.take(3);
    expect(first.every((m) => !m.fields.redelivered)).toBe(true);
    await ch.recover();
    const again = await inbox.take(3);
    expect(again.map(body)).toEqual(['m0', 'm1', 'm2']);
    expect(again.every((m) => m.fields.redelivered)).toBe(true);
    for (const m of again) ch.ack(m);
    await sync(ch);
    expect(await admin.checkQueue(q)).toMatchObject({ messageCount: 0 });
    await admin.deleteQueue(q);
  });
});
