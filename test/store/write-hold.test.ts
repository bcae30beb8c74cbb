// The write hold (store/write-hold.ts, --store-ack-wait): a batch whose inserts were already
// delivered waits for their acks. Acked entries are never written and their writes become
// durable without a commit; anything not acked in time is written, as delivered, before
// durableSeq (what confirms wait for) passes it. Runs the SQLite store, reopened from disk.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { Message } from '../../src/message.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { QueueKey, StoreEntry } from '../../src/store/store.js';
import { nextTurn, trackStores } from '../helpers/sqlite-stores.js';

const { dirs, open } = trackStores();

function key(name: string): QueueKey {
  return { vhost: '/', name, storeQueueId: 0 };
}

function entry(seq: number, msg: Message): StoreEntry {
  return { seq, size: msg.size, storeId: 0, storeState: 0, storeMulti: false, priority: 0, expiresAt: 0, deliveryCount: 0 };
}

function message(body: string): Message {
  return Message.fromProperties('', 'q', { deliveryMode: 2 }, Buffer.from(body));
}

/** A store with durable queues q and q2 (their declarations committed). ackWaitMs 50: acks in a test come well within it. */
async function openStore(ackWaitMs = 50, dir = mkdtempSync(join(tmpdir(), 'warren-hold-'))): Promise<{ s: SqliteStore; dir: string; seqs: number[] }> {
  if (!dirs.includes(dir)) dirs.push(dir);
  const s = SqliteStore.open(dir, silentLogger, { ackWaitMs });
  open.push(s);
  s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
  s.saveQueue({ vhost: '/', name: 'q2', autoDelete: false, arguments: new Map() });
  await s.whenIdle();
  const seqs: number[] = [];
  s.onDurable((d) => seqs.push(d));
  return { s, dir, seqs };
}

/** One message in queues q and q2, delivered from both: its two entries. */
function deliverSharedToTwoQueues(s: SqliteStore): { a: StoreEntry; b: StoreEntry } {
  const m = message('shared');
  const a = entry(1, m);
  const b = entry(1, m);
  s.appendMessage(key('q'), a, m);
  s.appendMessage(key('q2'), b, m);
  s.markDelivered(key('q'), a);
  s.markDelivered(key('q2'), b);
  return { a, b };
}

async function reopen(s: SqliteStore, dir: string): Promise<SqliteStore> {
  await s.close();
  open.splice(open.indexOf(s), 1);
  const again = SqliteStore.open(dir, silentLogger);
  open.push(again);
  return again;
}

