// The store's batch counters (Store.batchStats, shown in /metrics as warren_store_*): batches,
// messages written, inserts cancelled by an ack that came first, and commit time.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { Message } from '../../src/message.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { QueueKey, StoreEntry } from '../../src/store/store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const q: QueueKey = { vhost: '/', name: 'q', storeQueueId: 0 };

function entry(seq: number, msg: Message): StoreEntry {
  return { seq, size: msg.size, storeId: 0, storeState: 0, storeMulti: false, priority: 0, expiresAt: 0, deliveryCount: 0 };
}

describe('SqliteStore batch counters', () => {
  it('count batches, messages written once however many entries, cancelled inserts, and commit time', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-stats-'));
    dirs.push(dir);
    const s = SqliteStore.open(dir, silentLogger);
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    s.saveQueue({ vhost: '/', name: 'q2', autoDelete: false, arguments: new Map() });
    await s.whenIdle();
    const start = { ...s.batchStats };
    expect(start.batches).toBeGreaterThanOrEqual(1);
    expect(start.messagesWritten).toBe(0);

    // One turn: a message in two queues (written once), one acked before its insert went out.
    const shared = Message.fromProperties('', 'q', { deliveryMode: 2 }, Buffer.from('shared'));
    s.appendMessage(q, entry(1, shared), shared);
    s.appendMessage({ vhost: '/', name: 'q2', storeQueueId: 0 }, entry(1, shared), shared);
    const gone = Message.fromProperties('', 'q', { deliveryMode: 2 }, Buffer.from('gone'));
    const e = entry(2, gone);
    s.appendMessage(q, e, gone);
    s.removeMessage(q, e);
    await s.whenIdle();

    const b = s.batchStats;
    expect(b.batches).toBe(start.batches + 1);
    expect(b.messagesWritten).toBe(1);
    expect(b.insertsCancelled).toBe(1);
    expect(b.commitSeconds).toBeGreaterThan(start.commitSeconds);
    // The writer's own time is part of the round trip.
    expect(b.writerSeconds).toBeGreaterThan(start.writerSeconds);
    expect(b.writerSeconds).toBeLessThanOrEqual(b.commitSeconds);
    await s.close();
  });
});
