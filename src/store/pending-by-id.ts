// The store's messages not yet handed to its writer, by store id (BatchedStore's pending
// messages): set when a message is first written, deleted when its batch goes out or when it
// is acked before that, read by id meanwhile.
//
// Not a Map, because of what V8 does with a Map that keeps taking and losing entries: every
// few thousand inserts it rehashes into a new table, and the old table keeps pointing at the
// new one (for iterators still on it) and at every value it held. Once the old table had been
// promoted, nothing frees it before the next full collection, and until then every scavenge
// counts what it points at as live: the new table and its messages were promoted in turn, and
// so on, so under a flat-out persistent publisher nearly every message (header, body and its
// Buffer views) ended up in the old generation, which filled again within 300 ms of each
// mark-compact (README "Latency under load"). Here ids only grow, so the entries sit in id
// order in two flat arrays, found by binary search; deleted slots are skipped at the front
// and squeezed out in place, and when the arrays are replaced the old ones are emptied first,
// so nothing dead points at a message.

const MIN_CAPACITY = 64;

export class PendingById<T> {
  #ids: number[];
  #items: (T | undefined)[];
  /** Live slots are within [#head, #end); deleted ones in between hold undefined. */
  #head = 0;
  #end = 0;
  #size = 0;

  constructor() {
    this.#ids = new Array<number>(MIN_CAPACITY).fill(0);
    this.#items = new Array<T | undefined>(MIN_CAPACITY).fill(undefined);
  }

  get size(): number {
    return this.#size;
  }

  /** Adds `item` under `id`, which must be greater than every id set before. */
  set(id: number, item: T): void {
    if (this.#end > 0 && id <= this.#ids[this.#end - 1]!) throw new Error(`PendingById: id ${id} is not above ${this.#ids[this.#end - 1]}`);
    if (this.#end === this.#ids.length) this.#makeRoom();
    this.#ids[this.#end] = id;
    this.#items[this.#end] = item;
    this.#end++;
    this.#size++;
  }

  /** Slots of the arrays that point at something: `size` and no more (tests; O(capacity)). */
  get referenced(): number {
    let n = 0;
    for (const item of this.#items) if (item !== undefined) n++;
    return n;
  }

  get(id: number): T | undefined {
    const i = this.#find(id);
    return i < 0 ? undefined : this.#items[i];
  }

  /** Removes what `id` holds; false when it holds nothing. */
  delete(id: number): boolean {
    const i = this.#find(id);
    const items = this.#items;
    if (i < 0 || items[i] === undefined) return false;
    items[i] = undefined;
    this.#size--;
    if (this.#size === 0) this.#head = this.#end = 0;
    else if (i === this.#head) while (items[this.#head] === undefined) this.#head++;
    return true;
  }

  /** The slot holding `id` (deleted or not), or -1. */
  #find(id: number): number {
    const ids = this.#ids;
    let lo = this.#head;
    let hi = this.#end - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = ids[mid]!;
      if (v === id) return mid;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * The arrays are full up to their end: the live entries move to the front, in place while
   * they fill at most half of them, else into arrays twice as large; arrays eight times larger
   * than needed (after a burst) are replaced by smaller ones.
   */
  #makeRoom(): void {
    const capacity = this.#ids.length;
    let target = capacity;
    if (this.#size * 2 > capacity) target = capacity * 2;
    else while (target > MIN_CAPACITY && this.#size * 8 < target) target /= 2;
    const ids = target === capacity ? this.#ids : new Array<number>(target).fill(0);
    const items = target === capacity ? this.#items : new Array<T | undefined>(target).fill(undefined);
    let k = 0;
    for (let i = this.#head; i < this.#end; i++) {
      const item = this.#items[i];
      if (item === undefined) continue;
      ids[k] = this.#ids[i]!;
      items[k] = item;
      k++;
    }
    // Whatever is left behind must not point at a message (see the top of this file).
    if (items === this.#items) items.fill(undefined, k, this.#end);
    else this.#items.fill(undefined);
    this.#ids = ids;
    this.#items = items;
    this.#head = 0;
    this.#end = k;
  }
}
