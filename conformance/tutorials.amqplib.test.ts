// The six RabbitMQ tutorials, written with amqplib the way the official JavaScript tutorials do.
import { describe, expect, it } from 'vitest';
import { body, Inbox, sync, uid, waitFor } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

describe('tutorial 1: hello world', () => {
  it('sends to a named queue through the default exchange and a consumer receives it', async () => {
    const q = uid('hello');
    const sender = await shared.clients.channel();
    await sender.assertQueue(q, { durable: false });
    sender.sendToQueue(q, Buffer.from('Hello World!'));

    const receiver = await shared.clients.channel();
    await receiver.assertQueue(q, { durable: false });
    const inbox = new Inbox();
    await receiver.consume(q, inbox.push, { noAck: true });
    const m = await inbox.next();
    expect(body(m)).toBe('Hello World!');
    expect(m?.fields.exchange).toBe('');
    expect(m?.fields.routingKey).toBe(q);
    expect(m?.fields.redelivered).toBe(false);
    await receiver.deleteQueue(q);
  });
});

describe('tutorial 2: work queues', () => {
  it('durable queue, persistent messages, prefetch 1 and manual acks: a busy worker gets no more work', async () => {
    const q = uid('task_queue');
    const producer = await shared.clients.channel();
    await producer.assertQueue(q, { durable: true });

    // Worker A takes one task and never finishes it (does not ack).
    const a = await shared.clients.channel();
    await a.prefetch(1);
    const inboxA = new Inbox();
    await a.consume(q, inboxA.push, { noAck: false });
    // Worker B acks everything it gets.
    const b = await shared.clients.channel();
    await b.prefetch(1);
    const inboxB = new Inbox();
    await b.consume(
      q,
      (m) => {
        inboxB.push(m);
        if (m) b.ack(m);
      },
      { noAck: false },
    );

    const tasks = ['task 1.', 'task 2..', 'task 3...', 'task 4....', 'task 5.....'];
    for (const t of tasks) producer.sendToQueue(q, Buffer.from(t), { persistent: true });

    const first = await inboxA.next();
    const fromB = await inboxB.take(4);
    expect(first?.properties.deliveryMode).toBe(2);
    for (const m of fromB) expect(m.properties.deliveryMode).toBe(2);
    // Every task was handed out exactly once, A only got one because it never acked.
    expect([body(first), ...fromB.map(body)].sort()).toEqual([...tasks].sort());
    await sync(a);
    expect(inboxA.count).toBe(1);
    const st = await producer.checkQueue(q);
    expect(st.messageCount).toBe(0);
    expect(st.consumerCount).toBe(2);

    // Once A acks, the queue is drained and nothing is left unacked anywhere.
    a.ack(first!);
    await sync(a);
    expect((await producer.checkQueue(q)).messageCount).toBe(0);
    await producer.deleteQueue(q);
  });

  it('with prefetch 1, two workers that have not acked yet each hold exactly one task', async () => {
    const q = uid('task_fair');
    const producer = await shared.clients.channel();
    await producer.assertQueue(q, { durable: true });
    const inboxes = [new Inbox(), new Inbox()];
    for (const inbox of inboxes) {
      const ch = await shared.clients.channel();
      await ch.prefetch(1);
      await ch.consume(q, inbox.push, { noAck: false });
    }
    for (let i = 0; i < 10; i++) producer.sendToQueue(q, Buffer.from(`t${i}`), { persistent: true });
    const a = await inboxes[0]!.next();
    const b = await inboxes[1]!.next();
    expect([body(a), body(b)].sort()).toEqual(['t0', 't1']);
    const st = await producer.checkQueue(q);
    expect(st.messageCount).toBe(8);
    expect(inboxes[0]!.count + inboxes[1]!.count).toBe(2);
    await producer.deleteQueue(q);
  });
});

