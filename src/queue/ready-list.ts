// The messages of a queue waiting for a consumer, in delivery order: one FIFO per priority
// level (one level for an ordinary queue), highest level first. Entries removed from the
// middle (expired where they sit) stay behind as tombstones that the head skips, so removal
// is O(1) and the order of the rest never changes.
//
// A single-level list given a Freezer keeps only its head as objects once it is long: order is
// head, then cold (entries frozen to numbers, see ColdFifo), then tail (recent entries waiting
// for their store write to commit before they can be frozen). The head is refilled from cold
// when it runs dry.

import { Deque } from '../util/deque.js';
import { ColdFifo } from './cold-fifo.js';

export interface ReadyItem {
  readonly seq: number;
  readonly size: number;
  readonly priority: number;
  /** False once removed from the middle (a tombstone until it reaches the head). */
  ready: boolean;
}

/** Tombstones are swept out once there are this many and more than live entries. */
const COMPACT_AT = 4096;
/** Entries rebuilt from cold at a time when the head runs dry. */
const THAW_BATCH = 1024;
/** A tail entry that still cannot be frozen (its write is slow or failed, it has a TTL, ...) is
 * parked in cold as a reference once the tail is this long, so the tail stays bounded. */
const TAIL_MAX = 8192;
/** Cold bits value of a reference to an object parked in cold (see TAIL_MAX). */
const PARKED = 0xffffffff;
/** Cold bits value of a record taken out where it sits (takeFrozen); skipped when thawed. */
const GONE = 0xfffffffe;
/** Shared by every list that has parked nothing (most never do): never written to. */
const NOTHING_PARKED = new Map<number, never>();
/** Cold section and tail of every list without a freezer: they stay empty. */
const NO_COLD = new ColdFifo();
const NO_TAIL = new Deque<never>();

/** Turns entries into cold records and back (see ColdFifo). */
export interface Freezer<T extends ReadyItem> {
  /** Whether e can be rebuilt from a cold record: nothing else holds or will update it. */
  canFreeze(e: T): boolean;
  /** Appends e's record to cold. Its bits must not be PARKED. */
  freeze(e: T, cold: ColdFifo): void;
  /** Writes e's record over cold's record at index i (a parked reference to e). */
  freezeAt(e: T, cold: ColdFifo, i: number): void;
  /** Rebuilds an entry from the fields freeze() recorded. */
  thaw(seq: number, size: number, storeId: number, bits: number, count: number): T;
}

export interface ColdOptions<T extends ReadyItem> {
  readonly freezer: Freezer<T>;
  /** Entries kept as objects at the head before new ones go to the tail. */
  readonly hotLimit: number;
}

/** Where a walk through the list stopped: the level and seq of the last entry visited. */
export interface ReadyCursor {
  readonly level: number;
  readonly seq: number;
}

export class ReadyList<T extends ReadyItem> {
  #levels: Deque<T>[];
  #live = 0;
  #bytes = 0;
  #tombstones = 0;
  // The cold section (single level with a freezer only).
  readonly #freezer: Freezer<T> | null;
  readonly #hotLimit: number;
  // A list without a freezer never fills these: it shares two empty ones (idle queues cost less).
  readonly #cold: ColdFifo;
  #tail: Deque<T>;
  /** Objects parked in cold, by seq (NOTHING_PARKED until the first is parked). */
  #parked: Map<number, T> = NOTHING_PARKED;
  /** Cold records taken out in place (GONE). */
  #gone = 0;

  constructor(levels = 1, cold?: ColdOptions<T>) {
    this.#levels = Array.from({ length: Math.max(1, levels) }, () => new Deque<T>());
    this.#freezer = this.#levels.length === 1 && cold !== undefined ? cold.freezer : null;
    this.#cold = this.#freezer === null ? NO_COLD : new ColdFifo();
    this.#tail = this.#freezer === null ? NO_TAIL : new Deque<T>();
    this.#hotLimit = cold?.hotLimit ?? Infinity;
  }

  /** Entries kept as numbers (inspection and tests). */
  get frozen(): number {
    return this.#cold.length - this.#parked.size - this.#gone;
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
    this.#live++;
    this.#bytes += e.size;
    if (this.#freezer !== null && (this.#tail.length > 0 || this.#cold.length > 0 || this.#levels[0]!.length >= this.#hotLimit)) {
      this.#tail.push(e);
      this.#cool();
    } else {
      this.#levels[this.#level(e)]!.push(e);
    }
  }

