// Peek, redrive and move (warren's own, issue 13) end to end against the built broker: pika
// dead-letters and consumes, amqplib publishes and consumes, the management API and the
// `warren` CLI peek, redrive and move in between. Then the guarantee of a move: warren is
// killed with SIGKILL in the middle of a large redrive, restarted, and every message is in
// exactly one of the two queues. These tests start warren themselves (RabbitMQ has no such
// routes), so they always run against warren.

import { request } from 'node:http';
import amqp, { type ChannelModel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { runPika } from './harness.js';
import { runWarren, type WarrenProcess } from './warren-process.js';
import { warrenFixture } from './warren-fixture.js';

const { tempDir, start } = warrenFixture('peek');

type Json = Record<string, unknown>;

/** One request to the broker's HTTP API as guest. */
function api(w: WarrenProcess, method: string, path: string, body?: unknown): Promise<{ status: number; json: Json }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      { host: '127.0.0.1', port: w.httpPort!, path: `/api${path}`, method, auth: 'guest:guest', headers: payload ? { 'content-type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text === '' ? {} : (JSON.parse(text) as Json) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function messages(w: WarrenProcess, q: string): Promise<number> {
  return (await api(w, 'GET', `/queues/%2F/${encodeURIComponent(q)}`)).json['messages'] as number;
}

async function until(cond: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function connect(url: string): Promise<ChannelModel> {
  const c = await amqp.connect(url);
  c.on('error', () => undefined);
  return c;
}

/**
 * Starts a transfer from `source` to `target` three times, killing warren with SIGKILL once it has
 * visibly moved some messages, and checks after each restart that every message is in exactly
 * one of the two queues. Returns the restarted broker and how often a kill came mid-transfer.
 */
async function killMidTransfer(w: WarrenProcess, dir: string, n: number, source: string, target: string, path: string, body: unknown): Promise<{ w: WarrenProcess; midMove: number }> {
  let midMove = 0;
  for (let round = 0; round < 3; round++) {
    const before = await messages(w, target);
    if (before === n) break;
    const transfer = api(w, 'POST', path, body).catch(() => null);
    await until(async () => (await messages(w, target)) >= Math.min(n, before + 3000), 'the transfer under way', 120_000);
    await w.kill('SIGKILL');
    await transfer;
    w = await start(dir);
    const inTarget = await messages(w, target);
    const inSource = await messages(w, source);
    expect(inTarget + inSource).toBe(n);
    if (inTarget > before && inSource > 0) midMove++;
  }
  return { w, midMove };
}

/** Consumes both queues and checks that each of the n messages (`${id} ${pad}`) came exactly once, intact. */
async function expectEachOnce(url: string, queues: string[], n: number, pad: string): Promise<void> {
  const c = await connect(url);
  const rd = await c.createChannel();
  const seen = new Map<string, number>();
  let bad = 0;
  for (const q of queues) {
    await rd.consume(
      q,
      (m) => {
        if (m === null) return;
        const id = m.properties.messageId as string;
        if (m.content.toString() !== `${id} ${pad}`) bad++;
        seen.set(id, (seen.get(id) ?? 0) + 1);
      },
      { noAck: true },
    );
  }
  await until(async () => [...seen.values()].reduce((a, b) => a + b, 0) >= n, 'every message consumed', 120_000);
  await new Promise((r) => setTimeout(r, 200)); // a duplicate would arrive right behind
  expect(bad).toBe(0);
  expect(seen.size).toBe(n);
  expect([...seen.values()].every((k) => k === 1)).toBe(true);
  await c.close();
}

describe('peek and redrive with pika and the API', () => {
  it('pika rejects into a DLQ; peek shows the dead letters in place; redrive sends them back; pika consumes them', async () => {
    const w = await start(tempDir());
    const rejected = await runPika(w.url, 'deadletters', ['reject', 'work', 'work.dlq', '5']);
    expect(rejected.events, rejected.stderr).toContainEqual({ event: 'rejected', count: 5 });
    await until(async () => (await messages(w, 'work.dlq')) === 5, 'five dead letters');

    const peek = await api(w, 'GET', '/queues/%2F/work.dlq/messages?limit=2&offset=1');
    expect(peek.status).toBe(200);
    expect(peek.json).toMatchObject({ queue: 'work.dlq', state: 'ready', total: 5, offset: 1 });
    const items = peek.json['items'] as Json[];
    expect(items.map((i) => i['payload'])).toEqual(['job-1', 'job-2']);
    const headers = (items[0]!['properties'] as Json)['headers'] as Json;
    expect((headers['x-death'] as Json[])[0]).toMatchObject({ queue: 'work', reason: 'rejected', count: 1 });
    expect(items[0]).toMatchObject({ redelivered: false, exchange: '', routing_key: 'work.dlq' });

    const dry = await api(w, 'POST', '/queues/%2F/work.dlq/redrive', { dry_run: true });
    expect(dry.json).toEqual({ moved: 5, skipped: 0, dry_run: true, by_target: { work: 5 }, skipped_reasons: {} });
    expect(await messages(w, 'work.dlq')).toBe(5);
    const done = await api(w, 'POST', '/queues/%2F/work.dlq/redrive', { reasons: ['rejected'] });
    expect(done.json).toEqual({ moved: 5, skipped: 0, dry_run: false, by_target: { work: 5 }, skipped_reasons: {} });

    const drained = await runPika(w.url, 'deadletters', ['drain', 'work']);
    const got = drained.events.filter((e) => e['event'] === 'message');
    expect(got.map((e) => e['body'])).toEqual(['job-0', 'job-1', 'job-2', 'job-3', 'job-4']);
    expect(got[0]).toMatchObject({ redelivered: false, message_id: 'id-0', death_queue: 'work', death_reason: 'rejected', death_count: 1 });
    expect(await messages(w, 'work.dlq')).toBe(0);
  }, 60_000);
});

describe('the warren CLI with amqplib', () => {
  it('peek --unacked, redrive --reason expired, move, then amqplib consumes the result', async () => {
    const w = await start(tempDir());
    const cli = (...args: string[]) => runWarren([...args, '--url', `http://127.0.0.1:${w.httpPort}`], { timeoutMs: 30_000 });
    const c = await connect(w.url);
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('orders.dlq', { durable: true });
    await ch.assertQueue('orders', { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'orders.dlq', 'x-message-ttl': 1 } });
    await ch.assertQueue('orders.v2', { durable: true });
    for (let i = 0; i < 4; i++) ch.sendToQueue('orders', Buffer.from(`order-${i}`), { persistent: true });
    await ch.waitForConfirms();
    await until(async () => (await messages(w, 'orders.dlq')) === 4, 'four expired dead letters');

    // A consumer holding one message: peek --unacked shows it with its consumer.
    const c2 = await connect(w.url);
    const held = await c2.createChannel();
    await held.prefetch(1);
    let delivered = 0;
    await held.consume('orders.dlq', () => void delivered++, { consumerTag: 'slow-worker' });
    await until(async () => delivered === 1, 'one delivery');
    const unacked = await cli('peek', 'orders.dlq', '--unacked', '--json');
    expect(unacked.code, unacked.stderr).toBe(0);
    const page = JSON.parse(unacked.stdout) as { total: number; items: Json[] };
    expect(page.total).toBe(1);
    expect(page.items[0]).toMatchObject({ payload: 'order-0', consumer_tag: 'slow-worker', delivery_tag: 1, redelivered: false });
    await c2.close(); // order-0 goes back to the DLQ, redelivered

    const dry = await cli('redrive', 'orders.dlq', '--reason', 'expired', '--to', 'orders.v2', '--dry-run');
    expect(dry.stdout).toBe('dry run: would move 4 messages (orders.v2: 4)\n');
    const moved = await cli('redrive', 'orders.dlq', '--reason', 'expired', '--to', 'orders.v2', '--limit', '3');
    expect(moved.stdout).toBe('moved 3 messages (orders.v2: 3)\n');
    const rest = await cli('move', 'orders.dlq', 'orders.v2');
    expect(rest.stdout).toBe('moved 1 message\n');
    const peek = await cli('peek', 'orders.v2');
    expect(peek.stdout).toContain('positions 0-3 of 4 ready');

    const bodies: { body: string; redelivered: boolean; reason: unknown }[] = [];
    await ch.consume(
      'orders.v2',
      (m) => m && bodies.push({ body: m.content.toString(), redelivered: m.fields.redelivered, reason: (m.properties.headers?.['x-death'] as unknown as Json[])[0]!['reason'] }),
      { noAck: true },
    );
    await until(async () => bodies.length === 4, 'four messages in orders.v2');
    expect(bodies.map((b) => b.body)).toEqual(['order-0', 'order-1', 'order-2', 'order-3']);
    expect(bodies.every((b) => !b.redelivered && b.reason === 'expired')).toBe(true);
    await c.close();
  }, 60_000);
});

describe('a redrive killed with SIGKILL', () => {
  it('loses and duplicates nothing: after each restart every message is in exactly one of the two queues', async () => {
    const dir = tempDir();
    let w = await start(dir);
    const N = 40_000;
    const c = await connect(w.url);
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('big.dlq', { durable: true });
    // TTL 0: each message expires on arrival and is dead-lettered (persistent) into big.dlq.
    await ch.assertQueue('big', { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'big.dlq', 'x-message-ttl': 0 } });
    const pad = 'x'.repeat(200);
    for (let i = 0; i < N; i++) {
      ch.sendToQueue('big', Buffer.from(`${i} ${pad}`), { persistent: true, messageId: String(i) });
      if (i % 1000 === 999) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
    await until(async () => (await messages(w, 'big.dlq')) === N, 'every message dead-lettered', 120_000);
    // Back to a plain queue of the same name, so what is redriven into it stays there.
    await ch.deleteQueue('big');
    await ch.assertQueue('big', { durable: true });
    await c.close();

    const run = await killMidTransfer(w, dir, N, 'big.dlq', 'big', '/queues/%2F/big.dlq/redrive', {});
    w = run.w;
    expect(run.midMove).toBeGreaterThan(0);
    // Each message exactly once across both queues, intact.
    await expectEachOnce(w.url, ['big', 'big.dlq'], N, pad);
  }, 600_000);
});

describe('a move killed with SIGKILL', () => {
  it('loses and duplicates nothing: after each restart every message is in exactly one of the two queues', async () => {
    const dir = tempDir();
    let w = await start(dir);
    const N = 30_000;
    const c = await connect(w.url);
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('move.src', { durable: true });
    await ch.assertQueue('move.dst', { durable: true });
    const pad = 'y'.repeat(200);
    for (let i = 0; i < N; i++) {
      ch.sendToQueue('move.src', Buffer.from(`${i} ${pad}`), { persistent: true, messageId: String(i) });
      if (i % 1000 === 999) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
    await c.close();

    const run = await killMidTransfer(w, dir, N, 'move.src', 'move.dst', '/queues/%2F/move.src/move', { to: 'move.dst' });
    w = run.w;
    expect(run.midMove).toBeGreaterThan(0);
    await expectEachOnce(w.url, ['move.src', 'move.dst'], N, pad);
  }, 600_000);
});
