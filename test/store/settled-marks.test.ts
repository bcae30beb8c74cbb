// Delivered-marks of acknowledged entries (store/settled-marks.ts): the pending op that marks an
// entry delivered is replaced by a shared stand-in once the entry is acknowledged (when enough
// such marks are pending, and when its batch is encoded), so the store does not keep acked
// entries reachable until a batch's reply. Marks of entries still unacknowledged are written as
// before. Runs the SQLite store, reopened from disk; reachability is checked with WeakRefs and a
// forced collection.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { Message } from '../../src/message.js';
import { OP_ENTRY_DEL, OP_ENTRY_MARK } from '../../src/store/batch.js';
import { MARK_QUEUED, ON_DISK, type Op } from '../../src/store/ops.js';
import { dropSettledMarks, isSettledMark, SETTLED_MARK, SETTLED_SCAN_MIN } from '../../src/store/settled-marks.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { QueueKey, StoreEntry } from '../../src/store/store.js';
import { nextTurn, trackStores } from '../helpers/sqlite-stores.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

const { dirs, open } = trackStores();
const Q: QueueKey = { vhost: '/', name: 'q', storeQueueId: 0 };

function entry(seq: number, state = 0): StoreEntry {
  return { seq, size: 1, storeId: 0, storeState: state, storeMulti: false, priority: 0, expiresAt: 0, deliveryCount: 0 };
}

function message(body: string): Message {
  return Message.fromProperties('', 'q', { deliveryMode: 2 }, Buffer.from(body));
}

/** A store with durable queue q, an hour's write hold, and `n` messages in q committed. */
async function storeWith(n: number): Promise<{ s: SqliteStore; dir: string; entries: (StoreEntry | null)[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-marks-'));
  dirs.push(dir);
  const s = SqliteStore.open(dir, silentLogger, { ackWaitMs: 3_600_000 });
  open.push(s);
  s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
  const entries: (StoreEntry | null)[] = [];
  for (let i = 1; i <= n; i++) {
    const e = entry(i);
    s.appendMessage(Q, e, message(`m${i}`));
    entries.push(e);
  }
  await s.whenIdle();
  return { s, dir, entries };
}

/** A message delivered before its insert went out: the write hold keeps every later write pending. */
function holdWrites(s: SqliteStore, seq: number): StoreEntry {
  const e = entry(seq);
  s.appendMessage(Q, e, message('held'));
  s.markDelivered(Q, e);
  return e;
}

async function reopened(s: SqliteStore, dir: string): Promise<Map<number, boolean>> {
  await s.close();
  open.splice(open.indexOf(s), 1);
  const again = SqliteStore.open(dir, silentLogger);
  open.push(again);
  return new Map([...again.loadEntries(Q)].map((x) => [x.seq, x.delivered]));
}

describe('marks of settled entries, unit', () => {
  it('a mark whose entry is still on disk is kept; one acked or failed is replaced in place, other ops are not', () => {
    const live = entry(1, ON_DISK | MARK_QUEUED);
    const acked = entry(2, 0);
    const failed = entry(3, 3);
    const del: Op = { k: OP_ENTRY_DEL, q: 1, seq: 4, id: 4, multi: false };
    const ops: Op[] = [
      { k: OP_ENTRY_MARK, q: 1, e: live },
      { k: OP_ENTRY_MARK, q: 1, e: acked },
      del,
      { k: OP_ENTRY_MARK, q: 1, e: failed },
    ];
    expect(ops.map(isSettledMark)).toEqual([false, true, false, true]);
    expect(dropSettledMarks(ops)).toBe(2);
    expect(ops.length).toBe(4);
    expect(ops[0]!.k === OP_ENTRY_MARK && ops[0]!.e).toBe(live);
    expect(ops[1]).toBe(SETTLED_MARK);
    expect(ops[2]).toBe(del);
    expect(ops[3]).toBe(SETTLED_MARK);
    expect(dropSettledMarks(ops)).toBe(0);
  });
});

describe('marks of settled entries, in the SQLite store', () => {
  it('pending marks of acked entries stop holding them once many are settled; unacked marks are written', async () => {
    const n = SETTLED_SCAN_MIN * 2;
    const { s, dir, entries } = await storeWith(n);
    const held = holdWrites(s, n + 1);
    await nextTurn(); // the hold begins: what follows stays pending
    for (const e of entries) s.markDelivered(Q, e!);
    const refs: WeakRef<StoreEntry>[] = [];
    // Ack the first half: the last of these acks makes the store look through its pending list
    // (as many settled marks as SETTLED_SCAN_MIN, and more than a quarter of the pending ops).
    for (let i = 0; i < SETTLED_SCAN_MIN; i++) {
      s.removeMessage(Q, entries[i]!);
      refs.push(new WeakRef(entries[i]!));
      entries[i] = null;
    }
    await nextTurn();
    gc();
    expect(s.durableSeq).toBeLessThan(s.writeSeq); // still held: the marks were pending all along
    expect(refs.filter((r) => r.deref() !== undefined).length).toBe(0);
    s.removeMessage(Q, held);
    await s.whenIdle();
    const back = await reopened(s, dir);
    const unacked = [...Array(n - SETTLED_SCAN_MIN).keys()].map((i) => SETTLED_SCAN_MIN + i + 1);
    expect([...back.keys()].sort((a, b) => a - b)).toEqual(unacked);
    expect([...back.values()].every((d) => d)).toBe(true);
  });

  it('a batch does not hold the entries of its marks that were acked before it went out', async () => {
    const { s, dir, entries } = await storeWith(20);
    const held = holdWrites(s, 21);
    await nextTurn();
    for (const e of entries) s.markDelivered(Q, e!);
    const refs: WeakRef<StoreEntry>[] = [];
    // Fewer than SETTLED_SCAN_MIN: left pending as they are until the batch is encoded.
    for (let i = 0; i < 15; i++) {
      s.removeMessage(Q, entries[i]!);
      refs.push(new WeakRef(entries[i]!));
      entries[i] = null;
    }
    s.removeMessage(Q, held); // the hold ends: the pending writes go out as one batch
    await nextTurn(); // the batch was sent; its reply cannot have been handled before this turn's end
    gc();
    expect(s.durableSeq).toBeLessThan(s.writeSeq);
    expect(refs.filter((r) => r.deref() !== undefined).length).toBe(0);
    await s.whenIdle();
    const back = await reopened(s, dir);
    expect([...back.entries()].sort((a, b) => a[0] - b[0])).toEqual([16, 17, 18, 19, 20].map((seq) => [seq, true]));
  });
});