describe('the write hold', () => {
  it('a delivered message acked within the hold is never written, and its write is durable without a commit', async () => {
    const { s, dir } = await openStore();
    const before = { ...s.batchStats };
    const m = message('quick');
    const e = entry(1, m);
    s.appendMessage(key('q'), e, m);
    s.markDelivered(key('q'), e);
    const seq = s.writeSeq;
    await nextTurn();
    // Held: not durable, nothing sent to the writer.
    expect(s.batchStats.holds).toBe(before.holds + 1);
    expect(s.durableSeq).toBeLessThan(seq);
    s.removeMessage(key('q'), e);
    await s.whenIdle();
    const b = s.batchStats;
    expect(s.durableSeq).toBe(seq);
    expect(b.messagesWritten).toBe(before.messagesWritten);
    expect(b.batches).toBe(before.batches);
    expect(b.batchesEmpty).toBe(before.batchesEmpty + 1);
    expect(b.holdsExpired).toBe(before.holdsExpired);
    const again = await reopen(s, dir);
    expect(again.countMessages(key('q'))).toBe(0);
  });

  it('a delivered message not acked in time is written as delivered before durableSeq passes it', async () => {
    const { s, dir, seqs } = await openStore(1);
    const m = message('slow');
    const e = entry(1, m);
    s.appendMessage(key('q'), e, m);
    s.markDelivered(key('q'), e);
    const seq = s.writeSeq;
    await s.whenIdle();
    expect(s.batchStats.holdsExpired).toBe(1);
    expect(s.batchStats.messagesWritten).toBe(1);
    expect(seqs.at(-1)).toBe(seq);
    // Committed, so a confirm sent now is safe: it is in the database.
    expect(s.countMessages(key('q'))).toBe(1);
    expect(s.isSettled(e)).toBe(true);
    const again = await reopen(s, dir);
    expect([...again.loadEntries(key('q'))].map((x) => [x.seq, x.delivered])).toEqual([[1, true]]);
    expect(again.readMessage([...again.loadEntries(key('q'))][0]!.storeId)?.body.toString()).toBe('slow');
  });

  it('holds nothing for a message no consumer took, nor with --store-ack-wait 0', async () => {
    const { s } = await openStore();
    const m = message('backlog');
    s.appendMessage(key('q'), entry(1, m), m);
    await s.whenIdle();
    expect(s.batchStats.holds).toBe(0);
    expect(s.countMessages(key('q'))).toBe(1);

    const off = await openStore(0);
    const d = message('delivered');
    const e = entry(1, d);
    off.s.appendMessage(key('q'), e, d);
    off.s.markDelivered(key('q'), e);
    await off.s.whenIdle();
    expect(off.s.batchStats.holds).toBe(0);
    expect(off.s.countMessages(key('q'))).toBe(1);
  });

  it('a message in two queues acked in one only is written once, with the other queue\'s entry', async () => {
    const { s, dir } = await openStore();
    const { a } = deliverSharedToTwoQueues(s);
    await nextTurn();
    s.removeMessage(key('q'), a);
    // b's ack never comes: the hold runs out and b goes to disk.
    await s.whenIdle();
    expect(s.batchStats.messagesWritten).toBe(1);
    expect(s.batchStats.holdsExpired).toBe(1);
    const again = await reopen(s, dir);
    expect(again.countMessages(key('q'))).toBe(0);
    expect([...again.loadEntries(key('q2'))].map((x) => x.delivered)).toEqual([true]);
  });

  it('writes queued during a hold wait for it, then get their own; a message nobody took goes to disk with them', async () => {
    const { s, dir } = await openStore();
    const first = message('first');
    const e1 = entry(1, first);
    s.appendMessage(key('q'), e1, first);
    s.markDelivered(key('q'), e1);
    await nextTurn();
    const firstSeq = s.writeSeq;
    const second = message('second');
    const e2 = entry(2, second);
    s.appendMessage(key('q'), e2, second);
    s.markDelivered(key('q'), e2);
    const third = message('third');
    s.appendMessage(key('q'), entry(3, third), third);
    await nextTurn();
    expect(s.durableSeq).toBeLessThan(firstSeq);
    expect(s.batchStats.holds).toBe(1);
    // The first hold's ack: it ends, empty; the second batch is then held for e2.
    s.removeMessage(key('q'), e1);
    await nextTurn();
    expect(s.durableSeq).toBe(firstSeq);
    expect(s.batchStats.holds).toBe(2);
    s.removeMessage(key('q'), e2);
    await s.whenIdle();
    expect(s.batchStats.messagesWritten).toBe(1);
    expect(s.batchStats.holdsExpired).toBe(0);
    const again = await reopen(s, dir);
    expect([...again.loadEntries(key('q'))].map((x) => [x.seq, x.delivered])).toEqual([[3, false]]);
  });

  it('the acked front of a hold is durable at the next turn, before the rest of the hold is acked', async () => {
    const { s, dir, seqs } = await openStore(200);
    const msgs = ['a', 'b', 'c'].map(message);
    const es = msgs.map((m, i) => entry(i + 1, m));
    const after: number[] = [];
    for (let i = 0; i < 3; i++) {
      s.appendMessage(key('q'), es[i]!, msgs[i]!);
      s.markDelivered(key('q'), es[i]!);
      after.push(s.writeSeq);
    }
    await nextTurn();
    expect(s.batchStats.holds).toBe(1);
    expect(s.durableSeq).toBeLessThan(after[0]!);
    // The second ack first: nothing at the front is done yet.
    s.removeMessage(key('q'), es[1]!);
    await nextTurn();
    expect(s.durableSeq).toBeLessThan(after[0]!);
    // Then the first: a and b are durable (acked), c is still held.
    s.removeMessage(key('q'), es[0]!);
    await nextTurn();
    expect(s.durableSeq).toBe(after[1]);
    expect(seqs.at(-1)).toBe(after[1]);
    expect(s.batchStats.writesAckedEarly).toBe(4);
    expect(s.batchStats.holdsExpired).toBe(0);
    // c is never acked: the hold runs out and c goes to disk, as delivered, before it is durable.
    await s.whenIdle();
    expect(s.batchStats.holdsExpired).toBe(1);
    expect(s.batchStats.messagesWritten).toBe(1);
    expect(seqs.at(-1)).toBe(after[2]);
    const again = await reopen(s, dir);
    expect([...again.loadEntries(key('q'))].map((x) => [x.seq, x.delivered])).toEqual([[3, true]]);
  });

  it('a message in two queues acked in one only does not make the front of a hold durable', async () => {
    const { s } = await openStore(100);
    const { a, b } = deliverSharedToTwoQueues(s);
    const seq = s.writeSeq;
    await nextTurn();
    s.removeMessage(key('q'), a);
    await nextTurn();
    expect(s.durableSeq).toBeLessThan(seq);
    expect(s.batchStats.writesAckedEarly).toBe(0);
    s.removeMessage(key('q2'), b);
    await s.whenIdle();
    expect(s.durableSeq).toBe(seq);
    expect(s.batchStats.messagesWritten).toBe(0);
  });

  it('a requeued delivery (never acked) is kept; closing the store ends a hold and writes it', async () => {
    const { s, dir, seqs } = await openStore(50);
    const m = message('requeued');
    const e = entry(1, m);
    s.appendMessage(key('q'), e, m);
    s.markDelivered(key('q'), e);
    await nextTurn();
    expect(s.batchStats.holds).toBe(1);
    const seq = s.writeSeq;
    const again = await reopen(s, dir);
    expect(seqs.at(-1)).toBe(seq);
    expect([...again.loadEntries(key('q'))].map((x) => [x.seq, x.delivered])).toEqual([[1, true]]);
  });
});
