// What the SQLite readers' tests (packed-read, solo-read) share: a stored message as its parts,
// a row of them, an in-memory table of such rows, a reader's answer for a list of ids, and the
// check that one came back exactly.

import Database from 'better-sqlite3';
import { afterEach, expect } from 'vitest';
import type { Message } from '../../src/message.js';

export interface Row {
  id: number;
  exchange: string;
  routingKey: string;
  header: Buffer;
  body: Buffer;
}

export function row(id: number, routingKey = 'q', body: Buffer = Buffer.from(`body-${id}`), exchange = ''): Row {
  return { id, exchange, routingKey, header: Buffer.from([0, 60, 0, 0, id & 0xff]), body };
}

/** `ids` read by `reader` into a list as long (undefined: not read). */
export function readWith(reader: { read(ids: readonly number[], out: (Message | undefined)[]): unknown }, ids: number[]): (Message | undefined)[] {
  const out = new Array<Message | undefined>(ids.length).fill(undefined);
  reader.read(ids, out);
  return out;
}

export function same(m: Message | undefined, r: Row): void {
  expect(m).toBeDefined();
  expect(m!.storeId).toBe(r.id);
  expect(m!.exchange).toBe(r.exchange);
  expect(m!.routingKey).toBe(r.routingKey);
  expect(Buffer.compare(m!.header, r.header)).toBe(0);
  expect(Buffer.compare(m!.body, r.body)).toBe(0);
}

/**
 * What every reader must do with gaps: rows 1-3, 5, 6, 8 stored, ids 1, 3, 4, 6, 8 asked: the
 * rows not asked for are passed over, the missing id is left undefined, and so is a range with
 * none. Returns the database and its rows for checks of a reader's own.
 */
export function checkGaps(open: TableOf, read: (db: Database.Database, ids: number[]) => (Message | undefined)[]): { db: Database.Database; rows: Row[] } {
  const rows = [1, 2, 3, 5, 6, 8].map((id) => row(id, `rk${id}`));
  const db = open(rows);
  const got = read(db, [1, 3, 4, 6, 8]);
  same(got[0], rows[0]!);
  same(got[1], rows[2]!);
  expect(got[2]).toBeUndefined();
  same(got[3], rows[4]!);
  same(got[4], rows[5]!);
  expect(read(db, [20, 21])).toEqual([undefined, undefined]);
  return { db, rows };
}

export type TableOf = (rows: Row[], descending?: boolean) => Database.Database;

/**
 * Opens in-memory databases holding `rows` in table `name` (columns `columns`, one row's values
 * `args(row)` for the `?`s of `values`); `descending`: `name` is a view yielding them backwards.
 * Each test's databases are closed after it.
 */
export function rowTables(name: string, columns: string, values: string, args: (r: Row) => unknown[]): TableOf {
  const dbs: Database.Database[] = [];
  afterEach(() => {
    for (const db of dbs.splice(0)) db.close();
  });
  return (rows, descending = false) => {
    const db = new Database(':memory:');
    dbs.push(db);
    const table = descending ? `${name}_rows` : name;
    db.exec(descending ? `CREATE TABLE ${table} (${columns}); CREATE VIEW ${name} AS SELECT * FROM ${table} ORDER BY id DESC` : `CREATE TABLE ${name} (${columns})`);
    const put = db.prepare(`INSERT INTO ${table} VALUES (${values})`);
    for (const r of rows) put.run(...args(r));
    return db;
  };
}
