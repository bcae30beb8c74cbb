// Schema 5: a message held by one queue is one solo_entries row; a shared one keeps its
// messages row and entries. A database written by schema 4 opens, keeps every message (in
// order, with its properties, delivered flag and delivery count) and goes on beside new rows.

import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { Message } from '../../src/message.js';
import { encodeTable } from '../../src/store/ops.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { DB_FILE, SCHEMA_VERSION } from '../../src/store/sqlite/schema.js';
import type { QueueKey, StoreEntry, StoredEntry } from '../../src/store/store.js';

/** The schema 4 tables as b8a1397 created them. */
const SCHEMA_V4 = readFileSync(join(import.meta.dirname, 'fixtures', 'schema-v4.sql'), 'utf8');

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-solo-'));
  dirs.push(dir);
  return dir;
}

type Entry = StoreEntry & { deliveryCount: number };
function entry(seq: number, msg: Message): Entry {
  return { seq, size: msg.size, storeId: 0, storeState: 0, storeMulti: false, priority: 0, expiresAt: 0, deliveryCount: 0 };
}
const key = (name: string): QueueKey => ({ vhost: '/', name, storeQueueId: 0 });
function persistent(i: number, tag: string, body: Buffer = Buffer.from(`${tag}-${i}`)): Message {
  return Message.fromProperties('amq.direct', `rk-${i % 3}`, { deliveryMode: 2, messageId: `${tag}-${i}`, priority: i % 4 }, body);
}
function rows(dir: string, sql: string): unknown[] {
  const db = new Database(join(dir, DB_FILE), { readonly: true });
  try {
    return db.prepare(sql).raw().all();
  } finally {
    db.close();
  }
}
/** What a restart reads: seq, delivered, delivery count, shared; and each message's id and body. */
function restored(s: SqliteStore, queue: string): { entries: [number, boolean, number, boolean][]; messages: [string | undefined, string][] } {
  const stored: StoredEntry[] = [...s.loadEntries(key(queue))];
  const msgs = s.readMessages(stored.map((e) => e.storeId));
  return {
    entries: stored.map((e) => [e.seq, e.delivered, e.deliveryCount, e.multi]),
    messages: msgs.map((m) => {
      if (m === undefined) throw new Error('a stored message is missing');
      return [m.properties.messageId, m.body.length > 100 ? `${m.body.length} bytes` : m.body.toString()];
    }),
  };
}

/** Old message i's place in queue q: every third one delivered (i % 5 times). */
const oldDelivered = (i: number): boolean => i % 3 === 0;
const LARGE = 10;
const oldBody = (i: number): Buffer => (i === LARGE ? Buffer.alloc(20_000, 7) : Buffer.from(`old-${i}`));

/**
 * A schema 4 database as b8a1397 wrote it: queues q (id 1) and q2 (id 2); messages 1-50 in q
 * (message 10 is 20 KB), message 51 in both (seq 51 in q, 1 in q2).
 */
function writeV4(dir: string): void {
  const db = new Database(join(dir, DB_FILE));
  db.pragma('page_size = 16384');
  db.pragma('auto_vacuum = INCREMENTAL');
  db.pragma('journal_mode = WAL');
  db.exec(SCHEMA_V4);
  db.pragma('user_version = 4');
  const queue = db.prepare('INSERT INTO queues (id, vhost, name, auto_delete, arguments) VALUES (?, ?, ?, ?, ?)');
  queue.run(1, '/', 'q', 0, encodeTable(new Map()));
  queue.run(2, '/', 'q2', 0, encodeTable(new Map()));
  // The statements of b8a1397's writer (worker.ts).
  const messagePut = db.prepare('INSERT INTO messages (id, refs, exchange, routing_key, header, body) VALUES (?, ?, ?, ?, ?, ?)');
  const entryPut = db.prepare(
    'INSERT INTO entries (queue_id, seq, msg_id, delivered, size, multi, priority, expires_at, delivery_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  for (let i = 1; i <= 51; i++) {
    const m = persistent(i, 'old', oldBody(i));
    const shared = i === 51;
    messagePut.run(i, shared ? 2 : 1, m.exchange, m.routingKey, m.header, m.body);
    entryPut.run(1, i, i, oldDelivered(i) ? 1 : 0, m.size, shared ? 1 : 0, 0, 0, oldDelivered(i) ? i % 5 : 0);
    if (shared) entryPut.run(2, 1, i, 0, m.size, 1, 0, 0, 0);
  }
  db.close();
}

