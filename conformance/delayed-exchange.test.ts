// x-delayed-message exchange (as rabbitmq-delayed-message-exchange), through amqplib against the
// built warren: declare errors with the plugin's texts, x-delay held and routed when due in due
// order with x-delay negated, routing by the x-delayed-type, deleting the exchange drops what it
// holds, and durability: confirmed delayed messages of a durable exchange survive kill -9, and
// those due during the downtime are routed right after the start. The plugin is not installed on
// the reference RabbitMQ, so these tests start warren themselves (never WARREN_CONFORMANCE_URL).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, sleep, uid, waitFor } from './harness.js';
import { startWarren, type WarrenProcess } from './warren-process.js';

const dirs: string[] = [];
const procs: WarrenProcess[] = [];
const conns: ChannelModel[] = [];
let shared: WarrenProcess;

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warren-delayed-'));
  dirs.push(d);
  return d;
}

async function start(dir: string): Promise<WarrenProcess> {
  const p = await startWarren(dir, ['--http-port', 'off']);
  procs.push(p);
  return p;
}

async function connect(url: string): Promise<ChannelModel> {
  const c = await amqp.connect(url);
  c.on('error', () => {});
  conns.push(c);
  return c;
}

async function channel(url = shared.url): Promise<Channel> {
  const ch = await (await connect(url)).createChannel();
  ch.on('error', () => {});
  return ch;
}

beforeAll(async () => {
  shared = await start(tempDir());
});

afterAll(async () => {
  for (const c of conns) await c.close().catch(() => {});
  for (const p of procs) await p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Collects what a consumer receives: body, x-delay header, in arrival order. */
async function collect(ch: Channel, queue: string): Promise<{ body: string; delay: unknown }[]> {
  const got: { body: string; delay: unknown }[] = [];
  await ch.consume(queue, (m: ConsumeMessage | null) => {
    if (m === null) return;
    got.push({ body: m.content.toString(), delay: m.properties.headers?.['x-delay'] });
    ch.ack(m);
  });
  return got;
}

const delayedArgs = (type: string): Record<string, unknown> => ({ 'x-delayed-type': type });

describe('declaring', () => {
  it("refuses a missing or unusable x-delayed-type with the plugin's texts", async () => {
    for (const [args, text] of [
      [{}, "PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type"],
      [{ 'x-delayed-type': 'x-delayed-message' }, "PRECONDITION_FAILED - Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'"],
    ] as const) {
      const ch = await channel();
      const f = await failure(ch.assertExchange(uid('dx'), 'x-delayed-message', { durable: true, arguments: args }));
      expect([f.code, f.replyText, f.classId, f.methodId]).toEqual([406, text, 40, 10]);
    }
    const c = await connect(shared.url);
    const closed = new Promise<Error | undefined>((r) => c.once('close', r));
    const ch = await c.createChannel();
    ch.on('error', () => {});
    await failure(ch.assertExchange(uid('dx'), 'x-delayed-message', { arguments: delayedArgs('nope') }));
    expect((await closed)?.message).toContain("503 (COMMAND-INVALID) with message \"COMMAND_INVALID - unknown exchange type 'nope'\"");
  });

  it('checks bindings as the x-delayed-type does', async () => {
    const conn = await connect(shared.url);
    const ch = await conn.createChannel();
    const x = uid('dx');
    await ch.assertExchange(x, 'x-delayed-message', { durable: false, arguments: delayedArgs('x-consistent-hash') });
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, x, '10');
    const bad = await conn.createChannel();
    bad.on('error', () => {});
    const f = await failure(bad.bindQueue(queue, x, 'ten'));
    expect([f.code, f.replyText]).toEqual([406, 'PRECONDITION_FAILED - The binding key must be an integer: <<"ten">>']);
  });
});

describe('delaying', () => {
  it('routes each message when due, in due order, with x-delay negated; no x-delay: at once', async () => {
    const ch = await channel();
    const x = uid('dx');
    await ch.assertExchange(x, 'x-delayed-message', { durable: true, arguments: delayedArgs('direct') });
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, x, 'k');
    const got = await collect(ch, queue);
    for (const [body, delay] of [['third', 450], ['first', 150], ['second', 300]] as const) {
      ch.publish(x, 'k', Buffer.from(body), { headers: { 'x-delay': delay } });
    }
    ch.publish(x, 'k', Buffer.from('now'));
    ch.publish(x, 'k', Buffer.from('negative'), { headers: { 'x-delay': -100 } });
    await waitFor(() => got.length === 5, 'five deliveries');
    expect(got).toEqual([
      { body: 'now', delay: undefined },
      { body: 'negative', delay: -100 },
      { body: 'first', delay: -150 },
      { body: 'second', delay: -300 },
      { body: 'third', delay: -450 },
    ]);
  });

  it('routes as the x-delayed-type does, by the bindings in place when due', async () => {
    const ch = await channel();
    const x = uid('dx');
    await ch.assertExchange(x, 'x-delayed-message', { durable: false, arguments: delayedArgs('topic') });
    const { queue: early } = await ch.assertQueue('', { exclusive: true });
    const { queue: late } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(early, x, 'orders.*');
    ch.publish(x, 'orders.eu', Buffer.from('o1'), { headers: { 'x-delay': 300 } });
    ch.publish(x, 'invoices.eu', Buffer.from('i1'), { headers: { 'x-delay': 300 } });
    await ch.unbindQueue(early, x, 'orders.*');
    await ch.bindQueue(late, x, '#.eu');
    const got = await collect(ch, late);
    await waitFor(() => got.length === 2, 'two deliveries');
    expect(got.map((g) => g.body).sort()).toEqual(['i1', 'o1']);
    expect((await ch.checkQueue(early)).messageCount).toBe(0);
  });

  it('a mandatory delayed message is delivered when due', async () => {
    const ch = await channel();
    const x = uid('dx');
    await ch.assertExchange(x, 'x-delayed-message', { durable: false, arguments: delayedArgs('fanout') });
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, x, '');
    ch.on('return', () => {});
    const got = await collect(ch, queue);
    ch.publish(x, '', Buffer.from('m'), { mandatory: true, headers: { 'x-delay': 200 } });
    await waitFor(() => got.length === 1, 'the delivery');
    expect(got[0]!.body).toBe('m');
  });

  it('deleting the exchange drops the messages it holds', async () => {
    const ch = await channel();
    const x = uid('dx');
    const declare = async (): Promise<void> => {
      await ch.assertExchange(x, 'x-delayed-message', { durable: true, arguments: delayedArgs('fanout') });
    };
    await declare();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, x, '');
    ch.publish(x, '', Buffer.from('dropped'), { headers: { 'x-delay': 200 } });
    await ch.deleteExchange(x);
    await declare();
    await ch.bindQueue(queue, x, '');
    ch.publish(x, '', Buffer.from('kept'), { headers: { 'x-delay': 400 } });
    const got = await collect(ch, queue);
    await waitFor(() => got.length === 1, 'the message published after the delete');
    await sleep(200);
    expect(got.map((g) => g.body)).toEqual(['kept']);
  });
});

