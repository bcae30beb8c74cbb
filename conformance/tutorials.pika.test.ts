// The main RabbitMQ tutorials with pika (Debian's python3-pika), mixed with amqplib on the other side
// so that two independent client implementations have to agree through the broker.
import { describe, expect, it } from 'vitest';
import { body, Inbox, PikaProcess, runPika, uid, waitForCount } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

function messages(events: Record<string, unknown>[]): Record<string, unknown>[] {
  return events.filter((e) => e['event'] === 'message');
}

describe('pika tutorials', () => {
  it('hello world: pika sends, pika receives', async () => {
    const q = uid('pk-hello');
    const sent = await runPika(shared.broker.url, 'tutorials', ['send', q, 'Hello World!', 'second']);
    expect(sent.events).toContainEqual({ event: 'sent', count: 2 });
    const got = await runPika(shared.broker.url, 'tutorials', ['receive', q, '2']);
    expect(messages(got.events).map((e) => e['body'])).toEqual(['Hello World!', 'second']);
    expect(messages(got.events).every((e) => e['redelivered'] === false && e['routing_key'] === q)).toBe(true);
    expect(got.events.at(-1)).toEqual({ event: 'done' });
    const ch = await shared.clients.channel();
    await waitForCount(ch, q, 0);
    await ch.deleteQueue(q);
  });

  it('hello world: amqplib sends, pika receives (and the reverse)', async () => {
    const q = uid('pk-hello-x');
    const ch = await shared.clients.channel();
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('from amqplib'));
    const got = await runPika(shared.broker.url, 'tutorials', ['receive', q, '1']);
    expect(messages(got.events).map((e) => e['body'])).toEqual(['from amqplib']);

    await runPika(shared.broker.url, 'tutorials', ['send', q, 'from pika']);
    const m = await ch.get(q, { noAck: true });
    expect(body(m)).toBe('from pika');
    await ch.deleteQueue(q);
  });

  it('work queues: pika producer with persistent messages, pika worker with prefetch 1 and acks', async () => {
    const q = uid('pk-task');
    const tasks = ['one.', 'two..', 'three...'];
    const sent = await runPika(shared.broker.url, 'tutorials', ['new_task', q, ...tasks]);
    expect(sent.events).toContainEqual({ event: 'sent', count: 3 });
    const ch = await shared.clients.channel();
    await waitForCount(ch, q, 3);
    const got = await runPika(shared.broker.url, 'tutorials', ['worker', q, '3']);
    const msgs = messages(got.events);
    expect(msgs.map((e) => e['body'])).toEqual(tasks);
    expect(msgs.every((e) => e['delivery_mode'] === 2)).toBe(true);
    // pika acked all of them: nothing comes back after its connection closed.
    await waitForCount(ch, q, 0);
    await ch.deleteQueue(q);
  });

  it('publish/subscribe: pika subscribers on a fanout exchange, amqplib publisher', async () => {
    const ex = uid('pk-logs');
    const subs = [0, 1].map(() => new PikaProcess(shared.broker.url, 'tutorials', ['subscribe', ex, 'fanout', '2']));
    try {
      const readies = await Promise.all(subs.map((s) => s.waitForEvent((e) => e['event'] === 'ready', 'ready')));
      for (const r of readies) expect(String(r['queue'])).toMatch(/^amq\.gen-/);
      const ch = await shared.clients.channel();
      ch.publish(ex, '', Buffer.from('log 1'));
      ch.publish(ex, 'anything', Buffer.from('log 2'));
      for (const s of subs) {
        expect(await s.exited).toBe(0);
        expect(messages(s.events).map((e) => e['body'])).toEqual(['log 1', 'log 2']);
        expect(messages(s.events).every((e) => e['exchange'] === ex)).toBe(true);
      }
      await ch.deleteExchange(ex);
    } finally {
      for (const s of subs) s.kill();
    }
  });

  it('routing: pika subscriber bound with two severities, pika emitter', async () => {
    const ex = uid('pk-direct');
    const sub = new PikaProcess(shared.broker.url, 'tutorials', ['subscribe', ex, 'direct', '2', 'warning', 'error']);
    try {
      await sub.waitForEvent((e) => e['event'] === 'ready', 'ready');
      for (const [sev, text] of [
        ['info', 'not for you'],
        ['warning', 'disk 80%'],
        ['debug', 'nope'],
        ['error', 'disk full'],
      ] as const) {
        const r = await runPika(shared.broker.url, 'tutorials', ['emit_log', ex, 'direct', sev, text]);
        expect(r.events).toContainEqual({ event: 'sent', count: 1 });
      }
      expect(await sub.exited).toBe(0);
      expect(messages(sub.events).map((e) => `${String(e['routing_key'])}:${String(e['body'])}`)).toEqual([
        'warning:disk 80%',
        'error:disk full',
      ]);
      const ch = await shared.clients.channel();
      await ch.deleteExchange(ex);
    } finally {
      sub.kill();
    }
  });

  it('topics: pika subscriber with * and # patterns', async () => {
    const ex = uid('pk-topic');
    const sub = new PikaProcess(shared.broker.url, 'tutorials', ['subscribe', ex, 'topic', '3', '*.critical', 'kern.#']);
    try {
      await sub.waitForEvent((e) => e['event'] === 'ready', 'ready');
      const ch = await shared.clients.channel();
      await ch.assertExchange(ex, 'topic', { durable: false });
      for (const k of ['kern.critical', 'anonymous.info', 'cron.critical', 'kern', 'a.b.critical', 'kern.x.y']) {
        ch.publish(ex, k, Buffer.from(k));
      }
      expect(await sub.exited).toBe(0);
      expect(messages(sub.events).map((e) => e['body'])).toEqual(['kern.critical', 'cron.critical', 'kern']);
      await ch.deleteExchange(ex);
    } finally {
      sub.kill();
    }
  });

  it('RPC: pika client, amqplib server', async () => {
    const rpcQueue = uid('pk-rpc');
    const server = await shared.clients.channel();
    await server.assertQueue(rpcQueue, { durable: false });
    const requests = new Inbox();
    await server.consume(rpcQueue, (msg) => {
      requests.push(msg);
      if (!msg) return;
      const n = parseInt(msg.content.toString(), 10);
      server.sendToQueue(msg.properties.replyTo as string, Buffer.from(String(n * n)), {
        correlationId: msg.properties.correlationId,
      });
      server.ack(msg);
    });
    const r = await runPika(shared.broker.url, 'tutorials', ['rpc_client', rpcQueue, '3', '12']);
    const replies = r.events.filter((e) => e['event'] === 'reply');
    expect(replies.map((e) => [e['n'], e['result']])).toEqual([
      [3, 9],
      [12, 144],
    ]);
    expect(String(replies[0]!['callback_queue'])).toMatch(/^amq\.gen-/);
    const reqs = await requests.take(2);
    expect(reqs.map((m) => m.properties.replyTo)).toEqual([replies[0]!['callback_queue'], replies[0]!['callback_queue']]);
    expect(reqs[0]!.properties.correlationId).not.toBe(reqs[1]!.properties.correlationId);
    await server.deleteQueue(rpcQueue);
  });

  it('RPC: pika server, amqplib client', async () => {
    const rpcQueue = uid('pk-rpc-srv');
    const srv = new PikaProcess(shared.broker.url, 'tutorials', ['rpc_server', rpcQueue, '2']);
    try {
      await srv.waitForEvent((e) => e['event'] === 'ready', 'ready');
      const client = await shared.clients.channel();
      const { queue: callback } = await client.assertQueue('', { exclusive: true });
      const replies = new Inbox();
      await client.consume(callback, replies.push, { noAck: true });
      client.sendToQueue(rpcQueue, Buffer.from('10'), { correlationId: 'c-10', replyTo: callback });
      client.sendToQueue(rpcQueue, Buffer.from('20'), { correlationId: 'c-20', replyTo: callback });
      const got = await replies.take(2);
      expect(got.map((m) => [m.properties.correlationId, body(m)])).toEqual([
        ['c-10', '55'],
        ['c-20', '6765'],
      ]);
      expect(await srv.exited).toBe(0);
      const reqEvents = srv.events.filter((e) => e['event'] === 'request');
      expect(reqEvents.map((e) => e['reply_to'])).toEqual([callback, callback]);
      await client.deleteQueue(rpcQueue);
    } finally {
      srv.kill();
    }
  });
});
