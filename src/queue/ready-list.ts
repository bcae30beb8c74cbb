// The messages of a queue waiting for a consumer, in delivery order: one FIFO per priority
// level (one level for an ordinary queue), highest level first. Entries removed from the
// middle (expired where they sit) stay behind as tombstones that the head skips, so removal
// is O(1) and the order of the rest never changes.

import { Deque } from '../util/deque.js';

export interface ReadyItem {
  readonly seq: number;
  readonly size: number;
  readonly priority: number;
  /** False once removed from the middle (a tombstone until it reaches the head). */
  ready: boolean;
}

/** Tombstones are swept out once there are this many and more than live entries. */
const COMPACT_AT = 4096;

export class ReadyList<T extends ReadyItem> {
  #levels: Deque<T>[];
  #live = 0;
  #bytes = 0;
  #tombstones = 0;

  constructor(levels = 1) {
    this.#levels = Array.from({ length: Math.max(1, levels) }, () => new Deque<T>());
  }

  /** Live (non-tombstone) entries. */
  get length(): number {
    return this.#live;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Entries held, tombstones included (inspection and tests). */
  get held(): number {
    return this.#live + this.#tombstones;
  }

  push(e: T): void {
    e.ready = true;
    this.#levels[this.#level(e)]!.push(e);
    this.#live++;
    this.#bytes += e.size;
  }

  /** The next entry to deliver, without removing it. */
  peek(): T | undefined {
    for (let l = this.#levels.length - 1; l >= 0; l--) {
      const d = this.#levels[l]!;
      let head = d.peek();
      while (head !== undefined && !head.ready) {
        d.shift();
        this.#tombstones--;
        head = d.peek();
      }
      if (head !== undefined) return head;
    }
    return undefined;
  }

  shift(): T | undefined {
    const head = this.peek();
    if (head === undefined) return undefined;
    this.#levels[this.#level(head)]!.shift();
    head.ready = false;
    this.#live--;
    this.#bytes -= head.size;
    return head;
  }

  /** Takes an entry out where it is (it stays as a tombstone until the head passes it). */
  remove(e: T): void {
    if (!e.ready) return;
    e.ready = false;
    this.#live--;
    this.#bytes -= e.size;
    // A queue nobody consumes never moves its head past tombstones: sweep them now and then.
    if (++this.#tombstones >= COMPACT_AT && this.#tombstones > this.#live) this.#compact();
  }

  #compact(): void {
    this.#levels = this.#levels.map((d) => {
      const kept = new Deque<T>(d.length);
      for (const e of d) if (e.ready) kept.push(e);
      return kept;
    });
    this.#tombstones = 0;
  }

  /** Puts entries back at their original positions (by seq) in their levels. */
  requeue(entries: T[]): void {
    if (entries.length > 1) entries.sort((a, b) => a.seq - b.seq);
    for (const e of entries) {
      e.ready = true;
      this.#live++;
      this.#bytes += e.size;
    }
    for (let l = 0; l < this.#levels.length; l++) {
      const mine = this.#levels.length === 1 ? entries : entries.filter((e) => this.#level(e) === l);
      if (mine.length > 0) insertSorted(this.#levels[l]!, mine);
    }
  }

  /** Live entries in delivery order, up to `limit` (for loading bodies ahead and inspection). */
  *iterate(limit = Infinity): IterableIterator<T> {
    let n = 0;
    for (let l = this.#levels.length - 1; l >= 0; l--) {
      for (const e of this.#levels[l]!) {
        if (!e.ready) continue;
        if (n++ >= limit) return;
        yield e;
      }
    }
  }

  /** Removes everything; returns the live entries that were there. */
  clear(): T[] {
    const out = [...this.iterate()];
    for (const e of out) e.ready = false;
    for (const d of this.#levels) d.clear();
    this.#live = 0;
    this.#bytes = 0;
    this.#tombstones = 0;
    return out;
  }

  #level(e: T): number {
    return e.priority < this.#levels.length ? e.priority : this.#levels.length - 1;
  }
}

/** Merges sorted `entries` into sorted `d` (by seq): at the front when all are older, else in place. */
function insertSorted<T extends ReadyItem>(d: Deque<T>, entries: T[]): void {
  const head = d.peek();
  if (head === undefined || entries[entries.length - 1]!.seq < head.seq) {
    for (let i = entries.length - 1; i >= 0; i--) d.unshift(entries[i]!);
    return;
  }
  let at = 0;
  for (const e of entries) {
    while (at < d.length && d.get(at)!.seq < e.seq) at++;
    d.insert(at, e);
    at++;
  }
}
