// Publishing and consuming through amqplib against an in-process broker: the round trip,
// routing, basic.return, basic.get counts, prefetch per consumer and per channel, and requeue
// order after a channel closes or a nack.
import type { ConsumeMessage, Message as AmqpMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import { Clients, Inbox, publishN, sync, testBroker, uid, waitFor, within, type TestChannel } from '../helpers/broker.js';

let broker: RunningBroker;
let clients: Clients;

beforeAll(async () => {
  broker = await testBroker();
  clients = new Clients(broker.url);
});
afterEach(async () => clients.closeAll());
afterAll(async () => broker.close());

async function channel(): Promise<TestChannel> {
  const c = await clients.connect();
  return c.channel();
}

describe('publish and consume', () => {
  it('delivers body, properties and fields unchanged', async () => {
    const ch = await channel();
    const q = uid('roundtrip');
    await ch.assertQueue(q);
    const inbox = await Inbox.consume(ch, q);
    ch.sendToQueue(q, Buffer.from('hello'), {
      contentType: 'text/plain',
      contentEncoding: 'utf-8',
      headers: { a: 1, b: 'two', nested: { c: true } },
      deliveryMode: 2,
      priority: 3,
      correlationId: 'corr',
      replyTo: 'reply',
      expiration: '60000',
      messageId: 'id-1',
      timestamp: 1700000000,
      type: 'greeting',
      appId: 'tests',
    });
    const [m] = (await inbox.waitFor(1)) as [ConsumeMessage];
    expect(m.content.toString()).toBe('hello');
    expect(m.fields).toMatchObject({ exchange: '', routingKey: q, redelivered: false, consumerTag: inbox.tag, deliveryTag: 1 });
    expect(m.properties).toMatchObject({
      contentType: 'text/plain',
      contentEncoding: 'utf-8',
      headers: { a: 1, b: 'two', nested: { c: true } },
      deliveryMode: 2,
      priority: 3,
      correlationId: 'corr',
      replyTo: 'reply',
      expiration: '60000',
      messageId: 'id-1',
      timestamp: 1700000000,
      type: 'greeting',
      appId: 'tests',
    });
    ch.ack(m);
    await sync(ch);
    expect(await ch.checkQueue(q)).toMatchObject({ messageCount: 0, consumerCount: 1 });
  });

  it('delivers an empty body and a body spanning many frames', async () => {
    const ch = await channel();
    const q = uid('sizes');
    await ch.assertQueue(q);
    const inbox = await Inbox.consume(ch, q, { noAck: true });
    const big = Buffer.alloc(1_000_000, 7);
    big.write('start', 0);
    big.write('end', big.length - 3);
    ch.sendToQueue(q, Buffer.alloc(0));
    ch.sendToQueue(q, big);
    const [empty, large] = (await inbox.waitFor(2)) as [ConsumeMessage, ConsumeMessage];
    expect(empty.content.length).toBe(0);
    expect(large.content.equals(big)).toBe(true);
  });

  it('routes through a topic exchange to every matching queue', async () => {
    const ch = await channel();
    const x = uid('topic');
    await ch.assertExchange(x, 'topic', { autoDelete: true });
    const [qa, qb] = [uid('qa'), uid('qb')];
    await ch.assertQueue(qa, { exclusive: true });
    await ch.assertQueue(qb, { exclusive: true });
    await ch.bindQueue(qa, x, 'stock.*');
    await ch.bindQueue(qb, x, '#.eur');
    ch.publish(x, 'stock.eur', Buffer.from('both'));
    ch.publish(x, 'stock.usd', Buffer.from('a-only'));
    ch.publish(x, 'bond.x.eur', Buffer.from('b-only'));
    ch.publish(x, 'nothing', Buffer.from('none'));
    await sync(ch);
    const drain = async (q: string): Promise<string[]> => {
      const out: string[] = [];
      for (let m = await ch.get(q, { noAck: true }); m !== false; m = await ch.get(q, { noAck: true })) out.push(m.content.toString());
      return out;
    };
    expect(await drain(qa)).toEqual(['both', 'a-only']);
    expect(await drain(qb)).toEqual(['both', 'b-only']);
  });

  it('returns an unroutable mandatory message with 312 NO_ROUTE', async () => {
    const ch = await channel();
    const returned: AmqpMessage[] = [];
    ch.on('return', (m: AmqpMessage) => returned.push(m));
    ch.publish('amq.direct', 'no-such-binding', Buffer.from('lost'), { mandatory: true, messageId: 'r1' });
    ch.publish('amq.direct', 'no-such-binding', Buffer.from('dropped silently'));
    await sync(ch);
    await waitFor(() => returned.length === 1, 'basic.return');
    const [r] = returned as [AmqpMessage];
    expect(r.fields).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: 'amq.direct', routingKey: 'no-such-binding' });
    expect(r.content.toString()).toBe('lost');
    expect(r.properties.messageId).toBe('r1');
  });

  it('the default exchange routes by queue name: CC keys too, unknown and deleted names are returned (mandatory) or dropped', async () => {
    const ch = await channel();
    const [qa, qb] = [uid('dx-a'), uid('dx-b')];
    await ch.assertQueue(qa);
    await ch.assertQueue(qb);
    const returned: AmqpMessage[] = [];
    ch.on('return', (m: AmqpMessage) => returned.push(m));
    ch.sendToQueue(qa, Buffer.from('a1'));
    ch.sendToQueue(qa, Buffer.from('a+b'), { CC: [qb] });
    ch.sendToQueue(qb, Buffer.from('b1'), { mandatory: true });
    ch.sendToQueue(uid('dx-none'), Buffer.from('nowhere'), { mandatory: true });
    ch.sendToQueue(uid('dx-none'), Buffer.from('dropped'));
    await sync(ch);
    await ch.deleteQueue(qb);
    ch.sendToQueue(qb, Buffer.from('after delete'), { mandatory: true });
    await sync(ch);
    await waitFor(() => returned.length === 2, 'two basic.returns');
    expect(returned.map((r) => r.content.toString())).toEqual(['nowhere', 'after delete']);
    for (const r of returned) expect(r.fields).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: '' });
    const got: string[] = [];
    for (let m = await ch.get(qa, { noAck: true }); m !== false; m = await ch.get(qa, { noAck: true })) got.push(m.content.toString());
    expect(got).toEqual(['a1', 'a+b']);
  });
});

