// RabbitMQ extensions real applications rely on, through amqplib: TTL and expiration, dead-lettering
// (x-death exactly as RabbitMQ shapes it, cycles), length limits and overflow modes, queue expiry,
// priority queues, single active consumer, consumer priorities, delivery limits and quorum queues,
// alternate and internal exchanges, CC/BCC, direct reply-to. Extends queue-features.test.ts (basic
// TTL/DLX/max-length/priority/x-expires) without repeating it.
//
// Deliberate differences from RabbitMQ 3.10 (asserted for warren only when not running against
// RabbitMQ, i.e. `broker.external` false; the RabbitMQ branch documents what RabbitMQ does):
//  1. An expired message is removed (and dead-lettered) when it expires, wherever it sits in the
//     queue. RabbitMQ only drops expired messages at the head: one behind an unexpired head still
//     counts in message_count and is dead-lettered only once it reaches the head. Neither delivers it.
//  2. x-delivery-limit is accepted on classic queues and works as on quorum queues (RabbitMQ: 406
//     "invalid arg 'x-delivery-limit' ... of queue type rabbit_classic_queue").
//  3. Quorum queues are run as ordinary durable queues with quorum delivery-count semantics; the
//     tests here pass on both (x-delivery-count, delivery_limit dead-lettering, channel close counts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Channel, ConfirmChannel, ConsumeMessage, Message } from 'amqplib';
import {
  body,
  failure,
  Inbox,
  type RawClient,
  rawConnect,
  sleep,
  sync,
  uid,
  waitFor,
  waitForCount,
} from './harness.js';
import { useBroker } from './shared-broker.js';
import { lookup, plain, rawGet, shape, type TaggedTable, xDeathEntryShape } from './extensions-helpers.js';

const shared = useBroker();
let ch: Channel;
let rc: RawClient;
const queues: string[] = [];
const exchanges: string[] = [];

beforeAll(async () => {
  ch = await shared.clients.channel();
  rc = await rawConnect(shared.broker);
  await rc.openChannel(1);
});

afterAll(async () => {
  if (shared.clients) {
    const c = await shared.clients.channel().catch(() => undefined);
    for (const q of queues) await c?.deleteQueue(q).catch(() => undefined);
    for (const x of exchanges) await c?.deleteExchange(x).catch(() => undefined);
  }
  rc?.destroy();
});

/** A queue deleted after the file (non-exclusive, so the raw connection can read it too). */
async function queue(prefix: string, args: Record<string, unknown> = {}, durable = false): Promise<string> {
  const q = uid(prefix);
  await ch.assertQueue(q, { durable, arguments: args });
  queues.push(q);
  return q;
}

async function exchange(prefix: string, type: string, opts: { internal?: boolean; arguments?: Record<string, unknown> } = {}): Promise<string> {
  const x = uid(prefix);
  await ch.assertExchange(x, type, { durable: false, ...opts });
  exchanges.push(x);
  return x;
}

/** Dead-letter target: an exchange of `type` and a queue bound to it with `key`. */
async function dlxTarget(type = 'fanout', key = ''): Promise<{ dlx: string; dlq: string }> {
  const dlx = await exchange('dlx', type);
  const dlq = await queue('dlq');
  await ch.bindQueue(dlq, dlx, key);
  return { dlx, dlq };
}

async function drain(q: string, c: Channel = ch): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await c.get(q, { noAck: true });
    if (!m) return out;
    out.push(body(m));
  }
}

function publishConfirmed(c: ConfirmChannel, x: string, rk: string, text: string, opts: Record<string, unknown> = {}): Promise<'ack' | 'nack'> {
  return new Promise((resolve) => c.publish(x, rk, Buffer.from(text), opts, (err) => resolve(err ? 'nack' : 'ack')));
}

/** basic.return fields (amqplib's MessageFields type does not declare replyCode/replyText). */
function returnedAs(m: Message): [string, unknown, unknown, string, string] {
  const f = m.fields as unknown as { replyCode: number; replyText: string; exchange: string; routingKey: string };
  return [body(m), f.replyCode, f.replyText, f.exchange, f.routingKey];
}

/** The raw x-death of the next message of `q` (no-ack get on the raw connection), with the message. */
async function deadLettered(q: string): Promise<{ headers: TaggedTable; deaths: Array<Record<string, unknown>>; got: NonNullable<Awaited<ReturnType<typeof rawGet>>> }> {
  const got = await rawGet(rc, 1, q);
  if (!got) throw new Error(`no message in ${q}`);
  const headers = got.properties.headers ?? [];
  const xd = lookup(headers, 'x-death');
  const deaths = xd ? (plain(xd) as Array<Record<string, unknown>>) : [];
  return { headers, deaths, got };
}

function headerOf(m: Message | ConsumeMessage | false | null, key: string): unknown {
  if (!m) throw new Error('no message');
  return (m.properties.headers as Record<string, unknown> | undefined)?.[key];
}

// ---------------------------------------------------------------------------------------------

describe('message TTL and expiration', () => {
  it('the lower of x-message-ttl and the expiration property applies', async () => {
    const q1 = await queue('ttl-min-q', { 'x-message-ttl': 60_000 });
    ch.sendToQueue(q1, Buffer.from('kept'));
    ch.sendToQueue(q1, Buffer.from('message-ttl-lower'), { expiration: '100' });
    ch.sendToQueue(q1, Buffer.from('kept-too'), { expiration: '120000' });
    const q2 = await queue('ttl-min-m', { 'x-message-ttl': 100 });
    ch.sendToQueue(q2, Buffer.from('queue-ttl-lower'), { expiration: '60000' });
    await waitForCount(ch, q2, 0);
    await sleep(300);
    expect(await drain(q1)).toEqual(['kept', 'kept-too']);
    expect(await drain(q2)).toEqual([]);
  });

  it('an expired message behind an unexpired head is never delivered; the order of the rest is unchanged', async () => {
    const { dlx, dlq } = await dlxTarget();
    const q = await queue('deep-expiry', { 'x-dead-letter-exchange': dlx });
    ch.sendToQueue(q, Buffer.from('A'));
    ch.sendToQueue(q, Buffer.from('B'), { expiration: '100' });
    ch.sendToQueue(q, Buffer.from('C'));
    ch.sendToQueue(q, Buffer.from('D'), { expiration: '100' });
    ch.sendToQueue(q, Buffer.from('E'), { expiration: '600000' });
    await sync(ch);
    await sleep(400);
    if (shared.broker.external) {
      // RabbitMQ: B and D still sit in the queue (and count) until they reach the head.
      expect((await ch.checkQueue(q)).messageCount).toBe(5);
      expect((await ch.checkQueue(dlq)).messageCount).toBe(0);
    } else {
      // warren: dropped (dead-lettered) as soon as they expire.
      await waitForCount(ch, dlq, 2);
      expect((await ch.checkQueue(q)).messageCount).toBe(3);
    }
    const c = await shared.clients.channel();
    const inbox = new Inbox();
    await c.consume(q, inbox.push, { noAck: true });
    expect((await inbox.take(3)).map(body)).toEqual(['A', 'C', 'E']);
    await waitForCount(ch, dlq, 2);
    const first = await deadLettered(dlq);
    const second = await deadLettered(dlq);
    expect([first.got.body.toString(), second.got.body.toString()]).toEqual(['B', 'D']);
    expect(first.deaths).toEqual([
      expect.objectContaining({ reason: 'expired', queue: q, count: 1n, 'original-expiration': '100' }),
    ]);
    expect(inbox.count).toBe(3);
  });

  it('a message that expired while unacknowledged is dead-lettered, not redelivered, when requeued', async () => {
    const { dlx, dlq } = await dlxTarget();
    const q = await queue('expire-unacked', { 'x-dead-letter-exchange': dlx });
    // Seconds, not ms: the get must come before the expiry even on a loaded machine.
    ch.sendToQueue(q, Buffer.from('short'), { expiration: '1500' });
    ch.sendToQueue(q, Buffer.from('long'));
    const c = await shared.clients.channel();
    const m = await c.get(q);
    expect(body(m)).toBe('short');
    await sleep(2000);
    c.nack(m as Message, false, true);
    await sync(c);
    await waitForCount(ch, dlq, 1);
    const dead = await deadLettered(dlq);
    expect(dead.got.body.toString()).toBe('short');
    expect(dead.deaths[0]).toMatchObject({ reason: 'expired', queue: q, count: 1n });
    expect(await drain(q)).toEqual(['long']);
  });

  it('x-message-ttl counts from when the message entered the queue, also after a requeue', async () => {
    const q = await queue('ttl-requeue', { 'x-message-ttl': 1500 });
    ch.sendToQueue(q, Buffer.from('m'));
    const c = await shared.clients.channel();
    const m = await c.get(q);
    expect(body(m)).toBe('m');
    await sleep(2000);
    c.nack(m as Message, false, true);
    await sync(c);
    expect(await drain(q)).toEqual([]);
  });
});

