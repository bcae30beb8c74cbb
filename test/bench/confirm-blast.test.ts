// The persistent path's raw-socket load generator (bench/confirm-blast.c), built with the system's
// C compiler and run for a short scenario (c) and a short backlog (h) against a broker in this
// process on a SQLite data dir: everything it published is confirmed and delivered, in order,
// with latency or per-phase figures; and it fails with one clear line on a closed port, a refused
// login, a channel the broker closes, and a backlog queue that is not empty. -T -N (transient
// messages, non-durable queue) declare and publish accordingly.
// Rates and latencies are not judged here (that is the benchmark's job).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningBroker } from '../../src/index.js';
import { buildConfirmBlast } from '../../bench/lib/confirm-blast.js';
import { testBroker } from '../helpers/broker.js';

interface Result {
  ok: boolean;
  error?: string;
  sent: number;
  received: number;
  confirmed: number;
  nacked: number;
  latency_samples: number;
  lat_us: { min: number; p50: number; p99: number; max: number };
  broker_cpu_pct: number;
  client_cpu_pct: number;
  broker_rss_kb: { start: number; peak: number; end: number };
  drain: { published: number; confirmed: number; nacked: number; consumed: number; order_gaps: number; redelivered: number; left_in_queue: number };
}

/** The backlog mode's line: amqp-perf's backlog field names, plus per-phase peaks and CPU. */
interface BacklogResult {
  ok: boolean;
  error?: string;
  mode: string;
  count: number;
  sent: number;
  confirmed: number;
  nacked: number;
  depth_after_publish: number;
  received: number;
  order_gaps: number;
  redelivered: number;
  left_in_queue: number;
  publish_s: number;
  publish_rate: number;
  drain_s: number;
  drain_rate: number;
  broker_rss_kb: { before: number; after_publish: number; after_drain: number; peak: number; publish_peak: number; drain_peak: number };
  publish_broker_cpu_pct: number;
  drain_broker_cpu_pct: number;
  publish_client_cpu_pct: number;
  drain_client_cpu_pct: number;
}

const workDir = mkdtempSync(join(tmpdir(), 'confirm-blast-test-'));
let bin: string;
let b: RunningBroker;

beforeAll(async () => {
  // No compiler is a failure, not a skip: .ci/run installs gcc and libc6-dev.
  const build = buildConfirmBlast(join(workDir, 'bin'));
  expect(build.bin, build.reason).not.toBeNull();
  bin = build.bin as string;
  b = await testBroker({ dataDir: join(workDir, 'data') });
});
afterAll(async () => {
  await b?.close();
  rmSync(workDir, { recursive: true, force: true });
});

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // a guard against hangs, not a timing check
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

function lastJson<T = Result>(out: string): T {
  return JSON.parse(out.trim().split('\n').pop() ?? '') as T;
}