describe('basic.get', () => {
  it('reports the messages left after the one it takes, and false when empty', async () => {
    const ch = await channel();
    const q = uid('get');
    await ch.assertQueue(q);
    await publishN(ch, q, 3);
    const counts: number[] = [];
    const bodies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await ch.get(q, { noAck: true });
      if (m === false) throw new Error('expected a message');
      counts.push(m.fields.messageCount);
      bodies.push(m.content.toString());
    }
    expect(counts).toEqual([2, 1, 0]);
    expect(bodies).toEqual(['m0', 'm1', 'm2']);
    expect(await ch.get(q)).toBe(false);
  });

  it('with acks: tags count up; an unacked get comes back redelivered when nacked', async () => {
    const ch = await channel();
    const q = uid('get-ack');
    await ch.assertQueue(q);
    await publishN(ch, q, 2);
    const a = await ch.get(q);
    const b = await ch.get(q);
    if (a === false || b === false) throw new Error('expected messages');
    expect([a.fields.deliveryTag, b.fields.deliveryTag]).toEqual([1, 2]);
    expect(a.fields.redelivered).toBe(false);
    ch.nackAll(true);
    await sync(ch);
    const again = await ch.get(q, { noAck: true });
    if (again === false) throw new Error('expected a message');
    expect(again.content.toString()).toBe('m0');
    expect(again.fields.redelivered).toBe(true);
    expect(again.fields.messageCount).toBe(1);
  });

  it('acking an unknown tag closes the channel with 406 (row 15)', async () => {
    const ch = await channel();
    ch.ack({ fields: { deliveryTag: 99 } } as unknown as AmqpMessage);
    await within(ch.closedP, 'channel close');
    expect(ch.errors.map((e) => [e.code, e.message])).toEqual([
      [406, 'Channel closed by server: 406 (PRECONDITION-FAILED) with message "PRECONDITION_FAILED - unknown delivery tag 99"'],
    ]);
  });
});

