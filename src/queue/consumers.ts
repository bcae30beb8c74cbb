// A queue's consumers and whose turn it is: sorted by x-priority (highest first, equal ones in
// arrival order), round-robin inside the highest priority group that has credit, the first
// consumer only under single-active-consumer, and at most one exclusive consumer.

import { ChannelError } from '../errors.js';

/** A consumer as its queue's turns see it (Consumer, queue.ts, adds its deliveries). */
export interface RingConsumer {
  readonly tag: string;
  readonly exclusive: boolean;
  /** x-priority: higher-priority consumers get messages first while they have credit. */
  readonly priority: number;
  /** Prefetch credit left, channel flow and socket backpressure allow one more delivery now. */
  canDeliver(): boolean;
  /** It has prefetch credit but its connection's socket is backed up: the client reads slower than we send. */
  socketBound(): boolean;
}

/** The list of every queue that has never had a consumer (most idle queues): replaced on the first add. */
const NO_CONSUMERS: never[] = [];

export class ConsumerRing<Consumer extends RingConsumer> {
  #list: Consumer[] = NO_CONSUMERS;
  #next = 0;
  /** Consumers do not all have the same priority: turns go by priority groups. */
  #mixedPriorities = false;
  #exclusive: Consumer | null = null;

  get length(): number {
    return this.#list.length;
  }

  get list(): readonly Consumer[] {
    return this.#list;
  }

  /** Adds `c` in priority order; 403 when the queue is in exclusive use (named for the error). */
  add(c: Consumer, queue: string, vhost: string): void {
    if (this.#exclusive !== null || (c.exclusive && this.#list.length > 0)) {
      throw new ChannelError('ACCESS_REFUSED', `queue '${queue}' in vhost '${vhost}' in exclusive use`);
    }
    if (c.exclusive) this.#exclusive = c;
    // Highest priority first; equal priorities keep their arrival order.
    if (this.#list === NO_CONSUMERS) this.#list = [];
    const list = this.#list;
    let i = list.length;
    while (i > 0 && list[i - 1]!.priority < c.priority) i--;
    list.splice(i, 0, c);
    if (i <= this.#next && this.#next > 0) this.#next++;
    this.#mixedPriorities = list.some((x) => x.priority !== list[0]!.priority);
  }

  /** Removes `c`; returns the position it had, -1 when it was not there. */
  remove(c: Consumer): number {
    const list = this.#list;
    const i = list.indexOf(c);
    if (i < 0) return -1;
    list.splice(i, 1);
    if (this.#next > i) this.#next--;
    if (this.#exclusive === c) this.#exclusive = null;
    this.#mixedPriorities = list.some((x) => x.priority !== list[0]!.priority);
    return i;
  }

  /** Removes them all (queue deleted) and returns them. */
  clear(): Consumer[] {
    this.#exclusive = null;
    return this.#list.splice(0);
  }

  /** Some consumer has credit but a backed-up socket: the queue's backlog is the clients' doing (flow control). */
  anySocketBound(): boolean {
    for (const c of this.#list) if (c.socketBound()) return true;
    return false;
  }

  /** The next consumer in turn that can take a delivery, or null. */
  next(singleActive: boolean): Consumer | null {
    const consumers = this.#list;
    const n = consumers.length;
    if (singleActive) {
      const active = consumers[0];
      return active !== undefined && active.canDeliver() ? active : null;
    }
    if (this.#mixedPriorities) return this.#nextByPriority();
    for (let tries = 0; tries < n; tries++) {
      if (this.#next >= n) this.#next = 0;
      const c = consumers[this.#next++]!;
      if (c.canDeliver()) return c;
    }
    return null;
  }

  /** Consumers are sorted by priority: the first group with credit wins, round-robin inside it. */
  #nextByPriority(): Consumer | null {
    const consumers = this.#list;
    const n = consumers.length;
    let start = 0;
    while (start < n) {
      const p = consumers[start]!.priority;
      let end = start;
      while (end < n && consumers[end]!.priority === p) end++;
      const size = end - start;
      for (let tries = 0; tries < size; tries++) {
        const i = start + ((this.#next + tries) % size);
        const c = consumers[i]!;
        if (c.canDeliver()) {
          this.#next = i - start + 1;
          return c;
        }
      }
      start = end;
    }
    return null;
  }
}
