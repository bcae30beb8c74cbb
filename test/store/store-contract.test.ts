// One contract, every Store implementation: definitions and messages written, read back after
// a reopen (the SQLite store from disk, the PostgreSQL store from its database, the memory
// store from the same instance), shared bodies stored once, cancelled writes, and the
// durability sequence numbers confirms rely on. The PostgreSQL run needs a PostgreSQL
// (conformance/postgres.ts); without one it is skipped, with a message saying so.

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { F, table } from '../../src/codec/field-table.js';
import { silentLogger } from '../../src/logger.js';
import { Message } from '../../src/message.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { SCHEMA_VERSION } from '../../src/store/sqlite/schema.js';
import type { QueueKey, ScheduledMessage, Store, StoreEntry } from '../../src/store/store.js';
import { freshDatabase, postgresAvailable, stopPostgres } from '../../conformance/postgres.js';

interface Harness {
  open(): Store | Promise<Store>;
  /** Closes and opens again: what a restart would see. */
  reopen(s: Store): Promise<Store>;
  cleanup(): void;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const implementations: [string, () => Harness][] = [
  [
    'MemoryStore',
    () => ({
      open: () => new MemoryStore(),
      reopen: async (s) => s,
      cleanup: () => {},
    }),
  ],
  [
    'SqliteStore',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
      dirs.push(dir);
      return {
        open: () => SqliteStore.open(dir, silentLogger),
        reopen: async (s) => {
          await s.close();
          return SqliteStore.open(dir, silentLogger);
        },
        cleanup: () => {},
      };
    },
  ],
  ...(postgresAvailable
    ? ([
        [
          'PgStore',
          () => {
            let url: Promise<string> | null = null;
            const open = async (): Promise<Store> => PgStore.open(await (url ??= freshDatabase()), silentLogger);
            return {
              open,
              reopen: async (s) => {
                await s.close();
                return open();
              },
              cleanup: () => {},
            };
          },
        ],
      ] as [string, () => Harness][])
    : []),
];
afterAll(() => stopPostgres());

function queue(name: string): QueueKey {
  return { vhost: '/', name, storeQueueId: 0 };
}

function entry(seq: number, msg: Message): StoreEntry {
  return { seq, size: msg.size, storeId: 0, storeState: 0, storeMulti: false, priority: 0, expiresAt: 0, deliveryCount: 0 };
}

function message(body: string, rk = 'rk'): Message {
  return Message.fromProperties('ex', rk, { deliveryMode: 2, contentType: 'text/plain', headers: table({ n: F.int(7) }) }, Buffer.from(body));
}

/** Waits until every write issued so far is durable. */
async function settled(s: Store): Promise<void> {
  if (s.durableSeq >= s.writeSeq) return;
  await new Promise<void>((resolve) => {
    s.onDurable(() => {
      if (s.durableSeq >= s.writeSeq) resolve();
    });
  });
}

