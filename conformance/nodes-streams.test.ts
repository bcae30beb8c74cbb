// Streams on two warren nodes sharing one PostgreSQL (their records are chunks in the
// database, src/stream/pg-log.ts): publish to a stream with confirms, kill -9 the active node,
// and on the node that takes over a consumer from `first` sees every confirmed message exactly
// once and in order, a named reader resumes after its committed offset, offsets go on from
// where they were, and a super stream read by a consumer group loses nothing and keeps each
// key's order. Through amqplib and pika. Skipped, saying so, without PostgreSQL
// (conformance/postgres.ts). warren only: RabbitMQ's reference node is not ours to kill.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { runPika } from './harness.js';
import { freshDatabase, postgresAvailable, stopPostgres } from './postgres.js';
import { startWarren, type WarrenProcess } from './warren-process.js';

const dirs: string[] = [];
const procs: WarrenProcess[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  stopPostgres();
});

async function node(url: string, name: string): Promise<WarrenProcess> {
  const d = mkdtempSync(join(tmpdir(), 'warren-node-'));
  dirs.push(d);
  const p = await startWarren(d, ['--store', url, '--node-name', name, '--lease', '2000']);
  procs.push(p);
  return p;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${procs.map((p) => p.output()).join('\n----\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const active = (p: WarrenProcess): boolean => p.output().includes('"role":"active"');

async function connect(url: string): Promise<ChannelModel> {
  const c = await amqp.connect(url, { noDelay: true });
  c.on('error', () => {});
  return c;
}

/** Two nodes on a fresh database: a active, b standing by (forwarding to a). */
async function pair(): Promise<{ a: WarrenProcess; b: WarrenProcess }> {
  const url = await freshDatabase();
  const a = await node(url, 'a');
  await waitFor('a active', () => active(a));
  const b = await node(url, 'b');
  await waitFor('b standing by', () => b.output().includes('forwarding clients to the active node'));
  return { a, b };
}

/** Kills the active node with kill -9 and waits until the standby serves. */
async function failover(a: WarrenProcess, b: WarrenProcess): Promise<void> {
  await a.kill('SIGKILL');
  await waitFor('b active', () => active(b));
}

interface Got {
  offset: number;
  body: string;
  key: string;
}

/** Consumes `n` messages (prefetch 100, each acked), then cancels. */
async function consume(c: ChannelModel, queue: string, n: number, args: Record<string, unknown>): Promise<Got[]> {
  const ch = await c.createChannel();
  await ch.prefetch(100);
  const got: Got[] = [];
  let done: () => void = () => {};
  const all = new Promise<void>((resolve) => (done = resolve));
  const { consumerTag } = await ch.consume(
    queue,
    (m: ConsumeMessage | null) => {
      // Deliveries past the n-th (in flight before the cancel) are neither taken nor acked.
      if (m === null || got.length === n) return;
      got.push({ offset: Number(m.properties.headers?.['x-stream-offset']), body: m.content.toString(), key: m.fields.routingKey });
      ch.ack(m);
      if (got.length === n) done();
    },
    { arguments: args },
  );
  await Promise.race([all, new Promise((_, reject) => setTimeout(() => reject(new Error(`${queue}: ${got.length} of ${n} messages`)), 60_000))]);
  await ch.cancel(consumerTag);
  await ch.close();
  return got;
}

const body = (i: number): string => `${i}:${'d'.repeat(900 + (i % 200))}`;

describe.skipIf(!postgresAvailable)('streams on two nodes sharing PostgreSQL', () => {
  it('amqplib: after kill -9 of the active node, a consumer from first sees every confirmed message in order, a named reader resumes, offsets go on', async () => {
    const { a, b } = await pair();
    const c = await connect(b.url); // through the standby, forwarded to a
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('events', { durable: true, arguments: { 'x-queue-type': 'stream', 'x-stream-max-segment-size-bytes': 200_000 } });
    const N = 3000;
    for (let i = 0; i < N; i++) {
      ch.sendToQueue('events', Buffer.from(body(i)));
      if (i % 250 === 249) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
    // A named reader takes the first 700 and acks them: its committed offset becomes 700.
    const r1 = await consume(c, 'events', 700, { 'x-stream-reader': 'audit', 'x-stream-offset': 'first' });
    expect(r1.map((m) => m.offset)).toEqual([...Array(700).keys()]);
    // Two more confirmed publishes, one after the other: the second one's batch comes after
    // the reader's offset was written (it is saved on a later turn than the acks).
    for (const i of [N, N + 1]) {
      ch.sendToQueue('events', Buffer.from(body(i)));
      await ch.waitForConfirms();
    }
    await c.close().catch(() => {});
    const M = N + 2;

    await failover(a, b);
    const c2 = await connect(b.url);
    const all = await consume(c2, 'events', M, { 'x-stream-offset': 'first' });
    expect(all.map((m) => m.offset)).toEqual([...Array(M).keys()]);
    expect(all.every((m, i) => m.body === body(i))).toBe(true);
    const resumed = await consume(c2, 'events', M - 700, { 'x-stream-reader': 'audit' });
    expect(resumed[0]!.offset).toBe(700);
    expect(resumed.map((m) => m.offset)).toEqual([...Array(M - 700).keys()].map((i) => i + 700));
    // The new node numbers on from where the old one stopped.
    const ch2 = await c2.createConfirmChannel();
    ch2.sendToQueue('events', Buffer.from('after failover'));
    await ch2.waitForConfirms();
    const next = await consume(c2, 'events', 1, { 'x-stream-offset': M });
    expect(next).toEqual([{ offset: M, body: 'after failover', key: 'events' }]);
    await c2.close();
  }, 180_000);

  it('amqplib: a super stream read by a consumer group survives the failover: nothing skipped, each key in order', async () => {
    const { a, b } = await pair();
    const c = await connect(b.url);
    const pub = await c.createConfirmChannel();
    await pub.assertExchange('orders', 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': 3 } });
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'];
    const N = 1200;
    for (let i = 0; i < N; i++) pub.publish('orders', keys[i % keys.length]!, Buffer.from(`${keys[i % keys.length]}:${i}`));
    await pub.waitForConfirms();

    // One member of group g on every partition acks the first 150 of each (committed offsets).
    const before: string[] = [];
    for (let p = 0; p < 3; p++) {
      for (const m of await consume(c, `orders-${p}`, 150, { 'x-consumer-group': 'g', 'x-stream-offset': 'first' })) before.push(m.body);
    }
    for (const i of [N, N + 1]) {
      pub.publish('orders', 'k0', Buffer.from(`k0:${i}`));
      await pub.waitForConfirms();
    }
    await c.close().catch(() => {});
    const M = N + 2;

    await failover(a, b);
    const c2 = await connect(b.url);
    const sizes = new Map<number, number>();
    const api = await fetch(`http://127.0.0.1:${b.httpPort}/api/queues/%2F`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    for (const q of (await api.json()) as { name: string; messages: number }[]) {
      const m = /^orders-(\d)$/.exec(q.name);
      if (m !== null) sizes.set(Number(m[1]), q.messages);
    }
    expect([...sizes.values()].reduce((x, y) => x + y, 0)).toBe(M); // every confirmed message is there
    const after: string[] = [];
    for (let p = 0; p < 3; p++) {
      const got = await consume(c2, `orders-${p}`, sizes.get(p)! - 150, { 'x-consumer-group': 'g' });
      expect(got[0]!.offset).toBe(150); // the group resumes after its committed offset
      for (const m of got) after.push(m.body);
    }
    await c2.close();
    const seen = [...before, ...after];
    expect(seen.length).toBe(M);
    expect(new Set(seen).size).toBe(M);
    // Each key's messages in publish order.
    for (const k of keys) {
      const nums = after.filter((s) => s.startsWith(`${k}:`)).map((s) => Number(s.split(':')[1]));
      expect(nums).toEqual([...nums].sort((x, y) => x - y));
    }
  }, 180_000);

  it('pika: every confirmed stream message is on the node that takes over, in order', async () => {
    const { a, b } = await pair();
    const pub = await runPika(b.url, 'streams', ['declare_publish', 'pika-events', '500'], 60_000);
    expect(pub.events.find((e) => e['event'] === 'published')).toMatchObject({ n: 500 });
    await failover(a, b);
    const res = await runPika(b.url, 'streams', ['consume', 'pika-events', 'first', '500', '100'], 60_000);
    const msgs = res.events.filter((e) => e['event'] === 'message');
    expect(msgs.map((e) => e['offset'])).toEqual([...Array(500).keys()]);
    expect(msgs.map((e) => e['body'])).toEqual([...Array(500).keys()].map((i) => `m${i}`));
  }, 180_000);
});
