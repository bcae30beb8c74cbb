// Flow control's two sides, apart from the queue: what a paused publisher waits on (a queue
// backing up, or the store's unwritten bytes, connection/store-flow.ts) and the publisher
// itself, resumed when its source lets go (connection/input-gate.ts). A queue whose backlog
// grows only because its consumers' sockets are full (clients reading slower than publishers
// write) pauses its publishers until it drains; a backlog with no such consumers (none at
// all, or slow acks under prefetch) is not throttled.

/** A publisher paused because a queue it feeds is backing up (see Queue.congested). */
export interface FlowWaiter {
  resumeFlow(source: FlowSource): void;
}

/** What a paused publisher waits on: a queue, or the store's unwritten bytes (connection/store-flow.ts). */
export interface FlowSource {
  readonly name: string;
  addFlowWaiter(w: FlowWaiter): void;
  removeFlowWaiter(w: FlowWaiter): void;
}

/** Backlog sizes, in messages and in body bytes, past which a queue looks whether it is congested. */
const FLOW_HIGH = 8192;
/** In body bytes, so a backlog of large messages stays small (8192 x 1 MiB would be 8 GiB). */
const FLOW_HIGH_BYTES = 16 * 1024 * 1024;
/** Below both of these a congested queue lets its publishers go. */
const FLOW_LOW = 2048;
const FLOW_LOW_BYTES = 4 * 1024 * 1024;

/** A backlog of `n` messages and `bytes` body bytes is worth checking for congestion (every 1024th message past FLOW_HIGH). */
export function backlogHigh(n: number, bytes: number): boolean {
  return (n > FLOW_HIGH && (n & 1023) === 0) || bytes > FLOW_HIGH_BYTES;
}

/** A congested queue's backlog has drained enough to let its publishers go. */
export function backlogDrained(n: number, bytes: number): boolean {
  return n < FLOW_LOW && bytes < FLOW_LOW_BYTES;
}

/** The publishers a congested source paused (made on first use: most queues never pause one). */
export class FlowWaiters {
  #waiters: Set<FlowWaiter> | null = null;

  add(w: FlowWaiter): void {
    (this.#waiters ??= new Set()).add(w);
  }

  remove(w: FlowWaiter): void {
    this.#waiters?.delete(w);
  }

  /** Resumes every paused publisher, once. */
  release(source: FlowSource): void {
    const waiters = this.#waiters;
    if (waiters === null || waiters.size === 0) return;
    this.#waiters = null;
    for (const w of waiters) w.resumeFlow(source);
  }
}