describe.each(implementations)('%s', (_name, make) => {
  it('keeps definitions across a reopen, and forgets deleted ones', async () => {
    const h = make();
    let s = await h.open();
    s.saveExchange({ vhost: '/', name: 'x1', type: 'topic', autoDelete: false, internal: true, arguments: table({ 'alternate-exchange': F.str('ae') }) });
    s.saveExchange({ vhost: '/', name: 'gone', type: 'direct', autoDelete: false, internal: false, arguments: new Map() });
    s.saveQueue({ vhost: '/', name: 'q1', autoDelete: false, arguments: table({ 'x-max-length': F.long(10) }) });
    s.saveQueue({ vhost: 'v2', name: 'q1', autoDelete: true, arguments: new Map() });
    s.saveBinding({ vhost: '/', source: 'x1', destination: 'q1', destinationKind: 'queue', routingKey: 'a.*', arguments: new Map() });
    s.saveBinding({ vhost: '/', source: 'x1', destination: 'gone', destinationKind: 'exchange', routingKey: '#', arguments: new Map() });
    s.deleteExchange('/', 'gone');
    await settled(s);
    s = await h.reopen(s);
    const d = s.loadDefinitions();
    expect(d.exchanges).toHaveLength(1);
    expect(d.exchanges[0]).toMatchObject({ vhost: '/', name: 'x1', type: 'topic', internal: true, autoDelete: false });
    expect(d.exchanges[0]!.arguments.get('alternate-exchange')).toEqual(F.str('ae'));
    expect(d.queues.map((q) => `${q.vhost}|${q.name}|${q.autoDelete}`).sort()).toEqual(['/|q1|false', 'v2|q1|true']);
    expect(d.queues.find((q) => q.vhost === '/')!.arguments.get('x-max-length')).toEqual(F.long(10));
    // The exchange-to-exchange binding went with the deleted exchange.
    expect(d.bindings).toEqual([
      { vhost: '/', source: 'x1', destination: 'q1', destinationKind: 'queue', routingKey: 'a.*', arguments: new Map() },
    ]);
    s.deleteBinding(d.bindings[0]!);
    s.deleteQueue('v2', 'q1');
    await settled(s);
    s = await h.reopen(s);
    const d2 = s.loadDefinitions();
    expect(d2.bindings).toEqual([]);
    expect(d2.queues.map((q) => q.vhost)).toEqual(['/']);
    await s.close();
  });

  it('keeps vhost and user limits across a reopen; empty limits forget them', async () => {
    const h = make();
    let s = await h.open();
    s.saveLimits({ scope: 'vhost', name: '/', limits: { 'max-connections': 10, 'max-queues': -1 } });
    s.saveLimits({ scope: 'user', name: '/', limits: { 'max-channels': 3 } });
    s.saveLimits({ scope: 'user', name: 'gone', limits: { 'max-channels': 1 } });
    s.saveLimits({ scope: 'user', name: 'gone', limits: {} });
    await settled(s);
    s = await h.reopen(s);
    const byKey = (d: ReturnType<Store['loadDefinitions']>) => Object.fromEntries(d.limits.map((l) => [`${l.scope}:${l.name}`, l.limits]));
    expect(byKey(s.loadDefinitions())).toEqual({ 'vhost:/': { 'max-connections': 10, 'max-queues': -1 }, 'user:/': { 'max-channels': 3 } });
    s.saveLimits({ scope: 'vhost', name: '/', limits: { 'max-queues': 5 } });
    await settled(s);
    s = await h.reopen(s);
    expect(byKey(s.loadDefinitions())).toEqual({ 'vhost:/': { 'max-queues': 5 }, 'user:/': { 'max-channels': 3 } });
    await s.close();
  });

  it('keeps stream readers\' committed offsets across a reopen; deleting the stream forgets its readers', async () => {
    const h = make();
    let s = await h.open();
    s.saveQueue({ vhost: '/', name: 's1', autoDelete: false, arguments: table({ 'x-queue-type': F.str('stream') }) });
    s.saveQueue({ vhost: '/', name: 's2', autoDelete: false, arguments: table({ 'x-queue-type': F.str('stream') }) });
    s.saveReaderOffset({ vhost: '/', stream: 's1', reader: 'a', offset: 10 });
    s.saveReaderOffset({ vhost: '/', stream: 's1', reader: 'a', offset: 2 ** 40 });
    s.saveReaderOffset({ vhost: '/', stream: 's1', reader: 'b', offset: 0 });
    s.saveReaderOffset({ vhost: '/', stream: 's2', reader: 'a', offset: 5 });
    s.saveReaderOffset({ vhost: '/', stream: 's2', reader: 'gone', offset: 5 });
    s.deleteReaderOffset('/', 's2', 'gone');
    await settled(s);
    s = await h.reopen(s);
    const key = (st: Store) => st.loadReaderOffsets().map((r) => `${r.vhost}|${r.stream}|${r.reader}|${r.offset}`).sort();
    expect(key(s)).toEqual([`/|s1|a|${2 ** 40}`, '/|s1|b|0', '/|s2|a|5']);
    s.deleteQueue('/', 's1');
    await settled(s);
    s = await h.reopen(s);
    expect(key(s)).toEqual(['/|s2|a|5']);
    await s.close();
  });

  it('keeps policies and operator policies across a reopen; a deleted one is gone', async () => {
    const h = make();
    let s = await h.open();
    const p = { kind: 'policy' as const, vhost: '/', name: 'ttl', pattern: '^q\\.', applyTo: 'queues' as const, priority: 2, definition: { 'message-ttl': 1000, 'dead-letter-exchange': 'dlx' } };
    s.savePolicy(p);
    s.savePolicy({ ...p, kind: 'operator', definition: { 'max-length': 5 } });
    s.savePolicy({ ...p, name: 'gone' });
    s.deletePolicy('policy', '/', 'gone');
    await settled(s);
    s = await h.reopen(s);
    const byKey = (d: ReturnType<Store['loadDefinitions']>) => Object.fromEntries(d.policies.map((r) => [`${r.kind}:${r.vhost}:${r.name}`, r]));
    expect(byKey(s.loadDefinitions())).toEqual({ 'policy:/:ttl': p, 'operator:/:ttl': { ...p, kind: 'operator', definition: { 'max-length': 5 } } });
    s.savePolicy({ ...p, priority: 7 });
    await settled(s);
    s = await h.reopen(s);
    expect(byKey(s.loadDefinitions())['policy:/:ttl']!.priority).toBe(7);
    await s.close();
  });

  it('stores messages in queue order, and reads bodies back after a reopen', async () => {
    const h = make();
    let s = await h.open();
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    const q = queue('q');
    const msgs = [message('one', 'k1'), message('two', 'k2'), message('three', 'k3')];
    msgs.forEach((m, i) => s.appendMessage(q, entry(i + 1, m), m));
    await settled(s);
    s = await h.reopen(s);
    const q2 = queue('q');
    const entries = [...s.loadEntries(q2)];
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(entries.every((e) => !e.delivered && !e.multi)).toBe(true);
    const back = entries.map((e) => s.readMessage(e.storeId)!);
    expect(back.map((m) => m.body.toString())).toEqual(['one', 'two', 'three']);
    expect(back.map((m) => m.routingKey)).toEqual(['k1', 'k2', 'k3']);
    expect(back[0]!.exchange).toBe('ex');
    expect(back[0]!.properties).toEqual(msgs[0]!.properties);
    expect(entries[1]!.size).toBe(msgs[1]!.size);
    await s.close();
  });

  it('marks delivered entries, removes acknowledged ones', async () => {
    const h = make();
    let s = await h.open();
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    const q = queue('q');
    const ms = [message('a'), message('b'), message('c')];
    const es = ms.map((m, i) => entry(i + 1, m));
    ms.forEach((m, i) => s.appendMessage(q, es[i]!, m));
    await settled(s);
    s.markDelivered(q, es[0]!);
    s.markDelivered(q, es[1]!);
    s.removeMessage(q, es[1]!);
    await settled(s);
    s = await h.reopen(s);
    const back = [...s.loadEntries(queue('q'))];
    expect(back.map((e) => [e.seq, e.delivered])).toEqual([
      [1, true],
      [3, false],
    ]);
    expect(s.countMessages(queue('q'))).toBe(2);
    await s.close();
  });

  it('stores a message routed to several queues once and keeps it until the last queue lets go', async () => {
    const h = make();
    let s = await h.open();
    for (const n of ['a', 'b']) s.saveQueue({ vhost: '/', name: n, autoDelete: false, arguments: new Map() });
    const m = message('shared');
    const ea = entry(1, m);
    const eb = entry(1, m);
    s.appendMessage(queue('a'), ea, m);
    s.appendMessage(queue('b'), eb, m);
    expect(ea.storeId).toBe(eb.storeId);
    await settled(s);
    s = await h.reopen(s);
    const [la] = [...s.loadEntries(queue('a'))];
    const [lb] = [...s.loadEntries(queue('b'))];
    expect(la!.storeId).toBe(lb!.storeId);
    expect(la!.multi && lb!.multi).toBe(true);
    // Remove from one queue: the other still reads the body.
    const ra: StoreEntry = { seq: la!.seq, size: la!.size, storeId: la!.storeId, storeState: 2, storeMulti: true, priority: 0, expiresAt: 0, deliveryCount: 0 };
    s.removeMessage(queue('a'), ra);
    await settled(s);
    s = await h.reopen(s);
    const [lb2] = [...s.loadEntries(queue('b'))];
    expect(s.readMessage(lb2!.storeId)!.body.toString()).toBe('shared');
    const rb: StoreEntry = { seq: lb2!.seq, size: lb2!.size, storeId: lb2!.storeId, storeState: 2, storeMulti: true, priority: 0, expiresAt: 0, deliveryCount: 0 };
    s.removeMessage(queue('b'), rb);
    await settled(s);
    s = await h.reopen(s);
    expect(s.readMessage(lb2!.storeId)).toBeUndefined();
    await s.close();
  });

  it('deleting a queue drops its messages', async () => {
    const h = make();
    let s = await h.open();
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    const m = message('x');
    s.appendMessage(queue('q'), entry(1, m), m);
    await settled(s);
    s.deleteQueue('/', 'q');
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    await settled(s);
    s = await h.reopen(s);
    expect([...s.loadEntries(queue('q'))]).toEqual([]);
    expect(s.readMessage(m.storeId)).toBeUndefined();
    await s.close();
  });

  it('reads a message back before its write is durable', async () => {
    const h = make();
    const s = await h.open();
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    const m = message('fresh');
    s.appendMessage(queue('q'), entry(1, m), m);
    expect(s.readMessage(m.storeId)?.body.toString()).toBe('fresh');
    return s.close();
  });

  it('advances durableSeq to writeSeq and tells its listeners', async () => {
    const h = make();
    const s = await h.open();
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    const m = message('x');
    const before = s.writeSeq;
    s.appendMessage(queue('q'), entry(1, m), m);
    expect(s.writeSeq).toBeGreaterThan(before);
    await settled(s);
    expect(s.durableSeq).toBe(s.writeSeq);
    await s.close();
  });
});