describe('prefetch', () => {
  it('global=false limits each consumer on its own', async () => {
    const ch = await channel();
    const q = uid('per-consumer');
    await ch.assertQueue(q);
    await publishN(ch, q, 10);
    await ch.prefetch(2);
    const c1 = await Inbox.consume(ch, q);
    const c2 = await Inbox.consume(ch, q);
    await sync(ch);
    expect(c1.messages.length).toBe(2);
    expect(c2.messages.length).toBe(2);
    expect((await ch.checkQueue(q)).messageCount).toBe(6);
    ch.ack(c1.messages[0]!);
    await sync(ch);
    expect(c1.messages.length).toBe(3);
    expect(c2.messages.length).toBe(2);
  });

  it('global=true limits the channel over all its consumers', async () => {
    const ch = await channel();
    const [q1, q2] = [uid('chan-a'), uid('chan-b')];
    await ch.assertQueue(q1);
    await ch.assertQueue(q2);
    await publishN(ch, q1, 5);
    await publishN(ch, q2, 5);
    await ch.prefetch(3, true);
    const c1 = await Inbox.consume(ch, q1);
    const c2 = await Inbox.consume(ch, q2);
    await sync(ch);
    expect(c1.messages.length + c2.messages.length).toBe(3);
    const first = c1.messages[0] ?? c2.messages[0]!;
    ch.ack(first);
    await sync(ch);
    expect(c1.messages.length + c2.messages.length).toBe(4);
  });

  it('both limits together: the smaller one wins', async () => {
    const ch = await channel();
    const q = uid('both');
    await ch.assertQueue(q);
    await publishN(ch, q, 20);
    await ch.prefetch(5, true);
    await ch.prefetch(2, false);
    const cs = [await Inbox.consume(ch, q), await Inbox.consume(ch, q), await Inbox.consume(ch, q)];
    await sync(ch);
    expect(cs.map((c) => c.messages.length).sort()).toEqual([1, 2, 2]);
  });

  it.each([
    ['per-consumer first', [2, false], [3, true]],
    ['global first', [3, true], [2, false]],
  ] as const)('global 3 and per-consumer 2 on one channel (%s): both apply, 2 + 1 unacked; an ack frees one slot', async (_order, first, second) => {
    const ch = await channel();
    const [q1, q2] = [uid('both-a'), uid('both-b')];
    await ch.assertQueue(q1);
    await ch.assertQueue(q2);
    await publishN(ch, q1, 5);
    await publishN(ch, q2, 5);
    await ch.prefetch(first[0], first[1]);
    await ch.prefetch(second[0], second[1]);
    const c1 = await Inbox.consume(ch, q1);
    const c2 = await Inbox.consume(ch, q2);
    await sync(ch);
    expect([c1.messages.length, c2.messages.length]).toEqual([2, 1]);
    ch.ack(c2.messages[0]!);
    await sync(ch);
    // The channel had 3 out; the ack frees one channel slot, which only consumer 2 may use.
    expect([c1.messages.length, c2.messages.length]).toEqual([2, 2]);
  });

  it('no-ack consumers are not limited', async () => {
    const ch = await channel();
    const q = uid('noack');
    await ch.assertQueue(q);
    await ch.prefetch(1);
    const c = await Inbox.consume(ch, q, { noAck: true });
    await publishN(ch, q, 10);
    await c.waitFor(10);
    expect(c.bodies()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
  });
});

describe('requeue', () => {
  it('a closing channel returns its unacked messages in their original order, redelivered', async () => {
    const client = await clients.connect();
    const pub = await client.channel();
    const q = uid('close-requeue');
    await pub.assertQueue(q);
    await publishN(pub, q, 10);
    const a = await client.channel();
    await a.prefetch(6);
    const inboxA = await Inbox.consume(a, q);
    await inboxA.waitFor(6);
    a.ack(inboxA.messages[1]!);
    a.ack(inboxA.messages[4]!);
    await sync(a);
    // The two acks freed credit for m6 and m7.
    expect(inboxA.bodies()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7']);
    await a.close();
    const b = await client.channel();
    const inboxB = await Inbox.consume(b, q, { noAck: true });
    await inboxB.waitFor(8);
    expect(inboxB.bodies()).toEqual(['m0', 'm2', 'm3', 'm5', 'm6', 'm7', 'm8', 'm9']);
    expect(inboxB.messages.map((m) => m.fields.redelivered)).toEqual([true, true, true, true, true, true, false, false]);
  });

  it('a closing channel with unacked messages from two queues returns each to its own queue, in order', async () => {
    const client = await clients.connect();
    const pub = await client.channel();
    const [q1, q2] = [uid('two-a'), uid('two-b')];
    await pub.assertQueue(q1);
    await pub.assertQueue(q2);
    await publishN(pub, q1, 3, 'a');
    await publishN(pub, q2, 3, 'b');
    const ch = await client.channel();
    const i1 = await Inbox.consume(ch, q1);
    const i2 = await Inbox.consume(ch, q2);
    await i1.waitFor(3);
    await i2.waitFor(3);
    ch.ack(i1.messages[1]!);
    await ch.close();
    const drain = async (q: string): Promise<string[]> => {
      const out: string[] = [];
      for (let m = await pub.get(q, { noAck: true }); m !== false; m = await pub.get(q, { noAck: true })) out.push(m.content.toString());
      return out;
    };
    expect(await drain(q1)).toEqual(['a0', 'a2']);
    expect(await drain(q2)).toEqual(['b0', 'b1', 'b2']);
  });

  it('a closing connection requeues too, and another connection gets the messages', async () => {
    const owner = await clients.connect();
    const ch = await owner.channel();
    const q = uid('conn-requeue');
    await ch.assertQueue(q);
    await publishN(ch, q, 3);
    const inbox = await Inbox.consume(ch, q);
    await inbox.waitFor(3);
    await owner.conn.close();
    const other = await channel();
    const got = await Inbox.consume(other, q, { noAck: true });
    await got.waitFor(3);
    expect(got.bodies()).toEqual(['m0', 'm1', 'm2']);
    expect(got.messages.every((m) => m.fields.redelivered)).toBe(true);
  });

  it('nack with requeue puts messages back at their positions, ahead of newer ones', async () => {
    const ch = await channel();
    const q = uid('nack');
    await ch.assertQueue(q);
    await publishN(ch, q, 4);
    await ch.prefetch(3);
    const inbox = await Inbox.consume(ch, q);
    await inbox.waitFor(3);
    const [m0, m1, m2] = inbox.messages as [ConsumeMessage, ConsumeMessage, ConsumeMessage];
    await ch.cancel(inbox.tag);
    ch.nack(m2, false, true);
    ch.reject(m0, true);
    ch.nack(m1, false, false); // dropped
    await sync(ch);
    const left: string[] = [];
    for (let m = await ch.get(q, { noAck: true }); m !== false; m = await ch.get(q, { noAck: true })) left.push(m.content.toString());
    expect(left).toEqual(['m0', 'm2', 'm3']);
  });

  it('basic.recover requeues everything unacked on the channel', async () => {
    const ch = await channel();
    const q = uid('recover');
    await ch.assertQueue(q);
    await publishN(ch, q, 3);
    const inbox = await Inbox.consume(ch, q);
    await inbox.waitFor(3);
    await ch.recover();
    await inbox.waitFor(6);
    expect(inbox.bodies()).toEqual(['m0', 'm1', 'm2', 'm0', 'm1', 'm2']);
    expect(inbox.messages.map((m) => m.fields.redelivered)).toEqual([false, false, false, true, true, true]);
  });

  it('round robin over two consumers on different connections', async () => {
    const a = await channel();
    const b = await channel();
    const q = uid('rr');
    await a.assertQueue(q);
    const ia = await Inbox.consume(a, q, { noAck: true });
    const ib = await Inbox.consume(b, q, { noAck: true });
    await publishN(a, q, 6);
    await waitFor(() => ia.messages.length + ib.messages.length === 6, 'six deliveries');
    expect(ia.bodies()).toEqual(['m0', 'm2', 'm4']);
    expect(ib.bodies()).toEqual(['m1', 'm3', 'm5']);
  });
});
