// SoloReader: a range of solo_entries rows (schema 5) read back as one value, each row after the
// first found after its id (group_concat's separator), and cut up on this thread. Bytes must
// come back exactly, whatever they are (digits and ';' right where an id would start included),
// rows not asked for or too large are passed over, and rows that come out of id order are
// left for the caller to read one by one rather than given the wrong ids.

import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/message.js';
import { PACKED_ROW_MAX } from '../../src/store/sqlite/packed-read.js';
import { SOLO_RANGE_SQL, SoloReader } from '../../src/store/sqlite/solo-read.js';
import { checkGaps, readWith, row, type Row, rowTables, same } from '../helpers/stored-rows.js';

const TABLE =
  'id INTEGER PRIMARY KEY, queue_id INTEGER NOT NULL, seq INTEGER NOT NULL, size INTEGER NOT NULL, priority INTEGER NOT NULL, expires_at INTEGER NOT NULL, message BLOB NOT NULL';

function field(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

/** A row's `message` value as the writer stores it: four u32-prefixed fields. */
function value(r: Row): Buffer {
  return Buffer.concat([field(Buffer.from(r.exchange)), field(Buffer.from(r.routingKey)), field(r.header), field(r.body)]);
}

/** A database with schema 5's solo_entries (or, `descending`, a view that yields its rows backwards). */
const open = rowTables('solo_entries', TABLE, '?, 1, ?, ?, 0, 0, ?', (r) => [r.id, r.id, r.body.length, value(r)]);

function read(db: Database.Database, ids: number[]): (Message | undefined)[] {
  return readWith(new SoloReader(db), ids);
}

describe('SoloReader', () => {
  it('gives back every byte as stored, ids and separators inside bodies included', () => {
    const all = Buffer.alloc(256 * 4);
    for (let i = 0; i < all.length; i++) all[i] = i & 0xff;
    const rows = [
      row(7, 'q', all),
      row(8, 'q', Buffer.from('9;10;')), // looks like the next row's id
      row(9, '', Buffer.alloc(0), ''),
      row(10, 'clé.ключ.鍵', Buffer.from('ü'), 'exché'),
      row(11, 'a,b;c', Buffer.from(';'), ',;'),
      row(123456789, 'q', Buffer.from('12;')),
    ];
    const db = open(rows);
    const got = read(db, rows.map((r) => r.id));
    rows.forEach((r, i) => same(got[i], r));
  });

  it('passes over rows not asked for, leaves missing ids undefined, and reads a range of one row', () => {
    const { db, rows } = checkGaps(open, read);
    same(read(db, [5])[0], rows[3]!);
    // The first row of the value need not be the first id asked for.
    const from4 = read(db, [4, 5, 8]);
    expect(from4[0]).toBeUndefined();
    same(from4[1], rows[3]!);
    same(from4[2], rows[5]!);
  });

  it('leaves rows above PACKED_ROW_MAX to be read alone, and the first row may be one of them', () => {
    const over = Buffer.alloc(PACKED_ROW_MAX + 1, 'OVER');
    const rows = [row(1, 'q', over), ...Array.from({ length: 100 }, (_, i) => row(i + 2, 'q', Buffer.alloc(1000, i))), row(102, 'q', over), row(103, 'q')];
    const db = open(rows);
    const got = read(db, rows.map((r) => r.id));
    rows.forEach((r, i) => (r.id === 1 || r.id === 102 ? expect(got[i]).toBeUndefined() : same(got[i], r)));
    const [first] = db.prepare(SOLO_RANGE_SQL).raw().get(1, 103) as [number, Buffer];
    expect(first).toBe(2);
  });

  it('gives rows that come out of id order no message (the caller reads them one by one), not wrong ones', () => {
    const rows = [1, 2, 3, 4].map((id) => row(id, `rk${id}`));
    const db = open(rows, true);
    expect(read(db, [1, 2, 4])).toEqual([undefined, undefined, undefined]);
  });

  it('throws on a value whose fields run past its end', () => {
    const db = open([]);
    db.prepare('INSERT INTO solo_entries VALUES (1, 1, 1, 0, 0, 0, ?)').run(Buffer.from([0, 0, 0, 9, 1, 2]));
    expect(() => read(db, [1])).toThrow(/truncated/);
  });
});
