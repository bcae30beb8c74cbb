// Users, vhosts and permissions made through the management HTTP API, enforced on AMQP with
// RabbitMQ's reply texts and ids (reference rows 39, 41, 42: every text and id below was
// observed against RabbitMQ 3.10.8 with the same calls), and the loopback rule: `guest` may
// log in only from localhost, over AMQP and HTTP, unless loopback users are configured away.

import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseClose, RawClient } from './harness.js';
import { startWarren, type WarrenProcess } from './warren-process.js';

const dirs: string[] = [];
const procs: WarrenProcess[] = [];
let w: WarrenProcess;

async function start(args: string[]): Promise<WarrenProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-permissions-'));
  dirs.push(dir);
  const p = await startWarren(dir, args);
  procs.push(p);
  return p;
}

beforeAll(async () => {
  // On every interface, so that the machine's own non-loopback address reaches it.
  w = await start(['--host', '0.0.0.0', '--http-host', '0.0.0.0']);
  await api(w, 'PUT', '/users/probeuser', { password: 'probe-pw', tags: 'management' });
  await api(w, 'PUT', '/vhosts/probe-vh', {});
  await api(w, 'PUT', '/permissions/%2F/probeuser', { configure: '^probe-', write: '^probe-', read: '^probe-' });
  await api(w, 'PUT', '/queues/%2F/shared-q', {});
});

afterAll(async () => {
  for (const p of procs) await p.kill('SIGTERM');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function api(p: WarrenProcess, method: string, path: string, body?: unknown, host = '127.0.0.1', user = 'guest:guest'): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${p.httpPort}/api${path}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from(user).toString('base64')}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** This machine's first address that is not loopback (IPv4 preferred). */
function ownAddress(): string {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  const v4 = all.find((a) => a.family === 'IPv4' && !a.internal);
  const v6 = all.find((a) => a.family === 'IPv6' && !a.internal && !a.address.startsWith('fe80'));
  const found = v4 ?? v6;
  if (found === undefined) throw new Error('this machine has no non-loopback address to test the loopback rule with');
  return found.address;
}

function url(user: string, password: string, vhost = '/', host = '127.0.0.1', port = w.port): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `amqp://${user}:${password}@${h}:${port}/${encodeURIComponent(vhost)}`;
}

interface Refusal {
  code: number | undefined;
  classId: number | undefined;
  methodId: number | undefined;
  message: string;
}

/** Runs `op` on a fresh channel of `conn` and returns how the server closed the channel. */
async function refusal(conn: ChannelModel, op: (ch: Channel) => Promise<unknown> | void): Promise<Refusal> {
  const ch = await conn.createChannel();
  const closed = new Promise<Refusal>((resolve) =>
    ch.once('error', (e: Error & { code?: number; classId?: number; methodId?: number }) => resolve({ code: e.code, classId: e.classId, methodId: e.methodId, message: e.message })),
  );
  await Promise.resolve(op(ch)).catch(() => undefined);
  // A publish is refused asynchronously; any later synchronous call sees the channel close.
  await ch.checkExchange('amq.direct').catch(() => undefined);
  return closed;
}

const refused = (kind: 'queue' | 'exchange', name: string) =>
  `Channel closed by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - access to ${kind} '${name}' in vhost '/' refused for user 'probeuser'"`;

