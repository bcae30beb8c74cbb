// StreamCoordinator in-process through amqplib: a named reader's committed offset follows its
// holder's acks and survives in the store; a consumer group hands a partition over only after
// the old owner acked what it holds (it is held meanwhile, then cancelled with basic.cancel),
// and the new owner starts at the committed offset; a standby gets nothing; a group on a plain
// stream is a group of one partition.
import type { Channel, ConsumeMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import { StreamQueue } from '../../src/stream/stream-queue.js';
import { Clients, testBroker, uid, waitFor } from '../helpers/broker.js';

let broker: RunningBroker;
let clients: Clients;

beforeAll(async () => {
  broker = await testBroker();
  clients = new Clients(broker.url);
});
afterEach(async () => clients.closeAll());
afterAll(async () => broker.close());

const readers = () => broker.broker.coordinator.readers;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stream(ch: Channel, name: string): Promise<void> {
  await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'stream' } });
}

async function publish(ch: Channel, queue: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
  await (ch as unknown as { waitForConfirms(): Promise<void> }).waitForConfirms();
}

interface Sub {
  got: ConsumeMessage[];
  cancelled: number;
  tag: string;
}

async function consume(ch: Channel, queue: string, args: Record<string, unknown>, autoAck = true): Promise<Sub> {
  const s: Sub = { got: [], cancelled: 0, tag: '' };
  const ok = await ch.consume(queue, (m) => {
    if (m === null) {
      s.cancelled++;
      return;
    }
    s.got.push(m);
    if (autoAck) ch.ack(m);
  }, { arguments: args });
  s.tag = ok.consumerTag;
  return s;
}

const bodies = (s: Sub) => s.got.map((m) => Number(m.content.toString()));

describe('named readers', () => {
  it('commit with the holder\'s acks, coalesced into the store, and resume there', async () => {
    const c = await clients.connect();
    const ch = await c.confirmChannel();
    const q = uid('s');
    await stream(ch, q);
    await publish(ch, q, 0, 5);
    const rch = await c.channel();
    await rch.prefetch(10);
    const s = await consume(rch, q, { 'x-stream-reader': 'r', 'x-stream-offset': 'first' }, false);
    await waitFor(() => s.got.length === 5, 'five');
    const r = readers().get('/', q, 'r')!;
    expect(r.committed).toBe(0);
    rch.ack(s.got[1]!);
    rch.ack(s.got[0]!);
    await waitFor(() => r.committed === 2, 'committed 2');
    rch.ack(s.got[4]!);
    await sleep(20);
    expect(r.committed).toBe(2);
    await waitFor(() => broker.broker.store.loadReaderOffsets().some((x) => x.stream === q && x.offset === 2), 'stored');
    await rch.close();
    expect(r.holder).toBeNull();
    const again = await c.channel();
    await again.prefetch(10);
    const s2 = await consume(again, q, { 'x-stream-reader': 'r' });
    await waitFor(() => s2.got.length === 3, 'rest');
    expect(bodies(s2)).toEqual([2, 3, 4]);
  });

  it('a consumer naming x-stream-offset moves its existing reader there', async () => {
    const c = await clients.connect();
    const ch = await c.confirmChannel();
    const q = uid('s');
    await stream(ch, q);
    await publish(ch, q, 0, 4);
    const a = await c.channel();
    await a.prefetch(10);
    const s = await consume(a, q, { 'x-stream-reader': 'r', 'x-stream-offset': 'first' });
    await waitFor(() => readers().get('/', q, 'r')?.committed === 4, 'all acked');
    await a.close();
    const b = await c.channel();
    await b.prefetch(10);
    const s2 = await consume(b, q, { 'x-stream-reader': 'r', 'x-stream-offset': 1 });
    await waitFor(() => s2.got.length === 3, 'from 1');
    expect(bodies(s2)).toEqual([1, 2, 3]);
    void s;
  });

  it('deleting the stream forgets its readers', async () => {
    const c = await clients.connect();
    const ch = await c.confirmChannel();
    const q = uid('s');
    await stream(ch, q);
    const rch = await c.channel();
    await rch.prefetch(1);
    await consume(rch, q, { 'x-stream-reader': 'gone' });
    expect(readers().get('/', q, 'gone')).toBeDefined();
    await ch.deleteQueue(q);
    expect(readers().get('/', q, 'gone')).toBeUndefined();
  });
});

