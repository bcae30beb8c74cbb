// PackedReader: a range of stored messages read back as one value and cut up on this thread.
// Bytes must come back exactly (every byte value, invalid UTF-8, empty parts), names must not be
// reused from the row before when they differ, and a message must not keep the range's whole
// value alive.

import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Message } from '../../src/message.js';
import { PACKED_RANGE_SQL, PACKED_ROW_MAX, PackedReader, ReadSlab } from '../../src/store/sqlite/packed-read.js';
import { checkGaps, readWith, row, rowTables, same } from '../helpers/stored-rows.js';

const TABLE = 'id INTEGER PRIMARY KEY, refs INTEGER NOT NULL, exchange TEXT NOT NULL, routing_key TEXT NOT NULL, header BLOB NOT NULL, body BLOB NOT NULL';

/** A database with the store's messages table (or, `descending`, a view that yields rows backwards). */
const open = rowTables('messages', TABLE, '?, 1, ?, ?, ?, ?', (r) => [r.id, r.exchange, r.routingKey, r.header, r.body]);

function read(db: Database.Database, ids: number[]): (Message | undefined)[] {
  return readWith(new PackedReader(db), ids);
}

describe('PackedReader', () => {
  it('gives back every byte as stored: all byte values, invalid UTF-8, empty body and names, multi-byte names', () => {
    const all = Buffer.alloc(256 * 4);
    for (let i = 0; i < all.length; i++) all[i] = i & 0xff;
    const rows = [
      row(1, 'q', all),
      row(2, 'q', Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x00])),
      row(3, '', Buffer.alloc(0), ''),
      row(4, 'clé.ключ.鍵', Buffer.from('ü'), 'exché'),
      row(5, 'a,b;c', Buffer.from('1,2,3;'), ',;'),
    ];
    const db = open(rows);
    const got = read(db, [1, 2, 3, 4, 5]);
    rows.forEach((r, i) => same(got[i], r));
  });

  it('passes over rows not asked for and leaves missing ids undefined', () => {
    checkGaps(open, read);
  });

  it('does not reuse the previous row\'s names when they differ (same length, then longer than the cache)', () => {
    const long = 'k'.repeat(300);
    const rows = [row(1, 'rk1', undefined, 'x1'), row(2, 'rk2', undefined, 'x1'), row(3, 'rk2', undefined, 'x2'), row(4, long), row(5, long + 'z'), row(6, long)];
    const db = open(rows);
    const got = read(db, [1, 2, 3, 4, 5, 6]);
    rows.forEach((r, i) => same(got[i], r));
  });

  it('places rows that come out of id order', () => {
    const rows = [1, 2, 3, 4].map((id) => row(id, `rk${id}`));
    const db = open(rows, true);
    const got = read(db, [1, 2, 4]);
    same(got[0], rows[0]!);
    same(got[1], rows[1]!);
    same(got[2], rows[3]!);
  });

  it('copies each message out of the range\'s value into a shared slab, and leaves rows above PACKED_ROW_MAX to be read alone', () => {
    const header = row(0).header.length;
    const atMax = Buffer.alloc(PACKED_ROW_MAX - header, 'AT-MAX');
    const over = Buffer.alloc(PACKED_ROW_MAX - header + 1, 'OVER');
    const rows = [...Array.from({ length: 200 }, (_, i) => row(i + 1, 'q', Buffer.alloc(1000, i))), row(201, 'q', atMax), row(202, 'q', over), row(203, 'q')];
    const db = open(rows);
    const got = read(db, rows.map((r) => r.id));
    rows.forEach((r, i) => (r.id === 202 ? expect(got[i]).toBeUndefined() : same(got[i], r)));
    // 200 x 1 KiB is about 200 KiB of value; no small message holds more than one slab of it.
    for (const m of got.slice(0, 201)) expect(m!.body.buffer.byteLength).toBeLessThanOrEqual(ReadSlab.SIZE);
    // The packed value itself leaves the large row out.
    const packed = db.prepare(PACKED_RANGE_SQL).pluck().get(1, 203) as Buffer;
    expect(packed.includes(over.subarray(0, 64))).toBe(false);
    expect(packed.includes(atMax.subarray(0, 64))).toBe(true);
  });

  it('ReadSlab gives a copy larger than OWN_ABOVE a buffer of its own', () => {
    const slab = new ReadSlab();
    const big = Buffer.alloc(ReadSlab.OWN_ABOVE + 1, 9);
    const own = slab.copy(big, 0, big.length);
    expect(own.equals(big)).toBe(true);
    expect(own.buffer.byteLength).toBe(big.length);
  });
});
