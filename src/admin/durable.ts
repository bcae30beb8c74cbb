// Waiting for the store: a promise that settles once every write issued before the call is
// durable (or failed). The HTTP API answers a change only then (server.ts), and a move or
// redrive (transfer.ts) waits for each batch it wrote before it takes the next.

import type { Store } from '../store/store.js';

/** Resolves true once every store write issued before the call is durable; false when some failed. */
export type DurableWaiter = () => Promise<boolean>;

const waiters = new WeakMap<Store, DurableWaiter>();

/** The store's waiter (one listener per store, however many callers). */
export function durableWaiter(store: Store): DurableWaiter {
  let w = waiters.get(store);
  if (w === undefined) {
    w = makeWaiter(store);
    waiters.set(store, w);
  }
  return w;
}

function makeWaiter(store: Store): DurableWaiter {
  const waiting: { upTo: number; failed: boolean; resolve: (ok: boolean) => void }[] = [];
  let listening = false;
  return () => {
    const upTo = store.writeSeq;
    if (store.durableSeq >= upTo) return Promise.resolve(true);
    if (!listening) {
      listening = true;
      store.onDurable((seq, failed) => {
        const reached = Math.max(seq, failed?.to ?? 0);
        for (let i = waiting.length - 1; i >= 0; i--) {
          const w = waiting[i]!;
          // Conservative: a failed range that reaches below upTo may hold this caller's writes.
          if (failed !== null && failed.from < w.upTo) w.failed = true;
          if (w.upTo <= reached) {
            waiting.splice(i, 1);
            w.resolve(!w.failed);
          }
        }
      });
    }
    return new Promise((resolve) => waiting.push({ upTo, failed: false, resolve }));
  };
}
