// warren migrate's parts without RabbitMQ: how properties are adapted, how RabbitMQ's
// definitions are narrowed, the state file, and moving a queue between two in-process warrens
// (one plays RabbitMQ) through the migration's own AMQP client, including a resume that finds
// the last window of confirmed messages already moved.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferReader } from '../../../src/codec/buffer-reader.js';
import { BufferWriter } from '../../../src/codec/buffer-writer.js';
import { F } from '../../../src/codec/field-table.js';
import { decodeBasicProperties, encodeBasicProperties, type BasicProperties } from '../../../src/codec/methods.generated.js';
import { AmqpPeer, parseAmqpUrl, type GotMessage } from '../../../src/cli/migrate/amqp-peer.js';
import { prepareDefinitions } from '../../../src/cli/migrate/definitions.js';
import { adaptProperties, fingerprint, moveQueue } from '../../../src/cli/migrate/move-queue.js';
import { Leftovers, MigrationState } from '../../../src/cli/migrate/state.js';
import { startBroker, type RunningBroker } from '../../../src/index.js';

function props(p: BasicProperties): Buffer {
  const w = new BufferWriter();
  encodeBasicProperties(w, p);
  return w.toBuffer();
}

describe('adaptProperties', () => {
  const now = Date.UTC(2026, 11, 4, 10, 0, 0);

  it('leaves properties without expiration or user_id byte for byte', () => {
    const p = props({ contentType: 'a/b', headers: new Map([['n', { type: 'b', value: -3 }], ['d', { type: 'D', value: { scale: 2, value: 12345 } }]]), priority: 4, timestamp: 5 });
    const a = adaptProperties(p, now, 'guest');
    expect(a.properties).toBe(p);
    expect(a.ttl).toBe('none');
  });

  it("shortens an expiration by the message's age, never below 0, keeping every other field's type", () => {
    const headers = new Map([['n', { type: 'b' as const, value: -3 }], ['t', F.timestamp(7)]]);
    const a = adaptProperties(props({ expiration: '60000', timestamp: now / 1000 - 20, headers, messageId: 'm' }), now, 'guest');
    expect(a.ttl).toBe('adjusted');
    const back = decodeBasicProperties(new BufferReader(a.properties));
    // Published no later than the end of its timestamp's second: 19 s old at least.
    expect(back.expiration).toBe('41000');
    expect(back.headers).toEqual(headers);
    expect(back.messageId).toBe('m');
    const old = adaptProperties(props({ expiration: '1000', timestamp: now / 1000 - 3600 }), now, 'guest');
    expect(decodeBasicProperties(new BufferReader(old.properties)).expiration).toBe('0');
  });

  it('restarts an expiration without a timestamp (the age is unknown)', () => {
    const p = props({ expiration: '5000' });
    const a = adaptProperties(p, now, 'guest');
    expect(a.ttl).toBe('restarted');
    expect(decodeBasicProperties(new BufferReader(a.properties)).expiration).toBe('5000');
  });

  it("drops a user_id that is not the migrating user's, keeps one that is", () => {
    const other = adaptProperties(props({ userId: 'app', appId: 'x' }), now, 'guest');
    expect(other.userIdRemoved).toBe(true);
    expect(decodeBasicProperties(new BufferReader(other.properties))).toEqual({ appId: 'x' });
    const own = adaptProperties(props({ userId: 'guest' }), now, 'guest');
    expect(own.userIdRemoved).toBe(false);
    expect(decodeBasicProperties(new BufferReader(own.properties))).toEqual({ userId: 'guest' });
  });
});