describe.each(implementations)('%s: scheduled messages (delayed exchanges)', (_name, make) => {
  const ids = (xs: readonly ScheduledMessage[]): number[] => xs.map((x) => x.id);
  const bodies = (xs: readonly ScheduledMessage[]): string[] => xs.map((x) => x.message.body.toString());

  it('keeps them across a reopen, in due order, with routing key, CC keys, TTL and properties', async () => {
    const h = make();
    let s = await h.open();
    const late = message('late', 'k3');
    late.ccKeys = ['cc1', 'cc2'];
    late.ttl = 5000;
    const before = s.writeSeq;
    s.scheduleMessage('/', 'dx', 3000, late);
    expect(s.writeSeq).toBeGreaterThan(before);
    s.scheduleMessage('/', 'dx', 1000, message('early', 'k1'));
    s.scheduleMessage('/', 'dx', 2000, message('middle-a', 'k2'));
    s.scheduleMessage('/', 'dx', 2000, message('middle-b', 'k2'));
    s.scheduleMessage('/', 'other', 500, message('elsewhere'));
    s.scheduleMessage('v2', 'dx', 500, message('other vhost'));
    await settled(s);
    s = await h.reopen(s);
    const back = s.loadScheduled('/', 'dx', null, 100);
    // Same due time: the order they were scheduled in.
    expect(bodies(back)).toEqual(['early', 'middle-a', 'middle-b', 'late']);
    expect(back.map((b) => b.dueAt)).toEqual([1000, 2000, 2000, 3000]);
    expect(bodies(s.loadScheduled('/', 'dx', back[1]!, 100))).toEqual(['middle-b', 'late']);
    const l = back[3]!.message;
    expect([l.exchange, l.routingKey, l.ccKeys, l.ttl]).toEqual(['ex', 'k3', ['cc1', 'cc2'], 5000]);
    expect(l.properties).toEqual(late.properties);
    expect(back[0]!.message.ccKeys).toBeNull();
    expect(back[0]!.message.ttl).toBe(-1);
    expect(s.countScheduled('/', 'dx')).toBe(4);
    expect(s.countScheduled('/', 'other')).toBe(1);
    expect(s.countScheduled('v2', 'dx')).toBe(1);
    expect(s.countScheduled('/', 'none')).toBe(0);
    await s.close();
  });

  it('loads after a given place, at most `limit` and about `maxBytes`, but always one', async () => {
    const h = make();
    const s = await h.open();
    for (let i = 0; i < 6; i++) s.scheduleMessage('/', 'dx', 1000 + i, message(`m${i}`));
    await settled(s);
    const all = s.loadScheduled('/', 'dx', null, 100);
    expect(bodies(all)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(bodies(s.loadScheduled('/', 'dx', all[1]!, 2))).toEqual(['m2', 'm3']);
    expect(bodies(s.loadScheduled('/', 'dx', all[5]!, 2))).toEqual([]);
    const size = all[0]!.message.size;
    expect(bodies(s.loadScheduled('/', 'dx', null, 100, size * 2))).toEqual(['m0', 'm1']);
    expect(bodies(s.loadScheduled('/', 'dx', null, 100, 1))).toEqual(['m0']);
    await s.close();
  });

  it('forgets removed ones and everything of a dropped exchange', async () => {
    const h = make();
    let s = await h.open();
    const a = s.scheduleMessage('/', 'dx', 1000, message('a'));
    const b = s.scheduleMessage('/', 'dx', 2000, message('b'));
    s.scheduleMessage('/', 'dx', 3000, message('c'));
    s.scheduleMessage('/', 'gone', 1000, message('g1'));
    await settled(s);
    s.removeScheduled(b);
    s.dropScheduled('/', 'gone');
    // The delete is not durable yet: reads leave the removed one out all the same.
    expect(bodies(s.loadScheduled('/', 'dx', null, 10))).toEqual(['a', 'c']);
    expect(bodies(s.loadScheduled('/', 'dx', s.loadScheduled('/', 'dx', null, 1)[0]!, 1))).toEqual(['c']);
    expect(s.countScheduled('/', 'dx')).toBe(2);
    expect(s.countScheduled('/', 'gone')).toBe(0);
    await settled(s);
    s = await h.reopen(s);
    expect(bodies(s.loadScheduled('/', 'dx', null, 10))).toEqual(['a', 'c']);
    expect(ids(s.loadScheduled('/', 'dx', null, 1))).toEqual([a]);
    expect(s.loadScheduled('/', 'gone', null, 10)).toEqual([]);
    expect(s.countScheduled('/', 'gone')).toBe(0);
    await s.close();
  });

  it('answers for writes that are not durable yet', async () => {
    const h = make();
    let s = await h.open();
    const kept = s.scheduleMessage('/', 'dx', 2000, message('kept'));
    const routed = s.scheduleMessage('/', 'dx', 1000, message('routed at once'));
    expect(bodies(s.loadScheduled('/', 'dx', null, 10))).toEqual(['routed at once', 'kept']);
    expect(s.countScheduled('/', 'dx')).toBe(2);
    s.removeScheduled(routed);
    expect(ids(s.loadScheduled('/', 'dx', null, 10))).toEqual([kept]);
    expect(s.countScheduled('/', 'dx')).toBe(1);
    await settled(s);
    expect(s.countScheduled('/', 'dx')).toBe(1);
    s = await h.reopen(s);
    expect(ids(s.loadScheduled('/', 'dx', null, 10))).toEqual([kept]);
    await s.close();
  });

  it('an exchange deleted and declared again does not get the old messages back', async () => {
    const h = make();
    let s = await h.open();
    s.scheduleMessage('/', 'dx', 1000, message('old, stored'));
    await settled(s);
    s.scheduleMessage('/', 'dx', 1500, message('old, not yet stored'));
    s.dropScheduled('/', 'dx');
    s.scheduleMessage('/', 'dx', 2000, message('new'));
    expect(bodies(s.loadScheduled('/', 'dx', null, 10))).toEqual(['new']);
    expect(s.countScheduled('/', 'dx')).toBe(1);
    await settled(s);
    s = await h.reopen(s);
    expect(bodies(s.loadScheduled('/', 'dx', null, 10))).toEqual(['new']);
    expect(s.countScheduled('/', 'dx')).toBe(1);
    await s.close();
  });
});

describe('SqliteStore specifics', () => {
  it('an entry is settled (the queue may drop the object) only once its insert is committed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
    dirs.push(dir);
    const s = SqliteStore.open(dir, silentLogger);
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    const m = message('kept');
    const e = entry(1, m);
    s.appendMessage(queue('q'), e, m);
    expect(s.isSettled(e)).toBe(false);
    await settled(s);
    expect(s.isSettled(e)).toBe(true);
    // A queued delivered-mark holds the object again until it is written.
    s.markDelivered(queue('q'), e);
    expect(s.isSettled(e)).toBe(false);
    await settled(s);
    expect(s.isSettled(e)).toBe(true);
    await s.close();
  });

  it('an entry acknowledged before its insert went out is never written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
    dirs.push(dir);
    let s = SqliteStore.open(dir, silentLogger);
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    const m = message('short-lived');
    const e = entry(1, m);
    s.appendMessage(queue('q'), e, m);
    s.markDelivered(queue('q'), e);
    s.removeMessage(queue('q'), e);
    await s.whenIdle();
    await s.close();
    s = SqliteStore.open(dir, silentLogger);
    expect([...s.loadEntries(queue('q'))]).toEqual([]);
    expect(s.readMessage(m.storeId)).toBeUndefined();
    await s.close();
  });

  it('writes beyond the size cap fail: the failure is reported and the writes after it succeed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
    dirs.push(dir);
    const s = SqliteStore.open(dir, silentLogger, { maxBytes: 400 * 1024 });
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    await s.whenIdle();
    const failures: { from: number; to: number }[] = [];
    s.onDurable((_d, failed) => {
      if (failed) failures.push(failed);
    });
    const big = Buffer.alloc(64 * 1024, 7);
    const entries: StoreEntry[] = [];
    for (let i = 1; i <= 20; i++) {
      const m = Message.fromProperties('', 'q', { deliveryMode: 2 }, big);
      const e = entry(i, m);
      entries.push(e);
      s.appendMessage(queue('q'), e, m);
      await s.whenIdle();
    }
    expect(failures.length).toBeGreaterThan(0);
    // Failed messages stay readable from memory.
    expect(s.readMessage(entries[19]!.storeId)?.body.length).toBe(big.length);
    // Free space, then a small write goes through.
    for (const e of entries) s.removeMessage(queue('q'), e);
    await s.whenIdle();
    const before = failures.length;
    const m = message('small');
    s.appendMessage(queue('q'), entry(100, m), m);
    await s.whenIdle();
    expect(failures.length).toBe(before);
    await s.close();
  });
});

