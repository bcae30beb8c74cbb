// A backlog's messages read back from SQLite as one value per range, not one row each.
//
// better-sqlite3 turns every BLOB and TEXT column of every row into its own JS object from C++
// (a Buffer made there costs a prototype change and an external backing store), and that was
// most of the main thread's time while a backlog drained: about 5 us of the 7 us a 1 KiB row
// took (bench/sqlite-reads.ts). Here SQLite concatenates the range's rows into one BLOB, each
// row a short ASCII prefix (id and the four lengths) followed by its bytes, and this thread cuts
// it up: one Buffer a range instead of four objects a row.

import type Database from 'better-sqlite3';
import { Message } from '../../message.js';

/**
 * Header and body bytes above which a row is left out of the packed value and read on its own.
 * This is what bounds the value: a range holds at most a few times as many rows as were asked
 * for (other queues' rows between them too), and without a cap a backlog of large messages
 * would be gathered whole by SQLite, then copied again into one Buffer.
 */
export const PACKED_ROW_MAX = 8 * 1024;

/**
 * Rows of a range of message ids, packed in id order. Each row: `id,exchangeBytes,routingKeyBytes,
 * headerBytes,bodyBytes;` in decimal, then exchange, routing key, header and body. NULL when no
 * row is in the range. concat() and group_concat() copy TEXT and BLOB bytes as they are, and
 * CAST ... AS BLOB keeps them (the database is UTF-8, so nothing is converted). Rows larger than
 * PACKED_ROW_MAX are not included (length() of a BLOB does not read its content).
 */
export const PACKED_RANGE_SQL =
  'SELECT CAST(group_concat(concat(id, \',\', octet_length(exchange), \',\', octet_length(routing_key), \',\', ' +
  "octet_length(header), ',', octet_length(body), ';', exchange, routing_key, header, body), '') AS BLOB) " +
  `FROM messages WHERE id BETWEEN ? AND ? AND length(header) + length(body) <= ${PACKED_ROW_MAX}`;

const COMMA = 0x2c;
const SEMICOLON = 0x3b;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * Where the header and body of messages read back are copied to, so that a message kept for a
 * while (an unacknowledged delivery) pins at most one slab, as one arriving from a socket pins
 * at most its read chunk, and not the whole range's value. Larger messages get a buffer each.
 */
export class ReadSlab {
  static readonly SIZE = 64 * 1024;
  static readonly OWN_ABOVE = 8 * 1024;
  #buf = Buffer.allocUnsafeSlow(0);
  #at = 0;

  /** A copy of src[start, end), in this slab or (large) in a buffer of its own. */
  copy(src: Buffer, start: number, end: number): Buffer {
    const len = end - start;
    if (len > ReadSlab.OWN_ABOVE) {
      const own = Buffer.allocUnsafeSlow(len);
      src.copy(own, 0, start, end);
      return own;
    }
    if (this.#at + len > this.#buf.length) {
      this.#buf = Buffer.allocUnsafeSlow(ReadSlab.SIZE);
      this.#at = 0;
    }
    const at = this.#at;
    src.copy(this.#buf, at, start, end);
    this.#at = at + len;
    return this.#buf.subarray(at, at + len);
  }
}

/**
 * The last exchange or routing key decoded, reused while the next row's bytes are the same (a
 * backlog's messages mostly share both), so a range makes one string, not one a row.
 */
export class NameCache {
  static readonly MAX = 255;
  readonly #bytes = Buffer.alloc(NameCache.MAX);
  #len = -1;
  #str = '';

  get(src: Buffer, start: number, len: number): string {
    if (len === 0) return '';
    if (len === this.#len) {
      const b = this.#bytes;
      let i = 0;
      while (i < len && b[i] === src[start + i]) i++;
      if (i === len) return this.#str;
    }
    const s = src.toString('utf8', start, start + len);
    if (len <= NameCache.MAX) {
      src.copy(this.#bytes, 0, start, start + len);
      this.#len = len;
      this.#str = s;
    }
    return s;
  }
}

/** Index of the first id >= `id` in ascending `ids`. */
export function lowerBound(ids: readonly number[], id: number): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class PackedReader {
  readonly #range: Database.Statement;
  readonly #slab = new ReadSlab();
  readonly #exchanges = new NameCache();
  readonly #routingKeys = new NameCache();
  /** The five numbers of the row prefix being parsed. */
  readonly #fields = [0, 0, 0, 0, 0];

  constructor(db: Database.Database) {
    this.#range = db.prepare(PACKED_RANGE_SQL).pluck();
  }

  /**
   * Fills `out[k]` with the message `storeIds[k]` (ascending) for each one stored between the
   * first and the last id, except those larger than PACKED_ROW_MAX (left undefined: the caller
   * reads them one by one); rows in that range that were not asked for are passed over. With
   * `at`, message `storeIds[k]` goes to `out[at + k]`.
   */
  read(storeIds: readonly number[], out: (Message | undefined)[], at = 0): void {
    const n = storeIds.length;
    const packed = this.#range.get(storeIds[0], storeIds[n - 1]) as Buffer | null;
    if (packed === null) return;
    const f = this.#fields;
    const end = packed.length;
    let p = 0;
    let k = 0;
    let lastId = -1;
    while (p < end) {
      p = this.#prefix(packed, p);
      const id = f[0]!;
      const exStart = p;
      const rkStart = exStart + f[1]!;
      const headerStart = rkStart + f[2]!;
      const bodyStart = headerStart + f[3]!;
      const next = bodyStart + f[4]!;
      if (next > end) throw new Error(`packed row of message ${id} runs past the end of the range's value`);
      // Rows come in id order (a rowid range scan); if not, find the place from the start.
      if (id < lastId) k = lowerBound(storeIds, id);
      lastId = id;
      while (k < n && storeIds[k]! < id) k++;
      if (k < n && storeIds[k] === id) {
        const own = this.#slab.copy(packed, headerStart, next);
        const msg = new Message(
          this.#exchanges.get(packed, exStart, f[1]!),
          this.#routingKeys.get(packed, rkStart, f[2]!),
          own.subarray(0, f[3]!),
          own.subarray(f[3]!),
        );
        msg.storeId = id;
        out[at + k++] = msg;
      }
      p = next;
    }
  }

  /** Parses `id,a,b,c,d;` at `p` into #fields; returns the offset after the ';'. */
  #prefix(buf: Buffer, p: number): number {
    const f = this.#fields;
    for (let i = 0; i < 5; i++) {
      let v = 0;
      let c = buf[p++];
      const first = p;
      while (c !== undefined && c >= DIGIT_0 && c <= DIGIT_9) {
        v = v * 10 + (c - DIGIT_0);
        c = buf[p++];
      }
      if (p === first || c !== (i === 4 ? SEMICOLON : COMMA)) throw new Error(`malformed packed row prefix at byte ${first - 1}`);
      f[i] = v;
    }
    return p;
  }
}
