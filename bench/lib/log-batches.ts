// A log-shaped store layout for bench/sqlite-log-drain.ts (not warren's layout): the messages of
// one commit are ONE row (`log_batches`: the first message's id, how many, and their values back
// to back), and what happened to them since is a small row of its own (`log_state`: a bitmap of
// the delivered and one of the acked), rewritten when an ack batch touches it. A batch row is
// deleted, with its state, once its last message is acked. Only what the drain's floor needs:
// no expiry, priorities or delivery counts.

import { Message } from '../../src/message.js';
import { NameCache, ReadSlab } from '../../src/store/sqlite/packed-read.js';

export const LOG_SCHEMA_SQL = [
  'CREATE TABLE log_batches (id INTEGER PRIMARY KEY, queue_id INTEGER NOT NULL, n INTEGER NOT NULL, messages BLOB NOT NULL)',
  'CREATE TABLE log_state (batch_id INTEGER PRIMARY KEY, delivered BLOB NOT NULL, acked BLOB NOT NULL)',
];

/** One batch row's messages: ids first .. first + n - 1, and which are delivered and acked. */
export class BatchState {
  readonly delivered: Buffer;
  readonly acked: Buffer;
  ackedCount = 0;
  /** Changed since the last flush. */
  dirty = false;

  constructor(
    readonly first: number,
    readonly n: number,
  ) {
    this.delivered = Buffer.alloc((n + 7) >> 3);
    this.acked = Buffer.alloc((n + 7) >> 3);
  }
}

/** What a flush asks the writer to do: rewrite a batch's state row, or delete the batch. */
export interface LedgerOps {
  /** Batches with something newly delivered or acked and some message still unacked. */
  readonly states: BatchState[];
  /** First ids of batches whose every message is now acked. */
  readonly deletes: number[];
}

/**
 * The writer's view of the log: the batch rows still stored (in id order) with their bitmaps,
 * and which ones an ack batch has touched since the last flush.
 */
export class LogLedger {
  readonly #batches: BatchState[] = [];
  /** Index into #batches of the first batch not yet deleted. */
  #head = 0;
  /** The batch the last lookup found (a drain's ids mostly fall in it). */
  #last = 0;
  readonly #touched: BatchState[] = [];

  /** A batch row of `n` messages from `first` on, committed; ids must grow from one to the next. */
  add(first: number, n: number): void {
    const prev = this.#batches[this.#batches.length - 1];
    if (n < 1 || (prev !== undefined && first < prev.first + prev.n)) throw new Error(`batch ${first} (+${n}) overlaps the one before`);
    this.#batches.push(new BatchState(first, n));
  }

  /** Batches still stored. */
  get size(): number {
    return this.#batches.length - this.#head;
  }

  deliver(id: number): void {
    const b = this.#find(id);
    const i = id - b.first;
    b.delivered[i >> 3]! |= 1 << (i & 7);
    this.#touch(b);
  }

  ack(id: number): void {
    const b = this.#find(id);
    const i = id - b.first;
    const bit = 1 << (i & 7);
    if ((b.acked[i >> 3]! & bit) !== 0) throw new Error(`message ${id} acked twice`);
    b.acked[i >> 3]! |= bit;
    b.ackedCount++;
    this.#touch(b);
  }

  /** The writes the changes since the last flush need; fully acked batches leave the ledger. */
  flush(): LedgerOps {
    const states: BatchState[] = [];
    const deletes: number[] = [];
    for (const b of this.#touched) {
      b.dirty = false;
      if (b.ackedCount === b.n) deletes.push(b.first);
      else states.push(b);
    }
    this.#touched.length = 0;
    // Deleted batches at the head are dropped; one acked out of order waits for those before it.
    while (this.#head < this.#batches.length && this.#batches[this.#head]!.ackedCount === this.#batches[this.#head]!.n) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#batches.length) {
      this.#batches.splice(0, this.#head);
      this.#last = Math.max(0, this.#last - this.#head);
      this.#head = 0;
    }
    return { states, deletes };
  }

  #touch(b: BatchState): void {
    if (!b.dirty) {
      b.dirty = true;
      this.#touched.push(b);
    }
  }

  /** The stored batch holding message `id`. */
  #find(id: number): BatchState {
    const bs = this.#batches;
    let k = this.#last;
    const at = bs[k];
    if (at === undefined || k < this.#head || id < at.first || id >= at.first + at.n) {
      const next = bs[k + 1];
      if (next !== undefined && k + 1 >= this.#head && id >= next.first && id < next.first + next.n) k++;
      else {
        let lo = this.#head;
        let hi = bs.length - 1;
        k = -1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          const m = bs[mid]!;
          if (id < m.first) hi = mid - 1;
          else if (id >= m.first + m.n) lo = mid + 1;
          else {
            k = mid;
            break;
          }
        }
        if (k < 0 || bs[k]!.ackedCount === bs[k]!.n) throw new Error(`message ${id} is in no stored batch`);
      }
      this.#last = k;
    }
    return bs[k]!;
  }
}

/**
 * A batch row's `messages` cut into Messages, as SoloReader cuts a range: each message's four
 * fields (exchange, routing key, content header, body; a u32 big-endian length and the bytes),
 * header and body copied into the read slab as one, the names decoded once while they repeat.
 * With `views`, header and body are views of the row's value instead (no copy; the value stays
 * in memory while any of its messages does: a drain delivers a row's messages together).
 */
export class LogBatchCutter {
  constructor(readonly views = false) {}

  readonly #slab = new ReadSlab();
  readonly #exchanges = new NameCache();
  readonly #routingKeys = new NameCache();
  readonly #start = [0, 0, 0, 0];
  readonly #len = [0, 0, 0, 0];

  /** Appends the batch's `n` messages (ids first ..) to `out`; throws unless they fill `packed` exactly. */
  cut(first: number, n: number, packed: Buffer, out: Message[]): void {
    const end = packed.length;
    const s = this.#start;
    const l = this.#len;
    let p = 0;
    for (let k = 0; k < n; k++) {
      for (let i = 0; i < 4; i++) {
        if (p + 4 > end) throw new Error(`batch ${first}: message ${first + k} is truncated`);
        const len = packed.readUInt32BE(p);
        p += 4;
        s[i] = p;
        l[i] = len;
        p += len;
      }
      if (p > end) throw new Error(`batch ${first}: message ${first + k} is truncated`);
      const own = this.views ? packed.subarray(s[2]!, p) : this.#slab.copy(packed, s[2]!, p);
      const msg = new Message(
        this.#exchanges.get(packed, s[0]!, l[0]!),
        this.#routingKeys.get(packed, s[1]!, l[1]!),
        own.subarray(0, l[2]!),
        own.subarray(l[2]! + 4),
      );
      msg.storeId = first + k;
      out.push(msg);
    }
    if (p !== end) throw new Error(`batch ${first}: ${end - p} bytes after its ${n} messages`);
  }
}

/** One message's value as a batch carries it: the four fields, each length-prefixed. */
export function messageValue(exchange: string, routingKey: string, header: Buffer, body: Buffer): Buffer {
  const ex = Buffer.from(exchange);
  const rk = Buffer.from(routingKey);
  const v = Buffer.alloc(16 + ex.length + rk.length + header.length + body.length);
  let at = 0;
  for (const part of [ex, rk, header, body]) {
    at = v.writeUInt32BE(part.length, at);
    at += part.copy(v, at);
  }
  return v;
}