describe('SqliteStore writer', () => {
  it('reuses the batch buffer the writer hands back without mixing batches: every body reads back as written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
    dirs.push(dir);
    let s = SqliteStore.open(dir, silentLogger);
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    // Batch sizes go up and down, so a handed-back buffer is sometimes reused, sometimes too small.
    const sizes = [200_000, 10, 3_000, 150_000, 1, 70_000, 70_000, 5, 300_000, 64];
    const written: { id: number; body: Buffer }[] = [];
    let seq = 0;
    for (let round = 0; round < 3; round++) {
      for (const [i, size] of sizes.entries()) {
        for (let k = 0; k < 1 + (i % 3); k++) {
          const body = Buffer.alloc(size, (seq * 31 + k) & 0xff);
          const m = Message.fromProperties('', 'q', { deliveryMode: 2 }, body);
          s.appendMessage(queue('q'), entry(++seq, m), m);
          written.push({ id: m.storeId, body });
        }
        await s.whenIdle();
      }
    }
    s = await reopen(s, dir);
    expect([...s.loadEntries(queue('q'))].length).toBe(written.length);
    for (const w of written) expect(s.readMessage(w.id)?.body.equals(w.body)).toBe(true);
    await s.close();
  });

  it('counts the bytes of messages not yet committed (unsettledBytes): up while pending, down when cancelled or committed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
    dirs.push(dir);
    const s = SqliteStore.open(dir, silentLogger);
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    await s.whenIdle();
    expect(s.unsettledBytes).toBe(0);
    const a = message('a'.repeat(1000));
    const b = message('b'.repeat(3000));
    const ea = entry(1, a);
    s.appendMessage(queue('q'), ea, a);
    s.appendMessage(queue('q'), entry(2, b), b);
    // A second queue holding the same message adds nothing: it is stored once.
    s.saveQueue({ vhost: '/', name: 'q2', autoDelete: false, arguments: new Map() });
    s.appendMessage(queue('q2'), entry(1, b), b);
    expect(s.unsettledBytes).toBe(a.size + b.size);
    s.removeMessage(queue('q'), ea); // acked before its insert went out
    expect(s.unsettledBytes).toBe(b.size);
    await s.whenIdle();
    expect(s.unsettledBytes).toBe(0);
    await s.close();
  });

  it('checkpoints the WAL into the database file itself, after committing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
    dirs.push(dir);
    const s = SqliteStore.open(dir, silentLogger);
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    const before = statSync(join(dir, 'warren.db')).size;
    // 6 MiB in 48 batches: past the 4 MiB after which the writer checkpoints.
    const body = Buffer.alloc(128 * 1024, 9);
    for (let i = 1; i <= 48; i++) {
      const m = Message.fromProperties('', 'q', { deliveryMode: 2 }, body);
      s.appendMessage(queue('q'), entry(i, m), m);
      await s.whenIdle();
    }
    // The writer checkpoints after replying; one more batch is answered only after that.
    s.saveVhost({ name: 'v', description: '', tags: [] });
    await s.whenIdle();
    expect(statSync(join(dir, 'warren.db')).size - before).toBeGreaterThan(4 * 1024 * 1024);
    await s.close();
  });
});

