// Timers of a queue. Message TTL: the entries that carry an expiry, earliest first, with one
// timer for the earliest (an expired message is taken out wherever it sits). Queue expiry
// (x-expires): one timer, re-armed by use, while the queue has no consumers.

import { MinHeap } from '../util/heap.js';
import type { QueueEntry } from './entry.js';

/** The TTL that applies: the smaller of the queue's and the message's (-1: none). */
export function effectiveTtl(queueTtl: number | null, messageTtl: number): number {
  if (queueTtl === null) return messageTtl;
  if (messageTtl < 0) return queueTtl;
  return Math.min(queueTtl, messageTtl);
}

export class TtlSchedule {
  // Equal expiry times go in queue order, so expired messages are dead-lettered oldest first.
  readonly #heap = new MinHeap<QueueEntry>(
    (e) => e.expiresAt,
    (e) => e.seq,
  );
  #timer: NodeJS.Timeout | null = null;
  #timerAt = 0;
  readonly #onDue: () => void;

  /** `onDue` runs when the earliest tracked entry is due (bound once, not per message). */
  constructor(onDue: () => void) {
    this.#onDue = onDue;
  }

  track(e: QueueEntry): void {
    if (e.inTtlHeap) return;
    e.inTtlHeap = true;
    this.#heap.push(e);
  }

  /** Keeps one timer, due when the earliest tracked entry expires. */
  arm(): void {
    const head = this.#heap.peek();
    if (head === undefined) return this.cancel();
    if (this.#timer !== null && this.#timerAt <= head.expiresAt) return;
    this.cancel();
    this.#timerAt = head.expiresAt;
    this.#timer = setTimeout(this.#onDue, Math.max(0, head.expiresAt - Date.now()));
    this.#timer.unref();
  }

  /** The timer went off (it is spent). */
  fired(): void {
    this.#timer = null;
  }

  cancel(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Forgets every tracked entry (the timer stays until cancel or its next firing). */
  clear(): void {
    this.#heap.clear();
  }

  /** Takes out the earliest tracked entry if it is due at `now`. */
  popDue(now: number): QueueEntry | undefined {
    const head = this.#heap.peek();
    if (head === undefined || head.expiresAt > now) return undefined;
    this.#heap.pop();
    head.inTtlHeap = false;
    return head;
  }
}

/** x-expires: runs `onIdle` once the queue has gone a while without use or consumers. */
export class IdleTimer {
  #timer: NodeJS.Timeout | null = null;
  readonly #fire: () => void;

  constructor(onIdle: () => void) {
    this.#fire = () => {
      this.#timer = null;
      onIdle();
    };
  }

  get armed(): boolean {
    return this.#timer !== null;
  }

  arm(ms: number): void {
    this.clear();
    this.#timer = setTimeout(this.#fire, ms);
    this.#timer.unref();
  }

  clear(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}
