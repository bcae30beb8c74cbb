// Streams on disk, through amqplib against a warren started and killed by the test: every
// confirmed message survives kill -9 (and nothing unconfirmed turns up out of order), a clean
// restart keeps offsets, retention by size and by age removes whole segments (a consumer
// reading there moves on to the oldest message left), and the management API, /metrics and
// `warren streams` show each stream's sizes. warren only: RabbitMQ's reference node runs
// without the management plugin, and these tests kill the broker.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Inbox, sleep, uid, waitFor } from './harness.js';
import { startWarren, WARREN_MAIN, type WarrenProcess } from './warren-process.js';

const external = process.env['WARREN_CONFORMANCE_URL'] !== undefined;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-streams-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const offsetOf = (m: ConsumeMessage): number => Number(m.properties.headers?.['x-stream-offset']);

async function readAll(url: string, q: string, expected: number, offset: unknown = 'first'): Promise<ConsumeMessage[]> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    await ch.prefetch(500);
    const inbox = new Inbox();
    await ch.consume(
      q,
      (m) => {
        inbox.push(m);
        if (m !== null) ch.ack(m);
      },
      { arguments: { 'x-stream-offset': offset } },
    );
    await waitFor(() => inbox.count >= expected, `${expected} messages`, 20_000);
    await sleep(100);
    return inbox.items as ConsumeMessage[];
  } finally {
    await conn.close();
  }
}

describe.skipIf(external)('streams survive restarts', () => {
  it('every confirmed message comes back after kill -9, at its offset, four times in a row', async () => {
    const data = join(dir, 'kill');
    mkdirSync(data);
    const q = uid('durable-stream');
    let confirmed: string[] = [];
    for (let round = 0; round < 4; round++) {
      const w = await startWarren(data, ['--http-port', 'off']);
      const conn = await amqp.connect(w.url);
      conn.on('error', () => {});
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => {});
      await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream' } });
      // Publish with a window in flight; kill -9 while confirms are outstanding.
      let sent = 0;
      const inflight = new Set<Promise<void>>();
      const start = confirmed.length;
      for (; sent < 3000; sent++) {
        const body = `r${round}-${sent}`;
        const p = new Promise<void>((resolve) =>
          ch.publish('', q, Buffer.from(body), {}, (err) => {
            if (!err) confirmed.push(body);
            resolve();
          }),
        );
        inflight.add(p);
        void p.then(() => inflight.delete(p));
        if (inflight.size >= 200) await Promise.race(inflight);
        if (confirmed.length - start >= 1000 + round * 300) break;
      }
      await w.kill('SIGKILL');
      (conn as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
      // Confirms settle in order: what was confirmed is a prefix of what was sent.
      confirmed = [...confirmed];
      const again = await startWarren(data, ['--http-port', 'off']);
      const got = await readAll(again.url, q, confirmed.length);
      // Everything confirmed is there, in publish order, at offsets 0..n-1; anything after it
      // was published too (written but not confirmed before the kill).
      expect(got.slice(0, confirmed.length).map((m) => m.content.toString())).toEqual(confirmed);
      expect(got.map(offsetOf)).toEqual(got.map((_m, i) => i));
      confirmed = got.map((m) => m.content.toString());
      await again.kill('SIGTERM');
    }
  }, 120_000);

  it('a clean restart keeps offsets; new messages continue the numbering', async () => {
    const data = join(dir, 'clean');
    mkdirSync(data);
    const q = uid('clean-stream');
    let w = await startWarren(data, ['--http-port', 'off']);
    let conn = await amqp.connect(w.url);
    let ch = await conn.createConfirmChannel();
    await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
    await ch.waitForConfirms();
    await conn.close();
    await w.kill('SIGTERM');
    w = await startWarren(data, ['--http-port', 'off']);
    conn = await amqp.connect(w.url);
    ch = await conn.createConfirmChannel();
    expect((await ch.checkQueue(q)).messageCount).toBe(10);
    ch.sendToQueue(q, Buffer.from('m10'));
    await ch.waitForConfirms();
    await conn.close();
    const got = await readAll(w.url, q, 11);
    expect(got.map(offsetOf)).toEqual([...Array(11).keys()]);
    expect(got.at(-1)!.content.toString()).toBe('m10');
    await w.kill('SIGTERM');
  });
});