describe('tutorial 3: publish/subscribe (fanout)', () => {
  it('every bound server-named exclusive queue gets a copy, routing key ignored', async () => {
    const ex = uid('logs');
    const pub = await shared.clients.channel();
    await pub.assertExchange(ex, 'fanout', { durable: false });

    const inboxes: Inbox[] = [];
    for (let i = 0; i < 2; i++) {
      const ch = await shared.clients.channel();
      await ch.assertExchange(ex, 'fanout', { durable: false });
      const { queue } = await ch.assertQueue('', { exclusive: true });
      expect(queue).toMatch(/^amq\.gen-/);
      await ch.bindQueue(queue, ex, '');
      const inbox = new Inbox();
      await ch.consume(queue, inbox.push, { noAck: true });
      inboxes.push(inbox);
    }
    pub.publish(ex, 'ignored.key', Buffer.from('info: hello'));
    pub.publish(ex, '', Buffer.from('info: second'));
    for (const inbox of inboxes) {
      const got = await inbox.take(2);
      expect(got.map(body)).toEqual(['info: hello', 'info: second']);
      expect(got[0]!.fields.exchange).toBe(ex);
      expect(got[0]!.fields.routingKey).toBe('ignored.key');
    }
    await pub.deleteExchange(ex);
  });
});

describe('tutorial 4: routing (direct)', () => {
  it('routes by exact key; one queue may have several bindings', async () => {
    const ex = uid('direct_logs');
    const ch = await shared.clients.channel();
    await ch.assertExchange(ex, 'direct', { durable: false });
    const errorsOnly = (await ch.assertQueue('', { exclusive: true })).queue;
    const all = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(errorsOnly, ex, 'error');
    for (const sev of ['info', 'warning', 'error']) await ch.bindQueue(all, ex, sev);

    const inErr = new Inbox();
    const inAll = new Inbox();
    await ch.consume(errorsOnly, inErr.push, { noAck: true });
    await ch.consume(all, inAll.push, { noAck: true });

    ch.publish(ex, 'info', Buffer.from('i'));
    ch.publish(ex, 'warning', Buffer.from('w'));
    ch.publish(ex, 'error', Buffer.from('e'));
    ch.publish(ex, 'debug', Buffer.from('d')); // no binding: dropped

    const allMsgs = await inAll.take(3);
    expect(allMsgs.map((m) => `${m.fields.routingKey}:${body(m)}`)).toEqual(['info:i', 'warning:w', 'error:e']);
    const errMsgs = await inErr.take(1);
    expect(body(errMsgs[0])).toBe('e');
    await sync(ch);
    expect(inErr.count).toBe(1);
    expect(inAll.count).toBe(3);
    await ch.deleteExchange(ex);
  });
});

describe('tutorial 5: topics', () => {
  it('matches * (one word) and # (zero or more words) like the tutorial', async () => {
    const ex = uid('topic_logs');
    const ch = await shared.clients.channel();
    await ch.assertExchange(ex, 'topic', { durable: false });
    const q1 = (await ch.assertQueue('', { exclusive: true })).queue;
    const q2 = (await ch.assertQueue('', { exclusive: true })).queue;
    const qAll = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q1, ex, '*.orange.*');
    await ch.bindQueue(q2, ex, '*.*.rabbit');
    await ch.bindQueue(q2, ex, 'lazy.#');
    await ch.bindQueue(qAll, ex, '#');

    const keys = [
      'quick.orange.rabbit', // Q1, Q2
      'lazy.orange.elephant', // Q1, Q2
      'quick.orange.fox', // Q1
      'lazy.brown.fox', // Q2
      'lazy.pink.rabbit', // Q2 once, although it matches both bindings
      'quick.brown.fox', // nobody
      'orange', // nobody
      'quick.orange.male.rabbit', // nobody
      'lazy.orange.male.rabbit', // Q2
      'lazy', // Q2 (# matches zero words)
    ];
    for (const k of keys) ch.publish(ex, k, Buffer.from(k));

    const i1 = new Inbox();
    const i2 = new Inbox();
    const iAll = new Inbox();
    await ch.consume(q1, i1.push, { noAck: true });
    await ch.consume(q2, i2.push, { noAck: true });
    await ch.consume(qAll, iAll.push, { noAck: true });
    expect((await iAll.take(keys.length)).map(body)).toEqual(keys);
    expect((await i1.take(3)).map(body)).toEqual(['quick.orange.rabbit', 'lazy.orange.elephant', 'quick.orange.fox']);
    expect((await i2.take(6)).map(body)).toEqual([
      'quick.orange.rabbit',
      'lazy.orange.elephant',
      'lazy.brown.fox',
      'lazy.pink.rabbit',
      'lazy.orange.male.rabbit',
      'lazy',
    ]);
    await sync(ch);
    expect(i1.count).toBe(3);
    expect(i2.count).toBe(6);
    await ch.deleteExchange(ex);
  });

  it('handles empty words and "#" in the middle of a pattern', async () => {
    const ex = uid('topic_edge');
    const ch = await shared.clients.channel();
    await ch.assertExchange(ex, 'topic', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, ex, 'a.#.z');
    const qEmpty = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(qEmpty, ex, '');
    for (const k of ['a.z', 'a.b.z', 'a.b.c.z', 'a.b', 'b.z', '', 'a..z']) ch.publish(ex, k, Buffer.from(k));
    const inbox = new Inbox();
    const inboxEmpty = new Inbox();
    await ch.consume(q, inbox.push, { noAck: true });
    await ch.consume(qEmpty, inboxEmpty.push, { noAck: true });
    expect((await inbox.take(4)).map(body)).toEqual(['a.z', 'a.b.z', 'a.b.c.z', 'a..z']);
    expect((await inboxEmpty.take(1)).map(body)).toEqual(['']);
    await sync(ch);
    expect(inbox.count).toBe(4);
    expect(inboxEmpty.count).toBe(1);
    await ch.deleteExchange(ex);
  });
});

