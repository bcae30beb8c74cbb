// Restart behaviour of the RabbitMQ extensions on durable queues (warren only: it starts, stops and
// kills warren itself through warren-process.ts on one data directory, whatever
// WARREN_CONFORMANCE_URL says). Persistent messages are published with confirms, then warren is
// stopped and started again (SIGTERM, and SIGKILL where the store must already have it):
//  - TTLs keep running from when the message entered the queue: a message whose TTL ran out while
//    warren was down is never delivered and is dead-lettered (reason expired) after the restart;
//    per-message expiration is kept; long TTLs survive.
//  - priorities, x-max-length/overflow and dead-letter settings, single active consumer, the
//    quorum queue type, x-expires still apply after the restart;
//  - x-delivery-count survives (quorum queues, and classic queues with x-delivery-limit), so the
//    delivery limit is reached across restarts;
//  - dead-lettered messages keep their x-death headers, wire types included.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel, ConfirmChannel, Message } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { body, Clients, failure, Inbox, rawConnect, type RawClient, sleep, sync, waitFor, waitForCount } from './harness.js';
import { lookup, plain, rawGet, shape, xDeathEntryShape } from './extensions-helpers.js';
import { startWarren, type WarrenProcess } from './warren-process.js';

const dirs: string[] = [];
const procs: WarrenProcess[] = [];
const allClients: Clients[] = [];

