// A Prometheus scrape of the built warren: GET /metrics (summed, as RabbitMQ's prometheus
// plugin answers by default) and /metrics/per-object (per queue), in the text exposition
// format, with the plugin's metric names, after real amqplib traffic.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWarren, type WarrenProcess } from './warren-process.js';

let dir: string;
let w: WarrenProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-metrics-'));
  w = await startWarren(dir);
});

afterAll(async () => {
  await w?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** Parses the exposition strictly: every sample follows its family's # TYPE line. */
function parse(text: string): { types: Map<string, string>; samples: Sample[] } {
  expect(text.endsWith('\n')).toBe(true);
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.trimEnd().split('\n')) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* \S/.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*)\})? (-?[0-9.e+]+|NaN|[+-]Inf)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus text line: ${line}`);
    if (!types.has(m[1]!)) throw new Error(`sample before its # TYPE: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

async function scrape(path: string): Promise<{ types: Map<string, string>; samples: Sample[] }> {
  const res = await fetch(`http://127.0.0.1:${w.httpPort}${path}`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parse(await res.text());
}

function value(s: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = s.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  if (hits.length !== 1) throw new Error(`${hits.length} samples of ${name} ${JSON.stringify(labels)}`);
  return hits[0]!.value;
}

describe('Prometheus scrape', () => {
  it('reports connections, queue depths and message totals under RabbitMQ names', async () => {
    const conn = await amqp.connect(w.url);
    const ch = await conn.createChannel();
    await ch.assertQueue('scraped', { durable: true });
    for (let i = 0; i < 7; i++) ch.sendToQueue('scraped', Buffer.from(`m${i}`), { persistent: true });
    const first = await ch.get('scraped');
    if (first) ch.ack(first);
    await ch.checkQueue('scraped');

    const { types, samples } = await scrape('/metrics');
    expect(types.get('rabbitmq_queue_messages_ready')).toBe('gauge');
    expect(types.get('rabbitmq_global_messages_received_total')).toBe('counter');
    expect(value(samples, 'rabbitmq_connections')).toBe(1);
    expect(value(samples, 'rabbitmq_channels')).toBe(1);
    expect(value(samples, 'rabbitmq_queues')).toBe(1);
    expect(value(samples, 'rabbitmq_queue_messages_ready')).toBe(6);
    expect(value(samples, 'rabbitmq_global_messages_received_total', { protocol: 'amqp091' })).toBe(7);
    expect(value(samples, 'rabbitmq_global_messages_delivered_total', { protocol: 'amqp091' })).toBe(1);
    expect(value(samples, 'rabbitmq_global_messages_acknowledged_total', { protocol: 'amqp091' })).toBe(1);
    expect(value(samples, 'rabbitmq_process_resident_memory_bytes')).toBeGreaterThan(0);
    // The breakdown: a heap in use no larger than the heap reserved, both inside the RSS.
    const heapUsed = value(samples, 'warren_process_heap_used_bytes');
    const heapTotal = value(samples, 'warren_process_heap_total_bytes');
    expect(heapUsed).toBeGreaterThan(0);
    expect(heapUsed).toBeLessThanOrEqual(heapTotal);
    expect(heapTotal).toBeLessThan(value(samples, 'rabbitmq_process_resident_memory_bytes'));
    expect(value(samples, 'warren_process_external_bytes')).toBeGreaterThan(0);

    const per = await scrape('/metrics/per-object');
    expect(value(per.samples, 'rabbitmq_queue_messages_ready', { vhost: '/', queue: 'scraped' })).toBe(6);
    expect(value(per.samples, 'rabbitmq_queue_messages_published_total', { vhost: '/', queue: 'scraped' })).toBe(7);
    await conn.close();
  });

  it("reports the broker's event-loop delay (nodejs_eventloop_lag_*_seconds) between scrapes", async () => {
    await scrape('/metrics');
    await new Promise((r) => setTimeout(r, 100)); // let the 10 ms sampler take a few samples
    const { types, samples } = await scrape('/metrics');
    for (const name of ['min', 'max', 'mean', 'p50', 'p90', 'p99']) {
      expect(types.get(`nodejs_eventloop_lag_${name}_seconds`), name).toBe('gauge');
      expect(value(samples, `nodejs_eventloop_lag_${name}_seconds`)).toBeGreaterThanOrEqual(0);
    }
    expect(value(samples, 'nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(value(samples, 'nodejs_eventloop_lag_p50_seconds'));
  });

  it("reports the store's group commit (warren_store_*): persistent messages confirmed through it are counted", async () => {
    const before = await scrape('/metrics');
    const conn = await amqp.connect(w.url);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('stats', { durable: true });
    for (let i = 0; i < 50; i++) ch.sendToQueue('stats', Buffer.from(`s${i}`), { persistent: true });
    await ch.waitForConfirms();
    const { types, samples } = await scrape('/metrics');
    const delta = (name: string): number => value(samples, name) - value(before.samples, name);
    for (const name of ['batches', 'messages_written', 'inserts_cancelled', 'batches_empty', 'holds', 'holds_expired', 'commit_seconds', 'writer_seconds']) {
      expect(types.get(`warren_store_${name}_total`), name).toBe('counter');
    }
    expect(delta('warren_store_messages_written_total')).toBe(50);
    // Confirmed messages went out in at least one batch, and no more batches than messages (plus the declare).
    expect(delta('warren_store_batches_total')).toBeGreaterThanOrEqual(1);
    expect(delta('warren_store_batches_total')).toBeLessThanOrEqual(51);
    expect(delta('warren_store_commit_seconds_total')).toBeGreaterThan(0);
    expect(value(samples, 'warren_store_writer_seconds_total')).toBeLessThanOrEqual(value(samples, 'warren_store_commit_seconds_total'));
    await ch.purgeQueue('stats');
    await conn.close();
  });
});
