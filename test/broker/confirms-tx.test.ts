// Publisher confirms and transactions through amqplib: every publish confirmed exactly once with
// coalesced multiple acks, returns before acks, tx.commit / tx.rollback of publishes and acks,
// and the 406s for misuse (rows 33, 34).
import type { Channel, ConsumeMessage, Message as AmqpMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import { Clients, defs, Inbox, publishN, sync, testBroker, uid, within, type TestChannel } from '../helpers/broker.js';

let broker: RunningBroker;
let clients: Clients;

beforeAll(async () => {
  broker = await testBroker();
  clients = new Clients(broker.url);
});
afterEach(async () => clients.closeAll());
afterAll(async () => broker.close());

interface Rpc {
  rpc(method: number, fields: object, expect: number): Promise<unknown>;
}
const txSelect = (ch: Channel): Promise<unknown> => (ch as unknown as Rpc).rpc(defs.TxSelect!, {}, defs.TxSelectOk!);
const txCommit = (ch: Channel): Promise<unknown> => (ch as unknown as Rpc).rpc(defs.TxCommit!, {}, defs.TxCommitOk!);
const txRollback = (ch: Channel): Promise<unknown> => (ch as unknown as Rpc).rpc(defs.TxRollback!, {}, defs.TxRollbackOk!);

async function messageCount(q: string): Promise<number> {
  const c = await clients.connect();
  const ch = await c.channel();
  return (await ch.checkQueue(q)).messageCount;
}

describe('publisher confirms', () => {
  it('confirms every publish exactly once, in order, coalescing with multiple', async () => {
    const c = await clients.connect();
    const ch = await c.confirmChannel();
    const q = uid('confirms');
    await ch.assertQueue(q, { durable: true });
    const acks: { deliveryTag: number; multiple: boolean }[] = [];
    ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => acks.push(f));
    const results: unknown[] = [];
    const n = 50;
    for (let i = 0; i < n; i++) {
      ch.sendToQueue(q, Buffer.from(`m${i}`), { persistent: i % 2 === 0 }, (err) => results.push(err));
    }
    await within(ch.waitForConfirms(), 'confirms');
    expect(results).toEqual(Array.from({ length: n }, () => null));
    const covered: number[] = [];
    let last = 0;
    for (const a of acks) {
      expect(a.deliveryTag).toBeGreaterThan(last);
      if (a.multiple) for (let t = last + 1; t <= a.deliveryTag; t++) covered.push(t);
      else covered.push(a.deliveryTag);
      last = a.deliveryTag;
    }
    expect(covered).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(acks.some((a) => a.multiple)).toBe(true);
    expect(await messageCount(q)).toBe(n);
  });

  it('confirms unroutable messages too; a mandatory one is returned before its ack', async () => {
    const c = await clients.connect();
    const ch = await c.confirmChannel();
    const events: string[] = [];
    ch.on('return', (m: AmqpMessage) => events.push(`return:${m.content.toString()}`));
    ch.on('ack', (f: { deliveryTag: number }) => events.push(`ack:${f.deliveryTag}`));
    ch.publish('amq.direct', 'nowhere', Buffer.from('x'), { mandatory: true });
    await within(ch.waitForConfirms(), 'confirm');
    expect(events).toEqual(['return:x', 'ack:1']);
  });

  it('tx.select after confirm.select is 406 (row 34)', async () => {
    const c = await clients.connect();
    const ch = (await c.confirmChannel()) as unknown as TestChannel;
    const closed = new Promise<void>((r) => ch.once('close', () => r()));
    await expect(txSelect(ch)).rejects.toThrow();
    await within(closed, 'channel close');
    expect(ch.errors.map((e) => e.code)).toEqual([406]);
    expect(ch.errors[0]!.message).toContain('PRECONDITION_FAILED - cannot switch from confirm to tx mode');
  });
});

