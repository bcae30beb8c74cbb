// The web console's server side: its static files (public, strict CSP, ETag, bounded loading),
// 401s without a browser challenge for the console's own requests, the overview's samples
// (RabbitMQ's lengths_age / msg_rates_age) and the queue list's page-only path, which must
// answer exactly as the general path does.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_LIMITS, findConsoleDir, loadConsole } from '../../src/admin/console.js';
import { samplesOf } from '../../src/admin/samples.js';
import { HISTORY_SAMPLES, type GlobalSample } from '../../src/admin/stats.js';
import { adminBroker, type AdminTestBroker } from '../admin/helpers.js';

type Json = Record<string, unknown>;

let t: AdminTestBroker;
beforeAll(async () => {
  // A long interval: only the samples the tests take count.
  t = await adminBroker({ statsInterval: 3600 });
});
afterAll(async () => {
  await t.close();
});

const base = (): string => t.running.httpUrl!;

describe('static files', () => {
  it('serves the page at / without credentials, with a strict CSP and no framing', async () => {
    const res = await fetch(`${base()}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('/console/app.js');
  });

  it('serves the modules and stylesheet with their types, and 304 for a matching ETag', async () => {
    const js = await fetch(`${base()}/console/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const etag = js.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    expect((await fetch(`${base()}/console/app.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${base()}/console/style.css`)).headers.get('content-type')).toBe('text/css; charset=utf-8');
  });

  it('answers 404 for any other file, and does not let a path leave the folder', async () => {
    for (const p of ['/console/nope.js', '/console/..%2Fpackage.json', '/console/%2e%2e%2fsrc%2fmain.ts', '/console/', '/console/index.html/x']) {
      const res = await fetch(`${base()}${p}`);
      expect(res.status, p).toBe(404);
    }
  });

  it('the API still needs credentials; the console gets its 401 without a challenge', async () => {
    const plain = await fetch(`${base()}/api/overview`);
    expect(plain.status).toBe(401);
    expect(plain.headers.get('www-authenticate')).toBe('Basic realm="RabbitMQ Management"');
    const fromConsole = await fetch(`${base()}/api/overview`, { headers: { 'x-requested-with': 'XMLHttpRequest' } });
    expect(fromConsole.status).toBe(401);
    expect(fromConsole.headers.get('www-authenticate')).toBeNull();
    expect(((await fromConsole.json()) as Json)['reason']).toBe('Login failed');
  });

  it('loads only files named like the console files, within its limits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-console-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html>');
    writeFileSync(join(dir, 'app.js'), 'export {}');
    writeFileSync(join(dir, '.secret'), 'x');
    writeFileSync(join(dir, 'notes.txt'), 'x');
    expect([...loadConsole(dir).keys()]).toEqual(['app.js', 'index.html']);
    writeFileSync(join(dir, 'big.js'), Buffer.alloc(CONSOLE_LIMITS.fileBytes + 1));
    expect(() => loadConsole(dir)).toThrow(/limits/);
    expect(findConsoleDir()).not.toBeNull();
  });
});

describe('overview samples', () => {
  const h = (at: number, publish: number, messages: number): GlobalSample => ({ at, publish, deliver_get: 0, ack: 0, messages, messages_ready: messages, messages_unacknowledged: 0 });

  it('picks samples within the age, at least incr apart, newest first, with avg_rate / avg', () => {
    const history = [h(0, 0, 0), h(5000, 10, 4), h(10_000, 30, 8), h(15_000, 60, 12), h(20_000, 100, 16)];
    const counts = samplesOf(history, 'publish', 15, 5, 20_000, 'count');
    expect(counts.samples).toEqual([
      { sample: 100, timestamp: 20_000 },
      { sample: 60, timestamp: 15_000 },
      { sample: 30, timestamp: 10_000 },
      { sample: 10, timestamp: 5000 },
    ]);
    expect(counts.avg_rate).toBe(6); // (100 - 10) / 15 s
    const sparse = samplesOf(history, 'messages', 60, 10, 20_000, 'depth');
    expect(sparse.samples.map((s) => s.timestamp)).toEqual([20_000, 10_000, 0]);
    expect(sparse.avg).toBe(8);
    expect(samplesOf([], 'publish', 60, 5, 0, 'count')).toEqual({ samples: [], avg_rate: 0 });
  });

  it('are in /api/overview when asked for, from a bounded history', async () => {
    const stats = t.running.admin!.stats;
    const now = Date.now();
    for (let i = HISTORY_SAMPLES + 5; i >= 1; i--) stats.sample(now - i * 1000);
    expect(stats.history()).toHaveLength(HISTORY_SAMPLES);
    const plain = (await t.api.get('/overview')).json as { queue_totals: Json };
    expect(plain.queue_totals['messages_details']).toEqual({ rate: 0 });
    const o = (await t.api.get('/overview?lengths_age=60&lengths_incr=5&msg_rates_age=30&msg_rates_incr=10')).json as { queue_totals: Json; message_stats: Json };
    const depth = o.queue_totals['messages_details'] as { samples: { timestamp: number }[]; avg: number };
    expect(depth.samples.length).toBeGreaterThanOrEqual(11);
    expect(depth.samples.length).toBeLessThanOrEqual(13);
    expect(depth.samples[0]!.timestamp).toBeGreaterThan(depth.samples[1]!.timestamp);
    const pub = o.message_stats['publish_details'] as { samples: unknown[]; avg_rate: number };
    expect(pub.samples.length).toBeGreaterThanOrEqual(2);
    expect(pub.samples.length).toBeLessThanOrEqual(4);
    expect((await t.api.get('/overview?lengths_age=0')).status).toBe(400);
    expect((await t.api.get('/overview?msg_rates_age=999999')).status).toBe(400);
  });
});