async function queueGone(name: string): Promise<void> {
  const conn = await amqp.connect(b.url);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await expect(ch.checkQueue(name)).rejects.toThrow(/404/);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** A port nothing listens on: one the kernel just handed out and we let go of. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('confirm-blast', () => {
  it('runs scenario (c): every publish confirmed and delivered once, in order, with latency figures', async () => {
    const r = await run(['-P', String(b.port), '-t', '2', '-w', '1', '-d', '20', '-b', String(process.pid), '-Q', 'confirm-blast-test']);
    expect(r.code, r.err).toBe(0);
    const j = lastJson(r.out);
    expect(j.ok).toBe(true);
    expect(j.confirmed).toBeGreaterThan(0);
    expect(j.received).toBeGreaterThan(0);
    expect(j.nacked).toBe(0);
    // after the drain: everything published was confirmed and consumed, nothing twice or out of order
    expect(j.drain.published).toBeGreaterThanOrEqual(j.sent);
    expect(j.drain.confirmed).toBe(j.drain.published);
    expect(j.drain.consumed).toBe(j.drain.published);
    expect(j.drain.order_gaps).toBe(0);
    expect(j.drain.redelivered).toBe(0);
    expect(j.drain.left_in_queue).toBe(0);
    expect(j.latency_samples).toBeGreaterThan(0);
    expect(j.lat_us.p50).toBeGreaterThanOrEqual(0);
    expect(j.lat_us.p99).toBeGreaterThanOrEqual(j.lat_us.p50);
    expect(j.lat_us.max).toBeGreaterThan(0);
    expect(j.lat_us.max).toBeGreaterThanOrEqual(j.lat_us.p99);
    expect(j.client_cpu_pct).toBeGreaterThanOrEqual(0);
    expect(j.broker_cpu_pct).toBeGreaterThan(0);
    expect(j.broker_rss_kb.peak).toBeGreaterThan(0);
    // it deleted its queue on the way out
    await queueGone('confirm-blast-test');
  });

  it('one message a write (-B 1) delivers everything too', async () => {
    const r = await run(['-P', String(b.port), '-t', '1', '-w', '0', '-B', '1', '-d', '20']);
    expect(r.code, r.err).toBe(0);
    const j = lastJson(r.out);
    expect(j.confirmed).toBeGreaterThan(0);
    expect(j.drain.consumed).toBe(j.drain.published);
    expect(j.drain.order_gaps).toBe(0);
  });

  it('backlog mode (h): all confirmed with nobody consuming, then all drained once, in order; the queue deleted', async () => {
    const r = await run(['-P', String(b.port), '-m', 'backlog', '-n', '2000', '-d', '20', '-b', String(process.pid), '-Q', 'confirm-blast-backlog']);
    expect(r.code, r.err).toBe(0);
    const j = lastJson<BacklogResult>(r.out);
    expect(j.ok).toBe(true);
    expect(j.mode).toBe('backlog');
    expect(j.count).toBe(2000);
    expect(j.sent).toBe(2000);
    expect(j.confirmed).toBe(2000);
    expect(j.nacked).toBe(0);
    // the whole backlog sat in the queue before the consumer subscribed
    expect(j.depth_after_publish).toBe(2000);
    expect(j.received).toBe(2000);
    expect(j.order_gaps).toBe(0);
    expect(j.redelivered).toBe(0);
    expect(j.left_in_queue).toBe(0);
    expect(j.publish_s).toBeGreaterThan(0);
    // rate = messages / seconds (the seconds are printed to the millisecond)
    expect(Math.abs(j.publish_rate * j.publish_s - 2000)).toBeLessThan(20);
    expect(j.drain_s).toBeGreaterThan(0);
    expect(Math.abs(j.drain_rate * j.drain_s - 2000)).toBeLessThan(20);
    const rss = j.broker_rss_kb;
    expect(rss.before).toBeGreaterThan(0);
    expect(rss.publish_peak).toBeGreaterThanOrEqual(Math.max(rss.before, rss.after_publish));
    expect(rss.drain_peak).toBeGreaterThanOrEqual(Math.max(rss.after_publish, rss.after_drain));
    expect(rss.peak).toBe(Math.max(rss.publish_peak, rss.drain_peak));
    expect(j.publish_broker_cpu_pct).toBeGreaterThan(0);
    expect(j.drain_broker_cpu_pct).toBeGreaterThan(0);
    expect(j.publish_client_cpu_pct).toBeGreaterThanOrEqual(0);
    expect(j.drain_client_cpu_pct).toBeGreaterThanOrEqual(0);
    await queueGone('confirm-blast-backlog');
  });

  it('backlog mode (-B 1): one message a write, the same outcome', async () => {
    const r = await run(['-P', String(b.port), '-m', 'backlog', '-n', '500', '-B', '1', '-d', '20']);
    expect(r.code, r.err).toBe(0);
    const j = lastJson<BacklogResult>(r.out);
    expect(j.confirmed).toBe(500);
    expect(j.received).toBe(500);
    expect(j.order_gaps).toBe(0);
    expect(j.left_in_queue).toBe(0);
  });

  it('backlog mode with fewer messages than the confirm window: the deliveries that come with consume-ok are drained too', async () => {
    // all 10 fit in one window and one read; the consumer once waited on the socket for them
    const r = await run(['-P', String(b.port), '-m', 'backlog', '-n', '10', '-c', '100', '-d', '5']);
    expect(r.code, r.err).toBe(0);
    const j = lastJson<BacklogResult>(r.out);
    expect(j.confirmed).toBe(10);
    expect(j.received).toBe(10);
    expect(j.order_gaps).toBe(0);
    expect(j.left_in_queue).toBe(0);
  });

  it('backlog mode with -T -N: transient messages into a non-durable queue (one that exists as such is taken), all delivered', async () => {
    const conn = await amqp.connect(b.url);
    try {
      const ch = await conn.createChannel();
      // without -N this redeclare fails (406, the last test); with it the queue is the same one
      await ch.assertQueue('confirm-blast-nd', { durable: false });
      const r = await run(['-P', String(b.port), '-m', 'backlog', '-n', '300', '-d', '20', '-T', '-N', '-Q', 'confirm-blast-nd']);
      expect(r.code, r.err).toBe(0);
      const j = lastJson<BacklogResult & { persistent: boolean; durable: boolean }>(r.out);
      expect([j.persistent, j.durable]).toEqual([false, false]);
      expect(j.confirmed).toBe(300);
      expect(j.depth_after_publish).toBe(300);
      expect(j.received).toBe(300);
      expect(j.order_gaps).toBe(0);
      expect(j.left_in_queue).toBe(0);
      // the default stays persistent messages in a durable queue
      const d = await run(['-P', String(b.port), '-m', 'backlog', '-n', '200', '-d', '20']);
      expect(d.code, d.err).toBe(0);
      const dj = lastJson<BacklogResult & { persistent: boolean; durable: boolean }>(d.out);
      expect([dj.persistent, dj.durable]).toEqual([true, true]);
    } finally {
      await conn.close().catch(() => undefined);
    }
  });

  it('backlog mode refuses a queue that already holds messages, and leaves it alone', async () => {
    const conn = await amqp.connect(b.url);
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('confirm-blast-full', { durable: true });
      ch.sendToQueue('confirm-blast-full', Buffer.from('x'), { persistent: true });
      await ch.waitForConfirms();
      const r = await run(['-P', String(b.port), '-m', 'backlog', '-n', '10', '-Q', 'confirm-blast-full']);
      expect(r.code).toBe(1);
      expect(lastJson<BacklogResult>(r.out).error).toBe('queue confirm-blast-full already holds 1 messages: a backlog run needs an empty queue');
      expect((await ch.checkQueue('confirm-blast-full')).messageCount).toBe(1);
      await ch.deleteQueue('confirm-blast-full');
    } finally {
      await conn.close().catch(() => undefined);
    }
  });

  it('-m backlog without -n (and -n without it) is a usage error', async () => {
    for (const args of [['-m', 'backlog'], ['-n', '10']]) {
      const r = await run(['-P', String(b.port), ...args]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/-m backlog takes -n/);
    }
  });

  it('a port nothing listens on: exit 1, one line saying so', async () => {
    const port = await closedPort();
    const r = await run(['-P', String(port), '-t', '1', '-w', '0']);
    expect(r.code).toBe(1);
    const j = lastJson(r.out);
    expect(j.ok).toBe(false);
    expect(j.error).toMatch(new RegExp(`connect 127\\.0\\.0\\.1:${port}: Connection refused`));
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^confirm-blast: /);
  });

  it('a frame longer than frame_max (4096 before connection.tune) is refused, not read', async () => {
    const fake = createServer((sock) => {
      sock.on('error', () => undefined);
      sock.once('data', () => {
        const h = Buffer.alloc(7);
        h.writeUInt8(1, 0);
        h.writeUInt16BE(0, 1);
        h.writeUInt32BE(1_000_000, 3);
        sock.write(h);
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const r = await run(['-P', String((fake.address() as { port: number }).port), '-t', '1', '-w', '0']);
      expect(r.code).toBe(1);
      expect(lastJson(r.out).error).toBe('consumer: a frame of 1000008 bytes, more than frame_max 4096');
    } finally {
      await new Promise<void>((resolve) => fake.close(() => resolve()));
    }
  });

  it('a refused login: the broker\'s 403 in the error', async () => {
    const r = await run(['-P', String(b.port), '-p', 'wrong', '-t', '1', '-w', '0']);
    expect(r.code).toBe(1);
    expect(lastJson(r.out).error).toMatch(/403/);
  });

  it('a queue that exists as transient: the channel close (406) in the error', async () => {
    const conn = await amqp.connect(b.url);
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue('confirm-blast-transient', { durable: false });
      const r = await run(['-P', String(b.port), '-Q', 'confirm-blast-transient', '-t', '1', '-w', '0']);
      expect(r.code).toBe(1);
      expect(lastJson(r.out).error).toMatch(/consumer: channel closed by the broker: 406/);
    } finally {
      await conn.close().catch(() => undefined);
    }
  });
});
