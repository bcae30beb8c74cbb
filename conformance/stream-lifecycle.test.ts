// Streams through amqplib and pika against a warren the test starts (and kills): deleting a
// super stream deletes its partition streams and their files (exchange.delete from amqplib and
// pika, DELETE /api/super-streams, `warren delete-super-stream`), as RabbitMQ's
// `rabbitmq-streams delete_super_stream` does; the consumer-group handover timeout through
// amqplib and pika (an owner that does not ack what it holds loses the partition after 5 s, and
// the new owner resumes at the committed offset); and named readers whose consumer is killed mid-stream (amqplib socket
// dropped, pika process SIGKILLed): at-least-once, in order, nothing skipped. warren only:
// RabbitMQ 3.10.8 has no super streams (3.11+, stream protocol), named readers or groups.

import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PikaProcess, runPika, uid, waitFor } from './harness.js';
import { runWarren, startWarren, type WarrenProcess } from './warren-process.js';

const external = process.env['WARREN_CONFORMANCE_URL'] !== undefined;
let w: WarrenProcess;
let dir: string;
const conns: ChannelModel[] = [];
const pikas: PikaProcess[] = [];

beforeAll(async () => {
  if (external) return;
  dir = mkdtempSync(join(tmpdir(), 'warren-stream-lifecycle-'));
  w = await startWarren(dir);
});
afterAll(async () => {
  for (const p of pikas) p.kill();
  await Promise.all(conns.map((c) => c.close().catch(() => {})));
  await w?.kill('SIGKILL');
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function connect(): Promise<ChannelModel> {
  const c = await amqp.connect(w.url);
  c.on('error', () => {});
  conns.push(c);
  return c;
}

async function channel(c: ChannelModel): Promise<Channel> {
  const ch = await c.createChannel();
  ch.on('error', () => {});
  return ch;
}

async function api(method: string, path: string, body?: unknown, user = 'guest:guest'): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { authorization: `Basic ${Buffer.from(user).toString('base64')}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`http://127.0.0.1:${w.httpPort}/api${path}`, body === undefined ? { method, headers } : { method, headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

const streamFolders = (): string[] => (existsSync(join(dir, 'streams')) ? readdirSync(join(dir, 'streams')) : []);

async function exists(queue: string): Promise<boolean> {
  const ch = await channel(await connect());
  return ch.checkQueue(queue).then(
    () => true,
    () => false,
  );
}

async function superStream(name: string, partitions: number): Promise<void> {
  const ch = await (await connect()).createConfirmChannel();
  await ch.assertExchange(name, 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': partitions } });
  for (let seq = 0; seq < 10; seq++) for (let k = 0; k < 20; k++) ch.publish(name, `k${k}`, Buffer.from(`k${k}:${seq}`));
  await ch.waitForConfirms();
}

describe.skipIf(external)('deleting a super stream deletes its partitions', () => {
  it('exchange.delete (amqplib): the partition streams and their folders go, their consumers hear basic.cancel; if-unused refuses; another queue bound there stays', async () => {
    const x = uid('orders');
    const before = streamFolders().length;
    await superStream(x, 3);
    expect(streamFolders().length).toBe(before + 3);
    const c = await connect();
    const ch = await channel(c);
    const other = uid('other');
    await ch.assertQueue(other, { durable: true });
    await ch.bindQueue(other, x, '2');
    await ch.prefetch(10);
    let cancelled = 0;
    await ch.consume(`${x}-1`, (m: ConsumeMessage | null) => {
      if (m === null) cancelled++;
      else ch.ack(m);
    }, { arguments: { 'x-stream-offset': 'first' } });
    const probe = await channel(c);
    await expect(probe.deleteExchange(x, { ifUnused: true })).rejects.toThrow(`PRECONDITION_FAILED - exchange '${x}' in vhost '/' in use`);
    await (await channel(c)).deleteExchange(x);
    await waitFor(() => (cancelled === 1 ? true : undefined), 'basic.cancel');
    for (let p = 0; p < 3; p++) expect(await exists(`${x}-${p}`)).toBe(false);
    expect(await exists(other)).toBe(true);
    await waitFor(() => (streamFolders().length === before ? true : undefined), 'the partition folders removed');
  });

  it('DELETE /api/super-streams/{vhost}/{name} and `warren delete-super-stream`; 404 for an exchange that is not a super stream', async () => {
    const a = uid('api');
    const b = uid('cli');
    await superStream(a, 2);
    await superStream(b, 2);
    expect((await api('DELETE', `/super-streams/%2F/${a}`)).status).toBe(204);
    expect(await exists(`${a}-0`)).toBe(false);
    expect(await exists(`${a}-1`)).toBe(false);
    expect((await api('DELETE', '/super-streams/%2F/amq.direct')).status).toBe(404);
    const url = ['--url', `http://127.0.0.1:${w.httpPort}`];
    const del = await runWarren(['delete-super-stream', b, ...url]);
    expect([del.code, del.stdout]).toEqual([0, `deleted super stream '${b}' and its partitions in vhost '/'\n`]);
    expect(await exists(`${b}-0`)).toBe(false);
    const missing = await runWarren(['delete-super-stream', b, ...url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no super stream '${b}' in vhost '/'`);
  });

  it('refused without configure permission on its partitions, over AMQP (403) and HTTP (401); nothing deleted', async () => {
    const x = uid('perm');
    await superStream(x, 2);
    // carol may configure the exchange itself, not the partition streams behind it.
    expect((await api('PUT', '/users/carol', { password: 'carol-secret', tags: 'management' })).status).toBeLessThan(300);
    expect((await api('PUT', '/permissions/%2F/carol', { configure: `^${x}$`, write: '.*', read: '.*' })).status).toBeLessThan(300);
    const c = await amqp.connect(w.url.replace('guest:guest', 'carol:carol-secret'));
    c.on('error', () => {});
    conns.push(c);
    const ch = await c.createChannel();
    const closed = new Promise<Error>((resolve) => ch.once('error', resolve));
    await expect(ch.deleteExchange(x)).rejects.toThrow();
    expect((await closed).message).toContain(`ACCESS_REFUSED - access to queue '${x}-0' in vhost '/' refused for user 'carol'`);
    // The API answers a permission refusal as RabbitMQ's management plugin does: 401 not_authorised.
    const refused = await api('DELETE', `/super-streams/%2F/${x}`, undefined, 'carol:carol-secret');
    expect(refused.status).toBe(401);
    expect(JSON.stringify(refused.json)).toContain(`access to queue '${x}-0' in vhost '/' refused for user 'carol'`);
    expect(await exists(`${x}-0`)).toBe(true);
    expect(await exists(`${x}-1`)).toBe(true);
  });

  it('exchange.delete from pika: its partitions are gone (404 on a passive declare)', async () => {
    const x = uid('pika');
    await runPika(w.url, 'stream_groups', ['declare', x, '3']);
    const r = await runPika(w.url, 'stream_groups', ['delete', x, '3']);
    expect(r.events).toEqual([{ event: 'deleted', name: x }, ...[0, 1, 2].map((i) => ({ event: 'partition', name: `${x}-${i}`, exists: false, code: 404 }))]);
  });
});

describe.skipIf(external)('consumer-group handover timeout', () => {
  it('an owner that holds unacked deliveries keeps the partition 5 s, is then cancelled, and the new owner resumes at the committed offset', async () => {
    const x = uid('orders');
    await superStream(x, 2);
    // a holds both partitions; it acks the first 3 deliveries of each and holds the next 10 unacked.
    const a = await channel(await connect());
    await a.prefetch(10);
    const aGot = [0, 0];
    const aCancelled: number[] = [];
    for (const p of [0, 1]) {
      await a.consume(`${x}-${p}`, (m: ConsumeMessage | null) => {
        if (m === null) {
          aCancelled.push(p);
          return;
        }
        if (aGot[p]!++ < 3) a.ack(m);
      }, { arguments: { 'x-consumer-group': 'g', 'x-stream-offset': 'first' } });
    }
    await waitFor(() => (aGot[0] === 13 && aGot[1] === 13 ? true : undefined), 'a holds 10 unacked on each partition');
    const b = await channel(await connect());
    await b.prefetch(100);
    const bGot: { p: number; offset: number }[] = [];
    for (const p of [0, 1]) {
      await b.consume(`${x}-${p}`, (m: ConsumeMessage | null) => {
        if (m === null) return;
        bGot.push({ p, offset: Number(m.properties.headers?.['x-stream-offset']) });
        b.ack(m);
      }, { arguments: { 'x-consumer-group': 'g' } });
    }
    const row = (await api('GET', '/consumer-groups/%2F')).json as { super_stream: string; partitions: { partition: number; state: string }[] }[];
    const pending = row.find((g) => g.super_stream === x)!.partitions.filter((p) => p.state === 'pending');
    // Right after b joined: one partition is promised to b, which waits for a.
    expect(pending).toHaveLength(1);
    const moved = pending[0]!.partition;
    await waitFor(() => (aCancelled.length > 0 ? true : undefined), 'a cancelled after the 5 s handover timeout', 20_000);
    expect(aCancelled).toEqual([moved]);
    const total = (await (await channel(await connect())).checkQueue(`${x}-${moved}`)).messageCount;
    await waitFor(() => (bGot.length === total - 3 ? true : undefined), 'b reads the moved partition from the committed offset', 20_000);
    // a acked offsets 0..2 there: b starts at 3, gets a's 10 unacked deliveries again and the rest.
    expect(bGot.map((d) => d.offset)).toEqual(Array.from({ length: total - 3 }, (_, i) => i + 3));
    expect(new Set(bGot.map((d) => d.p))).toEqual(new Set([moved]));
  }, 60_000);

  it('pika: an owner process holding unacked deliveries is cancelled (basic.cancel to pika) after the timeout; the new pika member resumes at the committed offset', async () => {
    const x = uid('orders');
    await runPika(w.url, 'stream_groups', ['declare', x, '2']);
    await runPika(w.url, 'stream_groups', ['publish', x, '20', '10']);
    // a holds both partitions: acks the first 3 deliveries of each, holds the next 10 (prefetch 10).
    const a = new PikaProcess(w.url, 'stream_groups', ['holder', x, '2', 'g', '3']);
    pikas.push(a);
    const held = (p: number): number => a.events.filter((e) => e.event === 'delivery' && e.stream === `${x}-${p}`).length;
    await a.waitForEvent(() => held(0) === 13 && held(1) === 13, 'a holds 10 unacked on each partition', 30_000);
    const b = new PikaProcess(w.url, 'stream_groups', ['member', x, '2', 'g']);
    pikas.push(b);
    await b.waitForEvent((e) => e.event === 'ready', 'b ready', 30_000);
    const row = (await api('GET', '/consumer-groups/%2F')).json as { super_stream: string; partitions: { partition: number; state: string }[] }[];
    const pending = row.find((g) => g.super_stream === x)!.partitions.filter((p) => p.state === 'pending');
    // One partition is promised to b and waits for a, which does not ack what it holds.
    expect(pending).toHaveLength(1);
    const moved = `${x}-${pending[0]!.partition}`;
    await a.waitForEvent((e) => e.event === 'cancelled', 'a cancelled after the handover timeout', 20_000);
    expect(a.events.filter((e) => e.event === 'cancelled')).toEqual([{ event: 'cancelled', stream: moved }]);
    const total = ((await api('GET', `/queues/%2F/${moved}`)).json as { messages: number }).messages;
    const processed = (): { stream: unknown; offset: number }[] => b.events.filter((e) => e.event === 'processed').map((e) => ({ stream: e.stream, offset: Number(e.offset) }));
    await b.waitForEvent(() => processed().length === total - 3, 'b reads the moved partition from the committed offset', 30_000);
    // a acked offsets 0..2 there: b starts at 3, gets a's 10 unacked deliveries again and the rest, in order.
    expect(processed().map((d) => d.offset)).toEqual(Array.from({ length: total - 3 }, (_, i) => i + 3));
    expect(new Set(processed().map((d) => d.stream))).toEqual(new Set([moved]));
    // a kept the other partition and got nothing more there: still its 13.
    expect(held(0) + held(1)).toBe(26);
  }, 90_000);
});

describe.skipIf(external)('named readers: the consumer killed mid-stream', () => {
  async function stream(n: number): Promise<string> {
    const s = uid('s');
    const ch = await (await connect()).createConfirmChannel();
    await ch.assertQueue(s, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    for (let i = 0; i < n; i++) ch.sendToQueue(s, Buffer.from(String(i)));
    await ch.waitForConfirms();
    return s;
  }

  const committed = async (s: string, reader: string): Promise<number> =>
    ((await api('GET', `/stream-readers/%2F/${s}`)).json as { name: string; committed_offset: number; in_use: boolean }[]).find((r) => r.name === reader && !r.in_use)?.committed_offset ?? -1;

  it('amqplib: a consumer acking in batches loses its socket; the next one resumes at its committed offset, in order, nothing skipped', async () => {
    const total = 2000;
    const s = await stream(total);
    const sessions: number[][] = [[], []];
    const c1 = await amqp.connect(w.url);
    c1.on('error', () => {});
    const ch1 = await c1.createChannel();
    ch1.on('error', () => {});
    await ch1.prefetch(100);
    let killed = false;
    await ch1.consume(s, (m) => {
      if (m === null || killed) return;
      const n = Number(m.content.toString());
      sessions[0]!.push(n);
      if (n % 25 === 24) ch1.ack(m, true); // every 25th acks the batch: up to 24 in flight unacked
      if (n === 777) {
        killed = true;
        (c1 as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      }
    }, { arguments: { 'x-stream-reader': 'billing', 'x-stream-offset': 'first' } });
    const resumeAt = await waitFor(async () => {
      const off = await committed(s, 'billing');
      return off >= 0 ? off : undefined;
    }, 'the reader released');
    // A batch boundary: 775..777 were processed but never acked, and the last batch acks may
    // have died in the client's buffer with the socket. Not further back than the prefetch
    // window: 777 was delivered, so acks up to 677 had reached the broker.
    expect(resumeAt % 25).toBe(0);
    expect(resumeAt).toBeGreaterThanOrEqual(675);
    expect(resumeAt).toBeLessThanOrEqual(775);
    const ch2 = await channel(await connect());
    await ch2.prefetch(100);
    await ch2.consume(s, (m) => {
      if (m === null) return;
      sessions[1]!.push(Number(m.content.toString()));
      ch2.ack(m);
    }, { arguments: { 'x-stream-reader': 'billing' } });
    await waitFor(() => (sessions[1]!.at(-1) === total - 1 ? true : undefined), 'the rest', 30_000);
    for (const sess of sessions) expect(sess).toEqual(sess.map((_, i) => sess[0]! + i));
    expect(sessions[1]![0]).toBe(resumeAt);
    expect(new Set(sessions.flat()).size).toBe(total); // nothing skipped; the unacked tail twice (at-least-once)
  }, 60_000);

  it('pika: a reader process killed with SIGKILL mid-stream; a new one resumes after the committed offset, nothing skipped', async () => {
    const total = 3000;
    const s = await stream(total);
    const first = new PikaProcess(w.url, 'stream_groups', ['read', s, 'audit', String(total), 'first']);
    pikas.push(first);
    await first.waitForEvent(() => first.events.filter((e) => e.event === 'delivery').length >= 1000, '1000 deliveries', 30_000);
    first.kill();
    await first.exited;
    const seen1 = first.events.filter((e) => e.event === 'delivery').map((e) => Number(e.offset));
    const resumeAt = await waitFor(async () => {
      const off = await committed(s, 'audit');
      return off >= 0 ? off : undefined;
    }, 'the reader released');
    // Never past what was processed; pika acks each delivery right after printing it.
    expect(resumeAt).toBeLessThanOrEqual(seen1.at(-1)! + 1);
    expect(resumeAt).toBeGreaterThan(0);
    const rest = await runPika(w.url, 'stream_groups', ['read', s, 'audit', String(total - resumeAt)], 60_000);
    const seen2 = rest.events.filter((e) => e.event === 'delivery').map((e) => Number(e.offset));
    expect(seen1).toEqual(seen1.map((_, i) => i));
    expect(seen2).toEqual(seen2.map((_, i) => resumeAt + i));
    expect(seen2.at(-1)).toBe(total - 1);
    expect(new Set([...seen1, ...seen2]).size).toBe(total);
  }, 90_000);
});

describe.skipIf(external)('deleted partitions stay deleted across kill -9', () => {
  it('a super stream deleted before kill -9 (the deletion made durable) has no partition and no folder after the restart', async () => {
    const x = uid('orders');
    await superStream(x, 2);
    const c = await connect();
    const ch = await c.createConfirmChannel();
    await ch.deleteExchange(x);
    const q = uid('after');
    await ch.assertQueue(q, { durable: true });
    ch.sendToQueue(q, Buffer.from('x'), { persistent: true });
    await ch.waitForConfirms(); // the store wrote everything before it, the deletion included
    const folders = streamFolders().length;
    await w.kill('SIGKILL');
    conns.length = 0;
    w = await startWarren(dir);
    expect(await exists(`${x}-0`)).toBe(false);
    expect(await exists(`${x}-1`)).toBe(false);
    expect(streamFolders().length).toBeLessThanOrEqual(folders);
    expect(streamFolders().every((f) => /^[0-9a-f]{32}$/.test(f))).toBe(true);
    expect(existsSync(join(dir, 'streams'))).toBe(true);
  }, 60_000);
});
