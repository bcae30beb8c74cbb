// WARREN_STORE_TRACE: one record of timestamps per batch sent to the SQLite writer
// (src/store/batch-trace.ts), read by bench/store-timeline.ts.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { Message } from '../../src/message.js';
import { TRACE_ENV, TRACE_FIELDS } from '../../src/store/batch-trace.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { QueueKey, StoreEntry } from '../../src/store/store.js';

const dirs: string[] = [];
afterEach(() => {
  delete process.env[TRACE_ENV];
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const q: QueueKey = { vhost: '/', name: 'q', storeQueueId: 0 };

function entry(seq: number, msg: Message): StoreEntry {
  return { seq, size: msg.size, storeId: 0, storeState: 0, storeMulti: false, priority: 0, expiresAt: 0, deliveryCount: 0 };
}

function records(file: string): Record<(typeof TRACE_FIELDS)[number], number>[] {
  const raw = readFileSync(file);
  const all = new Float64Array(raw.buffer, raw.byteOffset, raw.length / 8);
  const out = [];
  for (let i = 0; i < all.length; i += TRACE_FIELDS.length) {
    out.push(Object.fromEntries(TRACE_FIELDS.map((f, k) => [f, all[i + k]!])) as Record<(typeof TRACE_FIELDS)[number], number>);
  }
  return out;
}

describe('store batch trace', () => {
  it('writes one record a batch, its steps in order, when WARREN_STORE_TRACE names a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-trace-'));
    dirs.push(dir);
    const file = join(dir, 'trace.bin');
    process.env[TRACE_ENV] = file;
    const s = SqliteStore.open(join(dir, 'data'), silentLogger, { createDir: true });
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    await s.whenIdle();
    for (let i = 1; i <= 3; i++) {
      const m = Message.fromProperties('', 'q', { deliveryMode: 2 }, Buffer.from(`m${i}`));
      s.appendMessage(q, entry(i, m), m);
    }
    await s.whenIdle();
    await s.close();

    const recs = records(file);
    expect(recs.map((r) => r.messages)).toEqual([0, 3]);
    expect(recs.map((r) => r.ops)).toEqual([1, 6]);
    for (const r of recs) {
      // Event loop's stamps, then the writer's, each on its own thread's clock.
      expect(r.firstPush).toBeGreaterThan(0);
      expect(r.firstPush).toBeLessThanOrEqual(r.lastPush);
      expect(r.lastPush).toBeLessThanOrEqual(r.sent);
      expect(r.sent).toBeLessThanOrEqual(r.replyGot);
      expect(r.replyGot).toBeLessThanOrEqual(r.listenersDone);
      expect(r.writerGot).toBeGreaterThan(0);
      expect(r.writerGot).toBeLessThanOrEqual(r.applied);
      expect(r.applied).toBeLessThanOrEqual(r.committed);
      expect(r.writerOnCpu).toBeGreaterThanOrEqual(0);
    }
  });

  it('writes nothing and opens no file without it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-trace-'));
    dirs.push(dir);
    const s = SqliteStore.open(join(dir, 'data'), silentLogger, { createDir: true });
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    await s.whenIdle();
    await s.close();
    expect(readFileSync(join(dir, 'data', 'warren.db')).length).toBeGreaterThan(0);
    expect(() => readFileSync(join(dir, 'trace.bin'))).toThrow();
  });
});
