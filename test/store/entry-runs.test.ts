// EntryRuns: the writer's deletes and delivered-marks, read as one stretch and applied as range
// statements where they form runs, one statement at a time where they do not. Checked against
// recording statements (which statements, with what), and against SQLite (which rows remain).

import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchReader, BatchWriter, OP_ENTRY_DEL, OP_ENTRY_MARK, OP_QUEUE_PURGE } from '../../src/store/batch.js';
import { EntryRuns, type EntryStatements } from '../../src/store/sqlite/entry-runs.js';

type Op = ['del', number, number, number, boolean?] | ['mark', number, number, number];

function encode(ops: Op[], tail: number[] = []): BatchReader {
  const w = new BatchWriter();
  for (const op of ops) {
    if (op[0] === 'del') {
      w.u8(OP_ENTRY_DEL);
      w.u32(op[1]);
      w.u64(op[2]);
      w.u64(op[3]);
      w.u8(op[4] === true ? 1 : 0);
    } else {
      w.u8(OP_ENTRY_MARK);
      w.u32(op[1]);
      w.u64(op[2]);
      w.u32(op[3]);
    }
  }
  for (const b of tail) w.u8(b);
  const { buffer, length } = w.finish();
  const r = new BatchReader(Buffer.alloc(0));
  r.reset(Buffer.from(buffer, 0, length), 0, length);
  return r;
}

/**
 * Statements that record their calls. The solo_entries ones change no row (entries written
 * before schema 5, or shared) unless `solo` says how many rows a call changes.
 */
function recorder(solo: (name: string, p: number[]) => number = () => 0): { calls: string[]; st: EntryStatements } {
  const calls: string[] = [];
  const rec = (name: string) => ({
    run: (...p: number[]) => {
      calls.push(`${name}(${p.join(',')})`);
      return { changes: name.startsWith('solo') ? solo(name, p) : 1 };
    },
  });
  const st: EntryStatements = {
    entryDel: rec('entryDel'),
    entryDelRange: rec('entryDelRange'),
    messageDel: rec('messageDel'),
    messageDelRange: rec('messageDelRange'),
    messageRefDec: rec('messageRefDec'),
    messageDelUnreferenced: rec('messageDelUnreferenced'),
    entryMark: rec('entryMark'),
    entryMarkRange: rec('entryMarkRange'),
    soloDel: rec('soloDel'),
    soloDelRange: rec('soloDelRange'),
    soloMarkDel: rec('soloMarkDel'),
    soloMarkDelRange: rec('soloMarkDelRange'),
    soloMark: rec('soloMark'),
    soloMarkRange: rec('soloMarkRange'),
  };
  return { calls, st };
}

/** Every row a solo_entries row: each solo statement changes as many rows as it covers. */
function allSolo(name: string, p: number[]): number {
  if (name === 'soloDelRange') return p[1]! - p[0]! + 1;
  if (name === 'soloMarkRange') return p[3]! - p[2]! + 1;
  return 1;
}

function apply(ops: Op[], tail: number[] = [], solo: (name: string, p: number[]) => number = allSolo): { calls: string[]; r: BatchReader } {
  const { calls, st } = recorder(solo);
  const r = encode(ops, tail);
  const runs = new EntryRuns(st);
  runs.applyFrom(r, r.u8());
  return { calls, r };
}

