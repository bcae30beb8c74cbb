// IPv6, as amqplib's own "ipv6" test connects (amqp://[::1]): by default warren listens on every
// interface of both families, like RabbitMQ, for AMQP and for the HTTP API; --host narrows it
// (::1, 127.0.0.1, 0.0.0.0). An IPv4 client on the dual-stack socket is shown with its IPv4
// address, as RabbitMQ shows it. Runs against warren only: the reference RabbitMQ is bound to
// 127.0.0.1 by conformance/rabbitmq-ref.sh (RabbitMQ's own default is [::]:5672, dual stack).
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import * as amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uid, waitFor } from './harness.js';
import { runWarren, startWarren, type WarrenProcess } from './warren-process.js';

const hasLoopback6 = Object.values(os.networkInterfaces()).some((list) => list?.some((i) => i.address === '::1'));
const external = process.env['WARREN_CONFORMANCE_URL'] !== undefined;
const suite = hasLoopback6 && !external ? describe : describe.skip;

const dirs: string[] = [];
async function start(host: string): Promise<WarrenProcess> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'warren-ipv6-'));
  dirs.push(dir);
  return startWarren(dir, ['--host', host, '--http-host', host]);
}

/** Publishes and reads back one message through amqplib at `url`. */
async function roundTrip(url: string): Promise<string> {
  const conn = await amqplib.connect(url);
  try {
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue(uid('v6'), { exclusive: true });
    ch.sendToQueue(queue, Buffer.from(url));
    const m = await waitFor(async () => (await ch.get(queue, { noAck: true })) || null, 'the message');
    return m.content.toString();
  } finally {
    await conn.close();
  }
}

async function overview(hostPort: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://${hostPort}/api/overview`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

suite('IPv6', () => {
  let all: WarrenProcess;

  beforeAll(async () => {
    all = await start('::');
  });

  afterAll(async () => {
    await all?.kill();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('the default host is "::", every interface of both families', async () => {
    const r = await runWarren(['start', '--print-config']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ host: '::', httpHost: '::' });
  });

  it('on "::": amqplib through amqp://[::1] and amqp://127.0.0.1, and the HTTP API on [::1] and 127.0.0.1', async () => {
    expect(await roundTrip(`amqp://guest:guest@[::1]:${all.port}`)).toBe(`amqp://guest:guest@[::1]:${all.port}`);
    expect(await roundTrip(`amqp://guest:guest@127.0.0.1:${all.port}`)).toBe(`amqp://guest:guest@127.0.0.1:${all.port}`);
    expect((await overview(`[::1]:${all.httpPort}`))['product_name']).toBeTypeOf('string');
    await overview(`127.0.0.1:${all.httpPort}`);
  });

  it('peers are shown as ::1 and as 127.0.0.1 (not ::ffff:127.0.0.1)', async () => {
    const v6 = await amqplib.connect(`amqp://guest:guest@[::1]:${all.port}`);
    const v4 = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${all.port}`);
    try {
      const hosts = await waitFor(async () => {
        const res = await fetch(`http://[::1]:${all.httpPort}/api/connections`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
        const list = (await res.json()) as Array<{ peer_host: string }>;
        return list.length >= 2 ? list.map((c) => c.peer_host).sort() : null;
      }, 'both connections in the API');
      expect(hosts).toEqual(['127.0.0.1', '::1']);
    } finally {
      await v6.close();
      await v4.close();
    }
  });

  it('--host ::1 serves IPv6 loopback only; --host 0.0.0.0 and 127.0.0.1 serve IPv4', async () => {
    const only6 = await start('::1');
    try {
      await roundTrip(`amqp://guest:guest@[::1]:${only6.port}`);
      await expect(amqplib.connect(`amqp://guest:guest@127.0.0.1:${only6.port}`)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await only6.kill();
    }
    for (const host of ['0.0.0.0', '127.0.0.1']) {
      const v4 = await start(host);
      try {
        await roundTrip(`amqp://guest:guest@127.0.0.1:${v4.port}`);
        await overview(`127.0.0.1:${v4.httpPort}`);
      } finally {
        await v4.kill();
      }
    }
  });
});
