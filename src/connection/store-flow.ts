// Flow control for the store's write-behind: messages written to a durable queue stay in memory
// (their bodies, and the encoded batch) until their transaction commits. A publisher faster
// than the disk would make that grow without bound, so once the store holds more than
// STORE_FLOW_HIGH unsettled bytes every connection publishing persistent messages stops being
// read, as for a congested queue, until the store is back under a quarter of that. Commits move on
// by themselves (the writer thread), so a paused client cannot hold the release up.

import type { FlowSource, FlowWaiter } from '../queue/queue.js';
import type { Store } from '../store/store.js';

/** Unsettled bytes above which publishers of persistent messages pause (--store-write-buffer). */
export const STORE_FLOW_HIGH = 16 * 1024 * 1024;

export class StoreFlow implements FlowSource {
  readonly name = '(store writes)';
  readonly #store: Store;
  readonly #high: number;
  readonly #low: number;
  #waiters: Set<FlowWaiter> | null = null;

  constructor(store: Store, high: number, low: number) {
    this.#store = store;
    this.#high = high;
    this.#low = low;
    // onSettled where there is one: onDurable may stay silent through commits (see Store.onSettled).
    if (store.onSettled !== undefined) store.onSettled(() => this.#check());
    else store.onDurable(() => this.#check());
  }

  /** Publishers should pause: the store holds more unwritten bytes than the high mark. */
  get over(): boolean {
    return (this.#store.unsettledBytes ?? 0) > this.#high;
  }

  addFlowWaiter(w: FlowWaiter): void {
    (this.#waiters ??= new Set()).add(w);
  }

  removeFlowWaiter(w: FlowWaiter): void {
    this.#waiters?.delete(w);
  }

  #check(): void {
    const waiters = this.#waiters;
    if (waiters === null || (this.#store.unsettledBytes ?? 0) > this.#low) return;
    this.#waiters = null;
    for (const w of waiters) w.resumeFlow(this);
  }
}

const flows = new WeakMap<Store, StoreFlow>();

/**
 * The one StoreFlow of `store` (every connection of a broker shares its store); the broker
 * creates it with the configured high mark (low: a quarter of it) before any connection.
 */
export function storeFlow(store: Store, high = STORE_FLOW_HIGH): StoreFlow {
  let f = flows.get(store);
  if (f === undefined) {
    f = new StoreFlow(store, high, high / 4);
    flows.set(store, f);
  }
  return f;
}
