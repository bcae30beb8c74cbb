// The SQLite file itself: the page size a new database gets (an older one keeps its own and
// works as before), the space a drained backlog leaves, given back once the writer is idle, and
// runs of deletes (a backlog acked in order) written as range deletes.

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { Message } from '../../src/message.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { CACHE_KIB, DB_FILE, NEW_PAGE_SIZE, openDatabase, tuneConnection } from '../../src/store/sqlite/schema.js';
import type { QueueKey, StoreEntry } from '../../src/store/store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-layout-'));
  dirs.push(dir);
  return dir;
}
const q: QueueKey = { vhost: '/', name: 'q', storeQueueId: 0 };
function entry(seq: number, msg: Message): StoreEntry {
  return { seq, size: msg.size, storeId: 0, storeState: 0, storeMulti: false, priority: 0, expiresAt: 0, deliveryCount: 0 };
}
function pragma(dir: string, name: string): number {
  const db = new Database(join(dir, DB_FILE), { readonly: true });
  try {
    return db.pragma(name, { simple: true }) as number;
  } finally {
    db.close();
  }
}

describe('SqliteStore file layout', () => {
  it("every connection gets SQLite's own 2 MiB page cache, not better-sqlite3's 16 MB", () => {
    const dir = tempDir();
    const bare = new Database(join(dir, 'bare.db'));
    const cacheOf = (db: Database.Database): number => db.pragma('cache_size', { simple: true }) as number;
    try {
      expect(cacheOf(bare)).not.toBe(-CACHE_KIB); // the build's default, which tuneConnection overrides
      tuneConnection(bare);
      expect(cacheOf(bare)).toBe(-CACHE_KIB);
      expect(bare.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      bare.close();
    }
    const main = openDatabase(join(dir, DB_FILE));
    try {
      expect(cacheOf(main)).toBe(-CACHE_KIB);
    } finally {
      main.close();
    }
  });

  it('creates a new database with 16 KiB pages', async () => {
    const dir = tempDir();
    const s = SqliteStore.open(dir, silentLogger);
    await s.close();
    expect(pragma(dir, 'page_size')).toBe(NEW_PAGE_SIZE);
  });

  it('opens a database made with 4 KiB pages, keeps that size, and reads back what it writes', async () => {
    const dir = tempDir();
    // What an older warren left: its page size fixed when the file was made.
    const old = new Database(join(dir, DB_FILE));
    old.pragma('page_size = 4096');
    old.pragma('journal_mode = WAL');
    old.close();
    let s = SqliteStore.open(dir, silentLogger);
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    const bodies = [Buffer.alloc(10, 1), Buffer.alloc(5000, 2), Buffer.alloc(70_000, 3)];
    for (let i = 0; i < bodies.length; i++) {
      const m = Message.fromProperties('', 'q', { deliveryMode: 2 }, bodies[i]!);
      s.appendMessage(q, entry(i + 1, m), m);
    }
    await s.whenIdle();
    await s.close();
    expect(pragma(dir, 'page_size')).toBe(4096);
    s = SqliteStore.open(dir, silentLogger);
    const stored = [...s.loadEntries({ vhost: '/', name: 'q', storeQueueId: 0 })];
    expect(stored.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(s.readMessages(stored.map((e) => e.storeId)).map((m) => m?.body)).toEqual(bodies);
    await s.close();
  });

  it('gives the pages of a drained backlog back once no batch comes', async () => {
    const dir = tempDir();
    const s = SqliteStore.open(dir, silentLogger);
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    // 48 MiB: past the 32 MiB of free pages below which nothing is reclaimed.
    const body = Buffer.alloc(16 * 1024, 5);
    const entries: StoreEntry[] = [];
    for (let i = 1; i <= 3072; i++) {
      const m = Message.fromProperties('', 'q', { deliveryMode: 2 }, body);
      const e = entry(i, m);
      entries.push(e);
      s.appendMessage(q, e, m);
      if (i % 256 === 0) await s.whenIdle();
    }
    await s.whenIdle();
    for (const e of entries) s.removeMessage(q, e);
    await s.whenIdle();
    const full = pragma(dir, 'page_count');
    expect(pragma(dir, 'freelist_count') * NEW_PAGE_SIZE).toBeGreaterThan(32 * 1024 * 1024);
    // Reclaiming starts after a second without batches; wait for its outcome, not for a time.
    const reclaimed = (): boolean => pragma(dir, 'freelist_count') * NEW_PAGE_SIZE < 32 * 1024 * 1024;
    for (let i = 0; i < 300 && !reclaimed(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(reclaimed()).toBe(true);
    expect(pragma(dir, 'page_count')).toBeLessThan(full);
    await s.close();
  }, 60_000);

  it('deletes a run of consecutive entries as ranges, and only them: shared messages and the rest stay', async () => {
    const dir = tempDir();
    let s = SqliteStore.open(dir, silentLogger);
    const q2: QueueKey = { vhost: '/', name: 'q2', storeQueueId: 0 };
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    s.saveQueue({ vhost: '/', name: 'q2', autoDelete: false, arguments: new Map() });
    const msgs: Message[] = [];
    const entries: StoreEntry[] = [];
    for (let i = 1; i <= 12; i++) {
      const m = Message.fromProperties('', 'q', { deliveryMode: 2 }, Buffer.from(`m${i}`));
      const e = entry(i, m);
      msgs.push(m);
      entries.push(e);
      s.appendMessage(q, e, m);
      // Message 6 is in q2 as well: its delete in q only drops a reference.
      if (i === 6) s.appendMessage(q2, entry(1, m), m);
    }
    await s.whenIdle();
    // 2-5 a run, 6 shared (breaks it), 7-8 a run, 10 alone, 12 then 11 (not ascending).
    for (const i of [2, 3, 4, 5, 6, 7, 8, 10, 12, 11]) s.removeMessage(q, entries[i - 1]!);
    await s.whenIdle();
    await s.close();
    s = SqliteStore.open(dir, silentLogger);
    expect([...s.loadEntries({ vhost: '/', name: 'q', storeQueueId: 0 })].map((e) => e.seq)).toEqual([1, 9]);
    expect([...s.loadEntries({ vhost: '/', name: 'q2', storeQueueId: 0 })].map((e) => e.storeId)).toEqual([msgs[5]!.storeId]);
    const bodies = s.readMessages(msgs.map((m) => m.storeId)).map((m) => m?.body.toString() ?? null);
    expect(bodies).toEqual(['m1', null, null, null, null, 'm6', null, null, 'm9', null, null, null]);
    await s.close();
  });
});