describe('schema 5: one row a message held by one queue', () => {
  it('writes a message routed to one queue as one solo_entries row, and a shared one as before', async () => {
    const dir = tempDir();
    const s = SqliteStore.open(dir, silentLogger);
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    s.saveQueue({ vhost: '/', name: 'q2', autoDelete: false, arguments: new Map() });
    const a = persistent(1, 'new');
    s.appendMessage(key('q'), entry(1, a), a);
    const shared = persistent(2, 'new');
    s.appendMessage(key('q'), entry(2, shared), shared);
    s.appendMessage(key('q2'), entry(1, shared), shared);
    // Routed to two queues, but one entry acked before its batch went out: a solo row.
    const halfAcked = persistent(3, 'new');
    const gone = entry(2, halfAcked);
    s.appendMessage(key('q'), entry(3, halfAcked), halfAcked);
    s.appendMessage(key('q2'), gone, halfAcked);
    s.removeMessage(key('q2'), gone);
    await s.whenIdle();
    await s.close();
    expect(rows(dir, 'SELECT id, queue_id, seq FROM solo_entries ORDER BY id')).toEqual([
      [a.storeId, 1, 1],
      [halfAcked.storeId, 1, 3],
    ]);
    expect(rows(dir, 'SELECT id, refs FROM messages')).toEqual([[shared.storeId, 2]]);
    expect(rows(dir, 'SELECT queue_id, seq, msg_id, multi FROM entries ORDER BY queue_id')).toEqual([
      [1, 2, shared.storeId, 1],
      [2, 1, shared.storeId, 1],
    ]);
    // The row's message is the batch's four length-prefixed fields.
    const [value] = rows(dir, `SELECT message FROM solo_entries WHERE id = ${a.storeId}`)[0] as [Buffer];
    const field = (b: Buffer): Buffer => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      return Buffer.concat([len, b]);
    };
    expect(value).toEqual(Buffer.concat([field(Buffer.from(a.exchange)), field(Buffer.from(a.routingKey)), field(a.header), field(a.body)]));
  });

  it('records deliveries of solo entries, reads them back, and drops rows and marks with their acks', async () => {
    const dir = tempDir();
    let s = SqliteStore.open(dir, silentLogger);
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    const es: Entry[] = [];
    for (let i = 1; i <= 12; i++) {
      const m = persistent(i, 'new', i === 5 ? Buffer.alloc(30_000, 1) : undefined);
      // Priority and expiry are columns of the row (and of its index): they must come back.
      const e = { ...entry(i, m), priority: i % 4, expiresAt: i === 7 ? 1_900_000_000_123 : 0 };
      es.push(e);
      s.appendMessage(key('q'), e, m);
    }
    await s.whenIdle();
    // 3-6 delivered (a run), 9 delivered twice; then 1-4 acked (a run) and 9.
    for (const i of [3, 4, 5, 6]) s.markDelivered(key('q'), es[i - 1]!);
    await s.whenIdle();
    es[8]!.deliveryCount = 2;
    s.markDelivered(key('q'), es[8]!);
    await s.whenIdle();
    for (const i of [1, 2, 3, 4, 9]) s.removeMessage(key('q'), es[i - 1]!);
    await s.whenIdle();
    await s.close();
    expect(rows(dir, 'SELECT id FROM solo_marks ORDER BY id')).toEqual([[es[4]!.storeId], [es[5]!.storeId]]);
    s = SqliteStore.open(dir, silentLogger);
    const got = restored(s, 'q');
    expect(got.entries).toEqual([5, 6, 7, 8, 10, 11, 12].map((i) => [i, i === 5 || i === 6, 0, false]));
    expect(got.messages).toEqual([5, 6, 7, 8, 10, 11, 12].map((i) => [`new-${i}`, i === 5 ? '30000 bytes' : `new-${i}`]));
    expect(s.countMessages(key('q'))).toBe(7);
    expect([...s.loadEntries(key('q'))].map((e) => [e.seq, e.priority, e.expiresAt, e.size])).toEqual(
      [5, 6, 7, 8, 10, 11, 12].map((i) => [i, i % 4, i === 7 ? 1_900_000_000_123 : 0, es[i - 1]!.size]),
    );
    // Ids go on after the largest stored one: a new message does not collide with a solo row.
    const m = persistent(13, 'new');
    s.appendMessage(key('q'), entry(13, m), m);
    await s.whenIdle();
    expect(m.storeId).toBe(es[11]!.storeId + 1);
    expect(s.readMessage(m.storeId)?.properties.messageId).toBe('new-13');
    s.deleteQueue('/', 'q');
    await s.whenIdle();
    await s.close();
    expect(rows(dir, 'SELECT (SELECT count(*) FROM solo_entries) + (SELECT count(*) FROM solo_marks) + (SELECT count(*) FROM messages)')).toEqual([[0]]);
  });

  it('upgrades a schema 4 database in place and recovers every message, in order, beside new ones', async () => {
    const dir = tempDir();
    writeV4(dir);
    let s = SqliteStore.open(dir, silentLogger);
    expect(rows(dir, 'PRAGMA user_version')).toEqual([[SCHEMA_VERSION]]);
    expect(SCHEMA_VERSION).toBe(5);
    const old = Array.from({ length: 51 }, (_, k) => k + 1);
    const oldEntry = (i: number): [number, boolean, number, boolean] => [i, oldDelivered(i), oldDelivered(i) ? i % 5 : 0, i === 51];
    const oldMessage = (i: number): [string, string] => [`old-${i}`, i === LARGE ? '20000 bytes' : `old-${i}`];
    let got = restored(s, 'q');
    expect(got.entries).toEqual(old.map(oldEntry));
    expect(got.messages).toEqual(old.map(oldMessage));
    // Properties come back whole, not only the message id.
    const first = s.readMessage([...s.loadEntries(key('q'))][0]!.storeId)!;
    expect(first.properties).toMatchObject({ deliveryMode: 2, priority: 1, messageId: 'old-1' });
    expect([first.exchange, first.routingKey]).toEqual(['amq.direct', 'rk-1']);

    // New messages after the upgrade: 52-61 in q alone, 62 in both queues.
    const es: Entry[] = [];
    for (let i = 52; i <= 62; i++) {
      const m = persistent(i, 'new');
      const e = entry(i, m);
      es.push(e);
      s.appendMessage(key('q'), e, m);
      if (i === 62) s.appendMessage(key('q2'), entry(2, m), m);
    }
    await s.whenIdle();
    expect(es[0]!.storeId).toBe(52);
    await s.close();
    expect(rows(dir, 'SELECT count(*) FROM solo_entries')).toEqual([[10]]);

    // After a restart: acks of old messages (1-2 a run, 3 alone, 51 shared) and of new ones
    // (52, a run 53-54), an old one and a new one delivered again.
    s = SqliteStore.open(dir, silentLogger);
    const stored = [...s.loadEntries(key('q'))];
    expect(stored.map((e) => e.seq)).toEqual([...old, ...es.map((e) => e.seq)]);
    const bySeq = new Map<number, Entry>(
      stored.map((r) => [r.seq, { seq: r.seq, size: r.size, storeId: r.storeId, storeState: 2 | 64, storeMulti: r.multi, priority: r.priority, expiresAt: r.expiresAt, deliveryCount: r.deliveryCount }]),
    );
    for (const i of [1, 2, 3, 51, 52, 53, 54]) s.removeMessage(key('q'), bySeq.get(i)!);
    for (const i of [4, 55]) {
      bySeq.get(i)!.deliveryCount = 3;
      s.markDelivered(key('q'), bySeq.get(i)!);
    }
    await s.whenIdle();
    await s.close();

    s = SqliteStore.open(dir, silentLogger);
    got = restored(s, 'q');
    const left = [...old.filter((i) => i > 3 && i !== 51), ...[55, 56, 57, 58, 59, 60, 61, 62]];
    expect(got.entries).toEqual(
      left.map((i): [number, boolean, number, boolean] => (i === 4 || i === 55 ? [i, true, 3, false] : i <= 51 ? oldEntry(i) : [i, false, 0, i === 62])),
    );
    expect(got.messages).toEqual(left.map((i) => (i <= 51 ? oldMessage(i) : [`new-${i}`, `new-${i}`])));
    // q2 still holds the old shared message (its reference dropped, not the row) and the new one.
    expect(restored(s, 'q2')).toEqual({
      entries: [
        [1, false, 0, true],
        [2, false, 0, true],
      ],
      messages: [
        ['old-51', 'old-51'],
        ['new-62', 'new-62'],
      ],
    });
    s.deleteQueue('/', 'q');
    await s.whenIdle();
    await s.close();
    expect(rows(dir, 'SELECT (SELECT count(*) FROM solo_entries), (SELECT count(*) FROM solo_marks), (SELECT count(*) FROM entries)')).toEqual([[0, 0, 2]]);
    expect(rows(dir, 'SELECT id, refs FROM messages ORDER BY id')).toEqual([
      [51, 1],
      [62, 1],
    ]);
  });
});