describe('queue list pages', () => {
  it('gives, page by page, exactly what the general path gives, for every fast sort key', async () => {
    const c = await t.connect();
    const ch = await c.createChannel();
    for (let i = 0; i < 40; i++) {
      const name = `list-${String((i * 7) % 40).padStart(2, '0')}${i % 3 === 0 ? '-odd' : ''}`;
      await ch.assertQueue(name, { durable: i % 2 === 0, arguments: i % 10 === 0 ? { 'x-queue-type': 'quorum' } : {} });
      for (let m = 0; m < i % 6; m++) ch.sendToQueue(name, Buffer.from('x'.repeat(m + 1)));
    }
    await ch.assertQueue('');
    // Streams count their log as their depth: the fast path must read it the same way.
    await ch.assertQueue('list-stream', { durable: true, arguments: { 'x-queue-type': 'stream' } });
    for (let m = 0; m < 9; m++) ch.sendToQueue('list-stream', Buffer.from('s'));
    await t.api.put('/vhosts/other', {});
    await t.api.put('/queues/other/list-00', {});
    await ch.close();
    const stats = t.running.admin!.stats;
    stats.sample(Date.now());
    await t.api.get('/overview'); // settle the publishes
    stats.sample(Date.now() + 1000);
    const streamRow = ((await t.api.get('/queues/%2F/list-stream')).json as Json);
    expect(streamRow['type']).toBe('stream');
    expect(streamRow['messages']).toBe(9);
    const keys = ['', 'name', 'vhost', 'messages', 'messages_ready', 'consumers', 'durable', 'type', 'message_bytes_ready', 'message_stats.publish', 'message_stats.publish_details.rate', 'messages_details.rate'];
    for (const sort of keys) {
      for (const reverse of [false, true]) {
        for (const filter of ['', 'odd', '^list-[0-1]']) {
          const q = (page: number, extra = ''): string =>
            `/queues?page=${page}&page_size=7&sort=${encodeURIComponent(sort)}&sort_reverse=${reverse}&name=${encodeURIComponent(filter)}&use_regex=${filter.startsWith('^')}${extra}`;
          const first = (await t.api.get(q(1))).json as { page_count: number };
          for (let page = 1; page <= first.page_count; page++) {
            const fast = (await t.api.get(q(page))).json as { items: Json[] };
            // A columns list with an unknown sort key forces the general path; compare the same columns.
            const cols = '&columns=name,vhost,messages,durable,type';
            const fastCols = (await t.api.get(q(page, cols))).json;
            const general = await t.api.get(`/queues?sort=${encodeURIComponent(sort)}&sort_reverse=${reverse}&name=${encodeURIComponent(filter)}&use_regex=${filter.startsWith('^')}${cols}`);
            const all = general.json as Json[];
            expect((fastCols as { items: Json[] }).items, `${sort} ${reverse} ${filter} ${page}`).toEqual(all.slice((page - 1) * 7, page * 7));
            expect(fast.items.map((i) => i['name'])).toEqual(all.slice((page - 1) * 7, page * 7).map((i) => i['name']));
          }
        }
      }
    }
  });

  it('falls back to the general path for any other sort key', async () => {
    const a = (await t.api.get('/queues?page=1&page_size=5&sort=arguments.x-queue-type')).json as { items: Json[]; total_count: number };
    expect(a.items).toHaveLength(5);
    expect(a.total_count).toBeGreaterThan(40);
  });
});
