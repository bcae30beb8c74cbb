// The delivery-tag ledger of one channel: messages delivered and not yet acknowledged, in tag
// order. Settling one tag, `multiple` up to a tag, or everything (tag 0 with multiple) use the
// same code. Tags settled out of order leave holes that are dropped once they reach the front.

import type { EntryQueue } from '../queue/entry.js';
import type { QueueEntry } from '../queue/queue.js';
import { coarseClock } from '../util/clock.js';
import { Deque } from '../util/deque.js';

export class UnackedLedger {
  readonly #tags = new Deque<number>();
  readonly #entries = new Deque<QueueEntry | null>();
  /** When each was handed out (coarse ms), for consumer timeouts. */
  readonly #times = new Deque<number>();
  #count = 0;

  get size(): number {
    return this.#count;
  }

  add(tag: number, entry: QueueEntry, at = 0): void {
    this.#tags.push(tag);
    this.#entries.push(entry);
    this.#times.push(at);
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
        this.#times.shift();
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
    for (const e of merged) this.add(e.tag, e, coarseClock.now);
  }

  /** The oldest outstanding entry and when it was handed out. */
  oldest(): { entry: QueueEntry; at: number } | undefined {
    for (let i = 0; i < this.#entries.length; i++) {
      const e = this.#entries.get(i);
      if (e !== null && e !== undefined) return { entry: e, at: this.#times.get(i)! };
    }
    return undefined;
  }

  /** Calls `fn` with each outstanding entry and when it was handed out, in tag order (inspection). */
  forEach(fn: (entry: QueueEntry, at: number) => void): void {
    for (let i = 0; i < this.#entries.length; i++) {
      const e = this.#entries.get(i);
      if (e !== null && e !== undefined) fn(e, this.#times.get(i)!);
    }
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
    this.#times.clear();
    this.#count = 0;
    return out;
  }

  #dropSettledHead(): void {
    while (this.#entries.length > 0 && this.#entries.peek() === null) {
      this.#entries.shift();
      this.#tags.shift();
      this.#times.shift();
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

/** Returns entries to their queues (original position, redelivered), one call per queue. */
export function requeueAll(entries: QueueEntry[]): void {
  if (entries.length === 0) return;
  const first = entries[0]!.queue;
  let mixed = false;
  for (const e of entries) if (e.queue !== first) mixed = true;
  if (!mixed) {
    first.requeue(entries);
    return;
  }
  const byQueue = new Map<EntryQueue, QueueEntry[]>();
  for (const e of entries) {
    const list = byQueue.get(e.queue);
    if (list) list.push(e);
    else byQueue.set(e.queue, [e]);
  }
  for (const [q, list] of byQueue) q.requeue(list);
}