describe('dead-lettering: x-death and x-first-death-*', () => {
  it('x-death entries have RabbitMQ key order and wire types; expiration becomes original-expiration', async () => {
    const { dlx, dlq } = await dlxTarget();
    const src = await exchange('dl-src', 'direct');
    const q = await queue('dl-shape', { 'x-dead-letter-exchange': dlx });
    await ch.bindQueue(q, src, 'the-key');
    ch.publish(src, 'the-key', Buffer.from('payload'), {
      expiration: '100',
      headers: { app: 'kept' },
      correlationId: 'corr',
      messageId: 'mid',
      contentType: 'text/plain',
      priority: 3,
      persistent: true,
    });
    await waitForCount(ch, dlq, 1);
    const before = BigInt(Math.floor(Date.now() / 1000));
    const { headers, deaths, got } = await deadLettered(dlq);
    expect(got.body.toString()).toBe('payload');
    expect(got.exchange).toBe(dlx);
    expect(got.routingKey).toBe('the-key');
    expect(got.properties.expiration).toBeUndefined();
    expect(got.properties).toMatchObject({ correlationId: 'corr', messageId: 'mid', contentType: 'text/plain', priority: 3, deliveryMode: 2 });
    const xd = lookup(headers, 'x-death')!;
    expect(shape(xd)).toEqual([xDeathEntryShape(1, true)]);
    expect(deaths).toEqual([
      { count: 1n, reason: 'expired', queue: q, time: deaths[0]!['time'], exchange: src, 'routing-keys': ['the-key'], 'original-expiration': '100' },
    ]);
    // time: seconds since the epoch, the moment of death (checked loosely: within a minute)
    const t = deaths[0]!['time'] as bigint;
    expect(t <= before + 1n && t > before - 60n).toBe(true);
    expect(Object.fromEntries(headers.map(([k, v]) => [k, v.t]))).toEqual({
      app: 'S',
      'x-death': 'A',
      'x-first-death-exchange': 'S',
      'x-first-death-queue': 'S',
      'x-first-death-reason': 'S',
    });
    expect(plain({ t: 'F', v: headers })).toMatchObject({
      app: 'kept',
      'x-first-death-exchange': src,
      'x-first-death-queue': q,
      'x-first-death-reason': 'expired',
    });
  });

  it('without x-dead-letter-routing-key: routed by the original key, CC and BCC keys; CC kept, BCC not in x-death', async () => {
    const dlx = await exchange('dlx-cc', 'direct');
    const byKey: Record<string, string> = {};
    for (const k of ['rk', 'cc1', 'bcc1', 'other']) {
      byKey[k] = await queue(`dlq-${k}`);
      await ch.bindQueue(byKey[k]!, dlx, k);
    }
    const src = await exchange('src-cc', 'direct');
    const q = await queue('dl-cc', { 'x-dead-letter-exchange': dlx });
    for (const k of ['rk', 'cc1', 'bcc1']) await ch.bindQueue(q, src, k);
    ch.publish(src, 'rk', Buffer.from('m'), { headers: { CC: ['cc1'], BCC: ['bcc1'] } });
    const c = await shared.clients.channel();
    await waitForCount(c, q, 1);
    const m = await c.get(q);
    expect(headerOf(m, 'CC')).toEqual(['cc1']);
    expect(headerOf(m, 'BCC')).toBeUndefined();
    c.reject(m as Message, false);
    for (const k of ['rk', 'cc1', 'bcc1']) await waitForCount(ch, byKey[k]!, 1);
    expect((await ch.checkQueue(byKey['other']!)).messageCount).toBe(0);
    for (const k of ['rk', 'bcc1']) {
      const { headers, deaths, got } = await deadLettered(byKey[k]!);
      expect(got.routingKey).toBe('rk');
      expect(plain(lookup(headers, 'CC')!)).toEqual(['cc1']);
      expect(lookup(headers, 'BCC')).toBeUndefined();
      expect(deaths).toEqual([expect.objectContaining({ reason: 'rejected', queue: q, exchange: src, 'routing-keys': ['rk', 'cc1'] })]);
    }
  });

  it('with x-dead-letter-routing-key: routed by that key only, CC removed, routing-keys still the original ones', async () => {
    const dlx = await exchange('dlx-rk', 'direct');
    const dead = await queue('dlq-dead');
    const cc = await queue('dlq-cc');
    await ch.bindQueue(dead, dlx, 'dead');
    await ch.bindQueue(cc, dlx, 'cc1');
    const q = await queue('dl-rk', { 'x-dead-letter-exchange': dlx, 'x-dead-letter-routing-key': 'dead' });
    ch.sendToQueue(q, Buffer.from('m'), { headers: { CC: ['cc1'], other: 'x' } });
    const c = await shared.clients.channel();
    await waitForCount(c, q, 1);
    const m = await c.get(q);
    c.nack(m as Message, false, false);
    await waitForCount(ch, dead, 1);
    expect((await ch.checkQueue(cc)).messageCount).toBe(0);
    const { headers, deaths, got } = await deadLettered(dead);
    expect(got.routingKey).toBe('dead');
    expect(lookup(headers, 'CC')).toBeUndefined();
    expect(plain(lookup(headers, 'other')!)).toBe('x');
    expect(deaths).toEqual([expect.objectContaining({ reason: 'rejected', queue: q, exchange: '', 'routing-keys': [q, 'cc1'] })]);
  });

  it('counts repeat deaths per queue and reason, most recent first; x-first-death-* keep the first', async () => {
    const q1 = uid('dl-loop-1');
    const q2 = uid('dl-loop-2');
    await ch.assertQueue(q1, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q2 } });
    await ch.assertQueue(q2, { durable: false, arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q1 } });
    queues.push(q1, q2);
    ch.sendToQueue(q1, Buffer.from('loop'));
    const c = await shared.clients.channel();
    for (let round = 0; round < 2; round++) {
      // rejected from q1 into q2, where it expires back into q1 (a rejection in the loop: no cycle)
      await waitForCount(c, q1, 1);
      const m = await c.get(q1);
      c.reject(m as Message, false);
    }
    await waitForCount(c, q1, 1);
    const { headers, deaths } = await deadLettered(q1);
    expect(deaths.map((d) => [d['queue'], d['reason'], d['count']])).toEqual([
      [q2, 'expired', 2n],
      [q1, 'rejected', 2n],
    ]);
    expect(deaths[0]).toMatchObject({ exchange: '', 'routing-keys': [q2] });
    expect(deaths[1]).toMatchObject({ exchange: '', 'routing-keys': [q1] });
    // both entries were added or updated while the message already had x-death: sorted keys
    expect(shape(lookup(headers, 'x-death')!)).toEqual([xDeathEntryShape(1, false, true), xDeathEntryShape(1, false, true)]);
    expect(plain({ t: 'F', v: headers })).toMatchObject({ 'x-first-death-queue': q1, 'x-first-death-reason': 'rejected', 'x-first-death-exchange': '' });
  });

  it('a rejected message may come back to the queue it left (not a cycle), counting up', async () => {
    const q = uid('dl-self-reject');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q } });
    queues.push(q);
    ch.sendToQueue(q, Buffer.from('again'));
    const c = await shared.clients.channel();
    for (let i = 0; i < 3; i++) {
      await waitForCount(c, q, 1);
      const m = await c.get(q);
      c.reject(m as Message, false);
    }
    await waitForCount(c, q, 1);
    const { deaths } = await deadLettered(q);
    expect(deaths).toEqual([expect.objectContaining({ queue: q, reason: 'rejected', count: 3n })]);
  });

  it('an automatic cycle (expiry back into the queue) drops the message for that queue only, never for other routes', async () => {
    const dlx = await exchange('dlx-cycle', 'fanout');
    const q = await queue('dl-cycle', { 'x-message-ttl': 50, 'x-dead-letter-exchange': dlx });
    const other = await queue('dl-cycle-other');
    await ch.bindQueue(q, dlx, '');
    await ch.bindQueue(other, dlx, '');
    ch.sendToQueue(q, Buffer.from('round'));
    await waitForCount(ch, other, 1);
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
    const { deaths } = await deadLettered(other);
    expect(deaths).toEqual([expect.objectContaining({ queue: q, reason: 'expired', count: 1n })]);

    // through two queues: q1 -(expired)-> q2 -(expired)-> back to q1 is a cycle; the witness still gets it
    const x1 = await exchange('dlx-c1', 'fanout');
    const x2 = await exchange('dlx-c2', 'fanout');
    const q1 = await queue('dl-c1', { 'x-message-ttl': 50, 'x-dead-letter-exchange': x2 });
    const q2 = await queue('dl-c2', { 'x-message-ttl': 50, 'x-dead-letter-exchange': x1 });
    const witness = await queue('dl-c-witness');
    await ch.bindQueue(q2, x2, '');
    await ch.bindQueue(q1, x1, '');
    await ch.bindQueue(witness, x1, '');
    ch.sendToQueue(q1, Buffer.from('two-hop'));
    await waitForCount(ch, witness, 1);
    expect((await ch.checkQueue(q1)).messageCount).toBe(0);
    expect((await ch.checkQueue(q2)).messageCount).toBe(0);
    const w = await deadLettered(witness);
    expect(w.deaths.map((d) => [d['queue'], d['reason'], d['count']])).toEqual([
      [q2, 'expired', 1n],
      [q1, 'expired', 1n],
    ]);
    // the second death's entry is written sorted, the first death's entry as first written
    expect(shape(lookup(w.headers, 'x-death')!)).toEqual([xDeathEntryShape(1, false, true), xDeathEntryShape(1)]);
  });

  it('an expiry cycle with only the queue itself as route drops the message', async () => {
    const q = uid('dl-self-expire');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q } });
    queues.push(q);
    ch.sendToQueue(q, Buffer.from('gone'));
    await waitForCount(ch, q, 0);
    // a message going round the loop would be back within a few TTLs
    await sleep(300);
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
    expect(await ch.get(q, { noAck: true })).toBe(false);
  });

  it('a missing dead-letter exchange drops the message without an error', async () => {
    const q = await queue('dl-missing', { 'x-dead-letter-exchange': uid('no-such-dlx') });
    ch.sendToQueue(q, Buffer.from('m'));
    const c = await shared.clients.channel();
    await waitForCount(c, q, 1);
    const m = await c.get(q);
    c.reject(m as Message, false);
    await sync(c);
    expect((await c.checkQueue(q)).messageCount).toBe(0);
    expect(shared.clients.channelState(c).errors).toEqual([]);
  });

  it('nack multiple with requeue=false dead-letters every message, in order', async () => {
    const { dlx, dlq } = await dlxTarget();
    const q = await queue('dl-multi', { 'x-dead-letter-exchange': dlx });
    for (const t of ['a', 'b', 'c']) ch.sendToQueue(q, Buffer.from(t));
    const c = await shared.clients.channel();
    await waitForCount(c, q, 3);
    await c.get(q);
    await c.get(q);
    const last = await c.get(q);
    c.nack(last as Message, true, false);
    await waitForCount(ch, dlq, 3);
    expect(await drain(dlq)).toEqual(['a', 'b', 'c']);
  });

  it('a dead-letter exchange may be internal', async () => {
    const dlx = await exchange('dlx-internal', 'fanout', { internal: true });
    const dlq = await queue('dlq-internal');
    await ch.bindQueue(dlq, dlx, '');
    const q = await queue('dl-to-internal', { 'x-message-ttl': 0, 'x-dead-letter-exchange': dlx });
    ch.sendToQueue(q, Buffer.from('in'));
    await waitForCount(ch, dlq, 1);
    expect(await drain(dlq)).toEqual(['in']);
  });
});

