// A growable ring buffer: O(1) push/shift/unshift at both ends, indexed access, and insertion
// in the middle (O(n), used only to put requeued messages back in their original place).

/** Capacity once anything is stored; always a power of two (indexes are masked). */
const MIN_CAPACITY = 16;

/** The items of every empty deque that has never held anything: push grows it before writing. */
const NO_ITEMS: never[] = [];

export class Deque<T> {
  #items: (T | undefined)[];
  #head = 0;
  #length = 0;

  /** Nothing is allocated for the items until the first push unless `capacity` is given:
   * a broker holds many deques that stay empty (idle queues, channels). */
  constructor(capacity = 0) {
    if (capacity === 0) {
      this.#items = NO_ITEMS;
      return;
    }
    let c = MIN_CAPACITY;
    while (c < capacity) c *= 2;
    this.#items = new Array<T | undefined>(c);
  }

  get length(): number {
    return this.#length;
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item;
    this.#length++;
  }

  unshift(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#items.length - 1);
    this.#items[this.#head] = item;
    this.#length++;
  }

  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#length--;
    return item;
  }

  pop(): T | undefined {
    if (this.#length === 0) return undefined;
    const i = (this.#head + this.#length - 1) & (this.#items.length - 1);
    const item = this.#items[i];
    this.#items[i] = undefined;
    this.#length--;
    return item;
  }

  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  peekLast(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[(this.#head + this.#length - 1) & (this.#items.length - 1)];
  }

  get(index: number): T | undefined {
    if (index < 0 || index >= this.#length) return undefined;
    return this.#items[(this.#head + index) & (this.#items.length - 1)];
  }

  set(index: number, item: T): void {
    if (index < 0 || index >= this.#length) throw new RangeError(`index ${index} out of range`);
    this.#items[(this.#head + index) & (this.#items.length - 1)] = item;
  }

  /** Inserts so that the item ends up at `index` (0 = front, length = back). */
  insert(index: number, item: T): void {
    if (index <= 0) return this.unshift(item);
    if (index >= this.#length) return this.push(item);
    this.push(item);
    const mask = this.#items.length - 1;
    for (let i = this.#length - 1; i > index; i--) {
      this.#items[(this.#head + i) & mask] = this.#items[(this.#head + i - 1) & mask];
    }
    this.#items[(this.#head + index) & mask] = item;
  }

  /** Removes and returns the item at `index`. */
  removeAt(index: number): T | undefined {
    if (index < 0 || index >= this.#length) return undefined;
    if (index === 0) return this.shift();
    const mask = this.#items.length - 1;
    const item = this.#items[(this.#head + index) & mask];
    for (let i = index; i < this.#length - 1; i++) {
      this.#items[(this.#head + i) & mask] = this.#items[(this.#head + i + 1) & mask];
    }
    this.#items[(this.#head + this.#length - 1) & mask] = undefined;
    this.#length--;
    return item;
  }

  clear(): void {
    this.#items = NO_ITEMS;
    this.#head = 0;
    this.#length = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#length; i++) yield this.#items[(this.#head + i) & (this.#items.length - 1)] as T;
  }

  toArray(): T[] {
    return [...this];
  }

  #grow(): void {
    const old = this.#items;
    const next = new Array<T | undefined>(Math.max(MIN_CAPACITY, old.length * 2));
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & (old.length - 1)];
    this.#items = next;
    this.#head = 0;
  }
}
