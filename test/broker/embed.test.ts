// The embedding API: startBroker() on a free port with state in memory, its url/host/port, and
// close() ending client connections and the listener.
import amqp from 'amqplib';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';

describe('startBroker', () => {
  it('listens on 127.0.0.1 on a free port and gives a guest url for it', async () => {
    const b = await startBroker();
    try {
      expect(b.host).toBe('127.0.0.1');
      expect(b.port).toBeGreaterThan(0);
      expect(b.url).toBe(`amqp://guest:guest@127.0.0.1:${b.port}`);
      const conn = await amqp.connect(b.url);
      expect(conn.connection.serverProperties.product).toBe('warren');
      const ch = await conn.createChannel();
      const q = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(q.queue, Buffer.from('hi'));
      const got = await waitForGet(ch, q.queue);
      expect(got).toBe('hi');
      await conn.close();
    } finally {
      await b.close();
    }
  });

  it('two brokers get two ports and do not share state', async () => {
    const a = await startBroker();
    const b = await startBroker();
    try {
      expect(a.port).not.toBe(b.port);
      const ca = await amqp.connect(a.url);
      const cb = await amqp.connect(b.url);
      const cha = await ca.createChannel();
      const chb = await cb.createChannel();
      const errors: Error[] = [];
      chb.on('error', (e: Error) => errors.push(e));
      await cha.assertQueue('only-in-a');
      await expect(chb.checkQueue('only-in-a')).rejects.toThrow(/404/);
      expect(errors.map((e) => e.message)).toEqual([
        `Channel closed by server: 404 (NOT-FOUND) with message "NOT_FOUND - no queue 'only-in-a' in vhost '/'"`,
      ]);
      await ca.close();
      await cb.close().catch(() => undefined);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('uses the store it is given', async () => {
    const store = new MemoryStore();
    const b = await startBroker({ store });
    try {
      const conn = await amqp.connect(b.url);
      const ch = await conn.createChannel();
      await ch.assertQueue('durable-q', { durable: true });
      await conn.close();
      expect(store.loadDefinitions().queues.map((q) => q.name)).toEqual(['durable-q']);
    } finally {
      await b.close();
    }
  });

  it('close() stops listening; a second close() is harmless', async () => {
    const b = await startBroker();
    await b.close();
    await expect(amqp.connect(b.url)).rejects.toThrow(/ECONNREFUSED/);
    await expect(b.close()).resolves.toBeUndefined();
  });

  it('accepts users and vhosts from its options', async () => {
    const b = await startBroker({ users: [{ name: 'app', password: 's3cret', tags: [] }], vhosts: ['/', 'other'] });
    try {
      expect(b.url).toBe(`amqp://app:s3cret@127.0.0.1:${b.port}`);
      const conn = await amqp.connect(`${b.url}/other`);
      await conn.close();
      await expect(amqp.connect(`amqp://guest:guest@127.0.0.1:${b.port}`)).rejects.toThrow();
    } finally {
      await b.close();
    }
  });
});

async function waitForGet(ch: amqp.Channel, queue: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const m = await ch.get(queue, { noAck: true });
    if (m !== false) return m.content.toString();
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('no message');
}