describe('EntryRuns', () => {
  it('turns a drain\'s alternating acks and marks into two range deletes and one range update', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 100; i++) ops.push(['del', 1, 1 + i, 1001 + i], ['mark', 1, 101 + i, 0]);
    const { calls, r } = apply(ops);
    expect(calls).toEqual(['soloDelRange(1001,1100)', 'soloMarkDelRange(1001,1100)', 'soloMarkRange(0,1,101,200)']);
    expect(r.remaining).toBe(0);
  });

  it('goes on to the entries and messages tables for rows written before schema 5', () => {
    const ops: Op[] = [];
    for (let i = 0; i < 100; i++) ops.push(['del', 1, 1 + i, 1001 + i], ['mark', 1, 101 + i, 0]);
    ops.push(['del', 1, 300, 2000], ['mark', 1, 400, 1]);
    const { calls } = apply(ops, [], () => 0);
    expect(calls).toEqual([
      'soloDelRange(1001,1100)',
      'entryDelRange(1,1,100)',
      'messageDelRange(1001,1100)',
      'soloDel(2000)',
      'entryDel(1,300)',
      'messageDel(2000)',
      'soloMarkRange(0,1,101,200)',
      'entryMarkRange(0,1,101,200)',
      'soloMark(1,1,400)',
      'entryMark(1,1,400)',
    ]);
  });

  it('a run that is partly solo (written across the upgrade) also runs the older range statements', () => {
    const { calls } = apply(
      [
        ['del', 1, 1, 11],
        ['del', 1, 2, 12],
        ['del', 1, 3, 13],
      ],
      [],
      () => 2,
    );
    expect(calls).toEqual(['soloDelRange(11,13)', 'soloMarkDelRange(11,13)', 'entryDelRange(1,1,3)', 'messageDelRange(11,13)']);
  });

  it('breaks runs where the queue, the seq, the message id or the delivery count does not follow', () => {
    const { calls } = apply([
      ['del', 1, 1, 11],
      ['del', 1, 2, 12],
      ['del', 2, 3, 13], // another queue
      ['del', 2, 5, 14], // seq gap
      ['del', 2, 6, 16], // message id gap
      ['mark', 1, 20, 0],
      ['mark', 1, 21, 0],
      ['mark', 1, 22, 1], // another delivery count
      ['mark', 1, 24, 1], // seq gap
    ]);
    expect(calls).toEqual([
      'soloDelRange(11,12)',
      'soloMarkDelRange(11,12)',
      'soloDel(13)',
      'soloMarkDel(13)',
      'soloDel(14)',
      'soloMarkDel(14)',
      'soloDel(16)',
      'soloMarkDel(16)',
      'soloMarkRange(0,1,20,21)',
      'soloMark(1,1,22)',
      'soloMark(1,1,24)',
    ]);
  });

  it('deletes a shared message\'s entry one at a time, dropping a reference, and splits runs around it', () => {
    const { calls } = apply([
      ['del', 1, 1, 11],
      ['del', 1, 2, 12, true],
      ['del', 1, 3, 13],
      ['del', 1, 4, 14],
    ]);
    expect(calls).toEqual([
      'soloDel(11)',
      'soloMarkDel(11)',
      'entryDel(1,2)',
      'messageRefDec(12)',
      'messageDelUnreferenced(12)',
      'soloDelRange(13,14)',
      'soloMarkDelRange(13,14)',
    ]);
  });

  it('stops at the first other op and leaves the reader there', () => {
    const { calls, r } = apply(
      [
        ['del', 1, 1, 11],
        ['mark', 1, 5, 0],
      ],
      [OP_QUEUE_PURGE, 0, 0, 0, 1],
    );
    expect(calls).toEqual(['soloDel(11)', 'soloMarkDel(11)', 'soloMark(0,1,5)']);
    expect(r.u8()).toBe(OP_QUEUE_PURGE);
    expect(r.u32()).toBe(1);
  });

  describe('against SQLite', () => {
    const dbs: Database.Database[] = [];
    afterEach(() => {
      for (const db of dbs.splice(0)) db.close();
    });

    it('leaves exactly the rows that were not deleted, and marks exactly the marked ones, in both layouts', () => {
      const db = new Database(':memory:');
      dbs.push(db);
      db.exec(`CREATE TABLE messages (id INTEGER PRIMARY KEY, refs INTEGER NOT NULL);
        CREATE TABLE entries (queue_id INTEGER NOT NULL, seq INTEGER NOT NULL, msg_id INTEGER NOT NULL, delivered INTEGER NOT NULL, delivery_count INTEGER NOT NULL, PRIMARY KEY (queue_id, seq)) WITHOUT ROWID;
        CREATE TABLE solo_entries (id INTEGER PRIMARY KEY, queue_id INTEGER NOT NULL, seq INTEGER NOT NULL);
        CREATE INDEX solo_entries_place ON solo_entries (queue_id, seq);
        CREATE TABLE solo_marks (id INTEGER PRIMARY KEY, delivery_count INTEGER NOT NULL);`);
      const putM = db.prepare('INSERT INTO messages VALUES (?, 1)');
      const putE = db.prepare('INSERT INTO entries VALUES (?, ?, ?, 0, 0)');
      const putSolo = db.prepare('INSERT INTO solo_entries VALUES (?, ?, ?)');
      // Queues 1 and 2, seqs 1..10 each; queue q's seq s holds message q * 100 + s. Seqs 1-2
      // and 6-10 were written before the upgrade (entries and messages), 3-5 are solo rows.
      for (const q of [1, 2]) {
        for (let s = 1; s <= 10; s++) {
          if (s >= 3 && s <= 5) putSolo.run(q * 100 + s, q, s);
          else {
            putM.run(q * 100 + s);
            putE.run(q, s, q * 100 + s);
          }
        }
      }
      // Solo message 103 was delivered before (a mark of its own): its delete takes the mark too.
      db.prepare('INSERT INTO solo_marks VALUES (103, 1)').run();
      const st: EntryStatements = {
        entryDel: db.prepare('DELETE FROM entries WHERE queue_id = ? AND seq = ?'),
        entryDelRange: db.prepare('DELETE FROM entries WHERE queue_id = ? AND seq BETWEEN ? AND ?'),
        messageDel: db.prepare('DELETE FROM messages WHERE id = ?'),
        messageDelRange: db.prepare('DELETE FROM messages WHERE id BETWEEN ? AND ?'),
        messageRefDec: db.prepare('UPDATE messages SET refs = refs - 1 WHERE id = ?'),
        messageDelUnreferenced: db.prepare('DELETE FROM messages WHERE id = ? AND refs <= 0'),
        entryMark: db.prepare('UPDATE entries SET delivered = 1, delivery_count = ? WHERE queue_id = ? AND seq = ?'),
        entryMarkRange: db.prepare('UPDATE entries SET delivered = 1, delivery_count = ? WHERE queue_id = ? AND seq BETWEEN ? AND ?'),
        soloDel: db.prepare('DELETE FROM solo_entries WHERE id = ?'),
        soloDelRange: db.prepare('DELETE FROM solo_entries WHERE id BETWEEN ? AND ?'),
        soloMarkDel: db.prepare('DELETE FROM solo_marks WHERE id = ?'),
        soloMarkDelRange: db.prepare('DELETE FROM solo_marks WHERE id BETWEEN ? AND ?'),
        soloMark: db.prepare('INSERT OR REPLACE INTO solo_marks (id, delivery_count) SELECT id, ? FROM solo_entries WHERE queue_id = ? AND seq = ?'),
        soloMarkRange: db.prepare('INSERT OR REPLACE INTO solo_marks (id, delivery_count) SELECT id, ? FROM solo_entries WHERE queue_id = ? AND seq BETWEEN ? AND ?'),
      };
      const r = encode([
        ['del', 1, 1, 101],
        ['mark', 1, 5, 0],
        ['del', 1, 2, 102],
        ['mark', 1, 6, 0],
        ['del', 1, 3, 103],
        ['mark', 2, 1, 2],
        ['del', 2, 10, 210],
        ['mark', 1, 7, 0],
      ]);
      new EntryRuns(st).applyFrom(r, r.u8());
      // A solo entry was marked where it has a solo_marks row, as the store reads it back.
      const entries = db
        .prepare(
          'SELECT queue_id, seq, delivered, delivery_count FROM entries UNION ALL ' +
            'SELECT s.queue_id, s.seq, m.id IS NOT NULL, coalesce(m.delivery_count, 0) FROM solo_entries s LEFT JOIN solo_marks m ON m.id = s.id ORDER BY 1, 2',
        )
        .raw()
        .all() as number[][];
      const want: number[][] = [];
      for (let s = 4; s <= 10; s++) want.push([1, s, s >= 5 && s <= 7 ? 1 : 0, 0]);
      for (let s = 1; s <= 9; s++) want.push([2, s, s === 1 ? 1 : 0, s === 1 ? 2 : 0]);
      expect(entries).toEqual(want);
      const ids = db.prepare('SELECT id FROM messages UNION ALL SELECT id FROM solo_entries ORDER BY 1').pluck().all();
      expect(ids).toEqual([...[4, 5, 6, 7, 8, 9, 10].map((s) => 100 + s), ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => 200 + s)]);
      expect(db.prepare('SELECT id FROM solo_marks ORDER BY id').pluck().all()).toEqual([105]);
      // Nothing deleted was left in the other layout, and each message is in one place.
      expect(db.prepare('SELECT count(*) FROM entries').pluck().get()).toBe(db.prepare('SELECT count(*) FROM messages').pluck().get());
    });
  });
});
