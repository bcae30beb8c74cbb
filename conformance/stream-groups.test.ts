// warren's own stream features through amqplib (pika and Go in stream-groups.clients.test.ts):
// super streams (x-super-stream + x-partitions, keyed routing, growing), named readers
// (x-stream-reader: start, resume, the committed offset never ahead of an unacked delivery,
// one consumer at a time, the HTTP API and reset, survival of kill -9 mid-stream) and consumer
// groups (x-consumer-group: even spread, one active consumer per partition, basic.cancel to an
// owner that loses a partition, a killed member's partitions taken over from the committed
// offset). RabbitMQ 3.10 has none of this over AMQP 0-9-1 (super streams and single active
// consumer are stream-protocol features there), so these tests always run against warren.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failure, sleep, uid, waitFor } from './harness.js';
import { runWarren, startWarren, type WarrenProcess } from './warren-process.js';

const dirs: string[] = [];
const procs: WarrenProcess[] = [];
const conns: ChannelModel[] = [];

afterAll(async () => {
  // A connection to a broker killed by a test never hears close-ok: do not wait for it.
  await Promise.all(conns.map((c) => Promise.race([c.close().catch(() => {}), sleep(500)])));
  for (const p of procs) await p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(dir?: string): Promise<WarrenProcess & { dir: string }> {
  const d = dir ?? mkdtempSync(join(tmpdir(), 'warren-groups-'));
  if (dir === undefined) dirs.push(d);
  const p = await startWarren(d);
  procs.push(p);
  return Object.assign(p, { dir: d });
}

async function connect(url: string): Promise<ChannelModel> {
  const c = await amqp.connect(url, { noDelay: true });
  c.on('error', () => {});
  conns.push(c);
  return c;
}

async function channel(c: ChannelModel, prefetch = 10): Promise<Channel> {
  const ch = await c.createChannel();
  ch.on('error', () => {});
  await ch.prefetch(prefetch);
  return ch;
}

/** Drops a connection as a killed process would: the socket goes, no connection.close. */
function kill(c: ChannelModel): void {
  (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
}

async function api<T = unknown>(w: WarrenProcess, method: string, path: string, body?: unknown): Promise<{ status: number; json: T }> {
  const res = await fetch(`http://127.0.0.1:${w.httpPort}/api${path}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: (text === '' ? undefined : JSON.parse(text)) as T };
}

interface ReaderRow {
  name: string;
  committed_offset: number;
  lag: number;
  in_use: boolean;
}

const readersOf = async (w: WarrenProcess, stream: string): Promise<ReaderRow[]> => (await api<ReaderRow[]>(w, 'GET', `/stream-readers/%2F/${stream}`)).json;

async function declareStream(ch: Channel, name: string): Promise<void> {
  await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'stream' } });
}

/** Publishes bodies `from`..`to - 1` (as text) to a queue, confirmed. */
async function publishRange(ch: ConfirmChannel, queue: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
  await ch.waitForConfirms();
}

interface Keyed {
  key: string;
  seq: number;
}

/** Publishes `per` messages for each of `keys` keys through a super stream, interleaved, confirmed. */
async function publishKeyed(ch: ConfirmChannel, x: string, keys: number, from: number, to: number): Promise<void> {
  for (let seq = from; seq < to; seq++) {
    for (let k = 0; k < keys; k++) ch.publish(x, `key-${k}`, Buffer.from(JSON.stringify({ key: `key-${k}`, seq })));
  }
  await ch.waitForConfirms();
}

/**
 * Checks a processing log: every key's messages 0..per-1 were processed (none skipped), and
 * each one first after all of its predecessors (repeats, at-least-once, are allowed).
 */
function checkKeyOrder(log: readonly Keyed[], keys: number, per: number): { duplicates: number } {
  const next = new Map<string, number>();
  let duplicates = 0;
  for (const { key, seq } of log) {
    const n = next.get(key) ?? 0;
    if (seq < n) duplicates++;
    else if (seq === n) next.set(key, n + 1);
    else throw new Error(`key ${key}: message ${seq} processed before message ${n}`);
  }
  for (let k = 0; k < keys; k++) expect(next.get(`key-${k}`) ?? 0, `key-${k} processed up to`).toBe(per);
  return { duplicates };
}

// ---------------------------------------------------------------------------------------------

describe('super streams', () => {
  let w: WarrenProcess;
  beforeAll(async () => {
    w = await start();
  });

  it('an exchange declared with x-super-stream and x-partitions creates its partition streams', async () => {
    const c = await connect(w.url);
    const ch = await channel(c);
    const name = uid('orders');
    await ch.assertExchange(name, 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': 3 } });
    for (let i = 0; i < 3; i++) expect((await ch.checkQueue(`${name}-${i}`)).queue).toBe(`${name}-${i}`);
    const q = (await api<{ arguments: Record<string, unknown> }>(w, 'GET', `/queues/%2F/${name}-0`)).json;
    expect(q.arguments['x-queue-type']).toBe('stream');
    const f = await failure((await channel(c)).checkQueue(`${name}-3`));
    expect(f.code).toBe(404);
    // Declaring it again is fine and creates nothing more.
    await ch.assertExchange(name, 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': 3 } });
    expect((await api<{ partitions: string[] }[]>(w, 'GET', '/super-streams/%2F')).json.find((s) => (s as { name?: string }).name === name)?.partitions).toEqual([0, 1, 2].map((i) => `${name}-${i}`));
  });

  it('refuses a transient super stream, another exchange type and a bad x-partitions', async () => {
    const c = await connect(w.url);
    const name = uid('bad');
    const cases: [string, boolean, Record<string, unknown>, string][] = [
      ['direct', false, { 'x-super-stream': true, 'x-partitions': 2 }, `invalid arg 'x-super-stream' for exchange '${name}' in vhost '/': "a super stream exchange must be durable"`],
      ['topic', true, { 'x-super-stream': true, 'x-partitions': 2 }, `invalid arg 'x-super-stream' for exchange '${name}' in vhost '/': "a super stream exchange must be of type direct, not 'topic'"`],
      ['direct', true, { 'x-super-stream': true }, `invalid arg 'x-partitions' for exchange '${name}' in vhost '/': "x-partitions is required with x-super-stream"`],
      ['direct', true, { 'x-super-stream': true, 'x-partitions': 0 }, `invalid arg 'x-partitions' for exchange '${name}' in vhost '/': {value_too_small,0}`],
      ['direct', true, { 'x-super-stream': true, 'x-partitions': 5000 }, `invalid arg 'x-partitions' for exchange '${name}' in vhost '/': {max_value_exceeded,5000}`],
    ];
    for (const [type, durable, args, text] of cases) {
      const ch = await channel(c);
      const f = await failure(ch.assertExchange(name, type, { durable, arguments: args }));
      expect([f.code, f.replyText]).toEqual([406, `PRECONDITION_FAILED - ${text}`]);
    }
    const f = await failure((await channel(c)).checkExchange(name));
    expect(f.code).toBe(404);
  });

  it('routes every message of a key (routing key or x-partition-key header) to one partition, in order', async () => {
    const c = await connect(w.url);
    const ch = await c.createConfirmChannel();
    const name = uid('keyed');
    await ch.assertExchange(name, 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': 4 } });
    await publishKeyed(ch, name, 12, 0, 10);
    for (let i = 0; i < 5; i++) ch.publish(name, `rk-${i}`, Buffer.from(JSON.stringify({ key: 'header-key', seq: i })), { headers: { 'x-partition-key': 'header-key' } });
    await ch.waitForConfirms();
    const where = new Map<string, Set<string>>();
    const seqs = new Map<string, number[]>();
    let total = 0;
    for (let p = 0; p < 4; p++) {
      const stream = `${name}-${p}`;
      const cc = await channel(c, 1000);
      const n = (await api<{ messages: number }>(w, 'GET', `/queues/%2F/${stream}`)).json.messages;
      total += n;
      if (n === 0) continue;
      const got: Keyed[] = [];
      await cc.consume(stream, (m) => {
        if (m === null) return;
        got.push(JSON.parse(m.content.toString()) as Keyed);
        cc.ack(m);
      }, { arguments: { 'x-stream-offset': 'first' } });
      await waitFor(() => got.length >= n || undefined, `partition ${p}`);
      for (const k of got) {
        (where.get(k.key) ?? where.set(k.key, new Set()).get(k.key)!).add(stream);
        (seqs.get(k.key) ?? seqs.set(k.key, []).get(k.key)!).push(k.seq);
      }
    }
    expect(total).toBe(12 * 10 + 5);
    for (const [key, s] of where) expect(s.size, `${key} in one partition`).toBe(1);
    for (const [key, list] of seqs) expect(list, key).toEqual([...list].sort((a, b) => a - b));
    // Keys spread over the partitions.
    expect(new Set([...where.values()].map((s) => [...s][0])).size).toBeGreaterThan(1);
    expect(seqs.get('header-key')).toEqual([0, 1, 2, 3, 4]);
  });

  it('grows through the HTTP API: new partitions are streams, keys move only to them', async () => {
    const c = await connect(w.url);
    const ch = await c.createConfirmChannel();
    const name = uid('grow');
    await ch.assertExchange(name, 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': 2 } });
    const grown = await api<{ partitions: number }>(w, 'POST', `/super-streams/%2F/${name}/partitions`, { partitions: 3 });
    expect(grown).toEqual({ status: 200, json: { vhost: '/', name, partitions: 3 } });
    expect((await ch.checkQueue(`${name}-2`)).messageCount).toBe(0);
    expect((await api(w, 'POST', `/super-streams/%2F/${name}/partitions`, { partitions: 0 })).status).toBe(400);
    expect((await api(w, 'POST', `/super-streams/%2F/nope/partitions`, { partitions: 4 })).status).toBe(404);
  });

  it('warren add-super-stream, add-partitions and super-streams', async () => {
    const name = uid('cli');
    const url = ['--url', `http://127.0.0.1:${w.httpPort}`];
    const add = await runWarren(['add-super-stream', name, '--partitions', '2', ...url]);
    expect([add.code, add.stdout]).toEqual([0, `declared super stream '${name}' with 2 partitions in vhost '/'\n`]);
    const grow = await runWarren(['add-partitions', name, '--partitions', '3', ...url]);
    expect([grow.code, grow.stdout]).toEqual([0, `super stream '${name}' has 3 partitions\n`]);
    const list = JSON.parse((await runWarren(['super-streams', '--json', ...url])).stdout) as { name: string; partitions: string[] }[];
    expect(list.find((s) => s.name === name)?.partitions).toEqual([0, 1, 2].map((i) => `${name}-${i}`));
    const missing = await runWarren(['add-partitions', 'nope', '--partitions', '3', ...url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no super stream 'nope' in vhost '/'");
  });
});

// ---------------------------------------------------------------------------------------------

describe('named readers', () => {
  let w: WarrenProcess;
  beforeAll(async () => {
    w = await start();
  });

  /** Consumes as reader `reader` until `n` deliveries arrived; acks those `ack` says. */
  async function readAs(c: ChannelModel, stream: string, reader: string, n: number, ack: (offset: number, i: number) => boolean = () => true, extra: Record<string, unknown> = {}): Promise<{ offsets: number[]; ch: Channel; tag: string }> {
    const ch = await channel(c, 1000);
    const offsets: number[] = [];
    const { consumerTag } = await ch.consume(stream, (m) => {
      if (m === null) return;
      const off = Number(m.properties.headers!['x-stream-offset']);
      offsets.push(off);
      if (ack(off, offsets.length - 1)) ch.ack(m);
    }, { arguments: { 'x-stream-reader': reader, ...extra } });
    await waitFor(() => offsets.length >= n || undefined, `${n} deliveries to reader ${reader}`);
    return { offsets, ch, tag: consumerTag };
  }

  it('a new reader starts at next (or at its x-stream-offset); a returning one resumes after its committed offset', async () => {
    const c = await connect(w.url);
    const pub = await c.createConfirmChannel();
    const s = uid('s');
    await declareStream(pub, s);
    await publishRange(pub, s, 0, 5);
    // New, no offset: next. Nothing before it arrives.
    const a = await (async () => {
      const ch = await channel(c);
      const got: number[] = [];
      await ch.consume(s, (m) => {
        if (m) {
          got.push(Number(m.content.toString()));
          ch.ack(m);
        }
      }, { arguments: { 'x-stream-reader': 'fresh' } });
      await sleep(200);
      expect(got).toEqual([]);
      await publishRange(pub, s, 5, 8);
      await waitFor(() => got.length >= 3 || undefined, 'next');
      expect(got).toEqual([5, 6, 7]);
      return ch;
    })();
    await a.close();
    // New, with an offset.
    const b = await readAs(c, s, 'from-first', 8, () => true, { 'x-stream-offset': 'first' });
    expect(b.offsets).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await b.ch.close();
    await publishRange(pub, s, 8, 10);
    // Returning, no offset: resumes after what it acked.
    const again = await readAs(c, s, 'from-first', 2);
    expect(again.offsets).toEqual([8, 9]);
    await sleep(100);
    expect(again.offsets).toEqual([8, 9]);
    await again.ch.close();
    const rows = await readersOf(w, s);
    expect(rows.map((r) => [r.name, r.committed_offset, r.lag, r.in_use])).toEqual([
      ['fresh', 8, 2, false],
      ['from-first', 10, 0, false],
    ]);
  });

  it('the committed offset never passes an unacked delivery', async () => {
    const c = await connect(w.url);
    const pub = await c.createConfirmChannel();
    const s = uid('s');
    await declareStream(pub, s);
    await publishRange(pub, s, 0, 10);
    // Acks all but offsets 3 and 4.
    const first = await readAs(c, s, 'r', 10, (off) => off !== 3 && off !== 4, { 'x-stream-offset': 'first' });
    await waitFor(async () => ((await readersOf(w, s))[0]?.committed_offset === 3 ? true : undefined), 'committed 3');
    await first.ch.close();
    const rows = await readersOf(w, s);
    expect(rows[0]).toMatchObject({ name: 'r', committed_offset: 3, lag: 7, in_use: false });
    // Everything from the first unacked delivery comes again.
    const second = await readAs(c, s, 'r', 7);
    expect(second.offsets).toEqual([3, 4, 5, 6, 7, 8, 9]);
    await second.ch.close();
  });

  it('one consumer at a time per reader: a second is refused with 405', async () => {
    const c = await connect(w.url);
    const pub = await c.createConfirmChannel();
    const s = uid('s');
    await declareStream(pub, s);
    const ch = await channel(c);
    await ch.consume(s, () => {}, { arguments: { 'x-stream-reader': 'solo' } });
    const other = await channel(c);
    const f = await failure(other.consume(s, () => {}, { arguments: { 'x-stream-reader': 'solo' } }));
    expect([f.code, f.replyText]).toEqual([405, `RESOURCE_LOCKED - stream reader 'solo' of queue '${s}' in vhost '/' is in use by another consumer`]);
    const bad = await channel(c);
    const g = await failure(bad.consume(s, () => {}, { arguments: { 'x-stream-reader': 5 } }));
    expect([g.code, g.replyText]).toEqual([406, `PRECONDITION_FAILED - invalid arg 'x-stream-reader' for queue '${s}' in vhost '/': expected a string of 1 to 255 bytes`]);
  });

  it('an operator resets a reader to first, last, an offset or a timestamp (409 while it is in use) and deletes it', async () => {
    const c = await connect(w.url);
    const pub = await c.createConfirmChannel();
    const s = uid('s');
    await declareStream(pub, s);
    await publishRange(pub, s, 0, 5);
    await sleep(1100);
    const mid = Date.now();
    await publishRange(pub, s, 5, 10);
    const held = await readAs(c, s, 'ops', 10, () => true, { 'x-stream-offset': 'first' });
    const busy = await api<{ reason: string }>(w, 'PUT', `/stream-readers/%2F/${s}/ops`, { offset: 'first' });
    expect(busy.status).toBe(409);
    expect(busy.json.reason).toBe(`stream reader 'ops' of queue '${s}' in vhost '/' is in use by a consumer; cancel it first`);
    await held.ch.close();
    const put = async (body: unknown) => (await api<ReaderRow>(w, 'PUT', `/stream-readers/%2F/${s}/ops`, body)).json.committed_offset;
    expect(await put({ offset: 'first' })).toBe(0);
    expect(await put({ offset: 'next' })).toBe(10);
    expect(await put({ offset: 'last' })).toBe(9);
    expect(await put({ offset: 7 })).toBe(7);
    expect(await put({ timestamp: mid })).toBe(5);
    expect((await api(w, 'PUT', `/stream-readers/%2F/${s}/ops`, { offset: 'sideways' })).status).toBe(400);
    const resumed = await readAs(c, s, 'ops', 5);
    expect(resumed.offsets).toEqual([5, 6, 7, 8, 9]);
    await resumed.ch.close();
    // A reader that does not exist yet can be placed before its first consumer comes.
    expect(await (async () => (await api<ReaderRow>(w, 'PUT', `/stream-readers/%2F/${s}/later`, { offset: 2 })).json.committed_offset)()).toBe(2);
    expect((await api(w, 'DELETE', `/stream-readers/%2F/${s}/ops`)).status).toBe(204);
    expect((await readersOf(w, s)).map((r) => r.name)).toEqual(['later']);
    expect((await api(w, 'GET', `/stream-readers/%2F/nope`)).status).toBe(404);
  });

  it('warren readers STREAM lists them; warren reset-reader moves one', async () => {
    const c = await connect(w.url);
    const pub = await c.createConfirmChannel();
    const s = uid('s');
    await declareStream(pub, s);
    await publishRange(pub, s, 0, 6);
    const r = await readAs(c, s, 'cli', 6, (off) => off < 4, { 'x-stream-offset': 'first' });
    await waitFor(async () => ((await readersOf(w, s))[0]?.committed_offset === 4 ? true : undefined), 'committed');
    const url = ['--url', `http://127.0.0.1:${w.httpPort}`];
    const list = await runWarren(['readers', s, ...url]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^name\s+committed_offset\s+lag\s+in_use\s+committed_at$/);
    expect(lines[1]).toMatch(/^cli\s+4\s+2\s+true\s+\d{4}-/);
    const busy = await runWarren(['reset-reader', s, 'cli', '--offset', 'first', ...url]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('is in use by a consumer; cancel it first');
    await r.ch.close();
    const reset = await runWarren(['reset-reader', s, 'cli', '--offset', 'first', ...url]);
    expect([reset.code, reset.stdout]).toEqual([0, `reader 'cli' of stream '${s}' now resumes at offset 0\n`]);
    const json = JSON.parse((await runWarren(['readers', s, '--json', ...url])).stdout) as ReaderRow[];
    expect(json.map((x) => [x.name, x.committed_offset, x.lag, x.in_use])).toEqual([['cli', 0, 6, false]]);
  });

  it('/metrics shows each reader\'s committed offset and lag', async () => {
    const c = await connect(w.url);
    const pub = await c.createConfirmChannel();
    const s = uid('s');
    await declareStream(pub, s);
    await publishRange(pub, s, 0, 4);
    const r = await readAs(c, s, 'm', 4, (off) => off < 3, { 'x-stream-offset': 'first' });
    await waitFor(async () => ((await readersOf(w, s))[0]?.committed_offset === 3 ? true : undefined), 'committed');
    const text = await (await fetch(`http://127.0.0.1:${w.httpPort}/metrics`)).text();
    expect(text).toContain(`warren_stream_reader_committed_offset{vhost="/",stream="${s}",reader="m"} 3`);
    expect(text).toContain(`warren_stream_reader_lag{vhost="/",stream="${s}",reader="m"} 1`);
    await r.ch.close();
  });
});

// ---------------------------------------------------------------------------------------------

describe('named readers survive kill -9 of the broker mid-stream', () => {
  it('no acked message comes back, no message is skipped, order holds', async () => {
    let w = await start();
    const dir = (w as WarrenProcess & { dir: string }).dir;
    let c = await connect(w.url);
    const pub = await c.createConfirmChannel();
    const s = uid('s');
    await declareStream(pub, s);
    const total = 3000;
    await publishRange(pub, s, 0, total);
    const processed: number[] = [];
    const sessions: number[][] = [];
    // First session: acks each message after processing; the broker is killed partway.
    let ch = await channel(c, 50);
    let session: number[] = [];
    sessions.push(session);
    await ch.consume(s, (m) => {
      if (m === null) return;
      const n = Number(m.content.toString());
      processed.push(n);
      session.push(n);
      ch.ack(m);
    }, { arguments: { 'x-stream-reader': 'billing', 'x-stream-offset': 'first' } });
    await waitFor(() => processed.length >= 1200 || undefined, 'some processed');
    await w.kill('SIGKILL');
    w = await start(dir);
    const committed = (await readersOf(w, s))[0]!.committed_offset;
    // Never ahead of what was processed; not behind by more than what was in flight (prefetch) and unflushed.
    expect(committed).toBeLessThanOrEqual(Math.max(...processed) + 1);
    expect(committed).toBeGreaterThan(0);
    c = await connect(w.url);
    ch = await channel(c, 50);
    session = [];
    sessions.push(session);
    await ch.consume(s, (m) => {
      if (m === null) return;
      const n = Number(m.content.toString());
      processed.push(n);
      session.push(n);
      ch.ack(m);
    }, { arguments: { 'x-stream-reader': 'billing' } });
    await waitFor(() => (session.at(-1) === total - 1 ? true : undefined), 'the rest', 30_000);
    // Each session in order, the second starting where the committed offset said.
    for (const sess of sessions) expect(sess).toEqual(sess.map((_, i) => sess[0]! + i));
    expect(sessions[1]![0]).toBe(committed);
    expect(new Set(processed).size).toBe(total);
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------

interface Member {
  conn: ChannelModel;
  ch: Channel;
  tags: Map<string, string>;
  cancelled: string[];
  name: string;
}

/** A member of group `group`: one connection, one channel, a consumer on every partition. */
async function joinGroup(url: string, x: string, partitions: number, group: string, log: (Keyed & { member: string })[], name: string, extra: Record<string, unknown> = { 'x-stream-offset': 'first' }): Promise<Member> {
  const conn = await connect(url);
  const ch = await channel(conn, 20);
  const m: Member = { conn, ch, tags: new Map(), cancelled: [], name };
  const subscribe = async (stream: string): Promise<void> => {
    const { consumerTag } = await ch.consume(stream, (msg: ConsumeMessage | null) => {
      if (msg === null) {
        // basic.cancel: the partition went to another member. Stand by for it again.
        m.cancelled.push(stream);
        m.tags.delete(stream);
        void subscribe(stream).catch(() => {});
        return;
      }
      log.push({ ...(JSON.parse(msg.content.toString()) as Keyed), member: name });
      ch.ack(msg);
    }, { arguments: { 'x-consumer-group': group, ...extra } });
    m.tags.set(stream, consumerTag);
  };
  for (let p = 0; p < partitions; p++) await subscribe(`${x}-${p}`);
  return m;
}

interface GroupRow {
  super_stream: string;
  name: string;
  members: number;
  partitions: { partition: number; stream: string; consumer_tag: string; state: string }[];
}

async function groupOf(w: WarrenProcess, x: string, g: string): Promise<GroupRow | undefined> {
  return (await api<GroupRow[]>(w, 'GET', '/consumer-groups/%2F')).json.find((r) => r.super_stream === x && r.name === g);
}

describe('consumer groups', () => {
  let w: WarrenProcess;
  beforeAll(async () => {
    w = await start();
  });

  it('spreads 4 partitions over 3 members (2/1/1), one active consumer each; a killed member\'s partitions move, nothing skipped, per-key order kept', async () => {
    const x = uid('orders');
    const pubConn = await connect(w.url);
    const pub = await pubConn.createConfirmChannel();
    await pub.assertExchange(x, 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': 4 } });
    const log: (Keyed & { member: string })[] = [];
    const members = [];
    for (const name of ['a', 'b', 'c']) members.push(await joinGroup(w.url, x, 4, 'billing', log, name));
    await waitFor(async () => {
      const row = await groupOf(w, x, 'billing');
      return row?.members === 3 && row.partitions.length === 4 && row.partitions.every((p) => p.state === 'active') ? true : undefined;
    }, 'assignment');
    const row = (await groupOf(w, x, 'billing'))!;
    const perMember = new Map<string, number>();
    for (const p of row.partitions) {
      const owner = members.find((m) => [...m.tags.values()].includes(p.consumer_tag))!;
      perMember.set(owner.name, (perMember.get(owner.name) ?? 0) + 1);
    }
    expect([...perMember.values()].sort()).toEqual([1, 1, 2]);
    // Publish in rounds; kill member b partway.
    const keys = 20;
    const per = 60;
    await publishKeyed(pub, x, keys, 0, 20);
    await waitFor(() => (log.length >= keys * 20 ? true : undefined), 'first rounds');
    await publishKeyed(pub, x, keys, 20, 30);
    expect(log.some((e) => e.member === 'b'), 'b was processing').toBe(true);
    kill(members[1]!.conn);
    await publishKeyed(pub, x, keys, 30, per);
    await waitFor(() => {
      try {
        checkKeyOrder(log, keys, per);
        return true;
      } catch {
        return undefined;
      }
    }, 'every message processed', 30_000);
    checkKeyOrder(log, keys, per);
    const after = (await groupOf(w, x, 'billing'))!;
    expect(after.members).toBe(2);
    expect(after.partitions.filter((p) => p.state === 'active')).toHaveLength(4);
    // Nothing after the kill went to b.
    const killedAt = log.findIndex((e) => e.seq >= 30);
    expect(log.slice(killedAt).some((e) => e.member === 'b')).toBe(false);
  }, 60_000);

  it('a member joining takes partitions from the busiest: the old owner hears basic.cancel, the new one resumes at the committed offset', async () => {
    const x = uid('orders');
    const pubConn = await connect(w.url);
    const pub = await pubConn.createConfirmChannel();
    await pub.assertExchange(x, 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': 2 } });
    const log: (Keyed & { member: string })[] = [];
    const a = await joinGroup(w.url, x, 2, 'g', log, 'a');
    await publishKeyed(pub, x, 6, 0, 10);
    await waitFor(() => (log.length >= 60 ? true : undefined), 'a reads all');
    const b = await joinGroup(w.url, x, 2, 'g', log, 'b');
    await waitFor(() => (a.cancelled.length === 1 ? true : undefined), 'a cancelled once');
    expect(b.cancelled).toEqual([]);
    await publishKeyed(pub, x, 6, 10, 20);
    await waitFor(() => {
      try {
        checkKeyOrder(log, 6, 20);
        return true;
      } catch {
        return undefined;
      }
    }, 'all processed');
    const { duplicates } = checkKeyOrder(log, 6, 20);
    // a had acked everything before it handed over: b starts exactly where a stopped.
    expect(duplicates).toBe(0);
    expect(new Set(log.filter((e) => e.seq >= 10).map((e) => e.member))).toEqual(new Set(['a', 'b']));
    const row = (await groupOf(w, x, 'g'))!;
    expect(row.members).toBe(2);
    expect(new Set(row.partitions.map((p) => p.consumer_tag)).size).toBe(2);
    await a.conn.close();
    await b.conn.close();
  }, 30_000);

  it('the group\'s committed offsets are named readers of the partitions; a group restarts where it stopped after kill -9 of the broker', async () => {
    let w2 = await start();
    const dir = (w2 as WarrenProcess & { dir: string }).dir;
    const x = uid('orders');
    let pubConn = await connect(w2.url);
    let pub = await pubConn.createConfirmChannel();
    await pub.assertExchange(x, 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': 3 } });
    const log: (Keyed & { member: string })[] = [];
    await joinGroup(w2.url, x, 3, 'g', log, 'a');
    await joinGroup(w2.url, x, 3, 'g', log, 'b');
    const keys = 15;
    const per = 80;
    await publishKeyed(pub, x, keys, 0, 40);
    await waitFor(() => (log.length >= keys * 25 ? true : undefined), 'some processed');
    await w2.kill('SIGKILL');
    w2 = await start(dir);
    const readers = (await Promise.all([0, 1, 2].map((p) => readersOf(w2, `${x}-${p}`)))).flat();
    expect(readers.map((r) => r.name)).toEqual(['g', 'g', 'g']);
    pubConn = await connect(w2.url);
    pub = await pubConn.createConfirmChannel();
    // The same members come back (no x-stream-offset: the committed offsets decide).
    await joinGroup(w2.url, x, 3, 'g', log, 'a2', {});
    await joinGroup(w2.url, x, 3, 'g', log, 'b2', {});
    await publishKeyed(pub, x, keys, 40, per);
    await waitFor(() => {
      try {
        checkKeyOrder(log, keys, per);
        return true;
      } catch {
        return undefined;
      }
    }, 'every message processed', 30_000);
    checkKeyOrder(log, keys, per);
  }, 60_000);
});