describe('length limits and overflow', () => {
  it('reject-publish: overflowing publishes are nacked, the others acked', async () => {
    const c = await shared.clients.confirmChannel();
    const q = await queue('rp-nack', { 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    const res = [];
    for (const t of ['m0', 'm1', 'm2', 'm3']) res.push(await publishConfirmed(c, '', q, t));
    expect(res).toEqual(['ack', 'ack', 'nack', 'nack']);
    expect(await drain(q)).toEqual(['m0', 'm1']);
    expect(await publishConfirmed(c, '', q, 'm4')).toBe('ack');
  });

  it('reject-publish in one of several queues nacks the publish, the other queues still get it', async () => {
    const c = await shared.clients.confirmChannel();
    const x = await exchange('rp-fan', 'fanout');
    const full = await queue('rp-full', { 'x-max-length': 0, 'x-overflow': 'reject-publish' });
    const free = await queue('rp-free');
    await c.bindQueue(full, x, '');
    await c.bindQueue(free, x, '');
    expect(await publishConfirmed(c, x, '', 'both')).toBe('nack');
    expect(await drain(free)).toEqual(['both']);
    expect(await drain(full)).toEqual([]);
  });

  it('reject-publish-dlx: nacked and dead-lettered with reason maxlen; the queue keeps its head', async () => {
    const c = await shared.clients.confirmChannel();
    const { dlx, dlq } = await dlxTarget();
    const q = await queue('rp-dlx', { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx', 'x-dead-letter-exchange': dlx });
    expect(await publishConfirmed(c, '', q, 'first')).toBe('ack');
    expect(await publishConfirmed(c, '', q, 'second')).toBe('nack');
    await waitForCount(ch, dlq, 1);
    const { deaths, got } = await deadLettered(dlq);
    expect(got.body.toString()).toBe('second');
    expect(deaths).toEqual([expect.objectContaining({ reason: 'maxlen', queue: q, count: 1n, exchange: '', 'routing-keys': [q] })]);
    expect(await drain(q)).toEqual(['first']);
  });

  it('drop-head with x-max-length-bytes dead-letters the dropped heads with reason maxlen', async () => {
    const { dlx, dlq } = await dlxTarget();
    const q = await queue('dh-bytes', { 'x-max-length-bytes': 6, 'x-dead-letter-exchange': dlx });
    for (const t of ['aaa', 'bbb', 'cccc']) ch.sendToQueue(q, Buffer.from(t));
    await waitForCount(ch, dlq, 2);
    expect(await drain(q)).toEqual(['cccc']);
    const a = await deadLettered(dlq);
    const b = await deadLettered(dlq);
    expect([a.got.body.toString(), b.got.body.toString()]).toEqual(['aaa', 'bbb']);
    expect(a.deaths[0]).toMatchObject({ reason: 'maxlen', queue: q });
  });

  it('only ready messages count towards x-max-length (unacknowledged ones do not)', async () => {
    const c = await shared.clients.confirmChannel();
    const q = await queue('len-unacked', { 'x-max-length': 2, 'x-overflow': 'reject-publish' });
    await publishConfirmed(c, '', q, 'a');
    await publishConfirmed(c, '', q, 'b');
    const getter = await shared.clients.channel();
    expect(body(await getter.get(q))).toBe('a');
    expect(body(await getter.get(q))).toBe('b');
    expect(await publishConfirmed(c, '', q, 'c')).toBe('ack');
    expect(await publishConfirmed(c, '', q, 'd')).toBe('ack');
    expect(await publishConfirmed(c, '', q, 'e')).toBe('nack');
  });

  it('drop-head applies when unacknowledged messages are requeued', async () => {
    const q = await queue('dh-requeue', { 'x-max-length': 1 });
    ch.sendToQueue(q, Buffer.from('a'));
    const getter = await shared.clients.channel();
    await waitForCount(getter, q, 1);
    const a = await getter.get(q);
    ch.sendToQueue(q, Buffer.from('b'));
    ch.sendToQueue(q, Buffer.from('c'));
    await sync(ch);
    getter.nack(a as Message, false, true);
    await sync(getter);
    await waitForCount(ch, q, 1);
    expect(await drain(q)).toEqual(['c']);
  });

  it('x-max-length 0 dead-letters every message nobody is waiting for', async () => {
    const { dlx, dlq } = await dlxTarget();
    const q = await queue('len-zero', { 'x-max-length': 0, 'x-dead-letter-exchange': dlx });
    ch.sendToQueue(q, Buffer.from('x'));
    ch.sendToQueue(q, Buffer.from('y'));
    await waitForCount(ch, dlq, 2);
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
    expect(await drain(dlq)).toEqual(['x', 'y']);
  });
});

describe('queue expiry (x-expires)', () => {
  /** Mandatory-publish probe: true once the default exchange no longer routes to `q`. */
  async function gone(q: string): Promise<boolean> {
    const probe = await shared.clients.confirmChannel();
    let returned = false;
    probe.on('return', () => {
      returned = true;
    });
    probe.publish('', q, Buffer.from('probe'), { mandatory: true });
    await probe.waitForConfirms();
    await probe.close();
    return returned;
  }

  it('a queue with a consumer does not expire; after the consumer leaves it does', async () => {
    const q = uid('exp-consumer');
    // The expiry leaves room for opening a channel and consuming on a loaded machine (at 150 ms
    // the queue sometimes expired before the consumer came); the wait is 2.5 expiries.
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 600 } });
    const c = await shared.clients.channel();
    const { consumerTag } = await c.consume(q, () => {}, { noAck: true });
    await sleep(1500);
    expect(await gone(q)).toBe(false);
    await c.cancel(consumerTag);
    await waitFor(() => gone(q), 'queue expiry', 10_000, 100);
  });

  it('redeclaring resets the expiry timer', async () => {
    const q = uid('exp-redeclare');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 600 } });
    for (let i = 0; i < 6; i++) {
      await sleep(150);
      await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 600 } });
    }
    expect(await gone(q)).toBe(false);
    await waitFor(() => gone(q), 'queue expiry', 10_000, 100);
  });

  it('an expiring queue takes its messages with it (they are not dead-lettered)', async () => {
    const { dlx, dlq } = await dlxTarget();
    const q = uid('exp-msgs');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-expires': 100, 'x-dead-letter-exchange': dlx } });
    ch.sendToQueue(q, Buffer.from('lost'));
    await sync(ch);
    await waitFor(() => gone(q), 'queue expiry', 10_000, 100);
    expect((await ch.checkQueue(dlq)).messageCount).toBe(0);
  });
});

