// Store.readMessages: a backlog's next bodies read together. The SQLite store reads ascending,
// close ids with one range query (skipping other queues' rows between them) and anything else
// one query each; either way the answer is in the order asked, undefined where one is missing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { Message } from '../../src/message.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { QueueKey, Store, StoreEntry } from '../../src/store/store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function entry(seq: number, msg: Message): StoreEntry {
  return { seq, size: msg.size, storeId: 0, storeState: 0, storeMulti: false, priority: 0, expiresAt: 0, deliveryCount: 0 };
}

const stores: [string, () => Store][] = [
  ['MemoryStore', () => new MemoryStore()],
  [
    'SqliteStore',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'warren-read-'));
      dirs.push(dir);
      return SqliteStore.open(dir, silentLogger);
    },
  ],
];

describe.each(stores)('%s readMessages', (_name, open) => {
  it('reads committed and pending messages in the order asked, across other queues rows, undefined for missing ones', async () => {
    const s = open();
    const a: QueueKey = { vhost: '/', name: 'a', storeQueueId: 0 };
    const b: QueueKey = { vhost: '/', name: 'b', storeQueueId: 0 };
    s.saveQueue({ vhost: '/', name: 'a', autoDelete: false, arguments: new Map() });
    s.saveQueue({ vhost: '/', name: 'b', autoDelete: false, arguments: new Map() });
    const mine: Message[] = [];
    // Queue a's messages interleaved with b's, so a's ids are not contiguous.
    for (let i = 0; i < 40; i++) {
      const m = Message.fromProperties('x', `rk${i}`, { deliveryMode: 2 }, Buffer.from(`a-${i}`));
      s.appendMessage(a, entry(i + 1, m), m);
      mine.push(m);
      const o = Message.fromProperties('x', 'other', { deliveryMode: 2 }, Buffer.from(`b-${i}`));
      s.appendMessage(b, entry(i + 1, o), o);
    }
    if (s instanceof SqliteStore) await s.whenIdle();
    // Two more not yet committed.
    for (let i = 40; i < 42; i++) {
      const m = Message.fromProperties('x', `rk${i}`, { deliveryMode: 2 }, Buffer.from(`a-${i}`));
      s.appendMessage(a, entry(i + 1, m), m);
      mine.push(m);
    }
    const bodies = (ms: (Message | undefined)[]): (string | undefined)[] => ms.map((m) => m?.body.toString());

    // Ascending and close together (the range path for SQLite), pending ones included.
    const ids = mine.map((m) => m.storeId);
    expect(bodies(s.readMessages(ids))).toEqual(mine.map((_, i) => `a-${i}`));
    expect(s.readMessages(ids.slice(0, 3)).map((m) => m?.routingKey)).toEqual(['rk0', 'rk1', 'rk2']);
    // Out of order, with a gap and an id that does not exist.
    const missing = 1_000_000;
    expect(bodies(s.readMessages([ids[5]!, ids[2]!, missing, ids[39]!]))).toEqual(['a-5', 'a-2', undefined, 'a-39']);
    // Ascending but with a missing id inside the range.
    expect(bodies(s.readMessages([ids[0]!, ids[0]! + 1, ids[1]!]))).toEqual(['a-0', 'b-0', 'a-1']);
    expect(s.readMessages([])).toEqual([]);
    if (s instanceof SqliteStore) await s.close();
  });

  it('reads large messages among small ones whole (SQLite: left out of the packed range, read one by one)', async () => {
    const s = open();
    const a: QueueKey = { vhost: '/', name: 'a', storeQueueId: 0 };
    s.saveQueue({ vhost: '/', name: 'a', autoDelete: false, arguments: new Map() });
    const sizes = [100, 20_000, 100, 8_000, 300_000, 100];
    const mine = sizes.map((n, i) => {
      const m = Message.fromProperties('x', `rk${i}`, { deliveryMode: 2 }, Buffer.alloc(n, i + 1));
      s.appendMessage(a, entry(i + 1, m), m);
      return m;
    });
    if (s instanceof SqliteStore) await s.whenIdle();
    const got = s.readMessages(mine.map((m) => m.storeId));
    expect(got.map((m) => m?.body.length)).toEqual(sizes);
    got.forEach((m, i) => expect(m!.body.equals(Buffer.alloc(sizes[i]!, i + 1))).toBe(true));
    expect(got.map((m) => m?.routingKey)).toEqual(sizes.map((_, i) => `rk${i}`));
    if (s instanceof SqliteStore) await s.close();
  });
});