describe('tutorial 6: RPC', () => {
  function fib(n: number): number {
    let [a, b] = [0, 1];
    for (let i = 0; i < n; i++) [a, b] = [b, a + b];
    return a;
  }

  it('reply_to + correlation_id round trip through an exclusive callback queue', async () => {
    const rpcQueue = uid('rpc_queue');
    const server = await shared.clients.channel();
    await server.assertQueue(rpcQueue, { durable: false });
    await server.prefetch(1);
    await server.consume(rpcQueue, (msg) => {
      if (!msg) return;
      const n = parseInt(msg.content.toString(), 10);
      server.sendToQueue(msg.properties.replyTo as string, Buffer.from(String(fib(n))), {
        correlationId: msg.properties.correlationId,
      });
      server.ack(msg);
    });

    const client = await shared.clients.channel();
    const { queue: callback } = await client.assertQueue('', { exclusive: true });
    const replies = new Inbox();
    await client.consume(callback, replies.push, { noAck: true });
    const requests = [
      { n: 10, id: uid('corr') },
      { n: 30, id: uid('corr') },
      { n: 1, id: uid('corr') },
    ];
    for (const r of requests) {
      client.sendToQueue(rpcQueue, Buffer.from(String(r.n)), { correlationId: r.id, replyTo: callback });
    }
    const got = await replies.take(3);
    const byId = new Map(got.map((m) => [m.properties.correlationId as string, body(m)]));
    for (const r of requests) expect(byId.get(r.id)).toBe(String(fib(r.n)));
    await server.deleteQueue(rpcQueue);
  });
});

describe('RPC with direct reply-to (amq.rabbitmq.reply-to)', () => {
  it('the server sees a generated reply-to name and its reply reaches the pseudo-queue consumer', async () => {
    const rpcQueue = uid('rpc_direct');
    const server = await shared.clients.channel();
    await server.assertQueue(rpcQueue, { durable: false });
    const seen: string[] = [];
    await server.consume(rpcQueue, (msg) => {
      if (!msg) return;
      seen.push(msg.properties.replyTo as string);
      server.sendToQueue(msg.properties.replyTo as string, Buffer.from(`re:${msg.content.toString()}`), {
        correlationId: msg.properties.correlationId,
      });
      server.ack(msg);
    });
    const client = await shared.clients.channel();
    const replies = new Inbox();
    const { consumerTag } = await client.consume('amq.rabbitmq.reply-to', replies.push, { noAck: true });
    client.sendToQueue(rpcQueue, Buffer.from('ping'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c1' });
    client.sendToQueue(rpcQueue, Buffer.from('again'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c2' });
    const got = await replies.take(2);
    expect(got.map((m) => [m.properties.correlationId, body(m)])).toEqual([
      ['c1', 're:ping'],
      ['c2', 're:again'],
    ]);
    expect(seen[0]).toMatch(/^amq\.rabbitmq\.reply-to\.\S+$/);
    expect(seen[1]).toBe(seen[0]);
    expect(got[0]!.fields).toMatchObject({ consumerTag, exchange: '', routingKey: seen[0] });
    await server.deleteQueue(rpcQueue);
  });
});