describe('priority queues', () => {
  async function publishPriorities(q: string, msgs: Array<[string, number | undefined]>): Promise<void> {
    for (const [t, p] of msgs) ch.sendToQueue(q, Buffer.from(t), p === undefined ? {} : { priority: p });
    await sync(ch);
  }

  it('x-max-priority 1: every priority above 1 counts as 1', async () => {
    const q = await queue('prio-1', { 'x-max-priority': 1 });
    await publishPriorities(q, [
      ['none', undefined],
      ['zero', 0],
      ['one', 1],
      ['nine', 9],
      ['max', 255],
    ]);
    expect(await drain(q)).toEqual(['one', 'nine', 'max', 'none', 'zero']);
  });

  it('x-max-priority 255 keeps all 256 levels apart', async () => {
    const q = await queue('prio-255', { 'x-max-priority': 255 });
    await publishPriorities(q, [
      ['p0', 0],
      ['p254', 254],
      ['p1', 1],
      ['p255', 255],
      ['p128', 128],
    ]);
    expect(await drain(q)).toEqual(['p255', 'p254', 'p128', 'p1', 'p0']);
  });

  it('a requeued message goes back ahead of its priority, above lower priorities', async () => {
    const q = await queue('prio-requeue', { 'x-max-priority': 5 });
    await publishPriorities(q, [
      ['low', 1],
      ['high-a', 5],
      ['high-b', 5],
    ]);
    const c = await shared.clients.channel();
    const a = await c.get(q);
    expect(body(a)).toBe('high-a');
    c.nack(a as Message, false, true);
    await sync(c);
    const again = await c.get(q, { noAck: true });
    expect(body(again)).toBe('high-a');
    expect(again && again.fields.redelivered).toBe(true);
    expect(await drain(q, c)).toEqual(['high-b', 'low']);
  });

  it('a consumer attaching later receives the backlog in priority order', async () => {
    const q = await queue('prio-consumer', { 'x-max-priority': 10 });
    await publishPriorities(q, [
      ['p2', 2],
      ['p7', 7],
      ['p0', undefined],
      ['p10', 10],
      ['p7b', 7],
    ]);
    const c = await shared.clients.channel();
    const inbox = new Inbox();
    await c.consume(q, inbox.push, { noAck: true });
    expect((await inbox.take(5)).map(body)).toEqual(['p10', 'p7', 'p7b', 'p2', 'p0']);
  });

  it('priorities are ignored by a queue without x-max-priority', async () => {
    const q = await queue('prio-none');
    await publishPriorities(q, [
      ['a', 1],
      ['b', 9],
      ['c', undefined],
    ]);
    expect(await drain(q)).toEqual(['a', 'b', 'c']);
  });
});