describe('transactions', () => {
  it('publishes are held until commit', async () => {
    const c = await clients.connect();
    const ch = await c.channel();
    const q = uid('tx-pub');
    await ch.assertQueue(q);
    await txSelect(ch);
    ch.sendToQueue(q, Buffer.from('a'));
    ch.sendToQueue(q, Buffer.from('b'));
    await sync(ch);
    expect(await messageCount(q)).toBe(0);
    await txCommit(ch);
    expect(await messageCount(q)).toBe(2);
    // The channel stays transactional: the next publish waits for the next commit.
    ch.sendToQueue(q, Buffer.from('c'));
    await sync(ch);
    expect(await messageCount(q)).toBe(2);
    await txCommit(ch);
    expect(await messageCount(q)).toBe(3);
  });

  it('rollback discards publishes', async () => {
    const c = await clients.connect();
    const ch = await c.channel();
    const q = uid('tx-rollback');
    await ch.assertQueue(q);
    await txSelect(ch);
    ch.sendToQueue(q, Buffer.from('dropped-1'));
    ch.sendToQueue(q, Buffer.from('dropped-2'));
    await txRollback(ch);
    ch.sendToQueue(q, Buffer.from('kept'));
    await txCommit(ch);
    const m = await ch.get(q, { noAck: true });
    expect(m !== false && m.content.toString()).toBe('kept');
    expect(await messageCount(q)).toBe(0);
  });

  it('acks are applied at commit; after a rollback the messages are still unacked and can be acked again', async () => {
    const c = await clients.connect();
    const pub = await c.channel();
    const q = uid('tx-ack');
    await pub.assertQueue(q);
    await publishN(pub, q, 3);
    const ch = await c.channel();
    await txSelect(ch);
    const inbox = await Inbox.consume(ch, q);
    const [m0, m1] = (await inbox.waitFor(3)) as [ConsumeMessage, ConsumeMessage, ConsumeMessage];
    ch.ackAll();
    await txRollback(ch);
    // Rolled back: nothing acked, nothing requeued.
    expect(await messageCount(q)).toBe(0);
    expect(inbox.messages.length).toBe(3);
    ch.ack(m0);
    ch.ack(m1);
    await txCommit(ch);
    await ch.cancel(inbox.tag);
    await ch.close();
    // m0 and m1 were acked; m2 comes back.
    expect(await messageCount(q)).toBe(1);
    const left = await pub.get(q, { noAck: true });
    expect(left !== false && [left.content.toString(), left.fields.redelivered]).toEqual(['m2', true]);
  });

  it('a nack with requeue in a transaction takes effect at commit', async () => {
    const c = await clients.connect();
    const ch = await c.channel();
    const q = uid('tx-nack');
    await ch.assertQueue(q);
    await publishN(ch, q, 2);
    await txSelect(ch);
    const a = await ch.get(q);
    if (a === false) throw new Error('expected a message');
    ch.nack(a, false, true);
    await sync(ch);
    expect(await messageCount(q)).toBe(1);
    await txCommit(ch);
    expect(await messageCount(q)).toBe(2);
  });

  it('acks of an uncommitted transaction do not lose the messages when the channel closes', async () => {
    // RabbitMQ discards uncommitted acks on close; the messages stay unacked and are requeued.
    const c = await clients.connect();
    const pub = await c.channel();
    const q = uid('tx-close');
    await pub.assertQueue(q);
    await publishN(pub, q, 3);
    const ch = await c.channel();
    await txSelect(ch);
    const inbox = await Inbox.consume(ch, q);
    await inbox.waitFor(3);
    ch.ackAll();
    await sync(ch);
    await ch.close();
    expect(await messageCount(q)).toBe(3);
  });

  it('tx.commit and tx.rollback without tx.select are 406 (row 33)', async () => {
    for (const op of [txCommit, txRollback]) {
      const c = await clients.connect();
      const ch = await c.channel();
      await expect(op(ch)).rejects.toThrow();
      await within(ch.closedP, 'channel close');
      expect(ch.errors.map((e) => e.code)).toEqual([406]);
      expect(ch.errors[0]!.message).toContain('PRECONDITION_FAILED - channel is not transactional');
    }
  });

  it('confirm.select after tx.select is 406 (row 34)', async () => {
    const c = await clients.connect();
    const ch = await c.channel();
    await txSelect(ch);
    await expect((ch as unknown as Rpc).rpc(defs.ConfirmSelect!, { nowait: false }, defs.ConfirmSelectOk!)).rejects.toThrow();
    await within(ch.closedP, 'channel close');
    expect(ch.errors[0]!.message).toContain('PRECONDITION_FAILED - cannot switch from tx to confirm mode');
  });
});
