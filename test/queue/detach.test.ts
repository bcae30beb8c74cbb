// A queued message must not keep the socket read chunk it arrived in alive: Message.detach
// copies header and body out when their buffers are much larger than they are, and queues call
// it when they keep a message (not when they hand it straight to a consumer).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { Message } from '../../src/message.js';
import { RESIDENT_LIMIT } from '../../src/queue/queue.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../src/store/store.js';
import { headerPayload } from '../helpers/frames.js';
import { FakeConsumer, queue } from '../helpers/model.js';

/** A message whose header and body are small views of one 64 KiB "socket chunk". */
function fromChunk(): { msg: Message; chunk: Buffer } {
  const chunk = Buffer.alloc(65536, 0x7a);
  const h = headerPayload(16);
  h.copy(chunk, 100);
  const header = chunk.subarray(100, 100 + h.length);
  const body = chunk.subarray(1000, 1016);
  return { msg: new Message('', 'q', header, body), chunk };
}

/** The same, persistent (delivery-mode 2). */
function persistentFromChunk(): { msg: Message; chunk: Buffer } {
  const chunk = Buffer.alloc(65536, 0x7a);
  const h = headerPayload(16, { deliveryMode: 2 });
  h.copy(chunk, 100);
  return { msg: new Message('', 'q', chunk.subarray(100, 100 + h.length), chunk.subarray(1000, 1016)), chunk };
}

/** A durable queue whose ready list is at RESIDENT_LIMIT: the next persistent message is left to the store. */
function fullDurableQueue(store: Store): ReturnType<typeof queue> {
  store.saveQueue({ vhost: '/', name: 'deep', autoDelete: false, arguments: new Map() });
  const q = queue('deep', { durable: true }, store);
  for (let i = 0; i < RESIDENT_LIMIT; i++) q.enqueue(Message.fromProperties('', 'deep', { deliveryMode: 2 }, Buffer.from('x')));
  return q;
}

describe('Message.detach', () => {
  it('copies a small header and body out of a large chunk, into one exactly sized buffer', () => {
    const { msg, chunk } = fromChunk();
    const header = Buffer.from(msg.header);
    msg.detach();
    expect(msg.header.buffer).not.toBe(chunk.buffer);
    expect(msg.body.buffer).not.toBe(chunk.buffer);
    expect(msg.header.equals(header)).toBe(true);
    expect(msg.body.equals(Buffer.alloc(16, 0x7a))).toBe(true);
    expect(msg.body.buffer.byteLength).toBe(header.length + 16);
    // Idempotent: a detached message stays as it is.
    const body = msg.body;
    msg.detach();
    expect(msg.body).toBe(body);
  });

  it('leaves a message alone that fills most of its buffer (a large body, a slow publisher)', () => {
    const header = headerPayload(3000);
    const body = Buffer.alloc(3000, 1);
    const msg = new Message('', 'q', header, body);
    msg.detach();
    expect(msg.body).toBe(body);
  });
});

describe('Queue.enqueue', () => {
  it('detaches a message it keeps', () => {
    const q = queue('q');
    const { msg, chunk } = fromChunk();
    expect(q.enqueue(msg)).toBe(true);
    expect(msg.body.buffer).not.toBe(chunk.buffer);
  });

  it('detaches a message handed straight to a consumer when it comes back (requeue)', () => {
    const q = queue('q2');
    const c = new FakeConsumer('c', { credit: 1 });
    const { msg, chunk } = fromChunk();
    q.addConsumer(c);
    expect(q.enqueue(msg)).toBe(true);
    expect(c.delivered.length).toBe(1);
    expect(msg.body.buffer).toBe(chunk.buffer); // delivered at once: no copy
    q.requeue(c.delivered.splice(0));
    expect(msg.body.buffer).not.toBe(chunk.buffer);
  });

  it('leaves a persistent message deep in a backlog to the store uncopied; the store copies it when it hands it out', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-detach-'));
    const store = SqliteStore.open(dir, silentLogger);
    try {
      const q = fullDurableQueue(store);
      const { msg, chunk } = persistentFromChunk();
      expect(q.enqueue(msg)).toBe(true);
      // Not kept by the queue: only the store holds it, until it is committed.
      expect(msg.body.buffer).toBe(chunk.buffer);
      // Read back before its commit (from memory): copied out for whoever keeps it.
      const read = store.readMessage(msg.storeId);
      expect(read).toBe(msg);
      expect(msg.body.buffer).not.toBe(chunk.buffer);
      expect(msg.body.equals(Buffer.alloc(16, 0x7a))).toBe(true);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('detaches a persistent message deep in a backlog when the store keeps it in memory (no data dir)', () => {
    const q = fullDurableQueue(new MemoryStore());
    const { msg, chunk } = persistentFromChunk();
    expect(q.enqueue(msg)).toBe(true);
    expect(msg.body.buffer).not.toBe(chunk.buffer);
  });

  it('detaches a persistent message a durable queue keeps in memory (short of the backlog limit)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-detach-'));
    const store = SqliteStore.open(dir, silentLogger);
    try {
      store.saveQueue({ vhost: '/', name: 'short', autoDelete: false, arguments: new Map() });
      const q = queue('short', { durable: true }, store);
      const { msg, chunk } = persistentFromChunk();
      expect(q.enqueue(msg)).toBe(true);
      expect(msg.body.buffer).not.toBe(chunk.buffer);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
