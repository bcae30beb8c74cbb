// Lifetimes through amqplib: exclusive queues end with their connection, auto-delete queues with
// their last consumer, consumers are told when their queue is deleted, broker.close() sends
// 320 CONNECTION_FORCED, and a bug while handling one connection closes only that one (541).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import type { VirtualHost } from '../../src/routing/vhost.js';
import { CHANNEL_OPEN, CHANNEL_OPEN_OK, QUEUE_DECLARE, QUEUE_DECLARE_OK } from '../../src/codec/methods.generated.js';
import { Clients, Inbox, publishN, sync, testBroker, uid, waitFor, within } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

let broker: RunningBroker;
let clients: Clients;

beforeAll(async () => {
  broker = await testBroker();
  clients = new Clients(broker.url);
});
afterEach(async () => clients.closeAll());
afterAll(async () => broker.close());

const vhost = (): VirtualHost => broker.broker.vhosts.get('/')!;

/** Whether the queue exists, asked over a fresh channel (a 404 closes that channel). */
async function queueExists(q: string): Promise<boolean> {
  const c = await clients.connect();
  const ch = await c.channel();
  try {
    await ch.checkQueue(q);
    return true;
  } catch {
    expect(ch.errors[0]?.message).toContain(`NOT_FOUND - no queue '${q}' in vhost '/'`);
    return false;
  }
}

describe('exclusive queues', () => {
  it('are locked to their connection (405) and removed when it closes', async () => {
    const owner = await clients.connect();
    const och = await owner.channel();
    const q = uid('exclusive');
    await och.assertQueue(q, { exclusive: true });

    const other = await clients.connect();
    const ch = await other.channel();
    await expect(ch.checkQueue(q)).rejects.toThrow();
    expect(ch.errors.map((e) => [e.code, e.classId, e.methodId])).toEqual([[405, 50, 10]]);
    expect(ch.errors[0]!.message).toContain(
      `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
    );

    await owner.conn.close();
    expect(vhost().getQueue(q)).toBeUndefined();
    expect(await queueExists(q)).toBe(false);
  });

  it('are removed when their connection drops without closing', async () => {
    const raw = await RawClient.open(broker.port, 0);
    const q = uid('exclusive-drop');
    raw.sendMethod(1, { id: CHANNEL_OPEN, outOfBand: '' });
    await raw.waitForMethod(CHANNEL_OPEN_OK);
    raw.sendMethod(1, {
      id: QUEUE_DECLARE,
      ticket: 0,
      queue: q,
      passive: false,
      durable: false,
      exclusive: true,
      autoDelete: false,
      nowait: false,
      arguments: new Map(),
    });
    await raw.waitForMethod(QUEUE_DECLARE_OK);
    expect(vhost().getQueue(q)).toBeDefined();
    // No connection.close: the socket just goes away.
    raw.destroy();
    await waitFor(() => vhost().getQueue(q) === undefined, 'exclusive queue removal');
  });
});

describe('auto-delete queues', () => {
  it('are removed when their last consumer is cancelled, not before', async () => {
    const c = await clients.connect();
    const ch = await c.channel();
    const q = uid('auto-delete');
    await ch.assertQueue(q, { autoDelete: true });
    const a = await Inbox.consume(ch, q);
    const b = await Inbox.consume(ch, q);
    await ch.cancel(a.tag);
    expect(vhost().getQueue(q)).toBeDefined();
    await ch.cancel(b.tag);
    expect(vhost().getQueue(q)).toBeUndefined();
  });

  it('are removed when the channel of their last consumer closes', async () => {
    const c = await clients.connect();
    const ch = await c.channel();
    const q = uid('auto-delete-close');
    await ch.assertQueue(q, { autoDelete: true });
    await Inbox.consume(ch, q);
    await ch.close();
    expect(vhost().getQueue(q)).toBeUndefined();
  });

  it('stay while they never had a consumer', async () => {
    const c = await clients.connect();
    const ch = await c.channel();
    const q = uid('auto-delete-unused');
    await ch.assertQueue(q, { autoDelete: true });
    await publishN(ch, q, 1);
    await c.conn.close();
    expect(await queueExists(q)).toBe(true);
  });
});

describe('consumer cancel notification', () => {
  it('a consumer whose queue is deleted gets basic.cancel and its channel stays open', async () => {
    const c = await clients.connect();
    const ch = await c.channel();
    const q = uid('cancel-notify');
    await ch.assertQueue(q);
    const cancels: string[] = [];
    ch.on('cancel', (f: { consumerTag: string }) => cancels.push(f.consumerTag));
    const inbox = await Inbox.consume(ch, q);

    const other = await (await clients.connect()).channel();
    await other.deleteQueue(q);
    await waitFor(() => inbox.cancelled, 'basic.cancel');
    expect(cancels).toEqual([inbox.tag]);
    // The channel still works.
    await ch.assertQueue(uid('after-cancel'), { exclusive: true });
    expect(ch.errors).toEqual([]);
  });
});

describe('broker shutdown', () => {
  it('close() sends 320 CONNECTION_FORCED to every client', async () => {
    const own = await testBroker();
    const local = new Clients(own.url);
    try {
      const a = await local.connect();
      const b = await local.connect();
      await (await a.channel()).assertQueue('', { exclusive: true });
      await own.close();
      const [ea, eb] = await within(Promise.all([a.closed, b.closed]), 'connection close');
      for (const e of [ea, eb]) {
        expect(e?.code).toBe(320);
        expect(e?.message).toContain("CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'");
      }
      // 320 is not an error to amqplib: no 'error' events.
      expect([...a.errors, ...b.errors]).toEqual([]);
      expect(own.broker.connections.size).toBe(0);
    } finally {
      await local.closeAll();
      await own.close();
    }
  });
});

describe('an internal error', () => {
  it('closes only the connection it happened on, with 541, releasing what it held', async () => {
    const victim = await clients.connect();
    const vch = await victim.channel();
    const bystander = await clients.connect();
    const bch = await bystander.channel();
    const q = uid('survivor');
    await bch.assertQueue(q);
    await publishN(bch, q, 2);
    // The victim holds one message unacked.
    await vch.prefetch(1);
    const held = await Inbox.consume(vch, q);
    await held.waitFor(1);

    const vh = vhost() as VirtualHost & { declareQueue: VirtualHost['declareQueue'] };
    const original = vh.declareQueue;
    vh.declareQueue = function (this: VirtualHost, ...args: Parameters<VirtualHost['declareQueue']>) {
      if (args[0].name === 'boom') throw new Error('simulated bug');
      return original.apply(this, args);
    };
    try {
      await expect(vch.assertQueue('boom')).rejects.toThrow();
      const err = await within(victim.closed, 'victim close');
      expect(err?.code).toBe(541);
      expect(err?.message).toContain('INTERNAL_ERROR');
      expect(victim.errors.map((e) => e.code)).toEqual([541]);
    } finally {
      vh.declareQueue = original;
    }

    // The other connection carries on, and gets the message the victim held, redelivered.
    bch.sendToQueue(q, Buffer.from('after'));
    await sync(bch);
    const got: string[] = [];
    const flags: boolean[] = [];
    for (let m = await bch.get(q, { noAck: true }); m !== false; m = await bch.get(q, { noAck: true })) {
      got.push(m.content.toString());
      flags.push(m.fields.redelivered);
    }
    expect(got).toEqual(['m0', 'm1', 'after']);
    expect(flags).toEqual([true, false, false]);
    expect(bystander.errors).toEqual([]);
    expect(bch.errors).toEqual([]);
  });
});
