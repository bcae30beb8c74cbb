// The bindings that lead to each queue, so that deleting a queue drops them. Most queues have
// none or one (the perf tools' and most applications' shape), so a queue holds no entry until
// it is bound and a lone binding is kept as itself; a Set appears only for a second one.

import type { Queue } from '../queue/queue.js';
import type { Binding } from './exchange.js';

export class QueueBindings {
  readonly #byQueue = new Map<Queue, Binding | Set<Binding>>();

  add(q: Queue, b: Binding): void {
    const held = this.#byQueue.get(q);
    if (held === undefined) this.#byQueue.set(q, b);
    else if (held instanceof Set) held.add(b);
    else if (held !== b) this.#byQueue.set(q, new Set([held, b]));
  }

  remove(q: Queue, b: Binding): void {
    const held = this.#byQueue.get(q);
    if (held === b) this.#byQueue.delete(q);
    else if (held instanceof Set) held.delete(b);
  }

  /** Forgets q's bindings and returns them. */
  take(q: Queue): Binding[] {
    const held = this.#byQueue.get(q);
    this.#byQueue.delete(q);
    if (held === undefined) return [];
    return held instanceof Set ? [...held] : [held];
  }
}
