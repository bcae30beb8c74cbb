// Peek, redrive and move through the management API of an in-process broker: pages of ready
// and unacknowledged messages that leave the queue exactly as it was, redrive by x-death with
// its filters and dry run, move with a limit, the permission checks, and a durable backlog
// (bodies on disk, frozen entries) peeked and moved and still right after a restart.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { RESIDENT_LIMIT } from '../../src/queue/queue.js';
import { adminBroker, amqpUrl, until, type AdminTestBroker } from './helpers.js';

let t: AdminTestBroker | null = null;
const dirs: string[] = [];
afterEach(async () => {
  await t?.close();
  t = null;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

type Json = Record<string, unknown>;
type Page = { queue: string; vhost: string; state: string; total: number; offset: number; items: Json[] };

async function page(path: string): Promise<Page> {
  const r = await t!.api.get(path);
  expect(r.status, r.text).toBe(200);
  return r.json as Page;
}

async function queueInfo(name: string): Promise<Json> {
  return (await t!.api.get(`/queues/%2F/${name}`)).json as Json;
}

describe('GET /api/queues/{vhost}/{name}/messages', () => {
  it('pages through ready messages by position without taking them or marking them redelivered', async () => {
    t = await adminBroker();
    const c = await t.connect();
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('work');
    for (let i = 0; i < 5; i++) ch.sendToQueue('work', Buffer.from(`m${i}`), { headers: { n: i }, messageId: `id-${i}`, persistent: true });
    ch.sendToQueue('work', Buffer.from([0xff, 0x00, 0xfe]), { contentType: 'application/octet-stream' });
    await ch.waitForConfirms();

    const first = await page('/queues/%2F/work/messages?limit=2');
    expect(first).toMatchObject({ queue: 'work', vhost: '/', state: 'ready', total: 6, offset: 0 });
    expect(first.items).toHaveLength(2);
    expect(first.items[0]).toMatchObject({
      position: 0,
      payload: 'm0',
      payload_encoding: 'string',
      payload_bytes: 2,
      payload_truncated: false,
      properties: { message_id: 'id-0', delivery_mode: 2, headers: { n: 0 } },
      exchange: '',
      routing_key: 'work',
      redelivered: false,
      delivery_count: 0,
    });
    const rest = await page('/queues/%2F/work/messages?offset=4&limit=20');
    expect(rest.items.map((i) => i.position)).toEqual([4, 5]);
    expect(rest.items[1]).toMatchObject({ payload: Buffer.from([0xff, 0x00, 0xfe]).toString('base64'), payload_encoding: 'base64', payload_bytes: 3 });

    // Nothing changed: a consumer gets all six in order, none redelivered.
    const got: { body: string; redelivered: boolean }[] = [];
    await ch.consume('work', (m) => m && got.push({ body: m.content.toString('latin1'), redelivered: m.fields.redelivered }), { noAck: true });
    await until(() => got.length === 6, 'six deliveries');
    expect(got.slice(0, 5).map((g) => g.body)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(got.every((g) => !g.redelivered)).toBe(true);
  });

  it('truncates payloads to payload_bytes (never inside a UTF-8 character) and bounds its parameters', async () => {
    t = await adminBroker();
    const c = await t.connect();
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('q');
    ch.sendToQueue('q', Buffer.from('héllo wörld'));
    await ch.waitForConfirms();
    const p = await page('/queues/%2F/q/messages?payload_bytes=2');
    expect(p.items[0]).toMatchObject({ payload: 'h', payload_encoding: 'string', payload_bytes: 13, payload_truncated: true });
    expect((await t.api.get('/queues/%2F/q/messages?limit=501')).status).toBe(400);
    expect((await t.api.get('/queues/%2F/q/messages?limit=0')).status).toBe(400);
    expect((await t.api.get(`/queues/%2F/q/messages?payload_bytes=${1024 * 1024 + 1}`)).status).toBe(400);
    expect((await t.api.get('/queues/%2F/q/messages?state=gone')).status).toBe(400);
    expect((await t.api.get('/queues/%2F/nope/messages')).status).toBe(404);
    expect((await t.api.get('/queues/nope/q/messages')).status).toBe(404);
  });

  it('ends a page early once it shows 16 MiB of payloads (never before its first message)', async () => {
    t = await adminBroker();
    const c = await t.connect();
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('large');
    const mib = Buffer.alloc(1024 * 1024, 0x61);
    for (let i = 0; i < 20; i++) ch.sendToQueue('large', mib);
    await ch.waitForConfirms();
    const p = await page(`/queues/%2F/large/messages?limit=500&payload_bytes=${1024 * 1024}`);
    expect(p.total).toBe(20);
    expect(p.items).toHaveLength(16);
    expect((await page(`/queues/%2F/large/messages?offset=16&limit=500&payload_bytes=${1024 * 1024}`)).items).toHaveLength(4);
  });

  it('lists unacknowledged messages with consumer, channel, delivery tag and age, and leaves them unacknowledged', async () => {
    t = await adminBroker();
    const c = await t.connect();
    const ch = await c.createChannel();
    await ch.assertQueue('jobs');
    for (let i = 0; i < 4; i++) ch.sendToQueue('jobs', Buffer.from(`j${i}`));
    await ch.prefetch(3);
    const held: amqp.ConsumeMessage[] = [];
    await ch.consume('jobs', (m) => m && held.push(m), { consumerTag: 'worker-7' });
    await until(() => held.length === 3, 'three deliveries');
    const p = await page('/queues/%2F/jobs/messages?state=unacked');
    expect(p).toMatchObject({ state: 'unacked', total: 3, offset: 0 });
    const channels = (await t.api.get('/channels')).json as Json[];
    expect(p.items.map((i) => i.payload)).toEqual(['j0', 'j1', 'j2']);
    expect(p.items[1]).toMatchObject({
      position: 1,
      consumer_tag: 'worker-7',
      channel: channels[0]!['name'],
      connection: (channels[0]!['connection_details'] as Json)['name'],
      delivery_tag: 2,
      redelivered: false,
      delivered_at: expect.any(Number),
      age_ms: expect.any(Number),
    });
    expect((await page('/queues/%2F/jobs/messages?state=unacked&offset=2')).items.map((i) => i.payload)).toEqual(['j2']);
    expect((await page('/queues/%2F/jobs/messages')).items.map((i) => i.payload)).toEqual(['j3']);
    // Still unacknowledged, still acknowledgeable by their tags.
    expect(await queueInfo('jobs')).toMatchObject({ messages_unacknowledged: 3, messages_ready: 1 });
    for (const m of held) ch.ack(m);
    await until(async () => (await queueInfo('jobs'))['messages_unacknowledged'] === 1, 'acks (and the fourth delivered)');
  });

  it("may look at another connection's exclusive queue; move and redrive may not use one", async () => {
    t = await adminBroker();
    const c = await t.connect();
    const ch = await c.createConfirmChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.assertQueue('shared');
    ch.sendToQueue(queue, Buffer.from('reply'));
    await ch.waitForConfirms();
    const p = await page(`/queues/%2F/${encodeURIComponent(queue)}/messages`);
    expect(p.items.map((i) => i.payload)).toEqual(['reply']);
    expect((await t.api.post(`/queues/%2F/${encodeURIComponent(queue)}/move`, { to: 'shared' })).status).toBe(400);
    expect((await t.api.post('/queues/%2F/shared/move', { to: queue })).status).toBe(400);
    expect(p.total).toBe(1);
  });

  it('needs read permission on the queue', async () => {
    t = await adminBroker();
    expect((await t.api.put('/users/peeker', { password: 'pw', tags: 'management' })).status).toBe(201);
    expect((await t.api.put('/permissions/%2F/peeker', { configure: '.*', write: '.*', read: '^open' })).status).toBe(201);
    await t.api.put('/queues/%2F/secret', {});
    await t.api.put('/queues/%2F/open', {});
    const peeker = t.api.as('peeker', 'pw');
    expect((await peeker.get('/queues/%2F/open/messages')).status).toBe(200);
    const refused = await peeker.get('/queues/%2F/secret/messages');
    expect(refused.status).toBe(401);
    expect((refused.json as Json)['reason']).toBe("ACCESS_REFUSED - access to queue 'secret' in vhost '/' refused for user 'peeker'");
  });
});

/** work dead-letters into dlq (through the default exchange); returns a channel. */
async function deadLetterSetup(): Promise<amqp.ConfirmChannel> {
  const c = await t!.connect();
  const ch = await c.createConfirmChannel();
  await ch.assertQueue('dlq', { durable: true });
  await ch.assertQueue('work', { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' } });
  await ch.assertQueue('other', { durable: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq', 'x-message-ttl': 0 } });
  return ch;
}

async function rejectAll(ch: amqp.Channel, queue: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const m = await ch.get(queue);
    if (m === false) throw new Error(`queue ${queue} ran dry`);
    ch.nack(m, false, false);
  }
}

describe('POST /api/queues/{vhost}/{name}/redrive', () => {
  it('moves dead letters back to the queue of their x-death, keeps x-death, filters by reason and count, and dry-runs', async () => {
    t = await adminBroker();
    const ch = await deadLetterSetup();
    for (let i = 0; i < 3; i++) ch.sendToQueue('work', Buffer.from(`w${i}`), { persistent: true });
    for (let i = 0; i < 2; i++) ch.sendToQueue('other', Buffer.from(`o${i}`), { persistent: true }); // expire at once
    ch.sendToQueue('dlq', Buffer.from('never died'));
    await ch.waitForConfirms();
    await rejectAll(ch, 'work', 3);
    await until(async () => (await queueInfo('dlq'))['messages'] === 6, 'six in the DLQ');

    const dry = await t.api.post('/queues/%2F/dlq/redrive', { dry_run: true });
    expect(dry.json).toEqual({ moved: 5, skipped: 1, dry_run: true, by_target: { work: 3, other: 2 }, skipped_reasons: { no_x_death: 1 } });
    expect((await queueInfo('dlq'))['messages']).toBe(6);

    const rejected = await t.api.post('/queues/%2F/dlq/redrive', { reasons: ['rejected'] });
    expect(rejected.json).toEqual({ moved: 3, skipped: 3, dry_run: false, by_target: { work: 3 }, skipped_reasons: { no_x_death: 1, reason: 2 } });
    expect((await queueInfo('work'))['messages']).toBe(3);
    const back = await ch.get('work', { noAck: true });
    expect(back).not.toBe(false);
    if (back === false) return;
    expect(back.content.toString()).toBe('w0');
    expect(back.fields.redelivered).toBe(false);
    const death = (back.properties.headers!['x-death'] as unknown as Json[])[0]!;
    expect(death).toMatchObject({ queue: 'work', reason: 'rejected', count: 1 });

    // Reject the other two again: count 2 now; min_count picks those.
    await rejectAll(ch, 'work', 2);
    await until(async () => (await queueInfo('dlq'))['messages'] === 5, 'two more dead letters');
    const twice = await t.api.post('/queues/%2F/dlq/redrive', { min_count: 2, to: 'work' });
    expect(twice.json).toMatchObject({ moved: 2, by_target: { work: 2 }, skipped_reasons: { no_x_death: 1, count: 2 } });
    // The rest, limit 1, into a named queue.
    const one = await t.api.post('/queues/%2F/dlq/redrive', { to: 'work', limit: 1 });
    expect(one.json).toMatchObject({ moved: 1, by_target: { work: 1 } });
    expect((await queueInfo('dlq'))['messages']).toBe(2);
  });

  it('skips messages whose x-death queue is gone or not writable, and refuses a bad request', async () => {
    t = await adminBroker();
    const ch = await deadLetterSetup();
    ch.sendToQueue('work', Buffer.from('x'), { persistent: true });
    await ch.waitForConfirms();
    await rejectAll(ch, 'work', 1);
    await until(async () => (await queueInfo('dlq'))['messages'] === 1, 'one dead letter');
    await ch.deleteQueue('work');
    expect((await t.api.post('/queues/%2F/dlq/redrive', {})).json).toMatchObject({ moved: 0, skipped: 1, skipped_reasons: { target_missing: 1 } });
    expect((await t.api.post('/queues/%2F/dlq/redrive', { reasons: ['bored'] })).status).toBe(400);
    expect((await t.api.post('/queues/%2F/dlq/redrive', { min_count: 3, max_count: 2 })).status).toBe(400);
    expect((await t.api.post('/queues/%2F/dlq/redrive', { to: 'dlq' })).status).toBe(400);
    expect((await t.api.post('/queues/%2F/dlq/redrive', { to: 'missing' })).status).toBe(404);
    expect((await t.api.post('/queues/%2F/dlq/redrive', { surprise: 1 })).status).toBe(200); // unknown fields are dropped
  });
});

describe('POST /api/queues/{vhost}/{name}/move', () => {
  it('moves up to limit messages in order, as new messages of the target', async () => {
    t = await adminBroker();
    const c = await t.connect();
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('a');
    await ch.assertQueue('b');
    ch.sendToQueue('b', Buffer.from('b0'));
    for (let i = 0; i < 10; i++) ch.sendToQueue('a', Buffer.from(`a${i}`), { expiration: '600000' });
    await ch.waitForConfirms();
    // Redelivered in a: the move makes it a fresh message of b.
    const m = await ch.get('a');
    if (m !== false) ch.nack(m, false, true);
    const dry = await t.api.post('/queues/%2F/a/move', { to: 'b', dry_run: true, limit: 4 });
    expect(dry.json).toMatchObject({ moved: 4, dry_run: true });
    const r = await t.api.post('/queues/%2F/a/move', { to: 'b', limit: 4 });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ moved: 4, dry_run: false });
    expect(await queueInfo('a')).toMatchObject({ messages: 6 });
    const p = await page('/queues/%2F/b/messages');
    expect(p.items.map((i) => i.payload)).toEqual(['b0', 'a0', 'a1', 'a2', 'a3']);
    expect(p.items[1]).toMatchObject({ redelivered: false, properties: { expiration: '600000' } });
    const rest = await t.api.post('/queues/%2F/a/move', { to: 'b' });
    expect(rest.json).toMatchObject({ moved: 6 });
    expect(await queueInfo('b')).toMatchObject({ messages: 11 });
  });

  it("drops the source's x-delivery-count: the message starts over in the target", async () => {
    t = await adminBroker();
    const c = await t.connect();
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('qq', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await ch.assertQueue('plain', { durable: true });
    ch.sendToQueue('qq', Buffer.from('again'), { persistent: true, headers: { keep: 'me' } });
    await ch.waitForConfirms();
    for (let i = 0; i < 2; i++) {
      const m = await ch.get('qq');
      if (m !== false) ch.nack(m, false, true);
    }
    const before = await page('/queues/%2F/qq/messages');
    expect(before.items[0]).toMatchObject({ redelivered: true, delivery_count: 2, properties: { headers: { 'x-delivery-count': 2, keep: 'me' } } });
    expect((await t.api.post('/queues/%2F/qq/move', { to: 'plain' })).json).toMatchObject({ moved: 1 });
    const m = await ch.get('plain', { noAck: true });
    expect(m).not.toBe(false);
    if (m === false) return;
    expect(m.fields.redelivered).toBe(false);
    expect(m.properties.headers).toEqual({ keep: 'me' });
  });

  it('needs read on the source and write on the target', async () => {
    t = await adminBroker();
    await t.api.put('/users/mover', { password: 'pw', tags: 'management' });
    await t.api.put('/permissions/%2F/mover', { configure: '', write: '^to-', read: '^from-' });
    for (const q of ['from-a', 'to-b', 'other']) await t.api.put(`/queues/%2F/${q}`, {});
    const mover = t.api.as('mover', 'pw');
    expect((await mover.post('/queues/%2F/from-a/move', { to: 'to-b' })).status).toBe(200);
    const noWrite = await mover.post('/queues/%2F/from-a/move', { to: 'other' });
    expect(noWrite.status).toBe(401);
    expect((noWrite.json as Json)['reason']).toBe("ACCESS_REFUSED - access to queue 'other' in vhost '/' refused for user 'mover'");
    const noRead = await mover.post('/queues/%2F/other/move', { to: 'to-b' });
    expect((noRead.json as Json)['reason']).toBe("ACCESS_REFUSED - access to queue 'other' in vhost '/' refused for user 'mover'");
    expect((await t.api.post('/queues/%2F/from-a/move', {})).status).toBe(400);
  });

  it('refuses to peek into, move out of or move into a stream, with the reason', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warren-peek-'));
    dirs.push(dataDir);
    t = await adminBroker({ dataDir });
    const c = await t.connect();
    const ch = await c.createChannel();
    await ch.assertQueue('events', { durable: true, arguments: { 'x-queue-type': 'stream' } });
    await ch.assertQueue('copy', { durable: true });
    const why = "queue 'events' in vhost '/' is a stream: its messages stay for every consumer; read them with a consumer at an x-stream-offset";
    for (const r of [await t.api.get('/queues/%2F/events/messages'), await t.api.post('/queues/%2F/events/move', { to: 'copy' }), await t.api.post('/queues/%2F/events/redrive', {})]) {
      expect(r.status).toBe(400);
      expect((r.json as Json)['reason']).toBe(why);
    }
    const into = await t.api.post('/queues/%2F/copy/move', { to: 'events' });
    expect(into.status).toBe(400);
    expect((into.json as Json)['reason']).toBe("queue 'events' in vhost '/' is a stream: a move into it cannot be confirmed in one transaction with the source; publish to it instead");
  });

  it('a durable backlog past the resident limit: peeked from disk, moved in place, right after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warren-peek-'));
    dirs.push(dataDir);
    const total = RESIDENT_LIMIT + 3000;
    t = await adminBroker({ dataDir });
    let c = await t.connect();
    let ch = await c.createConfirmChannel();
    await ch.assertQueue('big', { durable: true });
    await ch.assertQueue('dst', { durable: true });
    for (let i = 0; i < total; i++) ch.sendToQueue('big', Buffer.from(`n${i}`), { persistent: true });
    await ch.waitForConfirms();
    const deep = await page(`/queues/%2F/big/messages?offset=${total - 2}`);
    expect(deep.items.map((i) => i.payload)).toEqual([`n${total - 2}`, `n${total - 1}`]);
    const moved = await t.api.post('/queues/%2F/big/move', { to: 'dst', limit: total - 10 });
    expect(moved.json).toMatchObject({ moved: total - 10 });
    expect((await page('/queues/%2F/big/messages?limit=500')).items.map((i) => i.payload)).toEqual(Array.from({ length: 10 }, (_, i) => `n${total - 10 + i}`));
    await t.close();

    t = await adminBroker({ dataDir });
    expect(await queueInfo('big')).toMatchObject({ messages: 10 });
    expect(await queueInfo('dst')).toMatchObject({ messages: total - 10 });
    c = await t.connect(amqpUrl(t.running, 'guest', 'guest'));
    ch = await c.createConfirmChannel();
    const bodies: string[] = [];
    await ch.consume('dst', (m) => m && bodies.push(m.content.toString()), { noAck: true });
    await until(() => bodies.length === total - 10, 'the moved backlog', 20_000);
    expect(bodies).toEqual(Array.from({ length: total - 10 }, (_, i) => `n${i}`));
  }, 60_000);
});