describe('single active consumer', () => {
  it('only the first consumer receives; once it has cancelled and its channel closed, the next one gets everything', async () => {
    const q = await queue('sac-cancel', { 'x-single-active-consumer': true });
    const c1 = await shared.clients.channel();
    const c2 = await shared.clients.channel();
    await c1.prefetch(2);
    const in1 = new Inbox();
    const in2 = new Inbox();
    const { consumerTag } = await c1.consume(q, in1.push);
    await c2.consume(q, in2.push);
    expect((await ch.checkQueue(q)).consumerCount).toBe(2);
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    expect((await in1.take(2)).map(body)).toEqual(['m0', 'm1']);
    await sync(ch);
    await sync(c2);
    expect(in2.count).toBe(0);
    // RabbitMQ switches to the next consumer only when the cancelled one's unacked messages come
    // back (here: on close); the order between those and the backlog is not asserted
    await c1.cancel(consumerTag);
    await c1.close();
    const got = await in2.take(5);
    expect(got.map((m) => [body(m), m.fields.redelivered]).sort()).toEqual([
      ['m0', true],
      ['m1', true],
      ['m2', false],
      ['m3', false],
      ['m4', false],
    ]);
    expect(in1.count).toBe(2);
    for (const m of got) c2.ack(m);
  });

  it('when the active consumer goes away its unacked messages go to the next consumer first, in order', async () => {
    const q = await queue('sac-close', { 'x-single-active-consumer': true });
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await sync(ch);
    const c1 = await shared.clients.channel();
    await c1.prefetch(2);
    const in1 = new Inbox();
    await c1.consume(q, in1.push);
    expect((await in1.take(2)).map(body)).toEqual(['m0', 'm1']);
    const c2 = await shared.clients.channel();
    const in2 = new Inbox();
    await c2.consume(q, in2.push, { noAck: true });
    await sync(c2);
    expect(in2.count).toBe(0);
    await c1.close();
    const got = await in2.take(4);
    expect(got.map((m) => [body(m), m.fields.redelivered])).toEqual([
      ['m0', true],
      ['m1', true],
      ['m2', false],
      ['m3', false],
    ]);
  });

  it('waiting consumers take over in registration order; a cancelled waiting consumer is skipped', async () => {
    const q = await queue('sac-order', { 'x-single-active-consumer': true });
    const chans = [await shared.clients.channel(), await shared.clients.channel(), await shared.clients.channel()];
    const inboxes = [new Inbox(), new Inbox(), new Inbox()];
    const tags: string[] = [];
    for (let i = 0; i < 3; i++) tags.push((await chans[i]!.consume(q, inboxes[i]!.push, { noAck: true })).consumerTag);
    await chans[1]!.cancel(tags[1]!);
    ch.sendToQueue(q, Buffer.from('to-first'));
    expect(body(await inboxes[0]!.next())).toBe('to-first');
    await chans[0]!.cancel(tags[0]!);
    ch.sendToQueue(q, Buffer.from('to-third'));
    expect(body(await inboxes[2]!.next())).toBe('to-third');
    expect(inboxes[1]!.count).toBe(0);
  });
});