describe('consumer groups', () => {
  it('a group on a plain stream: one active consumer, the other held until the first goes', async () => {
    const c = await clients.connect();
    const ch = await c.confirmChannel();
    const q = uid('s');
    await stream(ch, q);
    const ach = await c.channel();
    await ach.prefetch(10);
    const a = await consume(ach, q, { 'x-consumer-group': 'g', 'x-stream-offset': 'first' });
    const bc = await clients.connect();
    const bch = await bc.channel();
    await bch.prefetch(10);
    const b = await consume(bch, q, { 'x-consumer-group': 'g' });
    await publish(ch, q, 0, 5);
    await waitFor(() => a.got.length === 5, 'a reads');
    await sleep(50);
    expect(b.got).toEqual([]);
    await ach.close();
    await publish(ch, q, 5, 8);
    await waitFor(() => b.got.length === 3, 'b takes over');
    expect(bodies(b)).toEqual([5, 6, 7]);
    const groups = broker.broker.coordinator.groups('/');
    expect(groups.find((g) => g.superStream === q)).toMatchObject({ name: 'g', members: 1, partitions: [{ partition: 0, stream: q, consumerTag: b.tag, state: 'active' }] });
  });

  it('a join hands a partition over only after the old owner acked what it holds; then basic.cancel', async () => {
    const c = await clients.connect();
    const ch = await c.confirmChannel();
    const x = uid('ss');
    await ch.assertExchange(x, 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': 2 } });
    const ach = await c.channel();
    await ach.prefetch(10);
    const a0 = await consume(ach, `${x}-0`, { 'x-consumer-group': 'g', 'x-stream-offset': 'first' }, false);
    const a1 = await consume(ach, `${x}-1`, { 'x-consumer-group': 'g', 'x-stream-offset': 'first' }, false);
    await publish(ch, `${x}-0`, 0, 3);
    await publish(ch, `${x}-1`, 0, 3);
    await waitFor(() => a0.got.length === 3 && a1.got.length === 3, 'a holds both');
    const bc = await clients.connect();
    const bch = await bc.channel();
    await bch.prefetch(10);
    const b0 = await consume(bch, `${x}-0`, { 'x-consumer-group': 'g' });
    const b1 = await consume(bch, `${x}-1`, { 'x-consumer-group': 'g' });
    // One of a's partitions goes to b, but a has three unacked deliveries there: it is held, not cancelled yet.
    await sleep(100);
    expect(a0.cancelled + a1.cancelled).toBe(0);
    const [losing, keeping, taking] = broker.broker.coordinator.groups('/')[0]!.partitions.find((p) => p.stream === `${x}-0`)!.state === 'draining' ? [a0, a1, b0] : [a1, a0, b1];
    await publish(ch, `${x}-0`, 3, 4);
    await publish(ch, `${x}-1`, 3, 4);
    await waitFor(() => keeping.got.length === 4, 'the kept partition goes on');
    await sleep(50);
    expect(losing.got.length).toBe(3);
    expect(taking.got).toEqual([]);
    for (const m of losing.got.slice(0, 2)) ach.ack(m);
    await sleep(50);
    expect(losing.cancelled).toBe(0);
    ach.ack(losing.got[2]!);
    await waitFor(() => losing.cancelled === 1, 'a cancelled once drained');
    await waitFor(() => taking.got.length === 1, 'b starts at the committed offset');
    expect(bodies(taking)).toEqual([3]);
    const s = broker.broker.vhosts.get('/')!.getQueue(`${x}-0`);
    expect(s).toBeInstanceOf(StreamQueue);
  });
});