describe('durability', () => {
  it('confirmed delayed messages survive kill -9; those due meanwhile are routed right after the start', async () => {
    const dir = tempDir();
    let broker = await start(dir);
    let c = await connect(broker.url);
    const ch = await c.createConfirmChannel();
    const x = uid('dx');
    const q = uid('dq');
    await ch.assertExchange(x, 'x-delayed-message', { durable: true, arguments: delayedArgs('direct') });
    await ch.assertQueue(q, { durable: true });
    await ch.bindQueue(q, x, 'k');
    const publish = (body: string, delay: number, persistent = true): Promise<void> =>
      new Promise((resolve, reject) =>
        ch.publish(x, 'k', Buffer.from(body), { persistent, headers: { 'x-delay': delay } }, (err) => (err ? reject(err) : resolve())),
      );
    // Delays of seconds, not milliseconds: on a loaded machine three confirmed publishes can
    // take longer than a few hundred ms, and then "nothing is due yet" would not hold.
    const publishedAt = Date.now();
    await publish('due-in-downtime', 3000);
    await publish('transient-too', 3500, false);
    await publish('due-later', 6000);
    // Confirmed: stored. Nothing is due yet.
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
    await broker.kill('SIGKILL');
    // Stay down until the first two are due.
    await sleep(Math.max(0, publishedAt + 3600 - Date.now()));
    broker = await start(dir);
    c = await connect(broker.url);
    const ch2 = await c.createChannel();
    const got = await collect(ch2, q);
    await waitFor(() => got.length === 3, 'three deliveries after the restart', 20_000);
    expect(got.map((g) => [g.body, g.delay])).toEqual([
      ['due-in-downtime', -3000],
      ['transient-too', -3500],
      ['due-later', -6000],
    ]);
    expect(broker.output()).toMatch(/"delayed":3/);
  });

  it('a transient delayed exchange and what it holds are gone after a restart', async () => {
    const dir = tempDir();
    let broker = await start(dir);
    let ch = await channel(broker.url);
    const x = uid('dx');
    await ch.assertExchange(x, 'x-delayed-message', { durable: false, arguments: delayedArgs('fanout') });
    const q = uid('dq');
    await ch.assertQueue(q, { durable: true });
    await ch.bindQueue(q, x, '');
    ch.publish(x, '', Buffer.from('lost'), { persistent: true, headers: { 'x-delay': 300 } });
    await ch.checkQueue(q);
    await broker.kill('SIGTERM');
    broker = await start(dir);
    ch = await channel(broker.url);
    const f = await failure(ch.checkExchange(x));
    expect(f.code).toBe(404);
    ch = await channel(broker.url);
    await sleep(500);
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
  });
});