describe.skipIf(external)('retention', () => {
  let w: WarrenProcess;
  beforeAll(async () => {
    mkdirSync(join(dir, 'retention'));
    w = await startWarren(join(dir, 'retention'), ['--http-port', '0']);
  });
  afterAll(async () => {
    await w?.kill('SIGTERM');
  });

  it('x-max-length-bytes removes whole segments; a consumer reading there moves to the oldest left', async () => {
    const conn = await amqp.connect(w.url);
    const ch = await conn.createConfirmChannel();
    const q = uid('retain-bytes');
    await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream', 'x-max-length-bytes': 20_000, 'x-stream-max-segment-size-bytes': 5_000 } });
    const body = Buffer.alloc(900, 'x');
    for (let i = 0; i < 5; i++) ch.sendToQueue(q, body);
    await ch.waitForConfirms();
    // A slow consumer at offset 0 (prefetch 1, not acking yet).
    const c = await conn.createChannel();
    await c.prefetch(1);
    const inbox = new Inbox();
    await c.consume(q, inbox.push, { arguments: { 'x-stream-offset': 'first' } });
    const [m0] = await inbox.take(1);
    expect(offsetOf(m0!)).toBe(0);
    for (let i = 0; i < 100; i++) ch.sendToQueue(q, body);
    await ch.waitForConfirms();
    const stats = (await (await fetch(`http://127.0.0.1:${w.httpPort}/api/queues/%2F/${q}`, { headers: { authorization: `Basic ${btoa('guest:guest')}` } })).json()) as {
      stream: { first_offset: number; last_offset: number; bytes: number; segments: number };
    };
    expect(stats.stream.last_offset).toBe(104);
    expect(stats.stream.first_offset).toBeGreaterThan(1);
    expect(stats.stream.bytes).toBeLessThanOrEqual(20_000 + 5_000);
    c.ack(m0!);
    const [next] = await inbox.take(1);
    expect(offsetOf(next!)).toBe(stats.stream.first_offset);
    await conn.close();
  });

  it("a policy's max-length-bytes bounds existing and new streams at once, the lower of argument and policy", async () => {
    const api = (method: string, path: string, body?: unknown): Promise<Response> =>
      fetch(`http://127.0.0.1:${w.httpPort}/api${path}`, {
        method,
        headers: { authorization: `Basic ${btoa('guest:guest')}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const stats = async (q: string): Promise<{ first_offset: number; bytes: number }> =>
      ((await (await api('GET', `/queues/%2F/${q}`)).json()) as { stream: { first_offset: number; bytes: number } }).stream;
    const conn = await amqp.connect(w.url);
    const ch = await conn.createConfirmChannel();
    const prefix = uid('pol-retain');
    const body = Buffer.alloc(900, 'p');
    const fill = async (q: string): Promise<void> => {
      for (let i = 0; i < 60; i++) ch.sendToQueue(q, body);
      await ch.waitForConfirms();
    };
    const existing = `${prefix}.a`;
    await ch.assertQueue(existing, { durable: true, arguments: { 'x-queue-type': 'stream', 'x-stream-max-segment-size-bytes': 5_000 } });
    await fill(existing);
    expect((await stats(existing)).first_offset).toBe(0);
    const put = await api('PUT', `/policies/%2F/${prefix}`, { pattern: `^${prefix.replace(/[.-]/g, '\\$&')}\\.`, definition: { 'max-length-bytes': 12_000 }, 'apply-to': 'queues' });
    expect(put.status).toBe(201);
    const a = await stats(existing);
    expect(a.first_offset).toBeGreaterThan(0);
    expect(a.bytes).toBeLessThanOrEqual(12_000 + 5_000);
    // A new stream under the policy; its own lower argument wins over the policy's.
    const fresh = `${prefix}.b`;
    await ch.assertQueue(fresh, { durable: true, arguments: { 'x-queue-type': 'stream', 'x-stream-max-segment-size-bytes': 5_000, 'x-max-length-bytes': 8_000 } });
    await fill(fresh);
    const b = await stats(fresh);
    expect(b.first_offset).toBeGreaterThan(0);
    expect(b.bytes).toBeLessThanOrEqual(8_000 + 5_000);
    expect((await api('DELETE', `/policies/%2F/${prefix}`)).status).toBe(204);
    await conn.close();
  });

  it('x-max-age removes segments older than the age', async () => {
    const conn = await amqp.connect(w.url);
    const ch = await conn.createConfirmChannel();
    const q = uid('retain-age');
    await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream', 'x-max-age': '1s', 'x-stream-max-segment-size-bytes': 2_000 } });
    for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.alloc(500, 'o'));
    await ch.waitForConfirms();
    await sleep(1500);
    for (let i = 0; i < 10; i++) ch.sendToQueue(q, Buffer.alloc(500, 'n'));
    await ch.waitForConfirms();
    const got = await readAll(w.url, q, 1);
    // Whole segments: the old messages that share a segment with new ones stay (3 to a segment here).
    expect(offsetOf(got[0]!)).toBeGreaterThanOrEqual(7);
    expect(offsetOf(got[0]!)).toBeLessThanOrEqual(10);
    await conn.close();
  });

  it('the management API, /metrics and `warren streams` show a stream and its sizes', async () => {
    const conn = await amqp.connect(w.url);
    const ch = await conn.createConfirmChannel();
    const q = uid('shown');
    await ch.assertQueue(q, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    for (let i = 0; i < 7; i++) ch.sendToQueue(q, Buffer.alloc(100, 'a'));
    await ch.waitForConfirms();
    await conn.close();
    const auth = { authorization: `Basic ${btoa('guest:guest')}` };
    const info = (await (await fetch(`http://127.0.0.1:${w.httpPort}/api/queues/%2F/${q}`, { headers: auth })).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ type: 'stream', messages: 7, messages_ready: 7, stream: { messages: 7, segments: 1, first_offset: 0, last_offset: 6, committed_offset: 7 } });
    expect((info['stream'] as { bytes: number }).bytes).toBeGreaterThan(700);
    expect(typeof (info['stream'] as { first_timestamp: string }).first_timestamp).toBe('string');
    const metrics = await (await fetch(`http://127.0.0.1:${w.httpPort}/metrics`)).text();
    expect(metrics).toContain(`warren_stream_messages{vhost="/",queue="${q}"} 7`);
    expect(metrics).toContain(`warren_stream_last_offset{vhost="/",queue="${q}"} 6`);
    const cli = await new Promise<string>((resolve) => {
      const child = spawn(process.execPath, [WARREN_MAIN, 'streams', 'name', 'stream.messages', 'stream.segments', '--url', `http://127.0.0.1:${w.httpPort}`]);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', () => resolve(out));
    });
    expect(cli).toMatch(new RegExp(`${q}\\s+7\\s+1`));
  });
});
