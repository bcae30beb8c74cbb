// A binary min-heap ordered by a numeric key, for timers due in order (message expiry,
// delayed messages): push and pop in O(log n), the earliest at the top. An optional second
// key orders items with equal keys (e.g. queue position), since a heap alone is not stable.

export class MinHeap<T> {
  readonly #items: T[] = [];
  readonly #key: (item: T) => number;
  readonly #tie: ((item: T) => number) | null;

  constructor(key: (item: T) => number, tie?: (item: T) => number) {
    this.#key = key;
    this.#tie = tie ?? null;
  }

  get size(): number {
    return this.#items.length;
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  /** Whether `a` comes strictly before `b`. */
  #before(a: T, b: T): boolean {
    const ka = this.#key(a);
    const kb = this.#key(b);
    if (ka !== kb || this.#tie === null) return ka < kb;
    return this.#tie(a) < this.#tie(b);
  }

  push(item: T): void {
    const a = this.#items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(item, a[parent]!)) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = item;
  }

  pop(): T | undefined {
    const a = this.#items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= a.length) break;
        const r = l + 1;
        const child = r < a.length && this.#before(a[r]!, a[l]!) ? r : l;
        if (!this.#before(a[child]!, last)) break;
        a[i] = a[child]!;
        i = child;
      }
      a[i] = last;
    }
    return top;
  }

  clear(): void {
    this.#items.length = 0;
  }
}