describe('prepareDefinitions', () => {
  const exchangeTypes = new Set(['direct', 'fanout', 'topic', 'headers']);
  const doc = {
    rabbit_version: '3.10.8',
    users: [
      { name: 'guest', password_hash: 'x', hashing_algorithm: 'rabbit_password_hashing_sha256', tags: ['administrator'] },
      { name: 'app', password_hash: 'y', hashing_algorithm: 'rabbit_password_hashing_sha512', tags: [] },
    ],
    vhosts: [{ name: '/' }, { name: 'shop' }],
    permissions: [{ user: 'app', vhost: 'shop', configure: '.*', write: '.*', read: '.*' }, { user: 'app', vhost: '/', configure: '', write: '', read: '' }],
    policies: [{ vhost: 'shop', name: 'p', pattern: '.*', 'apply-to': 'queues', definition: { 'max-length': 10 }, priority: 0 }],
    queues: [
      { name: 'q', vhost: 'shop', durable: true, auto_delete: false, arguments: {} },
      { name: 's', vhost: 'shop', durable: true, auto_delete: false, arguments: { 'x-queue-type': 'stream' } },
      { name: 'other', vhost: '/', durable: true, auto_delete: false, arguments: {} },
    ],
    exchanges: [
      { name: 'x', vhost: 'shop', type: 'topic', durable: true, auto_delete: false, internal: false, arguments: {} },
      { name: 'h', vhost: 'shop', type: 'x-modulus-hash', durable: true, auto_delete: false, internal: false, arguments: {} },
    ],
    bindings: [
      { source: 'x', vhost: 'shop', destination: 'q', destination_type: 'queue', routing_key: 'k', arguments: {} },
      { source: 'x', vhost: 'shop', destination: 's', destination_type: 'queue', routing_key: 'k', arguments: {} },
      { source: 'h', vhost: 'shop', destination: 'q', destination_type: 'queue', routing_key: '', arguments: {} },
    ],
  };

  it('keeps what warren can hold, names what it leaves out, and passes policies through', () => {
    const p = prepareDefinitions(doc, { vhosts: ['shop'], exchangeTypes, warrenUser: 'guest' });
    expect(p.doc['users']).toEqual([doc.users[1]]);
    expect(p.doc['vhosts']).toEqual([{ name: 'shop' }]);
    expect(p.doc['permissions']).toEqual([doc.permissions[0]]);
    expect(p.doc['policies']).toEqual(doc.policies);
    expect(p.doc['rabbit_version']).toBe('3.10.8');
    expect(p.queues).toEqual([{ vhost: 'shop', name: 'q', arguments: {} }]);
    expect((p.doc['queues'] as { name: string }[]).map((q) => q.name)).toEqual(['q', 's']);
    expect((p.doc['exchanges'] as unknown[]).length).toBe(1);
    expect(p.doc['bindings']).toEqual([doc.bindings[0], doc.bindings[1]]);
    expect(p.skipped.map((s) => `${s.kind} ${s.name}`)).toEqual(['user guest', 'messages of stream s', 'exchange h', 'binding h -> q ()']);
  });

  it('takes every vhost by default and refuses a vhost RabbitMQ does not have', () => {
    expect(prepareDefinitions(doc, { vhosts: [], exchangeTypes, warrenUser: 'nobody' }).queues.map((q) => q.name)).toEqual(['q', 'other']);
    expect(() => prepareDefinitions(doc, { vhosts: ['nope'], exchangeTypes, warrenUser: 'guest' })).toThrow("RabbitMQ has no vhost 'nope'");
  });

  it('refuses a document that is not an object, a list that is not a list, or too many objects', () => {
    expect(() => prepareDefinitions([], { vhosts: [], exchangeTypes, warrenUser: 'g' })).toThrow('not a JSON object');
    expect(() => prepareDefinitions({ queues: {} }, { vhosts: [], exchangeTypes, warrenUser: 'g' })).toThrow('"queues" is not a list');
    expect(() => prepareDefinitions({ queues: new Array(1_000_001).fill({}) }, { vhosts: [], exchangeTypes, warrenUser: 'g' })).toThrow('more than the 1000000');
  });
});

describe('the state file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'warren-migrate-state-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes pending fingerprints at once and reads them back in a new run', () => {
    const path = join(dir, 's.json');
    const s = new MigrationState(path, 'http://r:15672');
    s.addPending({ vhost: '/', queue: 'q' }, ['a', 'b', 'a']);
    const again = new MigrationState(path, 'http://r:15672');
    expect(again.pendingCount).toBe(3);
    const left = again.takePending({ vhost: '/', queue: 'q' });
    expect([left.take('a'), left.take('a'), left.take('a'), left.take('b')]).toEqual([true, true, false, true]);
    s.dropPending({ vhost: '/', queue: 'q' }, ['a', 'b']);
    s.flush();
    expect(new MigrationState(path, 'http://r:15672').pendingCount).toBe(1);
    s.finishQueue({ vhost: '/', queue: 'q' });
    s.flush();
    s.remove();
    expect(() => readFileSync(path)).toThrow();
  });

  it("refuses another migration's file, or a file that is not one", () => {
    const path = join(dir, 'other.json');
    new MigrationState(path, 'http://a:15672').addPending({ vhost: '/', queue: 'q' }, ['x']);
    expect(() => new MigrationState(path, 'http://b:15672')).toThrow('belongs to a migration from http://a:15672');
    writeFileSync(path, 'nope');
    expect(() => new MigrationState(path, 'http://a:15672')).toThrow('is not JSON');
  });

  it('Leftovers count duplicates and clear', () => {
    const l = new Leftovers(['x', 'x']);
    expect(l.size).toBe(2);
    l.clear();
    expect(l.take('x')).toBe(false);
  });
});

