// The delivery-tag ledger of one channel: messages delivered and not yet acknowledged, in tag
// order. Settling one tag, `multiple` up to a tag, or everything (tag 0 with multiple) use the
// same code. Tags settled out of order leave holes that are dropped once they reach the front.

import type { QueueEntry } from '../queue/queue.js';
import { Deque } from '../util/deque.js';

export class UnackedLedger {
  readonly #tags = new Deque<number>();
  readonly #entries = new Deque<QueueEntry | null>();
  #count = 0;

  get size(): number {
    return this.#count;
  }

  add(tag: number, entry: QueueEntry): void {
    this.#tags.push(tag);
    this.#entries.push(entry);
    this.#count++;
  }

  /**
   * Removes what (tag, multiple) settles, as RabbitMQ does: the tag itself must be outstanding,
   * and `multiple` takes every outstanding tag up to it. Tag 0 with multiple takes all.
   * Returns null when the tag is unknown (never delivered, or already settled).
   */
  take(tag: number, multiple: boolean): QueueEntry[] | null {
    if (tag === 0 && multiple) return this.takeAll();
    const i = this.#indexOf(tag);
    if (i < 0) return null;
    const target = this.#entries.get(i);
    if (target === null || target === undefined) return null;
    let out: QueueEntry[];
    if (multiple) {
      out = [];
      for (let k = 0; k <= i; k++) {
        const e = this.#entries.shift()!;
        this.#tags.shift();
        if (e !== null) out.push(e);
      }
    } else {
      out = [target];
      this.#entries.set(i, null);
    }
    this.#count -= out.length;
    this.#dropSettledHead();
    return out;
  }

  /** Puts entries taken earlier back (a rolled-back transaction's acks), keeping tag order. */
  restore(entries: readonly QueueEntry[]): void {
    if (entries.length === 0) return;
    const merged = [...this.takeAll(), ...entries].sort((a, b) => a.tag - b.tag);
    for (const e of merged) this.add(e.tag, e);
  }

  /** The oldest outstanding entry. */
  oldest(): QueueEntry | undefined {
    for (const e of this.#entries) if (e !== null) return e;
    return undefined;
  }

  /** Removes and returns the outstanding entries `pred` picks, in tag order. */
  takeWhere(pred: (e: QueueEntry) => boolean): QueueEntry[] {
    const out: QueueEntry[] = [];
    for (let i = 0; i < this.#entries.length; i++) {
      const e = this.#entries.get(i);
      if (e !== null && e !== undefined && pred(e)) {
        out.push(e);
        this.#entries.set(i, null);
      }
    }
    this.#count -= out.length;
    this.#dropSettledHead();
    return out;
  }

  takeAll(): QueueEntry[] {
    const out: QueueEntry[] = [];
    for (const e of this.#entries) if (e !== null) out.push(e);
    this.#entries.clear();
    this.#tags.clear();
    this.#count = 0;
    return out;
  }

  #dropSettledHead(): void {
    while (this.#entries.length > 0 && this.#entries.peek() === null) {
      this.#entries.shift();
      this.#tags.shift();
    }
  }

  /** Binary search: tags are strictly increasing. */
  #indexOf(tag: number): number {
    let lo = 0;
    let hi = this.#tags.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.#tags.get(mid)!;
      if (t === tag) return mid;
      if (t < tag) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
