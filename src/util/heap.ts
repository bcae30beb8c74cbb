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

  push(item: T): void {
    const a = this.#items;
    const key = this.#key;
    const tie = this.#tie;
    a.push(item);
    let i = a.length - 1;
    const k = key(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = a[parent]!;
      const pk = key(p);
      if (pk < k || (pk === k && (tie === null || tie(p) <= tie(item)))) break;
      a[i] = p;
      i = parent;
    }
    a[i] = item;
  }

  pop(): T | undefined {
    const a = this.#items;
    if (a.length === 0) return undefined;
    const key = this.#key;
    const tie = this.#tie;
    const top = a[0];
    const last = a.pop()!;
    const n = a.length;
    if (n > 0) {
      const k = key(last);
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        let child = l;
        let ck = key(a[l]!);
        if (l + 1 < n) {
          const rk = key(a[l + 1]!);
          if (rk < ck || (rk === ck && tie !== null && tie(a[l + 1]!) < tie(a[l]!))) {
            child = l + 1;
            ck = rk;
          }
        }
        if (ck > k || (ck === k && (tie === null || tie(a[child]!) >= tie(last)))) break;
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