async function reopen(s: Store, dir: string): Promise<SqliteStore> {
  await s.close();
  return SqliteStore.open(dir, silentLogger);
}

describe('SqliteStore fatal errors', () => {
  it('a bug while handling a commit goes to the fatal hook (warren start exits on it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
    dirs.push(dir);
    const fatal: [unknown, string][] = [];
    const s = SqliteStore.open(dir, silentLogger, { fatal: (err, what) => fatal.push([err, what]) });
    s.onDurable(() => {
      throw new Error('injected');
    });
    s.saveVhost({ name: 'v', description: '', tags: [] });
    const deadline = Date.now() + 5000;
    while (fatal.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(fatal.map(([e, what]) => [(e as Error).message, what])).toEqual([['injected', 'internal error handling a store commit']]);
    await s.close();
  });
});

describe('SqliteStore schema upgrade', () => {
  it('a database written before limits existed (schema 1) opens, gains the limits and policies tables, and keeps its contents', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-store-'));
    dirs.push(dir);
    let s: Store = SqliteStore.open(dir, silentLogger);
    s.saveVhost({ name: 'old', description: 'from v1', tags: [] });
    await settled(s);
    await s.close();
    // Make it what warren wrote before: no limits table, user_version 1.
    const db = new Database(join(dir, 'warren.db'));
    db.exec('DROP TABLE limits');
    db.exec('DROP TABLE stream_readers');
    db.exec('DROP TABLE policies');
    db.pragma('user_version = 1');
    db.close();
    s = SqliteStore.open(dir, silentLogger);
    expect(s.loadDefinitions().vhosts).toEqual([{ name: 'old', description: 'from v1', tags: [] }]);
    expect(s.loadDefinitions().limits).toEqual([]);
    expect(s.loadDefinitions().policies).toEqual([]);
    s.saveLimits({ scope: 'vhost', name: 'old', limits: { 'max-queues': 2 } });
    await settled(s);
    await s.close();
    s = SqliteStore.open(dir, silentLogger);
    expect(s.loadDefinitions().limits).toEqual([{ scope: 'vhost', name: 'old', limits: { 'max-queues': 2 } }]);
    await s.close();
    const check = new Database(join(dir, 'warren.db'), { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    check.close();
  });
});