describe('moving a queue between two warrens through the migration client', () => {
  let source: RunningBroker;
  let target: RunningBroker;
  beforeAll(async () => {
    [source, target] = await Promise.all([startBroker(), startBroker()]);
  });
  afterAll(async () => {
    await source.close();
    await target.close();
  });

  async function fill(queue: string, n: number): Promise<void> {
    const c = await amqp.connect(source.url);
    const ch = await c.createConfirmChannel();
    await ch.assertQueue(queue, { durable: true, arguments: { 'x-max-priority': 5 } });
    for (let i = 0; i < n; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`), { persistent: true, priority: i % 3, messageId: `m${i}`, headers: { i } });
    await ch.waitForConfirms();
    await c.close();
    const t = await amqp.connect(target.url);
    await (await t.createChannel()).assertQueue(queue, { durable: true, arguments: { 'x-max-priority': 5 } });
    await t.close();
  }

  async function ids(url: string, queue: string): Promise<string[]> {
    const c = await amqp.connect(url);
    const ch = await c.createChannel();
    const out: string[] = [];
    for (;;) {
      const m = await ch.get(queue, { noAck: true });
      if (m === false) break;
      out.push(m.properties.messageId as string);
    }
    await c.close();
    return out;
  }

  it('moves every message in priority order, a window at a time, and empties the source', async () => {
    await fill('mq', 1000);
    const src = await AmqpPeer.connect({ url: source.url, vhost: '/' });
    const dst = await AmqpPeer.connect({ url: target.url, vhost: '/' });
    await dst.confirmSelect();
    const state = new MigrationState(null, 'test');
    const r = await moveQueue(src, dst, '/', 'mq', { window: 64, maxInFlightBytes: 1 << 20, limit: null, now: Date.now, state });
    await src.close();
    await dst.close();
    expect(r).toMatchObject({ moved: 1000, alreadyMoved: 0, left: 0 });
    expect(state.pendingCount).toBe(0);
    const expected = Array.from({ length: 1000 }, (_, i) => i).sort((a, b) => (b % 3) - (a % 3) || a - b).map((i) => `m${i}`);
    expect(await ids(target.url, 'mq')).toEqual(expected);
    expect(await ids(source.url, 'mq')).toEqual([]);
  });

  it('on a rerun acks, without publishing again, the messages the state file says are in the target already', async () => {
    await fill('rq', 10);
    // As if a killed run had moved m0..m3 (confirmed, fingerprints written) but RabbitMQ never took the acks.
    const peek = await AmqpPeer.connect({ url: source.url, vhost: '/' });
    const fps: string[] = [];
    const moved: GotMessage[] = [];
    for (let i = 0; i < 4; i++) {
      const m = (await peek.get('rq'))!;
      fps.push(fingerprint(m));
      moved.push(m);
    }
    peek.destroy(); // unacked: they go back, redelivered
    const into = await AmqpPeer.connect({ url: target.url, vhost: '/' });
    await into.confirmSelect();
    const confirmed = new Promise<void>((resolve) => (into.onConfirm = (tag, multiple) => (tag === 4 ? resolve() : undefined)));
    for (const m of moved) into.publish('', 'rq', m.properties, m.body, true);
    await confirmed;
    await into.close();
    const state = new MigrationState(null, 'test');
    state.addPending({ vhost: '/', queue: 'rq' }, fps);
    await new Promise((r) => setTimeout(r, 50));
    const src = await AmqpPeer.connect({ url: source.url, vhost: '/' });
    const dst = await AmqpPeer.connect({ url: target.url, vhost: '/' });
    await dst.confirmSelect();
    const r = await moveQueue(src, dst, '/', 'rq', { window: 8, maxInFlightBytes: 1 << 20, limit: null, now: Date.now, state });
    await src.close();
    await dst.close();
    expect(r).toMatchObject({ moved: 6, alreadyMoved: 4, left: 0 });
    expect((await ids(target.url, 'rq')).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`).sort());
  });

  it('stops when the target refuses (no such queue) and leaves the source as it was', async () => {
    const c = await amqp.connect(source.url);
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('lost', { durable: true });
    for (let i = 0; i < 5; i++) ch.sendToQueue('lost', Buffer.from('x'), { persistent: true });
    await ch.waitForConfirms();
    await c.close();
    const src = await AmqpPeer.connect({ url: source.url, vhost: '/' });
    const dst = await AmqpPeer.connect({ url: target.url, vhost: '/' });
    await dst.confirmSelect();
    await expect(moveQueue(src, dst, '/', 'lost', { window: 8, maxInFlightBytes: 1 << 20, limit: null, now: Date.now, state: new MigrationState(null, 't') })).rejects.toThrow("warren returned a message for queue 'lost'");
    await src.close();
    await dst.close();
    expect(await ids(source.url, 'lost')).toHaveLength(5);
  });

  it('reads an amqp:// URL the way the command takes it', () => {
    expect(parseAmqpUrl('amqp://a%40b:p%2Fw@host:5673')).toEqual({ host: 'host', port: 5673, user: 'a@b', password: 'p/w' });
    expect(parseAmqpUrl('amqp://h')).toEqual({ host: 'h', port: 5672, user: 'guest', password: 'guest' });
    expect(() => parseAmqpUrl('http://h')).toThrow('only amqp:// URLs');
  });
});
