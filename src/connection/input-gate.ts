// When a connection stops reading its socket: while a resource alarm is on (publishers are
// blocked) and while queues it publishes into are congested (flow control). Reading resumes only
// when neither holds. The connection does the pausing; this keeps the reasons apart.

import type { Queue } from '../queue/queue.js';

export class InputGate {
  /** Queues we wait on before reading again; null when not throttled. */
  #throttledBy: Set<Queue> | null = null;
  #blockedByAlarm = false;

  /** Reading is paused for either reason. */
  get paused(): boolean {
    return this.#throttledBy !== null || this.#blockedByAlarm;
  }

  get inFlow(): boolean {
    return this.#throttledBy !== null;
  }

  get blockedByAlarm(): boolean {
    return this.#blockedByAlarm;
  }

  isThrottledBy(queue: Queue): boolean {
    return this.#throttledBy?.has(queue) === true;
  }

  /** Returns true when this blocks a connection that was reading (the caller pauses it). */
  blockForAlarm(): boolean {
    this.#blockedByAlarm = true;
    return this.#throttledBy === null;
  }

  /** Returns true when reading may resume. */
  unblockAfterAlarm(): boolean {
    this.#blockedByAlarm = false;
    return this.#throttledBy === null;
  }

  /** Returns true when this pauses a connection that was reading. */
  throttle(queue: Queue): boolean {
    const first = this.#throttledBy === null;
    (this.#throttledBy ??= new Set()).add(queue);
    return first && !this.#blockedByAlarm;
  }

  /** `queue` drained; returns true when reading may resume. */
  resumeFlow(queue: Queue): boolean {
    const set = this.#throttledBy;
    if (set === null || !set.delete(queue) || set.size > 0) return false;
    this.#throttledBy = null;
    return !this.#blockedByAlarm;
  }

  /** Forgets the queues waited on (the connection is gone); returns them to unregister from. */
  clear(): Iterable<Queue> {
    const set = this.#throttledBy ?? [];
    this.#throttledBy = null;
    return set;
  }
}