afterAll(async () => {
  for (const c of allClients) await c.closeAll();
  for (const p of procs) await p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(dir: string): Promise<{ proc: WarrenProcess; clients: Clients }> {
  const proc = await startWarren(dir);
  procs.push(proc);
  const clients = new Clients(proc.url);
  allClients.push(clients);
  return { proc, clients };
}

/** Stops warren (closing our connections first), optionally waits while it is down, starts it again. */
async function restart(
  dir: string,
  current: { proc: WarrenProcess; clients: Clients },
  signal: NodeJS.Signals,
  downMs = 0,
): Promise<{ proc: WarrenProcess; clients: Clients }> {
  if (signal === 'SIGTERM') await current.clients.closeAll();
  await current.proc.kill(signal);
  if (signal !== 'SIGTERM') await current.clients.closeAll();
  if (downMs > 0) await sleep(downMs);
  return start(dir);
}

async function drain(ch: Channel, q: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (!m) return out;
    out.push(body(m));
  }
}

const persistent = { persistent: true };

describe('after a graceful restart (with warren down long enough for short TTLs to run out)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-ext-restart-'));
  dirs.push(dir);
  let w: { proc: WarrenProcess; clients: Clients };
  let ch: Channel;
  let rc: RawClient;
  const ttlSeen = new Inbox();

  beforeAll(async () => {
    w = await start(dir);
    const c: ConfirmChannel = await w.clients.confirmChannel();
    await c.assertExchange('dlx', 'direct', { durable: true });
    for (const k of ['ttl', 'exp', 'len', 'pre']) {
      await c.assertQueue(`dlq-${k}`, { durable: true });
      await c.bindQueue(`dlq-${k}`, 'dlx', k);
    }
    // TTLs
    await c.assertQueue('ttl-q', { durable: true, arguments: { 'x-message-ttl': 1000, 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'ttl' } });
    c.sendToQueue('ttl-q', Buffer.from('queue-ttl'), persistent);
    await c.assertQueue('ttl-long', { durable: true, arguments: { 'x-message-ttl': 600_000 } });
    c.sendToQueue('ttl-long', Buffer.from('long-queue-ttl'), persistent);
    await c.assertQueue('exp-q', { durable: true, arguments: { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'exp' } });
    c.sendToQueue('exp-q', Buffer.from('none'), persistent);
    c.sendToQueue('exp-q', Buffer.from('short'), { ...persistent, expiration: '1000' });
    c.sendToQueue('exp-q', Buffer.from('long'), { ...persistent, expiration: '600000' });
    // priorities
    await c.assertQueue('prio-q', { durable: true, arguments: { 'x-max-priority': 10 } });
    for (const [t, p] of [
      ['p1', 1],
      ['p9', 9],
      ['p0', 0],
      ['p5', 5],
      ['p9b', 9],
    ] as const)
      c.sendToQueue('prio-q', Buffer.from(t), { ...persistent, priority: p });
    // length limits
    await c.assertQueue('len-q', { durable: true, arguments: { 'x-max-length': 2, 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'len' } });
    c.sendToQueue('len-q', Buffer.from('l1'), persistent);
    c.sendToQueue('len-q', Buffer.from('l2'), persistent);
    await c.assertQueue('rp-q', { durable: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    c.sendToQueue('rp-q', Buffer.from('kept'), persistent);
    // a message dead-lettered before the restart
    await c.assertQueue('rej-q', { durable: true, arguments: { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'pre' } });
    c.sendToQueue('rej-q', Buffer.from('rejected-before'), { ...persistent, headers: { app: 'v' } });
    // single active consumer, quorum type, lazy mode, x-expires
    await c.assertQueue('sac-q', { durable: true, arguments: { 'x-single-active-consumer': true } });
    await c.assertQueue('qq', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await c.assertQueue('lazy-q', { durable: true, arguments: { 'x-queue-mode': 'lazy' } });
    c.sendToQueue('lazy-q', Buffer.from('lazy'), persistent);
    await c.assertQueue('expires-q', { durable: true, arguments: { 'x-expires': 1200 } });
    await c.waitForConfirms();

    const g = await w.clients.channel();
    await waitForCount(g, 'rej-q', 1);
    const m = await g.get('rej-q');
    g.reject(m as Message, false);
    await waitForCount(g, 'dlq-pre', 1);

    w = await restart(dir, w, 'SIGTERM', 1500);
    // consumers first thing after the restart: nothing whose TTL ran out while down may reach them
    const first = await w.clients.channel();
    await first.consume('ttl-q', ttlSeen.push, { noAck: true });
    ch = await w.clients.channel();
    rc = await rawConnect({ host: '127.0.0.1', port: w.proc.port });
    await rc.openChannel(1);
  }, 60_000);

  afterAll(() => {
    rc?.destroy();
  });

  it('x-message-ttl: a message whose TTL ran out while warren was down is dead-lettered, never delivered', async () => {
    await waitForCount(ch, 'dlq-ttl', 1);
    expect(ttlSeen.count).toBe(0);
    const got = await rawGet(rc, 1, 'dlq-ttl');
    expect(got?.body.toString()).toBe('queue-ttl');
    const xd = lookup(got!.properties.headers ?? [], 'x-death')!;
    expect(shape(xd)).toEqual([xDeathEntryShape(1)]);
    expect(plain(xd)).toEqual([expect.objectContaining({ count: 1n, reason: 'expired', queue: 'ttl-q', exchange: '', 'routing-keys': ['ttl-q'] })]);
    expect(await drain(ch, 'ttl-long')).toEqual(['long-queue-ttl']);
  });

  it('per-message expiration: the expired one is dead-lettered with original-expiration, the others keep theirs', async () => {
    await waitForCount(ch, 'dlq-exp', 1);
    const dead = await rawGet(rc, 1, 'dlq-exp');
    expect(dead?.body.toString()).toBe('short');
    expect(dead!.properties.expiration).toBeUndefined();
    const xd = lookup(dead!.properties.headers ?? [], 'x-death')!;
    expect(shape(xd)).toEqual([xDeathEntryShape(1, true)]);
    expect(plain(xd)).toEqual([expect.objectContaining({ reason: 'expired', queue: 'exp-q', 'original-expiration': '1000' })]);
    const a = await ch.get('exp-q', { noAck: true });
    const b = await ch.get('exp-q', { noAck: true });
    expect([body(a), body(b)]).toEqual(['none', 'long']);
    expect(b && b.properties.expiration).toBe('600000');
    expect(await ch.get('exp-q', { noAck: true })).toBe(false);
  });

  it('priorities: the backlog comes out highest priority first, with the priority property', async () => {
    const out: Array<[string, number | undefined]> = [];
    for (;;) {
      const m = await ch.get('prio-q', { noAck: true });
      if (!m) break;
      out.push([body(m), m.properties.priority as number | undefined]);
    }
    expect(out).toEqual([
      ['p9', 9],
      ['p9b', 9],
      ['p5', 5],
      ['p1', 1],
      ['p0', 0],
    ]);
  });

  it('x-max-length with dead-lettering still applies: the head goes to the DLX with reason maxlen', async () => {
    ch.sendToQueue('len-q', Buffer.from('l3'), persistent);
    await waitForCount(ch, 'dlq-len', 1);
    const dead = await rawGet(rc, 1, 'dlq-len');
    expect(dead?.body.toString()).toBe('l1');
    expect(plain(lookup(dead!.properties.headers ?? [], 'x-death')!)).toEqual([expect.objectContaining({ reason: 'maxlen', queue: 'len-q' })]);
    expect(await drain(ch, 'len-q')).toEqual(['l2', 'l3']);
  });

  it('x-overflow reject-publish still applies: the publisher gets a nack', async () => {
    const c = await w.clients.confirmChannel();
    const res = await new Promise((r) => c.sendToQueue('rp-q', Buffer.from('refused'), persistent, (err) => r(err ? 'nack' : 'ack')));
    expect(res).toBe('nack');
    expect(await drain(ch, 'rp-q')).toEqual(['kept']);
  });

  it('a message dead-lettered before the restart keeps its headers and their wire types', async () => {
    const got = await rawGet(rc, 1, 'dlq-pre');
    expect(got?.body.toString()).toBe('rejected-before');
    const headers = got!.properties.headers ?? [];
    expect(shape(lookup(headers, 'x-death')!)).toEqual([xDeathEntryShape(1)]);
    expect(plain({ t: 'F', v: headers })).toMatchObject({
      app: 'v',
      'x-death': [expect.objectContaining({ count: 1n, reason: 'rejected', queue: 'rej-q' })],
      'x-first-death-reason': 'rejected',
      'x-first-death-queue': 'rej-q',
      'x-first-death-exchange': '',
    });
    expect(Object.fromEntries(headers.map(([k, v]) => [k, v.t]))).toMatchObject({ 'x-first-death-reason': 'S', 'x-death': 'A' });
  });

  it('single active consumer still applies', async () => {
    const a = await w.clients.channel();
    const b = await w.clients.channel();
    const inA = new Inbox();
    const inB = new Inbox();
    await a.consume('sac-q', inA.push, { noAck: true });
    await b.consume('sac-q', inB.push, { noAck: true });
    for (const t of ['s1', 's2', 's3']) ch.sendToQueue('sac-q', Buffer.from(t));
    expect((await inA.take(3)).map(body)).toEqual(['s1', 's2', 's3']);
    await sync(b);
    expect(inB.count).toBe(0);
  });

  it('the quorum type and lazy mode are kept (redeclaring as classic is inequivalent)', async () => {
    await (await w.clients.channel()).assertQueue('qq', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const f = await failure((await w.clients.channel()).assertQueue('qq', { durable: true, arguments: { 'x-queue-type': 'classic' } }));
    expect([f.code, f.replyText]).toEqual([406, "PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue 'qq' in vhost '/': received 'classic' but current is 'quorum'"]);
    await (await w.clients.channel()).assertQueue('lazy-q', { durable: true, arguments: { 'x-queue-mode': 'lazy' } });
    expect(await drain(ch, 'lazy-q')).toEqual(['lazy']);
  });

  it('x-expires: an unused durable queue still expires after the restart', async () => {
    const probe = await w.clients.confirmChannel();
    let returned = false;
    probe.on('return', () => {
      returned = true;
    });
    await waitFor(
      async () => {
        probe.publish('', 'expires-q', Buffer.from('probe'), { mandatory: true });
        await probe.waitForConfirms();
        return returned;
      },
      'expires-q to expire',
      10_000,
      100,
    );
  });
});

describe('x-delivery-count across restarts (SIGTERM and SIGKILL)', () => {
  it('quorum queue and classic queue with x-delivery-limit: the count carries on and the limit is reached', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-ext-restart-dl-'));
    dirs.push(dir);
    let w = await start(dir);
    const c = await w.clients.confirmChannel();
    await c.assertExchange('dlx', 'fanout', { durable: true });
    await c.assertQueue('dlq', { durable: true });
    await c.bindQueue('dlq', 'dlx', '');
    const queues = {
      quorum: { 'x-queue-type': 'quorum', 'x-delivery-limit': 2, 'x-dead-letter-exchange': 'dlx' },
      classic: { 'x-delivery-limit': 2, 'x-dead-letter-exchange': 'dlx' },
    };
    for (const [q, args] of Object.entries(queues)) {
      await c.assertQueue(q, { durable: true, arguments: args });
      c.sendToQueue(q, Buffer.from(`poison-${q}`), { persistent: true, headers: { app: q } });
    }
    await c.waitForConfirms();

    const counts: Record<string, unknown[]> = { quorum: [], classic: [] };
    /** One delivery by basic.get, returned with nack-requeue. */
    const bounce = async (clients: Clients, q: string): Promise<void> => {
      const g = await clients.channel();
      await waitForCount(g, q, 1);
      const m = await g.get(q);
      if (!m) throw new Error(`no message in ${q}`);
      counts[q]!.push((m.properties.headers as Record<string, unknown>)['x-delivery-count']);
      g.nack(m, false, true);
      await sync(g);
    };
    for (const q of Object.keys(queues)) await bounce(w.clients, q);
    w = await restart(dir, w, 'SIGTERM');
    for (const q of Object.keys(queues)) await bounce(w.clients, q);
    await sleep(300); // let the store catch up before pulling the plug
    w = await restart(dir, w, 'SIGKILL');
    for (const q of Object.keys(queues)) await bounce(w.clients, q);

    // basic.get: no header on the first delivery (RabbitMQ's quorum queues say 0 there), then 1, 2
    for (const q of Object.keys(queues)) expect([q, ...counts[q]!.slice(1)]).toEqual([q, 1, 2]);
    const ch = await w.clients.channel();
    await waitForCount(ch, 'dlq', 2);
    const dead: Record<string, unknown> = {};
    for (let i = 0; i < 2; i++) {
      const m = await ch.get('dlq', { noAck: true });
      if (!m) throw new Error('dead-lettered message missing');
      dead[body(m)] = (m.properties.headers as Record<string, unknown>)['x-death'];
    }
    for (const q of Object.keys(queues)) {
      expect(dead[`poison-${q}`]).toEqual([expect.objectContaining({ count: 1, reason: 'delivery_limit', queue: q })]);
      expect((await ch.checkQueue(q)).messageCount).toBe(0);
    }
  }, 60_000);
});