describe('permissions set through the HTTP API, enforced on AMQP (row 39)', () => {
  let conn: ChannelModel;
  beforeAll(async () => {
    conn = await amqp.connect(url('probeuser', 'probe-pw'));
    conn.on('error', () => undefined);
  });
  afterAll(async () => {
    await conn.close().catch(() => undefined);
  });

  it('allows what the patterns match', async () => {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.assertQueue('probe-q', { durable: false });
    await ch.assertExchange('probe-x', 'fanout', { durable: false });
    await ch.bindQueue('probe-q', 'probe-x', '');
    ch.publish('probe-x', '', Buffer.from('x'));
    const m = await ch.get('probe-q', { noAck: true });
    expect(m && m.content.toString()).toBe('x');
    await ch.deleteQueue('probe-q');
    await ch.close();
  });

  const cases: readonly [string, (ch: Channel) => Promise<unknown> | void, Refusal][] = [
    ['queue.declare needs configure', (ch) => ch.assertQueue('other-q'), { code: 403, classId: 50, methodId: 10, message: refused('queue', 'other-q') }],
    ['exchange.declare needs configure', (ch) => ch.assertExchange('other-x', 'direct'), { code: 403, classId: 40, methodId: 10, message: refused('exchange', 'other-x') }],
    ['basic.publish needs write on the exchange', (ch) => void ch.publish('amq.direct', 'k', Buffer.from('x')), { code: 403, classId: 60, methodId: 40, message: refused('exchange', 'amq.direct') }],
    ['the default exchange is amq.default to permissions', (ch) => void ch.sendToQueue('probe-q', Buffer.from('x')), { code: 403, classId: 60, methodId: 40, message: refused('exchange', 'amq.default') }],
    ['queue.bind needs read on the exchange', async (ch) => { await ch.assertQueue('probe-b', { durable: false }); await ch.bindQueue('probe-b', 'amq.direct', 'k'); }, { code: 403, classId: 50, methodId: 20, message: refused('exchange', 'amq.direct') }],
    ['basic.consume needs read', (ch) => ch.consume('shared-q', () => undefined), { code: 403, classId: 60, methodId: 20, message: refused('queue', 'shared-q') }],
    ['basic.get needs read', (ch) => ch.get('shared-q'), { code: 403, classId: 60, methodId: 70, message: refused('queue', 'shared-q') }],
    ['queue.purge needs read', (ch) => ch.purgeQueue('shared-q'), { code: 403, classId: 50, methodId: 30, message: refused('queue', 'shared-q') }],
    ['queue.delete needs configure', (ch) => ch.deleteQueue('shared-q'), { code: 403, classId: 50, methodId: 40, message: refused('queue', 'shared-q') }],
  ];
  for (const [what, op, expected] of cases) {
    it(`${what}: 403 ACCESS_REFUSED with RabbitMQ's text and ids`, async () => {
      expect(await refusal(conn, op)).toEqual(expected);
    });
  }

  it('a permission change applies at once to an open connection', async () => {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.assertQueue('probe-later', { durable: false });
    expect((await api(w, 'PUT', '/permissions/%2F/probeuser', { configure: '^probe-', write: '^probe-', read: '' })).status).toBe(204);
    expect(await refusal(conn, (c) => c.get('probe-later'))).toEqual({ code: 403, classId: 60, methodId: 70, message: refused('queue', 'probe-later') });
    expect((await api(w, 'PUT', '/permissions/%2F/probeuser', { configure: '^probe-', write: '^probe-', read: '^probe-' })).status).toBe(204);
    const again = await conn.createChannel();
    expect(await again.get('probe-later')).toBe(false);
    await again.close();
  });
});

describe('logins refused (rows 41 and 42)', () => {
  it('403 for a wrong password of a user made through the API', async () => {
    await expect(amqp.connect(url('probeuser', 'wrong'))).rejects.toThrow(
      'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile."',
    );
  });

  for (const [vhost, text] of [
    ['probe-vh', "NOT_ALLOWED - access to vhost 'probe-vh' refused for user 'probeuser'"],
    ['nonexistent', 'NOT_ALLOWED - vhost nonexistent not found'],
  ] as const) {
    it(`530 ${text}`, async () => {
      await expect(amqp.connect(url('probeuser', 'probe-pw', vhost))).rejects.toThrow('Expected ConnectionOpenOk; got <ConnectionClose channel:0>');
      const c = await RawClient.connect('127.0.0.1', w.port);
      try {
        await expect(c.handshake({ user: 'probeuser', password: 'probe-pw', vhost })).rejects.toThrow(/expected method 10\/41/);
        const close = c.allFrames.find((f) => f.type === 1 && f.classId === 10 && f.methodId === 50);
        expect(close && parseClose(close)).toEqual({ code: 530, text, classId: 10, methodId: 40 });
      } finally {
        c.destroy();
      }
    });
  }
});

describe('guest only from loopback', () => {
  it('refuses guest from the machine\'s own non-loopback address, over AMQP and HTTP; others may come from there', async () => {
    const ip = ownAddress();
    await expect(amqp.connect(url('guest', 'guest', '/', ip))).rejects.toThrow(
      'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile."',
    );
    // The log line travels through a pipe; it may arrive after the client heard the refusal.
    await until(() => w.output().includes("login refused for user 'guest': it may only connect from localhost"), 'the log line saying why');
    const local = await amqp.connect(url('guest', 'guest'));
    await local.close();
    const other = await amqp.connect(url('probeuser', 'probe-pw', '/', ip));
    await other.close();

    expect(await api(w, 'GET', '/whoami', undefined, ip)).toEqual({ status: 401, json: { error: 'not_authorised', reason: 'User can only log in via localhost' } });
    expect(await api(w, 'GET', '/whoami', undefined, '127.0.0.1')).toEqual({ status: 200, json: { name: 'guest', tags: ['administrator'] } });
    expect((await api(w, 'GET', '/whoami', undefined, ip, 'probeuser:probe-pw')).status).toBe(200);
  });

  it('lets guest in from anywhere with --loopback-users none', async () => {
    const open = await start(['--host', '0.0.0.0', '--http-host', '0.0.0.0', '--loopback-users', 'none']);
    const ip = ownAddress();
    const c = await amqp.connect(url('guest', 'guest', '/', ip, open.port));
    await c.close();
    expect((await api(open, 'GET', '/whoami', undefined, ip)).status).toBe(200);
  });
});
