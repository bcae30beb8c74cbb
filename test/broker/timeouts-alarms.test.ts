// Consumer acknowledgement timeouts and resource alarms, through amqplib against an in-process
// broker: a consumer that sits on a delivery too long is cancelled (clients that hear cancels)
// or loses its channel with RabbitMQ's 406; a resource alarm blocks publishers with
// connection.blocked while consumers keep draining, and unblocks them when it clears.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import { Clients, Inbox, sync, testBroker, uid, waitFor, within } from '../helpers/broker.js';

let broker: RunningBroker;
let clients: Clients;

beforeAll(async () => {
  broker = await testBroker({ consumerTimeout: 0 });
  clients = new Clients(broker.url);
});

afterEach(async () => {
  broker.broker.overrideAlarm('memory', null);
  broker.broker.overrideAlarm('disk', null);
  await clients.closeAll();
});

afterAll(async () => {
  await broker.close();
});

describe('consumer acknowledgement timeout (x-consumer-timeout)', () => {
  it('cancels a consumer that keeps a delivery too long and returns its messages, when the client hears cancels', async () => {
    const client = await clients.connect();
    const ch = await client.channel();
    const q = uid('slow');
    await ch.assertQueue(q, { arguments: { 'x-consumer-timeout': 1000 } });
    await ch.prefetch(1);
    ch.sendToQueue(q, Buffer.from('held'));
    const inbox = await Inbox.consume(ch, q);
    await inbox.waitFor(1);
    // amqplib announces consumer_cancel_notify: the consumer is cancelled (amqplib delivers null).
    await waitFor(() => inbox.cancelled, 'the consumer to be cancelled', 10_000);
    expect(ch.errors).toEqual([]);
    // The held message is back in the queue, redelivered.
    const again = await ch.get(q);
    expect(again && again.content.toString()).toBe('held');
    expect(again && again.fields.redelivered).toBe(true);
  });

  it('leaves a consumer alone while it acknowledges in time', async () => {
    const client = await clients.connect();
    const ch = await client.channel();
    const q = uid('prompt');
    await ch.assertQueue(q, { arguments: { 'x-consumer-timeout': 1000 } });
    let cancelled = false;
    let got = 0;
    await ch.consume(q, (m) => {
      if (m === null) cancelled = true;
      else {
        got++;
        ch.ack(m);
      }
    });
    for (let i = 0; i < 5; i++) {
      ch.sendToQueue(q, Buffer.from(String(i)));
      await new Promise((r) => setTimeout(r, 400));
    }
    await waitFor(() => got === 5, 'all deliveries');
    expect(cancelled).toBe(false);
    expect(ch.errors).toEqual([]);
  });
});

describe('resource alarms', () => {
  it('blocks publishers with connection.blocked, lets consumers drain, and unblocks when the alarm clears', async () => {
    const pubClient = await clients.connect();
    const subClient = await clients.connect();
    const blocked: string[] = [];
    let unblocked = 0;
    pubClient.conn.on('blocked', (reason: string) => blocked.push(reason));
    pubClient.conn.on('unblocked', () => unblocked++);
    const pub = await pubClient.channel();
    const sub = await subClient.channel();
    const q = uid('alarm');
    await pub.assertQueue(q);
    pub.sendToQueue(q, Buffer.from('before'));
    await sync(pub);

    broker.broker.overrideAlarm('memory', true);
    // The next publish blocks the connection (as in RabbitMQ, that one still goes through);
    // nothing it sends after it is read until the alarm clears.
    pub.sendToQueue(q, Buffer.from('trigger'));
    pub.sendToQueue(q, Buffer.from('held'));
    await waitFor(() => blocked.length === 1, 'connection.blocked');
    expect(blocked).toEqual(['low on memory']);
    // Consumers keep draining.
    const inbox = await Inbox.consume(sub, q, { noAck: true });
    await inbox.waitFor(2);
    await new Promise((r) => setTimeout(r, 200));
    expect(inbox.bodies()).toEqual(['before', 'trigger']);

    broker.broker.overrideAlarm('memory', false);
    await waitFor(() => unblocked === 1, 'connection.unblocked');
    await inbox.waitFor(3);
    expect(inbox.bodies()).toEqual(['before', 'trigger', 'held']);
    await within(sync(pub), 'the publisher to work again');
  });
});

describe('bugs outside frame handling', () => {
  it('a failing queue timer is logged and the broker carries on', async () => {
    const client = await clients.connect();
    const ch = await client.channel();
    const q = uid('ttl-bug');
    await ch.assertQueue(q, { arguments: { 'x-message-ttl': 50, 'x-dead-letter-exchange': 'amq.fanout' } });
    const queue = broker.broker.vhost('/')!.getQueue(q)!;
    const hooks = queue.hooks!;
    const reported: unknown[] = [];
    queue.hooks = {
      ...hooks,
      deadLetter: () => {
        throw new Error('injected');
      },
      error: (_q, err) => reported.push(err),
    };
    ch.sendToQueue(q, Buffer.from('x'));
    await waitFor(() => reported.length === 1, 'the timer failure to be reported');
    expect((reported[0] as Error).message).toBe('injected');
    // Everything else still works.
    const other = uid('after');
    await ch.assertQueue(other);
    ch.sendToQueue(other, Buffer.from('ok'));
    await sync(ch);
    const m = await ch.get(other);
    expect(m && m.content.toString()).toBe('ok');
  });
});
