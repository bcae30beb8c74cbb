// When a connection stops reading its socket: while a resource alarm is on (publishers are
// blocked), while queues it publishes into are congested (flow control), and while its own
// output waiting for the client is over the connection's buffer limit (a client that does not
// read). Reading resumes only when none holds. The connection does the pausing; this keeps the
// reasons apart.

import type { Queue } from '../queue/queue.js';

export class InputGate {
  /** Queues we wait on before reading again; null when not throttled. */
  #throttledBy: Set<Queue> | null = null;
  #blockedByAlarm = false;
  #outputFull = false;

  /** Reading is paused for any reason. */
  get paused(): boolean {
    return this.#throttledBy !== null || this.#blockedByAlarm || this.#outputFull;
  }

  get outputFull(): boolean {
    return this.#outputFull;
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
    const was = this.paused;
    this.#blockedByAlarm = true;
    return !was;
  }

  /** Returns true when reading may resume. */
  unblockAfterAlarm(): boolean {
    this.#blockedByAlarm = false;
    return !this.paused;
  }

  /** Returns true when this pauses a connection that was reading. */
  throttle(queue: Queue): boolean {
    const was = this.paused;
    (this.#throttledBy ??= new Set()).add(queue);
    return !was;
  }

  /** `queue` drained; returns true when reading may resume. */
  resumeFlow(queue: Queue): boolean {
    const set = this.#throttledBy;
    if (set === null || !set.delete(queue) || set.size > 0) return false;
    this.#throttledBy = null;
    return !this.paused;
  }

  /** Output went over the limit; returns true when this pauses a connection that was reading. */
  fillOutput(): boolean {
    const was = this.paused;
    this.#outputFull = true;
    return !was;
  }

  /** Output drained below the limit; returns true when reading may resume. */
  drainOutput(): boolean {
    if (!this.#outputFull) return false;
    this.#outputFull = false;
    return !this.paused;
  }

  /** Forgets the queues waited on (the connection is gone); returns them to unregister from. */
  clear(): Iterable<Queue> {
    const set = this.#throttledBy ?? [];
    this.#throttledBy = null;
    return set;
  }
}
