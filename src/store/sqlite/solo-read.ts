// Messages held by one queue (solo_entries, schema 5) read back: one by id, or a range of ids
// as one value, as packed-read.ts does for the messages table. A row's `message` is the four
// fields of OP_MESSAGE_PUT as the batch carried them: exchange, routing key, content header and
// body, each a u32 big-endian length and the bytes.

import type Database from 'better-sqlite3';
import { Message } from '../../message.js';
import { NameCache, PACKED_ROW_MAX, ReadSlab } from './packed-read.js';

/**
 * Rows of a range of ids, in id order: the id of the first, and every row's `message` one after
 * another, each row but the first preceded by its id in decimal and a ';' (group_concat's
 * separator, which SQLite takes from the row it puts in front of). A `message` needs no length
 * of its own (its four fields carry theirs), so no row is copied by concat() on the way: that
 * was one copy of every row's bytes more (bench/sqlite-drain.ts: about 0.8 us a 1 KiB row).
 * [null, null] when none is in the range. Larger rows are left out and read one by one.
 */
export const SOLO_RANGE_SQL =
  "SELECT min(id), CAST(group_concat(message, concat(id, ';')) AS BLOB) FROM solo_entries " +
  `WHERE id BETWEEN ? AND ? AND length(message) <= ${PACKED_ROW_MAX}`;

const SEMICOLON = 0x3b;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** Where each of the four fields of a `message` value starts and how long it is. */
class Fields {
  readonly start = [0, 0, 0, 0];
  readonly len = [0, 0, 0, 0];

  /** Reads the fields of buf[from, to); throws when they do not fill it exactly. */
  parse(buf: Buffer, from: number, to: number, id: number): void {
    const p = this.parseAt(buf, from, to, id);
    if (p !== to) throw new Error(`stored message ${id} has more bytes than its fields`);
  }

  /** Reads the fields starting at `from` (none past `to`); returns the offset after the last. */
  parseAt(buf: Buffer, from: number, to: number, id: number): number {
    let p = from;
    for (let i = 0; i < 4; i++) {
      if (p + 4 > to) throw new Error(`stored message ${id} is truncated`);
      const len = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0;
      p += 4;
      this.start[i] = p;
      this.len[i] = len;
      p += len;
    }
    if (p > to) throw new Error(`stored message ${id} is truncated`);
    return p;
  }
}

/** One row's `message` value as a Message; the header and body are views of `value`. */
export function soloMessage(id: number, value: Buffer): Message {
  const f = new Fields();
  f.parse(value, 0, value.length, id);
  const s = f.start;
  const l = f.len;
  const msg = new Message(
    value.toString('utf8', s[0], s[0]! + l[0]!),
    value.toString('utf8', s[1], s[1]! + l[1]!),
    value.subarray(s[2], s[2]! + l[2]!),
    value.subarray(s[3], s[3]! + l[3]!),
  );
  msg.storeId = id;
  return msg;
}

export class SoloReader {
  readonly #one: Database.Statement;
  readonly #range: Database.Statement;
  readonly #slab = new ReadSlab();
  readonly #exchanges = new NameCache();
  readonly #routingKeys = new NameCache();
  readonly #fields = new Fields();
  /** Where the last #decimal stopped: the offset after its terminator. */
  #after = 0;

  constructor(db: Database.Database) {
    this.#one = db.prepare('SELECT message FROM solo_entries WHERE id = ?').pluck();
    this.#range = db.prepare(SOLO_RANGE_SQL).raw();
  }

  /** The message `id` if it is a solo_entries row. */
  readOne(id: number): Message | undefined {
    const value = this.#one.get(id) as Buffer | undefined;
    return value === undefined ? undefined : soloMessage(id, value);
  }

  /**
   * Fills `out[k]` with the message `storeIds[k]` (ascending) for each one of them stored here,
   * except rows larger than PACKED_ROW_MAX; the other slots are left as they were.
   */
  read(storeIds: readonly number[], out: (Message | undefined)[]): void {
    const n = storeIds.length;
    const row = this.#range.get(storeIds[0], storeIds[n - 1]) as [number | null, Buffer | null];
    const packed = row[1];
    if (packed === null || row[0] === null) return;
    const f = this.#fields;
    const end = packed.length;
    let id = row[0];
    let p = 0;
    let k = 0;
    let lastId = -1;
    for (;;) {
      // A rowid range is scanned in id order; the first row's id is min(id) only then.
      if (id <= lastId) {
        this.#unfill(storeIds, out, lastId);
        return;
      }
      lastId = id;
      const next = f.parseAt(packed, p, end, id);
      while (k < n && storeIds[k]! < id) k++;
      if (k < n && storeIds[k] === id) {
        const s = f.start;
        const l = f.len;
        // Header, the body's length and the body, copied as one; the message views its parts.
        const own = this.#slab.copy(packed, s[2]!, next);
        const msg = new Message(
          this.#exchanges.get(packed, s[0]!, l[0]!),
          this.#routingKeys.get(packed, s[1]!, l[1]!),
          own.subarray(0, l[2]!),
          own.subarray(l[2]! + 4),
        );
        msg.storeId = id;
        out[k++] = msg;
      }
      if (next === end) return;
      id = this.#decimal(packed, next, SEMICOLON);
      p = this.#after;
    }
  }

  /** Empties the slots this read filled (ids up to `through`): the caller reads them one by one. */
  #unfill(storeIds: readonly number[], out: (Message | undefined)[], through: number): void {
    for (let k = 0; k < storeIds.length && storeIds[k]! <= through; k++) out[k] = undefined;
  }

  /** The decimal number at `p`, which must end with `terminator`. */
  #decimal(buf: Buffer, p: number, terminator: number): number {
    const first = p;
    let v = 0;
    let c = buf[p++];
    while (c !== undefined && c >= DIGIT_0 && c <= DIGIT_9) {
      v = v * 10 + (c - DIGIT_0);
      c = buf[p++];
    }
    if (p === first + 1 || c !== terminator) throw new Error(`malformed packed row prefix at byte ${first}`);
    this.#after = p;
    return v;
  }
}