  /** Moves tail entries into cold, in order, as far as they can go. */
  #cool(): void {
    const tail = this.#tail;
    const freezer = this.#freezer!;
    for (let t = tail.peek(); t !== undefined; t = tail.peek()) {
      if (!t.ready) {
        tail.shift();
        this.#tombstones--;
      } else if (freezer.canFreeze(t)) {
        tail.shift();
        freezer.freeze(t, this.#cold);
      } else if (tail.length > TAIL_MAX) {
        tail.shift();
        if (this.#parked === NOTHING_PARKED) this.#parked = new Map();
        this.#parked.set(t.seq, t);
        this.#cold.push(t.seq, t.size, 0, PARKED, 0);
      } else {
        break;
      }
    }
    if (this.#parked.size > 0) this.#freezeParked();
  }

  /**
   * Parked entries whose writes have committed since become cold records where they sit, so a
   * publisher that keeps ahead of the store does not leave every entry past TAIL_MAX as an
   * object for the life of the backlog. Oldest first, stopping at the first one that still
   * cannot be frozen (writes commit in order), so a push with nothing to do costs one check.
   */
  #freezeParked(): void {
    const cold = this.#cold;
    const freezer = this.#freezer!;
    for (const [seq, e] of this.#parked) {
      if (e.ready && !freezer.canFreeze(e)) return;
      const i = cold.indexAfter(seq) - 1;
      this.#parked.delete(seq);
      if (i < 0 || cold.seqAt(i) !== seq || cold.bitsAt(i) !== PARKED) continue;
      if (e.ready) {
        freezer.freezeAt(e, cold, i);
      } else {
        // Removed while parked: its record is skipped when the head reaches it.
        cold.setBitsAt(i, GONE);
        this.#gone++;
        this.#tombstones--;
      }
    }
  }

  /** The next entry to deliver, without removing it. */
  peek(): T | undefined {
    for (let l = this.#levels.length - 1; l >= 0; l--) {
      for (;;) {
        const d = this.#levels[l]!; // #refill may swap it
        let head = d.peek();
        while (head !== undefined && !head.ready) {
          d.shift();
          this.#tombstones--;
          head = d.peek();
        }
        if (head !== undefined) return head;
        if (!this.#refill()) break;
      }
    }
    return undefined;
  }

  /** The head ran dry: rebuilds the next entries from cold, or takes the tail once cold is empty. */
  #refill(): boolean {
    if (this.#freezer === null) return false;
    const head = this.#levels[0]!;
    const cold = this.#cold;
    if (cold.length > 0) {
      for (let n = 0; n < THAW_BATCH && cold.length > 0; n++) {
        const e = this.#thawHead();
        if (e !== null) head.push(e);
      }
      return true;
    }
    if (this.#tail.length === 0) return false;
    this.#levels[0] = this.#tail;
    this.#tail = head;
    return true;
  }

  /** Takes cold's head record back as an object (null: a parked entry that was removed meanwhile). */
  #thawHead(): T | null {
    const cold = this.#cold;
    let e: T | null;
    if (cold.bits === GONE) {
      e = null;
      this.#gone--;
    } else if (cold.bits === PARKED) {
      e = this.#parked.get(cold.seq) ?? null;
      this.#parked.delete(cold.seq);
      if (e !== null && !e.ready) {
        this.#tombstones--;
        e = null;
      }
    } else {
      e = this.#freezer!.thaw(cold.seq, cold.size, cold.storeId, cold.bits, cold.count);
    }
    cold.shift();
    return e;
  }

  /** Every entry back as an object, in order (rare paths that need them all). */
  #thawAll(): void {
    if (this.#freezer === null) return;
    const head = this.#levels[0]!;
    while (this.#cold.length > 0) {
      const e = this.#thawHead();
      if (e !== null) head.push(e);
    }
    for (const e of this.#tail) head.push(e);
    this.#tail.clear();
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
    const sweep = (d: Deque<T>): Deque<T> => {
      const kept = new Deque<T>(d.length);
      for (const e of d) if (e.ready) kept.push(e);
      return kept;
    };
    this.#levels = this.#levels.map(sweep);
    this.#tail = sweep(this.#tail);
    this.#tombstones = 0;
    // Parked tombstones go too; their cold records are skipped when thawed.
    for (const [seq, e] of this.#parked) if (!e.ready) this.#parked.delete(seq);
  }

  /** Puts entries back at their original positions (by seq) in their levels. */
  requeue(entries: T[]): void {
    if (entries.length > 1) entries.sort((a, b) => a.seq - b.seq);
    // Entries come back from the head, so they belong before cold and tail; if one does not
    // (never expected), everything is made objects again rather than risk the order.
    if (this.#freezer !== null && entries.length > 0) {
      const boundary = this.#cold.length > 0 ? this.#cold.seq : (this.#tail.peek()?.seq ?? Infinity);
      if (entries[entries.length - 1]!.seq > boundary) this.#thawAll();
    }
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

  /**
   * Live entries held as objects at the head, in delivery order, up to `limit` (for loading
   * bodies ahead). Frozen entries are not visited.
   */
  *iterateHead(limit = Infinity): IterableIterator<T> {
    let n = 0;
    for (let l = this.#levels.length - 1; l >= 0; l--) {
      for (const e of this.#levels[l]!) {
        if (!e.ready) continue;
        if (n++ >= limit) return;
        yield e;
      }
    }
  }

  /** Every live entry in delivery order; frozen ones are rebuilt as throwaway copies (inspection). */
  *iterate(): IterableIterator<T> {
    yield* this.iterateHead();
    if (this.#freezer === null) return;
    for (const e of this.#thawedCopies()) yield e;
    for (const e of this.#tail) if (e.ready) yield e;
  }

  /** Copies of the cold entries, without disturbing cold. */
  #thawedCopies(): T[] {
    const out: T[] = [];
    this.#cold.forEach((seq, size, storeId, bits, count) => {
      if (bits === GONE) return;
      if (bits !== PARKED) {
        out.push(this.#freezer!.thaw(seq, size, storeId, bits, count));
        return;
      }
      const p = this.#parked.get(seq);
      if (p !== undefined && p.ready) out.push(p);
    });
    return out;
  }

  /**
   * Visits live entries in delivery order, starting after `after` (null: from the first), until
   * `visit` returns false; `visit` must not change the list. Frozen entries are passed as
   * throwaway copies with `frozen` true (take one out with takeFrozen); nothing is thawed or
   * moved. Each part is entered by a binary search on seq (every part is in seq order), so a
   * walk resumed from a cursor across event-loop turns does not rescan what it passed.
   */
  walk(after: ReadyCursor | null, visit: (e: T, frozen: boolean, level: number) => boolean): void {
    for (let l = after === null ? this.#levels.length - 1 : Math.min(after.level, this.#levels.length - 1); l >= 0; l--) {
      const from = after !== null && l === after.level ? after.seq : -Infinity;
      if (!walkDeque(this.#levels[l]!, from, l, visit)) return;
      if (l === 0 && this.#freezer !== null) {
        if (!this.#walkCold(from, visit)) return;
        if (!walkDeque(this.#tail, from, 0, visit)) return;
      }
    }
  }

  #walkCold(from: number, visit: (e: T, frozen: boolean, level: number) => boolean): boolean {
    const cold = this.#cold;
    for (let i = from === -Infinity ? 0 : cold.indexAfter(from); i < cold.length; i++) {
      const bits = cold.bitsAt(i);
      if (bits === GONE) continue;
      if (bits === PARKED) {
        const p = this.#parked.get(cold.seqAt(i));
        if (p !== undefined && p.ready && !visit(p, false, 0)) return false;
        continue;
      }
      if (!visit(this.#freezer!.thaw(cold.seqAt(i), cold.sizeAt(i), cold.storeIdAt(i), bits, cold.countAt(i)), true, 0)) return false;
    }
    return true;
  }

  /** Takes the frozen entry `seq` out where it sits; false when it is not (or no longer) there. */
  takeFrozen(seq: number): boolean {
    const cold = this.#cold;
    const i = cold.indexAfter(seq) - 1;
    if (i < 0 || cold.seqAt(i) !== seq) return false;
    const bits = cold.bitsAt(i);
    if (bits === GONE || bits === PARKED) return false;
    cold.setBitsAt(i, GONE);
    this.#gone++;
    this.#live--;
    this.#bytes -= cold.sizeAt(i);
    return true;
  }

  /** Removes everything, calling `visit` (if given) for each live entry; returns how many there were. */
  clear(visit?: (e: T) => void): number {
    const n = this.#live;
    if (visit !== undefined) {
      for (const e of this.iterateHead()) visit(e);
      while (this.#cold.length > 0) {
        const e = this.#thawHead();
        if (e !== null) visit(e);
      }
      for (const e of this.#tail) if (e.ready) visit(e);
    }
    for (const d of this.#levels) {
      for (const e of d) e.ready = false;
      d.clear();
    }
    for (const e of this.#tail) e.ready = false;
    this.#tail.clear();
    for (const e of this.#parked.values()) e.ready = false;
    this.#parked.clear();
    this.#cold.clear();
    this.#gone = 0;
    this.#live = 0;
    this.#bytes = 0;
    this.#tombstones = 0;
    return n;
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

/** walk() over one deque: live entries with seq above `from`, found by binary search. */
function walkDeque<T extends ReadyItem>(d: Deque<T>, from: number, level: number, visit: (e: T, frozen: boolean, level: number) => boolean): boolean {
  let lo = 0;
  let hi = d.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (d.get(mid)!.seq <= from) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < d.length; i++) {
    const e = d.get(i)!;
    if (e.ready && !visit(e, false, level)) return false;
  }
  return true;
}
