// amqp-client.js (@cloudamqp/amqp-client), unmodified: a publish/consume round trip, and its
// own test "can handle heartbeats": with heartbeat 1 it never sends a heartbeat by itself, it
// only answers the broker's, and it gives up when the broker says nothing for 1 s. So the
// broker must send every heartbeat/2 s as RabbitMQ does; warren used to lose such a connection
// within 2 s. The idle period is a condition of the test, not a measurement.
import { AMQPClient } from '@cloudamqp/amqp-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerUnderTest, sleep, startBroker, uid, withTimeout } from './harness.js';

let broker: BrokerUnderTest;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker?.stop();
});

describe.concurrent('amqp-client.js', () => {
  it('publish and consume with an ack', async () => {
    const conn = await new AMQPClient(broker.url).connect();
    try {
      const ch = await conn.channel();
      const { name } = await ch.queueDeclare(uid('acj'), { exclusive: true });
      const got = new Promise<string | null>((resolve) => {
        void ch.basicConsume(name, { noAck: false }, async (msg) => {
          await msg.ack();
          resolve(msg.bodyToString());
        });
      });
      await ch.basicPublish('', name, 'hello from amqp-client.js', { contentType: 'text/plain' });
      expect(await withTimeout(got, 10_000, 'the delivery')).toBe('hello from amqp-client.js');
      const { messageCount } = await ch.queueDeclare(name, { passive: true });
      expect(messageCount).toBe(0);
    } finally {
      await conn.close();
    }
  });

  it('heartbeat 1: an idle, healthy connection stays open for 4 s and still works', async () => {
    const conn = await new AMQPClient(`${broker.url}?heartbeat=1`).connect();
    let error: unknown;
    conn.onerror = (e) => {
      error = e;
    };
    try {
      const ch = await conn.channel();
      await sleep(4_000);
      expect({ closed: conn.closed, error }).toEqual({ closed: false, error: undefined });
      const { name } = await ch.queueDeclare('', { exclusive: true });
      await ch.basicPublish('', name, 'still here');
      const msg = await ch.basicGet(name, { noAck: true });
      expect(msg?.bodyToString()).toBe('still here');
    } finally {
      if (!conn.closed) await conn.close();
    }
  });
});
