// Bounds on HTTP input and on users' regular expressions: an evil regex in a name filter or a
// permission pattern returns (the server and AMQP clients keep being served), and over-long
// URLs, big pages, long filters and oversized headers are refused with a reason.
import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { httpLimits } from '../../src/admin/server.js';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { MAX_PATTERN_LENGTH } from '../../src/util/linear-regex.js';
import { adminBroker, Api, amqpUrl, type AdminTestBroker } from './helpers.js';

const HTTP_LIMITS = httpLimits(DEFAULT_CONFIG);
let t: AdminTestBroker;
beforeEach(async () => {
  t = await adminBroker();
});
afterEach(async () => {
  await t.close();
});

type Json = Record<string, unknown>;
const EVIL = '(a+)+$';
const VICTIM = `${'a'.repeat(40)}!`;

describe('regular expressions from users', () => {
  it('a catastrophic name filter returns, and matches as RabbitMQ (caseless)', async () => {
    await t.api.put(`/queues/%2F/${VICTIM}`, {});
    await t.api.put('/queues/%2F/Alpha', {});
    const r = await t.api.get(`/queues?columns=name&use_regex=true&name=${encodeURIComponent(EVIL)}`);
    expect(r.status).toBe(200);
    expect(r.json).toEqual([{ name: 'Alpha' }]);
    expect((await t.api.get('/queues?columns=name&use_regex=true&name=%5Eal')).json).toEqual([{ name: 'Alpha' }]);
    expect((await t.api.get('/queues?columns=name&name=ALP')).json).toEqual([{ name: 'Alpha' }]);
  });

  it('refuses a filter the engine cannot run, or one longer than 1024, with 400', async () => {
    const backref = await t.api.get(`/queues?use_regex=true&name=${encodeURIComponent('(a)\\1')}`);
    expect(backref.status).toBe(400);
    expect((backref.json as Json)['reason']).toMatch(/^invalid regular expression in name: .*\\1/);
    const long = await t.api.get(`/queues?name=${'a'.repeat(MAX_PATTERN_LENGTH + 1)}`);
    expect(long.status).toBe(400);
  });

  it('a catastrophic permission pattern is checked on AMQP operations without stalling them', async () => {
    await t.api.put('/users/evil', { password: 'p', tags: '' });
    expect((await t.api.put('/permissions/%2F/evil', { configure: EVIL, write: EVIL, read: EVIL })).status).toBe(201);
    const c = await t.connect(amqpUrl(t.running, 'evil', 'p'));
    const ch = await c.createChannel();
    ch.on('error', () => undefined);
    const refused = await ch.assertQueue(VICTIM).then(
      () => 'declared',
      (e: Error) => e.message,
    );
    expect(refused).toMatch(/ACCESS_REFUSED - access to queue 'a+!' in vhost '\/' refused for user 'evil'/);
    const ch2 = await c.createChannel();
    expect((await ch2.assertQueue('aaaa')).queue).toBe('aaaa');
  });

  it('refuses permission patterns RE2 cannot run with 400 and the reason', async () => {
    await t.api.put('/users/u', { password: 'p', tags: '' });
    const r = await t.api.put('/permissions/%2F/u', { configure: '(?=x)', write: '.*', read: '.*' });
    expect(r.status).toBe(400);
    expect((r.json as Json)['reason']).toMatch(/^invalid regular expression for configure: "\(\?=x\)" \(.*Perl syntax/);
  });
});

/** The status of a GET sent byte for byte over a socket (the server may close it right after answering). */
function raw(path: string, headers: Record<string, string> = {}, base = t.running.httpUrl!): Promise<number> {
  const url = new URL(base);
  const lines = [`GET ${path} HTTP/1.1`, `host: ${url.host}`, `authorization: Basic ${Buffer.from('guest:guest').toString('base64')}`, 'connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return new Promise((resolve, reject) => {
    let text = '';
    const s = connect(Number(url.port), url.hostname, () => s.end(`${lines.join('\r\n')}\r\n\r\n`));
    s.on('data', (d: Buffer) => (text += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (m) resolve(Number(m[1]));
      else reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 100))}`));
    });
  });
}

describe('bounded HTTP input', () => {
  it('refuses a URL over 8000 bytes with 414 and headers over 16 KiB with 431', async () => {
    expect(await raw(`/api/queues?columns=${'a'.repeat(HTTP_LIMITS.urlBytes)}`)).toBe(414);
    expect(await raw('/api/overview', { 'x-pad': 'x'.repeat(HTTP_LIMITS.headerBytes) })).toBe(431);
    expect(await raw('/api/overview')).toBe(200);
  });

  it('refuses a page over 500, too many columns, and a long parameter', async () => {
    expect((await t.api.get('/queues?page=1&page_size=501')).status).toBe(400);
    expect((await t.api.get(`/queues?columns=${Array.from({ length: 65 }, (_, i) => `c${i}`).join(',')}`)).status).toBe(400);
    expect((await t.api.get(`/queues/%2F/${'q'.repeat(HTTP_LIMITS.paramBytes + 1)}`)).status).toBe(414);
    // A 255-character name percent-encoded in full still fits.
    const name = 'é'.repeat(127);
    expect((await t.api.put(`/queues/%2F/${encodeURIComponent(name)}`, {})).status).toBe(201);
    expect((await t.api.get(`/queues/%2F/${encodeURIComponent(name)}`)).status).toBe(200);
  });

  it('applies configured limits instead of the defaults', async () => {
    const small = await adminBroker({ httpMaxUrlLength: 1000, httpMaxHeaderSize: 4096, httpMaxParamLength: 800, httpMaxBodySize: 4096 });
    try {
      const api = new Api(small.running.httpUrl!);
      expect(await raw(`/api/queues?columns=${'a'.repeat(1000)}`, {}, small.running.httpUrl!)).toBe(414);
      expect(await raw(`/api/overview?pad=${'a'.repeat(900)}`, {}, small.running.httpUrl!)).toBe(200);
      expect(await raw('/api/overview', { 'x-pad': 'x'.repeat(4096) }, small.running.httpUrl!)).toBe(431);
      expect((await api.get(`/queues/%2F/${'q'.repeat(801)}`)).status).toBe(414);
      expect((await api.put(`/queues/%2F/${'q'.repeat(255)}`, {})).status).toBe(201);
      expect((await api.req('POST', '/definitions', undefined, { raw: JSON.stringify({ pad: 'x'.repeat(4096) }) })).status).toBe(413);
      expect((await api.get('/overview')).status).toBe(200);
    } finally {
      await small.close();
    }
  });

  it('closes HTTP sockets past the configured number at once', async () => {
    const small = await adminBroker({ httpMaxConnections: 2 });
    const url = new URL(small.running.httpUrl!);
    const held = await Promise.all([0, 1].map(() => new Promise<Socket>((resolve) => {
      const s = connect(Number(url.port), url.hostname, () => resolve(s));
      s.on('error', () => undefined);
    })));
    try {
      // the two held sockets are accepted; a third is closed without an answer
      await expect(raw('/api/overview', {}, small.running.httpUrl!)).rejects.toThrow('no HTTP answer');
      held[0]!.destroy(); // a place frees up once the server sees the close: retried until then
      let status = 0;
      for (let i = 0; i < 50 && status !== 200; i++) status = await raw('/api/overview', {}, small.running.httpUrl!).catch(() => 0);
      expect(status).toBe(200);
    } finally {
      for (const s of held) s.destroy();
      await small.close();
    }
  });
});
