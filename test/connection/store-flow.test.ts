// Store flow control: publishers of persistent messages pause while the store holds more than
// its high mark of unwritten bytes and resume once it is under a quarter of that, through the
// same input gate as a congested queue.

import { describe, expect, it } from 'vitest';
import { StoreFlow, storeFlow } from '../../src/connection/store-flow.js';
import { gate as connection } from './gate-host.js';
import type { FlowSource } from '../../src/queue/queue.js';
import type { Store, WriteRange } from '../../src/store/store.js';
import { WriteJoin } from '../../src/stream/write-join.js';

/**
 * What StoreFlow reads of a store (unsettledBytes, onDurable), plus numbered writes, as the
 * broker's WriteJoin reads them of the store it wraps. `commit(bytesLeft)`: everything written is
 * durable, `bytesLeft` still unsettled (the next batch), and the listeners hear of it.
 */
function fakeStore(): { store: Store; unsettled: number; write(bytes: number): void; commit(bytesLeft: number): void } {
  const listeners: ((d: number, f: WriteRange | null) => void)[] = [];
  let writeSeq = 0;
  let durableSeq = 0;
  const fake = {
    unsettled: 0,
    store: null as unknown as Store,
    write(bytes: number): void {
      writeSeq++;
      fake.unsettled += bytes;
    },
    commit(bytesLeft: number): void {
      durableSeq = writeSeq;
      fake.unsettled = bytesLeft;
      for (const l of listeners) l(durableSeq, null);
    },
  };
  fake.store = {
    get writeSeq() {
      return writeSeq;
    },
    get durableSeq() {
      return durableSeq;
    },
    get unsettledBytes() {
      return fake.unsettled;
    },
    onDurable: (l: (d: number, f: WriteRange | null) => void) => listeners.push(l),
  } as unknown as Store;
  return fake;
}

describe('StoreFlow', () => {
  it('is over only above its high mark', () => {
    const s = fakeStore();
    const flow = new StoreFlow(s.store, 1000, 250);
    s.unsettled = 1000;
    expect(flow.over).toBe(false);
    s.unsettled = 1001;
    expect(flow.over).toBe(true);
  });

  it('pauses the publishers and resumes them only once the store is under the low mark', () => {
    const s = fakeStore();
    const flow = new StoreFlow(s.store, 1000, 250);
    const a = connection();
    const b = connection();
    s.unsettled = 5000;
    a.g.throttle(flow);
    b.g.throttle(flow);
    expect(a.host.paused && b.host.paused).toBe(true);
    s.commit(600); // a batch committed, the next one is still large
    expect(a.host.paused && b.host.paused).toBe(true);
    s.commit(200);
    expect(a.host.paused || b.host.paused).toBe(false);
  });

  it('a connection paused by a queue and by the store reads again only when both let go', () => {
    const s = fakeStore();
    const flow = new StoreFlow(s.store, 1000, 250);
    const c = connection();
    const q: FlowSource = { name: 'q', addFlowWaiter: () => undefined, removeFlowWaiter: () => undefined };
    s.unsettled = 5000;
    c.g.throttle(flow);
    c.g.throttle(q);
    s.commit(0);
    expect(c.host.paused).toBe(true);
    c.g.resumeFlow(q);
    expect(c.host.paused).toBe(false);
  });

  it('a closed connection is forgotten', () => {
    const s = fakeStore();
    const flow = new StoreFlow(s.store, 1000, 250);
    const c = connection();
    let resumed = 0;
    c.host.resumeFlow = () => resumed++;
    s.unsettled = 5000;
    c.g.throttle(flow);
    c.g.clear();
    s.commit(0);
    expect(resumed).toBe(0);
  });

  it('one per store: the broker configures it, connections share it', () => {
    const s = fakeStore();
    const configured = storeFlow(s.store, 4096);
    expect(storeFlow(s.store)).toBe(configured);
    s.unsettled = 4097;
    expect(storeFlow(s.store).over).toBe(true);
  });
});

describe('StoreFlow behind the broker\'s WriteJoin', () => {
  it('a publisher without confirms (nobody reads writeSeq) is resumed by the commit', () => {
    const inner = fakeStore();
    const join = new WriteJoin(inner.store);
    const flow = new StoreFlow(join, 1000, 250);
    const c = connection();
    inner.write(5000); // persistent publishes, no confirms: the join never numbers them
    expect(flow.over).toBe(true);
    c.g.throttle(flow);
    expect(c.host.paused).toBe(true);
    inner.commit(0);
    expect(c.host.paused).toBe(false);
  });
});