describe('consumer priorities (x-priority)', () => {
  it('the highest-priority consumer with capacity gets each message; lower ones get the overflow', async () => {
    const q = await queue('cprio');
    const lo = await shared.clients.channel();
    const hi = await shared.clients.channel();
    const neg = await shared.clients.channel();
    await lo.prefetch(1);
    await hi.prefetch(2);
    await neg.prefetch(10);
    const inLo = new Inbox();
    const inHi = new Inbox();
    const inNeg = new Inbox();
    // registration order deliberately not priority order
    await neg.consume(q, inNeg.push, { arguments: { 'x-priority': -5 } });
    await lo.consume(q, inLo.push);
    await hi.consume(q, inHi.push, { arguments: { 'x-priority': 10 } });
    for (let i = 0; i < 6; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    const h = await inHi.take(2);
    const l = await inLo.take(1);
    const n = await inNeg.take(3);
    expect([h.map(body), l.map(body), n.map(body)]).toEqual([['m0', 'm1'], ['m2'], ['m3', 'm4', 'm5']]);
    // capacity back on the high-priority consumer: it gets the next one
    hi.ack(h[0]!);
    await sync(hi);
    ch.sendToQueue(q, Buffer.from('m6'));
    expect(body(await inHi.next())).toBe('m6');
    await sync(neg);
    expect(inNeg.count).toBe(3);
  });

  it('consumers of equal priority share round-robin', async () => {
    const q = await queue('cprio-rr');
    const a = await shared.clients.channel();
    const b = await shared.clients.channel();
    const inA = new Inbox();
    const inB = new Inbox();
    await a.consume(q, inA.push, { noAck: true, arguments: { 'x-priority': 3 } });
    await b.consume(q, inB.push, { noAck: true, arguments: { 'x-priority': 3 } });
    for (let i = 0; i < 4; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    expect((await inA.take(2)).map(body)).toEqual(['m0', 'm2']);
    expect((await inB.take(2)).map(body)).toEqual(['m1', 'm3']);
  });
});

describe('quorum queues and x-delivery-limit', () => {
  async function quorum(prefix: string, args: Record<string, unknown> = {}): Promise<string> {
    return queue(prefix, { 'x-queue-type': 'quorum', ...args }, true);
  }

  it('quorum queue: redeliveries carry x-delivery-count (a long), first consumer delivery has none', async () => {
    const q = await quorum('qq-count');
    ch.sendToQueue(q, Buffer.from('m'), { headers: { app: 1 } });
    const c = await shared.clients.channel();
    await c.prefetch(1);
    const inbox = new Inbox();
    await c.consume(q, (m) => {
      inbox.push(m);
      if (m && inbox.count < 3) c.nack(m, false, true);
    });
    const got = await inbox.take(3);
    expect(got.map((m) => [m.fields.redelivered, headerOf(m, 'x-delivery-count'), headerOf(m, 'app')])).toEqual([
      [false, undefined, 1],
      [true, 1, 1],
      [true, 2, 1],
    ]);
    await c.close();
    // the wire type, read with the raw client
    await waitForCount(ch, q, 1);
    const raw = await rawGet(rc, 1, q);
    expect(raw && lookup(raw.properties.headers ?? [], 'x-delivery-count')).toEqual({ t: 'l', v: 3n });
  });

  it('quorum queue: basic.get reports x-delivery-count 0 on the first delivery', async () => {
    const q = await quorum('qq-get');
    ch.sendToQueue(q, Buffer.from('m'));
    const c = await shared.clients.channel();
    await waitForCount(c, q, 1);
    const m1 = await c.get(q);
    expect(headerOf(m1, 'x-delivery-count')).toBe(0);
    c.nack(m1 as Message, false, true);
    const m2 = await c.get(q);
    expect(headerOf(m2, 'x-delivery-count')).toBe(1);
    c.ack(m2 as Message);
  });

  it('quorum queue: past x-delivery-limit the message is dead-lettered with reason delivery_limit', async () => {
    const { dlx, dlq } = await dlxTarget();
    const q = await quorum('qq-limit', { 'x-delivery-limit': 2, 'x-dead-letter-exchange': dlx });
    ch.sendToQueue(q, Buffer.from('poison'), { headers: { app: 'kept' } });
    const c = await shared.clients.channel();
    const inbox = new Inbox();
    await c.consume(q, (m) => {
      inbox.push(m);
      if (m) c.nack(m, false, true);
    });
    await waitForCount(ch, dlq, 1);
    expect(inbox.items.map((m) => headerOf(m, 'x-delivery-count'))).toEqual([undefined, 1, 2]);
    const { headers, deaths, got } = await deadLettered(dlq);
    expect(got.body.toString()).toBe('poison');
    expect(lookup(headers, 'x-delivery-count')).toBeUndefined();
    expect(plain(lookup(headers, 'app')!)).toBe('kept');
    expect(shape(lookup(headers, 'x-death')!)).toEqual([xDeathEntryShape(1)]);
    expect(deaths).toEqual([expect.objectContaining({ count: 1n, reason: 'delivery_limit', queue: q, exchange: '', 'routing-keys': [q] })]);
    expect(plain({ t: 'F', v: headers })).toMatchObject({ 'x-first-death-reason': 'delivery_limit', 'x-first-death-queue': q });
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
  });

  it('quorum queue: a channel closing with the message unacked counts as a delivery attempt', async () => {
    const { dlx, dlq } = await dlxTarget();
    const q = await quorum('qq-close', { 'x-delivery-limit': 1, 'x-dead-letter-exchange': dlx });
    ch.sendToQueue(q, Buffer.from('m'));
    await waitForCount(ch, q, 1);
    const seen: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      const c = await shared.clients.channel();
      await waitForCount(c, q, 1);
      const m = await c.get(q);
      seen.push(headerOf(m, 'x-delivery-count'));
      await c.close();
    }
    // (the first basic.get's header is the subject of the test above)
    expect(seen[1]).toBe(1);
    await waitForCount(ch, dlq, 1);
    const { deaths } = await deadLettered(dlq);
    expect(deaths[0]).toMatchObject({ reason: 'delivery_limit', queue: q });
  });

  it('quorum queue: reject requeue=false dead-letters with reason rejected and no x-delivery-count', async () => {
    const { dlx, dlq } = await dlxTarget();
    const q = await quorum('qq-reject', { 'x-dead-letter-exchange': dlx });
    ch.sendToQueue(q, Buffer.from('m'));
    const c = await shared.clients.channel();
    await waitForCount(c, q, 1);
    const m1 = await c.get(q);
    c.nack(m1 as Message, false, true);
    const m2 = await c.get(q);
    expect(headerOf(m2, 'x-delivery-count')).toBe(1);
    c.reject(m2 as Message, false);
    await waitForCount(ch, dlq, 1);
    const { headers, deaths } = await deadLettered(dlq);
    expect(lookup(headers, 'x-delivery-count')).toBeUndefined();
    expect(deaths).toEqual([expect.objectContaining({ reason: 'rejected', queue: q, count: 1n })]);
  });

  it('quorum queue with single active consumer, x-message-ttl and x-max-length works', async () => {
    const q = await quorum('qq-mixed', { 'x-single-active-consumer': true, 'x-max-length': 2, 'x-message-ttl': 600_000 });
    for (const t of ['a', 'b', 'c']) ch.sendToQueue(q, Buffer.from(t));
    await sync(ch);
    await waitForCount(ch, q, 2);
    const c1 = await shared.clients.channel();
    const c2 = await shared.clients.channel();
    const in1 = new Inbox();
    const in2 = new Inbox();
    await c1.consume(q, in1.push, { noAck: true });
    await c2.consume(q, in2.push, { noAck: true });
    expect((await in1.take(2)).map(body)).toEqual(['b', 'c']);
    await sync(c2);
    expect(in2.count).toBe(0);
  });

  it('x-delivery-limit on a classic queue (warren: works as on quorum queues; RabbitMQ: 406)', async () => {
    const q = uid('classic-limit');
    if (shared.broker.external) {
      const c = await shared.clients.channel();
      const f = await failure(c.assertQueue(q, { durable: false, arguments: { 'x-delivery-limit': 1 } }));
      expect(f.replyText).toBe(
        `PRECONDITION_FAILED - invalid arg 'x-delivery-limit' for queue '${q}' in vhost '/' of queue type rabbit_classic_queue`,
      );
      return;
    }
    const { dlx, dlq } = await dlxTarget();
    await ch.assertQueue(q, { durable: false, arguments: { 'x-delivery-limit': 1, 'x-dead-letter-exchange': dlx } });
    queues.push(q);
    ch.sendToQueue(q, Buffer.from('poison'));
    const c = await shared.clients.channel();
    const inbox = new Inbox();
    await c.consume(q, (m) => {
      inbox.push(m);
      if (m) c.nack(m, false, true);
    });
    await waitForCount(ch, dlq, 1);
    expect(inbox.items.map((m) => [m?.fields.redelivered, headerOf(m, 'x-delivery-count')])).toEqual([
      [false, undefined],
      [true, 1],
    ]);
    const { headers, deaths } = await deadLettered(dlq);
    expect(lookup(headers, 'x-delivery-count')).toBeUndefined();
    expect(shape(lookup(headers, 'x-death')!)).toEqual([xDeathEntryShape(1)]);
    expect(deaths).toEqual([expect.objectContaining({ reason: 'delivery_limit', queue: q, count: 1n })]);
  });

  it('x-queue-mode lazy is accepted and the queue works as any other', async () => {
    const q = await queue('lazy', { 'x-queue-mode': 'lazy' });
    for (const t of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(t));
    await sync(ch);
    expect(await drain(q)).toEqual(['1', '2', '3']);
  });
});

describe('alternate exchanges', () => {
  it('unroutable messages go to the alternate exchange (keeping exchange and routing key); routable ones do not', async () => {
    const ae = await exchange('ae', 'fanout');
    const aeq = await queue('ae-q');
    await ch.bindQueue(aeq, ae, '');
    const x = await exchange('with-ae', 'topic', { arguments: { 'alternate-exchange': ae } });
    const normal = await queue('ae-normal');
    await ch.bindQueue(normal, x, 'a.*');
    ch.publish(x, 'a.b', Buffer.from('routed'));
    ch.publish(x, 'z.z', Buffer.from('unroutable'));
    await waitForCount(ch, aeq, 1);
    expect(await drain(normal)).toEqual(['routed']);
    const m = await ch.get(aeq, { noAck: true });
    expect(body(m)).toBe('unroutable');
    expect(m && m.fields).toMatchObject({ exchange: x, routingKey: 'z.z' });
  });

  it('alternate exchanges chain; mandatory returns only when the whole chain fails', async () => {
    const ae2 = await exchange('ae2', 'direct');
    const ae1 = await exchange('ae1', 'direct', { arguments: { 'alternate-exchange': ae2 } });
    const x = await exchange('ae-chain', 'direct', { arguments: { 'alternate-exchange': ae1 } });
    const q = await queue('ae-chain-q');
    await ch.bindQueue(q, ae2, 'k');
    const c = await shared.clients.confirmChannel();
    const returned: Message[] = [];
    c.on('return', (m: Message) => returned.push(m));
    c.publish(x, 'k', Buffer.from('caught'), { mandatory: true });
    c.publish(x, 'other', Buffer.from('lost'), { mandatory: true });
    await c.waitForConfirms();
    expect(returned.map(returnedAs)).toEqual([
      ['lost', 312, 'NO_ROUTE', x, 'other'],
    ]);
    expect(await drain(q)).toEqual(['caught']);
  });

  it('a missing or cyclic alternate exchange: the message is returned if mandatory, dropped otherwise', async () => {
    const missing = await exchange('ae-missing', 'direct', { arguments: { 'alternate-exchange': uid('nowhere') } });
    const xa = uid('ae-cyc-a');
    const xb = uid('ae-cyc-b');
    await ch.assertExchange(xa, 'direct', { durable: false, arguments: { 'alternate-exchange': xb } });
    await ch.assertExchange(xb, 'direct', { durable: false, arguments: { 'alternate-exchange': xa } });
    exchanges.push(xa, xb);
    const c = await shared.clients.confirmChannel();
    const returned: string[] = [];
    c.on('return', (m: Message) => returned.push(body(m)));
    c.publish(missing, 'k', Buffer.from('missing'), { mandatory: true });
    c.publish(xa, 'k', Buffer.from('cycle'), { mandatory: true });
    c.publish(xa, 'k', Buffer.from('cycle-silent'));
    await c.waitForConfirms();
    expect(returned).toEqual(['missing', 'cycle']);
    expect(shared.clients.channelState(c).errors).toEqual([]);
  });

  it('an alternate exchange may be internal', async () => {
    const ae = await exchange('ae-internal', 'fanout', { internal: true });
    const aeq = await queue('ae-internal-q');
    await ch.bindQueue(aeq, ae, '');
    const x = await exchange('to-internal-ae', 'direct', { arguments: { 'alternate-exchange': ae } });
    ch.publish(x, 'nothing-bound', Buffer.from('via internal ae'));
    await waitForCount(ch, aeq, 1);
    expect(await drain(aeq)).toEqual(['via internal ae']);
  });
});

describe('sender-selected distribution (CC and BCC)', () => {
  it('CC and BCC add routing keys; each queue gets one copy; BCC is stripped, CC kept', async () => {
    const x = await exchange('cc', 'direct');
    const qs: Record<string, string> = {};
    for (const k of ['main', 'c1', 'c2', 'b1', 'unused']) {
      qs[k] = await queue(`cc-${k}`);
      await ch.bindQueue(qs[k]!, x, k);
    }
    const both = await queue('cc-both');
    await ch.bindQueue(both, x, 'c1');
    await ch.bindQueue(both, x, 'b1');
    ch.publish(x, 'main', Buffer.from('m'), { headers: { CC: ['c1', 'c2'], BCC: ['b1'], app: 'x' } });
    await sync(ch);
    for (const k of ['main', 'c1', 'c2', 'b1']) await waitForCount(ch, qs[k]!, 1);
    expect((await ch.checkQueue(qs['unused']!)).messageCount).toBe(0);
    await waitForCount(ch, both, 1);
    for (const k of ['main', 'c1', 'b1']) {
      const m = await ch.get(qs[k]!, { noAck: true });
      expect(m && m.fields.routingKey).toBe('main');
      expect(headerOf(m, 'CC')).toEqual(['c1', 'c2']);
      expect(headerOf(m, 'BCC')).toBeUndefined();
      expect(headerOf(m, 'app')).toBe('x');
    }
  });

  it('CC keys are matched by topic patterns, and make a mandatory message routable', async () => {
    const x = await exchange('cc-topic', 'topic');
    const q = await queue('cc-topic-q');
    await ch.bindQueue(q, x, 'audit.#');
    const c = await shared.clients.confirmChannel();
    const returned: string[] = [];
    c.on('return', (m: Message) => returned.push(body(m)));
    c.publish(x, 'orders.created', Buffer.from('cc'), { mandatory: true, headers: { CC: ['audit.orders'] } });
    c.publish(x, 'orders.created', Buffer.from('bcc'), { mandatory: true, headers: { BCC: ['audit.orders'] } });
    c.publish(x, 'orders.created', Buffer.from('none'), { mandatory: true });
    await c.waitForConfirms();
    expect(returned).toEqual(['none']);
    expect(await drain(q)).toEqual(['cc', 'bcc']);
  });

  it('non-string entries of a CC array are ignored', async () => {
    const x = await exchange('cc-mixed', 'direct');
    const q = await queue('cc-mixed-q');
    await ch.bindQueue(q, x, 'k');
    ch.publish(x, 'nope', Buffer.from('m'), { headers: { CC: [5, 'k', true] } });
    await waitForCount(ch, q, 1);
    expect(await drain(q)).toEqual(['m']);
  });
});

describe('direct reply-to', () => {
  async function rpcServer(): Promise<{ queue: string; seen: ConsumeMessage[] }> {
    const server = await shared.clients.channel();
    const q = (await server.assertQueue('', { exclusive: true })).queue;
    const seen: ConsumeMessage[] = [];
    await server.consume(q, (m) => m && seen.push(m), { noAck: true });
    return { queue: q, seen };
  }

  it('reply_to is rewritten per channel; replies reach only that channel, through the default exchange', async () => {
    const server = await rpcServer();
    const conn = await shared.clients.connect();
    const a = await shared.clients.channel(conn);
    const b = await shared.clients.channel(conn);
    const inA = new Inbox();
    const inB = new Inbox();
    const { consumerTag: tagA } = await a.consume('amq.rabbitmq.reply-to', inA.push, { noAck: true });
    await b.consume('amq.rabbitmq.reply-to', inB.push, { noAck: true });
    a.sendToQueue(server.queue, Buffer.from('from-a-1'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'a1' });
    a.sendToQueue(server.queue, Buffer.from('from-a-2'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'a2' });
    await sync(a);
    b.sendToQueue(server.queue, Buffer.from('from-b'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'b' });
    await waitFor(() => server.seen.length === 3, 'three requests');
    const addr: Record<string, string> = {};
    for (const m of server.seen) addr[body(m)] = m.properties.replyTo as string;
    expect(addr['from-a-1']).toMatch(/^amq\.rabbitmq\.reply-to\.\S+$/);
    expect(addr['from-a-2']).toBe(addr['from-a-1']);
    expect(addr['from-b']).toMatch(/^amq\.rabbitmq\.reply-to\.\S+$/);
    expect(addr['from-b']).not.toBe(addr['from-a-1']);

    const replier = await shared.clients.channel();
    replier.publish('amq.direct', addr['from-a-1']!, Buffer.from('wrong exchange'));
    replier.sendToQueue(addr['from-a-1']!, Buffer.from('reply-a'), { correlationId: 'a1', headers: { h: 'v' }, contentType: 'text/plain' });
    replier.sendToQueue(addr['from-b']!, Buffer.from('reply-b'), { correlationId: 'b' });
    const ra = await inA.next();
    const rb = await inB.next();
    expect(body(ra)).toBe('reply-a');
    expect(ra!.fields).toMatchObject({ consumerTag: tagA, redelivered: false, exchange: '', routingKey: addr['from-a-1'] });
    expect(ra!.properties).toMatchObject({ correlationId: 'a1', headers: { h: 'v' }, contentType: 'text/plain' });
    expect(body(rb)).toBe('reply-b');
    await sync(replier);
    await sync(a);
    expect(inA.count).toBe(1);
    expect(inB.count).toBe(1);
  });

  it('queue.declare of a live reply address succeeds (0 messages, 1 consumer); a stale one is 404', async () => {
    const server = await rpcServer();
    const a = await shared.clients.channel();
    await a.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true });
    a.sendToQueue(server.queue, Buffer.from('q'), { replyTo: 'amq.rabbitmq.reply-to' });
    await waitFor(() => server.seen.length === 1, 'request');
    const address = server.seen[0]!.properties.replyTo as string;
    const probe = await shared.clients.channel();
    expect(await probe.checkQueue(address)).toEqual({ queue: address, messageCount: 0, consumerCount: 1 });
    expect(await probe.checkQueue('amq.rabbitmq.reply-to')).toEqual({ queue: 'amq.rabbitmq.reply-to', messageCount: 0, consumerCount: 1 });
    await a.close();
    const f = await failure((await shared.clients.channel()).checkQueue(address));
    expect([f.code, f.replyText]).toEqual([404, `NOT_FOUND - no queue '${address}' in vhost '/'`]);
    const g = await failure((await shared.clients.channel()).checkQueue('amq.rabbitmq.reply-to.bogus'));
    expect([g.code, g.replyText]).toEqual([404, "NOT_FOUND - no queue 'amq.rabbitmq.reply-to.bogus' in vhost '/'"]);
  });

  it('a reply to a requester that has gone is dropped (returned if mandatory); the replier carries on', async () => {
    const server = await rpcServer();
    const a = await shared.clients.channel();
    await a.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true });
    a.sendToQueue(server.queue, Buffer.from('q'), { replyTo: 'amq.rabbitmq.reply-to' });
    await waitFor(() => server.seen.length === 1, 'request');
    const address = server.seen[0]!.properties.replyTo as string;
    await a.close();
    const replier = await shared.clients.confirmChannel();
    const returned: Message[] = [];
    replier.on('return', (m: Message) => returned.push(m));
    replier.sendToQueue(address, Buffer.from('late'), { mandatory: true });
    replier.sendToQueue(address, Buffer.from('late-silent'));
    replier.sendToQueue('amq.rabbitmq.reply-to.bogus', Buffer.from('bogus'), { mandatory: true });
    await replier.waitForConfirms();
    expect(returned.map(returnedAs)).toEqual([
      ['late', 312, 'NO_ROUTE', '', address],
      ['bogus', 312, 'NO_ROUTE', '', 'amq.rabbitmq.reply-to.bogus'],
    ]);
    expect(shared.clients.channelState(replier).errors).toEqual([]);
  });

  it('misuse: a second reply consumer on the channel, basic.get, publishing after the reply consumer was cancelled', async () => {
    const c1 = await shared.clients.channel();
    await c1.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true });
    const f1 = await failure(c1.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true }));
    expect([f1.code, f1.replyText, f1.classId, f1.methodId]).toEqual([406, 'PRECONDITION_FAILED - reply consumer already set', 60, 20]);

    const c2 = await shared.clients.channel();
    const f2 = await failure(c2.get('amq.rabbitmq.reply-to'));
    expect([f2.code, f2.replyText, f2.classId, f2.methodId]).toEqual([404, "NOT_FOUND - no queue 'amq.rabbitmq.reply-to' in vhost '/'", 60, 70]);

    const c3 = await shared.clients.channel();
    const { consumerTag } = await c3.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true });
    await c3.cancel(consumerTag);
    const target = await queue('drt-target');
    c3.sendToQueue(target, Buffer.from('x'), { replyTo: 'amq.rabbitmq.reply-to' });
    const f3 = await failure(sync(c3));
    expect([f3.code, f3.replyText]).toEqual([406, 'PRECONDITION_FAILED - fast reply consumer does not exist']);
    expect((await ch.checkQueue(target)).messageCount).toBe(0);
  });

  it('a reply_to that only starts with amq.rabbitmq.reply-to. is passed through unchanged; custom consumer tags are kept', async () => {
    const server = await rpcServer();
    const c = await shared.clients.channel();
    const { consumerTag } = await c.consume('amq.rabbitmq.reply-to', () => {}, { noAck: true, consumerTag: 'my-reply-tag' });
    expect(consumerTag).toBe('my-reply-tag');
    c.sendToQueue(server.queue, Buffer.from('q'), { replyTo: 'amq.rabbitmq.reply-to.custom' });
    await waitFor(() => server.seen.length === 1, 'request');
    expect(server.seen[0]!.properties.replyTo).toBe('amq.rabbitmq.reply-to.custom');
  });
});
