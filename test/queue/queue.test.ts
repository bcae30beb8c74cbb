// Queue: round-robin over consumers with credit, requeue to the original position (marked
// redelivered), purge and delete, auto-delete after the last consumer, exclusive consumers, and
// the store writes a durable queue makes for persistent messages.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChannelError } from '../../src/errors.js';
import type { Message } from '../../src/message.js';
import { DEFAULT_SETTINGS } from '../../src/queue/arguments.js';
import { Queue, RESIDENT_LIMIT, type FlowWaiter, type QueueEntry } from '../../src/queue/queue.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { bodies, FakeConsumer, message, queue } from '../helpers/model.js';
import { Random } from '../helpers/random.js';

const msg = (body: string, persistent = false): Message => message('k', persistent ? { deliveryMode: 2 } : {}, body);

function fill(q: Queue, ...names: string[]): void {
  for (const n of names) q.enqueue(msg(n));
}

/** Takes the head `n` ready entries as basic.get with ack would. */
function take(q: Queue, n: number): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (let i = 0; i < n; i++) {
    const e = q.shift()!;
    q.markUnacked(e);
    out.push(e);
  }
  return out;
}

const ready = (q: Queue): string[] => bodies(q.readyEntries());

describe('ready list', () => {
  it('keeps messages in publish order and counts them and their bytes', () => {
    const q = queue('q');
    fill(q, 'a', 'b', 'c');
    expect(ready(q)).toEqual(['a', 'b', 'c']);
    expect(q.messageCount).toBe(3);
    const sizes = q.readyEntries().map((e) => e.size);
    expect(sizes).toEqual(q.readyEntries().map((e) => e.msg!.body.length)); // body bytes, as x-max-length-bytes counts
    expect(q.readyBytes).toBe(sizes[0]! + sizes[1]! + sizes[2]!);
    expect(q.shift()!.msg!.body.toString()).toBe('a');
    expect(q.readyBytes).toBe(sizes[1]! + sizes[2]!);
    expect(q.messageCount).toBe(2);
  });

  it('shift on an empty queue gives undefined', () => {
    expect(queue('q').shift()).toBeUndefined();
  });

  it('gives entries increasing sequence numbers', () => {
    const q = queue('q');
    fill(q, 'a', 'b', 'c');
    const seqs = q.readyEntries().map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    expect(new Set(seqs).size).toBe(3);
  });
});

describe('consumers', () => {
  it('take turns, round robin', () => {
    const q = queue('q');
    const cs = [new FakeConsumer('c1'), new FakeConsumer('c2'), new FakeConsumer('c3')];
    for (const c of cs) q.addConsumer(c);
    fill(q, ...Array.from({ length: 9 }, (_, i) => `m${i + 1}`));
    expect(cs.map((c) => c.bodies())).toEqual([
      ['m1', 'm4', 'm7'],
      ['m2', 'm5', 'm8'],
      ['m3', 'm6', 'm9'],
    ]);
    expect(q.messageCount).toBe(0);
    expect(q.unacked).toBe(9);
  });

  it('a backlog is shared round robin when dispatched', () => {
    const q = queue('q');
    fill(q, 'a', 'b', 'c', 'd', 'e');
    const c1 = new FakeConsumer('c1');
    const c2 = new FakeConsumer('c2');
    q.addConsumer(c1);
    q.addConsumer(c2);
    expect(c1.delivered).toEqual([]); // adding a consumer does not dispatch by itself
    q.dispatch();
    expect(c1.bodies()).toEqual(['a', 'c', 'e']);
    expect(c2.bodies()).toEqual(['b', 'd']);
  });

  it('skips consumers that cannot take a delivery, and keeps messages ready when none can', () => {
    const q = queue('q');
    const c1 = new FakeConsumer('c1', { credit: 1 });
    const c2 = new FakeConsumer('c2', { credit: 2 });
    q.addConsumer(c1);
    q.addConsumer(c2);
    fill(q, 'a', 'b', 'c', 'd', 'e');
    expect(c1.bodies()).toEqual(['a']);
    expect(c2.bodies()).toEqual(['b', 'c']);
    expect(ready(q)).toEqual(['d', 'e']);
    q.dispatch();
    expect(ready(q)).toEqual(['d', 'e']);
    c1.credit = 5;
    q.dispatch();
    expect(c1.bodies()).toEqual(['a', 'd', 'e']);
    expect(q.messageCount).toBe(0);
  });

  it('a new message goes behind ready ones, not straight to a consumer', () => {
    const q = queue('q');
    const c = new FakeConsumer('c', { credit: 0 });
    q.addConsumer(c);
    fill(q, 'a');
    c.credit = 10;
    fill(q, 'b'); // the consumer has credit, but 'a' is waiting: it must not overtake
    q.dispatch();
    expect(c.bodies()).toEqual(['a', 'b']);
  });

  it('the rotation continues correctly when a consumer leaves', () => {
    const q = queue('q');
    const [c1, c2, c3] = [new FakeConsumer('c1'), new FakeConsumer('c2'), new FakeConsumer('c3')];
    q.addConsumer(c1);
    q.addConsumer(c2);
    q.addConsumer(c3);
    fill(q, 'm1', 'm2'); // c1, c2; c3 is next
    q.removeConsumer(c1);
    fill(q, 'm3', 'm4', 'm5');
    expect(c3.bodies()).toEqual(['m3', 'm5']);
    expect(c2.bodies()).toEqual(['m2', 'm4']);
    expect(q.consumerCount).toBe(2);
  });

  it('removing an unknown consumer is harmless', () => {
    const q = queue('q');
    const c = new FakeConsumer('c');
    q.addConsumer(c);
    q.removeConsumer(new FakeConsumer('other'));
    expect(q.consumers).toEqual([c]);
  });

  it('no-ack consumers do not count as unacked', () => {
    const q = queue('q');
    q.addConsumer(new FakeConsumer('c', { noAck: true }));
    fill(q, 'a', 'b');
    expect(q.unacked).toBe(0);
    expect(q.stats.delivered).toBe(2);
  });
});

describe('exclusive consumers (row 17)', () => {
  const text = "ACCESS_REFUSED - queue 'q' in vhost '/' in exclusive use";
  const refused = (fn: () => void): ChannelError => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(ChannelError);
      return e as ChannelError;
    }
    throw new Error('expected ACCESS_REFUSED');
  };

  it('an exclusive consumer refuses any other, and is refused where consumers exist', () => {
    const q = queue('q');
    const ex = new FakeConsumer('ex', { exclusive: true });
    q.addConsumer(ex);
    const e1 = refused(() => q.addConsumer(new FakeConsumer('plain')));
    expect(e1.message).toBe(text);
    expect(e1.replyCode).toBe(403);
    expect(refused(() => q.addConsumer(new FakeConsumer('ex2', { exclusive: true }))).message).toBe(text);
    expect(q.consumerCount).toBe(1);

    const q2 = queue('q');
    q2.addConsumer(new FakeConsumer('plain'));
    expect(refused(() => q2.addConsumer(new FakeConsumer('ex', { exclusive: true }))).message).toBe(text);
    expect(q2.consumerCount).toBe(1);
  });

  it('once the exclusive consumer leaves, others may join', () => {
    const q = queue('q');
    const ex = new FakeConsumer('ex', { exclusive: true });
    q.addConsumer(ex);
    q.removeConsumer(ex);
    q.addConsumer(new FakeConsumer('a'));
    q.addConsumer(new FakeConsumer('b'));
    expect(q.consumerCount).toBe(2);
  });
});

describe('requeue', () => {
  it('puts head items back in their original order, marked redelivered', () => {
    const q = queue('q');
    fill(q, '1', '2', '3', '4', '5');
    const [e1, e2, e3] = take(q, 3) as [QueueEntry, QueueEntry, QueueEntry];
    q.requeue([e2, e1]);
    expect(ready(q)).toEqual(['1', '2', '4', '5']);
    q.requeue([e3]);
    expect(ready(q)).toEqual(['1', '2', '3', '4', '5']);
    expect(q.readyEntries().map((e) => e.redelivered)).toEqual([true, true, true, false, false]);
    expect(q.unacked).toBe(0);
    expect(q.messageCount).toBe(5);
  });

  it('puts items behind newer ready ones back between them', () => {
    const q = queue('q');
    fill(q, '1', '2', '3', '4', '5');
    const [e1, e2] = take(q, 2) as [QueueEntry, QueueEntry];
    q.shift(); // '3' stays out... and is handed back later, as basic.get would
    const e3 = q.readyEntries()[0]!;
    expect(e3.msg!.body.toString()).toBe('4');
    const [e4] = take(q, 1) as [QueueEntry];
    // ready: 5. out: 1, 2, 4 (3 was dropped like a no-ack get).
    q.requeue([e4]);
    expect(ready(q)).toEqual(['4', '5']);
    q.requeue([e2]);
    expect(ready(q)).toEqual(['2', '4', '5']);
    q.requeue([e1]);
    expect(ready(q)).toEqual(['1', '2', '4', '5']);
  });

  it('interleaves a batch with ready messages (rare path)', () => {
    const q = queue('q');
    fill(q, ...'abcdefgh'.split(''));
    const out = take(q, 8);
    // Requeue every other one first, then the rest in one unsorted batch.
    q.requeue([out[1]!, out[3]!, out[5]!, out[7]!]);
    expect(ready(q)).toEqual(['b', 'd', 'f', 'h']);
    q.requeue([out[6]!, out[0]!, out[4]!, out[2]!]);
    expect(ready(q)).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
  });

  it('requeued messages go behind nothing newer: new messages stay behind them', () => {
    const q = queue('q');
    fill(q, '1', '2');
    const out = take(q, 2);
    fill(q, '3');
    q.requeue(out);
    fill(q, '4');
    expect(ready(q)).toEqual(['1', '2', '3', '4']);
  });

  it('clears the delivery bookkeeping and counts unacked down', () => {
    const q = queue('q');
    const c = new FakeConsumer('c', { credit: 2 });
    q.addConsumer(c);
    fill(q, 'a', 'b');
    for (const e of c.delivered) {
      e.tag = 99;
      e.consumer = c;
    }
    expect(q.unacked).toBe(2);
    q.removeConsumer(c);
    q.requeue([...c.delivered]);
    expect(q.unacked).toBe(0);
    for (const e of q.readyEntries()) {
      expect(e.tag).toBe(0);
      expect(e.consumer).toBeNull();
      expect(e.redelivered).toBe(true);
    }
  });

  it('dispatches requeued messages to a consumer with credit, in order, redelivered', () => {
    const q = queue('q');
    const c1 = new FakeConsumer('c1', { credit: 3 });
    q.addConsumer(c1);
    fill(q, 'a', 'b', 'c', 'd');
    expect(c1.bodies()).toEqual(['a', 'b', 'c']);
    q.removeConsumer(c1);
    const c2 = new FakeConsumer('c2');
    q.addConsumer(c2);
    q.requeue([...c1.delivered].reverse());
    expect(c2.bodies()).toEqual(['a', 'b', 'c', 'd']);
    expect(c2.delivered.map((e) => e.redelivered)).toEqual([true, true, true, false]);
    expect(q.stats.redelivered).toBe(3);
  });

  it('a message requeued several times keeps its place', () => {
    const q = queue('q');
    fill(q, '1', '2', '3');
    for (let round = 0; round < 3; round++) {
      const [head] = take(q, 1) as [QueueEntry];
      expect(head.msg!.body.toString()).toBe('1');
      q.requeue([head]);
      expect(ready(q)).toEqual(['1', '2', '3']);
    }
  });

  it('an empty requeue changes nothing', () => {
    const q = queue('q');
    fill(q, 'a', 'b');
    q.requeue([]);
    expect(ready(q)).toEqual(['a', 'b']);
    expect(q.unacked).toBe(0);
  });

  it('into a deleted queue is dropped', () => {
    const q = queue('q');
    fill(q, 'a');
    const out = take(q, 1);
    q.delete();
    q.requeue(out);
    expect(q.messageCount).toBe(0);
  });

  for (const seed of [3, 17, 256]) {
    it(`random takes and requeues keep the ready list in publish order (seed ${seed})`, () => {
      const r = new Random(seed);
      const q = queue('q');
      const n = 60;
      fill(q, ...Array.from({ length: n }, (_, i) => String(i).padStart(3, '0')));
      const out: QueueEntry[] = [];
      for (let step = 0; step < 400; step++) {
        if (r.chance(0.5) && q.messageCount > 0) {
          out.push(...take(q, r.between(1, Math.min(5, q.messageCount))));
        } else if (out.length > 0) {
          r.shuffle(out);
          const back = out.splice(0, r.between(1, out.length));
          q.requeue(back);
        }
        const names = ready(q);
        expect(names).toEqual([...names].sort());
        expect(names.length + out.length).toBe(n);
        expect(q.unacked).toBe(out.length);
      }
      q.requeue(out);
      expect(ready(q)).toEqual(Array.from({ length: n }, (_, i) => String(i).padStart(3, '0')));
    });
  }
});

describe('purge and delete', () => {
  it('purge drops ready messages and leaves unacked ones to come back', () => {
    const q = queue('q');
    const c = new FakeConsumer('c', { credit: 2 });
    q.addConsumer(c);
    fill(q, 'a', 'b', 'c', 'd', 'e');
    expect(q.purge()).toBe(3);
    expect(q.messageCount).toBe(0);
    expect(q.readyBytes).toBe(0);
    expect(q.unacked).toBe(2);
    q.removeConsumer(c);
    q.requeue([...c.delivered]);
    expect(ready(q)).toEqual(['a', 'b']);
  });

  it('delete tells every consumer, empties the queue and reports the ready count', () => {
    const q = queue('q');
    const c1 = new FakeConsumer('c1', { credit: 1 });
    const c2 = new FakeConsumer('c2', { credit: 0 });
    q.addConsumer(c1);
    q.addConsumer(c2);
    fill(q, 'a', 'b', 'c');
    expect(q.delete()).toBe(2);
    expect(q.deleted).toBe(true);
    expect(c1.cancelled).toBe(1);
    expect(c2.cancelled).toBe(1);
    expect(q.consumerCount).toBe(0);
    expect(q.messageCount).toBe(0);
  });

  it('delete of an auto-delete queue does not call onUnused', () => {
    const q = queue('q', { autoDelete: true });
    let unused = 0;
    q.hooks = { deadLetter: () => {}, remove: () => unused++ };
    q.addConsumer(new FakeConsumer('c'));
    q.delete();
    expect(unused).toBe(0);
  });
});

describe('auto-delete', () => {
  it('fires only after having had a consumer, when the last one leaves', () => {
    const q = queue('q', { autoDelete: true });
    const calls: Queue[] = [];
    q.hooks = { deadLetter: () => {}, remove: (x) => calls.push(x) };
    q.removeConsumer(new FakeConsumer('never-added'));
    expect(calls).toEqual([]);
    fill(q, 'a');
    expect(calls).toEqual([]);
    const c1 = new FakeConsumer('c1');
    const c2 = new FakeConsumer('c2');
    q.addConsumer(c1);
    q.addConsumer(c2);
    expect(q.hadConsumers).toBe(true);
    q.removeConsumer(c1);
    expect(calls).toEqual([]);
    q.removeConsumer(c2);
    expect(calls).toEqual([q]);
  });

  it('never fires for a queue without auto-delete', () => {
    const q = queue('q');
    let unused = 0;
    q.hooks = { deadLetter: () => {}, remove: () => unused++ };
    const c = new FakeConsumer('c');
    q.addConsumer(c);
    q.removeConsumer(c);
    expect(unused).toBe(0);
  });
});

describe('store writes', () => {
  function durableQueue(store: MemoryStore, name = 'dq'): Queue {
    store.saveQueue({ vhost: '/', name, autoDelete: false, arguments: new Map() });
    return queue(name, { durable: true }, store);
  }

  /** Bodies the store holds for `q`, in queue order. */
  const storedBodies = (store: MemoryStore, q: Queue): string[] =>
    [...store.loadEntries(q)].map((e) => store.readMessage(e.storeId)!.body.toString());

  it('persistent messages in a durable queue are appended; transient ones are not', () => {
    const store = new MemoryStore();
    const q = durableQueue(store);
    q.enqueue(msg('p1', true));
    q.enqueue(msg('t1', false));
    q.enqueue(msg('p2', true));
    expect(store.countMessages(q)).toBe(2);
    expect(storedBodies(store, q)).toEqual(['p1', 'p2']);
    expect(q.readyEntries().map((e) => e.stored)).toEqual([true, false, true]);
  });

  it('a transient queue never touches the store, even for persistent messages', () => {
    const store = new MemoryStore();
    store.saveQueue({ vhost: '/', name: 'tq', autoDelete: false, arguments: new Map() });
    const before = store.writeSeq;
    const q = queue('tq', { durable: false }, store);
    q.enqueue(msg('p', true));
    const [e] = take(q, 1);
    q.settle(e!, true);
    expect(store.writeSeq).toBe(before);
    expect(store.countMessages(q)).toBe(0);
  });

  it('delivery marks the message delivered; ack removes it; requeue keeps it', () => {
    const store = new MemoryStore();
    const q = durableQueue(store);
    const c = new FakeConsumer('c', { credit: 2 });
    q.addConsumer(c);
    q.enqueue(msg('a', true));
    q.enqueue(msg('b', true));
    expect([...store.loadEntries(q)].map((m) => m.delivered)).toEqual([true, true]);
    q.settle(c.delivered[0]!, true);
    expect(storedBodies(store, q)).toEqual(['b']);
    q.removeConsumer(c);
    q.requeue([c.delivered[1]!]);
    expect(store.countMessages(q)).toBe(1);
    expect(q.unacked).toBe(0);
    expect(q.stats.acked).toBe(1);
  });

  it('a no-ack delivery removes the message from the store at once', () => {
    const store = new MemoryStore();
    const q = durableQueue(store);
    q.addConsumer(new FakeConsumer('c', { noAck: true }));
    q.enqueue(msg('a', true));
    expect(store.countMessages(q)).toBe(0);
  });

  it('purge removes stored ready messages but not unacked ones', () => {
    const store = new MemoryStore();
    const q = durableQueue(store);
    q.enqueue(msg('a', true));
    q.enqueue(msg('b', true));
    q.enqueue(msg('c', true));
    take(q, 1);
    expect(q.purge()).toBe(2);
    expect(storedBodies(store, q)).toEqual(['a']);
  });

  it('a message routed to two durable queues is stored once and kept until both settle', () => {
    const store = new MemoryStore();
    const q1 = durableQueue(store, 'd1');
    const q2 = durableQueue(store, 'd2');
    const m = msg('shared', true);
    q1.enqueue(m);
    q2.enqueue(m);
    expect(m.storeId).not.toBe(0);
    expect([...store.loadEntries(q1)][0]!.storeId).toBe([...store.loadEntries(q2)][0]!.storeId);
    const [e1] = take(q1, 1);
    q1.settle(e1!, true);
    expect(store.countMessages(q1)).toBe(0);
    expect(storedBodies(store, q2)).toEqual(['shared']);
    const [e2] = take(q2, 1);
    q2.settle(e2!, true);
    expect(store.readMessage(m.storeId)).toBeUndefined();
  });

  it('settling after the queue was deleted leaves the store alone', () => {
    const store = new MemoryStore();
    const q = durableQueue(store);
    q.enqueue(msg('a', true));
    const [e] = take(q, 1);
    q.delete();
    const before = store.writeSeq;
    q.settle(e!, true);
    expect(store.writeSeq).toBe(before);
  });

  it('restored entries keep their order and redelivered flag; bodies come from the store; new ones go after', () => {
    const store = new MemoryStore();
    const before = durableQueue(store);
    before.enqueue(msg('r1', true));
    before.enqueue(msg('r2', true));
    before.enqueue(msg('r3', true));
    take(before, 1); // r1 was delivered before the "restart"
    before.shift(); // r2 went out without being marked
    const entries = [...store.loadEntries(before)];
    expect(entries.map((e) => e.delivered)).toEqual([true, false, false]);

    const q = queue('dq', { durable: true }, store);
    q.restore(entries);
    expect(q.messageCount).toBe(3);
    expect(q.readyEntries().map((e) => e.redelivered)).toEqual([true, false, false]);
    q.enqueue(msg('new', true));
    expect(q.readyEntries()[3]!.seq).toBeGreaterThan(entries[2]!.seq);
    const c = new FakeConsumer('c');
    q.addConsumer(c);
    q.dispatch();
    expect(c.bodies()).toEqual(['r1', 'r2', 'r3', 'new']);
    expect(c.delivered.map((e) => e.redelivered)).toEqual([true, false, false, false]);
    q.removeConsumer(c);
    q.requeue([c.delivered[3]!, c.delivered[0]!]);
    expect(ready(q)).toEqual(['r1', 'new']);
  });

  it('basic.get on a restored entry reads its body back', () => {
    const store = new MemoryStore();
    const before = durableQueue(store);
    before.enqueue(msg('only', true));
    const q = queue('dq', { durable: true }, store);
    q.restore(store.loadEntries(before));
    expect(q.shift()!.msg!.body.toString()).toBe('only');
  });

  it(`a backlog longer than ${RESIDENT_LIMIT} keeps bodies only at its head, and delivers all in order`, () => {
    const store = new MemoryStore();
    const q = durableQueue(store);
    const n = RESIDENT_LIMIT + 50;
    for (let i = 0; i < n; i++) q.enqueue(msg(String(i), true));
    const entries = q.readyEntries();
    expect(entries.slice(0, RESIDENT_LIMIT).every((e) => e.msg !== null)).toBe(true);
    expect(entries.slice(RESIDENT_LIMIT).every((e) => e.msg === null)).toBe(true);
    const c = new FakeConsumer('c', { noAck: true });
    q.addConsumer(c);
    q.dispatch();
    expect(c.delivered.length).toBe(n);
    expect(c.bodies().every((b, i) => b === String(i))).toBe(true);
    expect(store.countMessages(q)).toBe(0);
  });

  it('a long backlog mixing stored, transient and TTL messages keeps its order through requeues, purge and restart', () => {
    const store = new MemoryStore();
    const q = durableQueue(store);
    const n = RESIDENT_LIMIT * 3;
    // Every 10th is transient, every 13th has a (long) TTL: neither can be kept as numbers.
    for (let i = 0; i < n; i++) {
      const persistent = i % 10 !== 0;
      const props = i % 13 === 0 ? { deliveryMode: persistent ? 2 : 1, expiration: '3600000' } : { deliveryMode: persistent ? 2 : 1 };
      q.enqueue(message('k', props, String(i)));
    }
    const withBodies = (x: Queue): string[] => x.readyEntries().map((e) => (e.msg ?? store.readMessage(e.storeId)!).body.toString());
    expect(q.messageCount).toBe(n);
    expect(withBodies(q)).toEqual(Array.from({ length: n }, (_, i) => String(i)));
    // Take some, give them back: they return to the front, redelivered.
    const taken = take(q, 5);
    q.requeue(taken);
    const c = new FakeConsumer('c', { credit: RESIDENT_LIMIT + 10 });
    q.addConsumer(c);
    q.dispatch();
    expect(c.bodies()).toEqual(Array.from({ length: RESIDENT_LIMIT + 10 }, (_, i) => String(i)));
    expect(c.delivered.slice(0, 5).every((e) => e.redelivered)).toBe(true);
    expect(c.delivered[5]!.redelivered).toBe(false);
    // A restart brings back every stored message (the unacknowledged ones too), in order.
    const restored = durableQueue(store, 'dq');
    restored.restore(store.loadEntries(q));
    const storedRest = Array.from({ length: n }, (_, i) => i)
      .filter((i) => i % 10 !== 0)
      .map(String);
    expect(withBodies(restored)).toEqual(storedRest);
    // Purge drops every ready message, stored ones from the store too.
    q.removeConsumer(c);
    expect(q.purge()).toBe(n - RESIDENT_LIMIT - 10);
    expect(q.messageCount).toBe(0);
    expect(store.countMessages(q)).toBe(RESIDENT_LIMIT + 10 - Math.ceil((RESIDENT_LIMIT + 10) / 10));
  });
});

describe('flow control', () => {
  /** A queue with a backlog of `n` behind one consumer that cannot take more. */
  function backlog(n: number, socketBound: boolean): { q: Queue; c: FakeConsumer } {
    const q = queue('q');
    const c = new FakeConsumer('c', { credit: 0 });
    c.bound = socketBound;
    q.addConsumer(c);
    for (let i = 0; i < n; i++) q.enqueue(msg(String(i)));
    return { q, c };
  }

  class Waiter implements FlowWaiter {
    resumed: Queue[] = [];
    resumeFlow(queue: Queue): void {
      this.resumed.push(queue);
    }
  }

  it('a long backlog behind a socket-bound consumer congests the queue', () => {
    expect(backlog(12_000, true).q.congested).toBe(true);
  });

  it('a backlog without socket-bound consumers does not (slow acks, no consumers)', () => {
    expect(backlog(12_000, false).q.congested).toBe(false);
    const q = queue('q');
    for (let i = 0; i < 12_000; i++) q.enqueue(msg(String(i)));
    expect(q.congested).toBe(false);
  });

  it('a short backlog does not, even behind a socket-bound consumer', () => {
    expect(backlog(1000, true).q.congested).toBe(false);
  });

  it('waiters resume once the backlog has drained well below the mark, not before', () => {
    const { q, c } = backlog(12_000, true);
    const w = new Waiter();
    q.addFlowWaiter(w);
    c.credit = 8_000; // leaves 4000: still above the low mark
    q.dispatch();
    expect(w.resumed).toEqual([]);
    expect(q.congested).toBe(true);
    c.credit = 3_000; // leaves 1000
    q.dispatch();
    expect(w.resumed).toEqual([q]);
    expect(q.congested).toBe(false);
    // Resumed once: later drains do not call it again.
    c.credit = Infinity;
    q.dispatch();
    expect(w.resumed).toEqual([q]);
  });

  it('waiters resume when the socket-bound consumer leaves', () => {
    const { q, c } = backlog(12_000, true);
    const w = new Waiter();
    q.addFlowWaiter(w);
    q.removeConsumer(c);
    expect(w.resumed).toEqual([q]);
    expect(q.congested).toBe(false);
  });

  it('waiters stay paused while another socket-bound consumer remains', () => {
    const { q, c } = backlog(12_000, true);
    const other = new FakeConsumer('other', { credit: 0 });
    other.bound = true;
    q.addConsumer(other);
    const w = new Waiter();
    q.addFlowWaiter(w);
    q.removeConsumer(c);
    expect(w.resumed).toEqual([]);
    expect(q.congested).toBe(true);
  });

  it('waiters resume when the queue is purged or deleted', () => {
    for (const end of [(q: Queue) => q.purge(), (q: Queue) => q.delete()]) {
      const { q } = backlog(12_000, true);
      const w = new Waiter();
      q.addFlowWaiter(w);
      end(q);
      expect(w.resumed).toEqual([q]);
      expect(q.congested).toBe(false);
    }
  });

  it('a removed waiter is not called', () => {
    const { q } = backlog(12_000, true);
    const w = new Waiter();
    q.addFlowWaiter(w);
    q.removeFlowWaiter(w);
    q.purge();
    expect(w.resumed).toEqual([]);
  });
});

describe('message TTL', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('messages expiring together through x-message-ttl are dead-lettered in queue order', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const q = queue('ttl', { settings: { ...DEFAULT_SETTINGS, messageTtl: 100, deadLetterExchange: 'dlx' } });
    const dead: string[] = [];
    q.hooks = { deadLetter: (_q, m, reason) => dead.push(`${m.body.toString()}:${reason}`), remove: () => {} };
    const names = Array.from({ length: 300 }, (_, i) => `m${i}`);
    fill(q, ...names.slice(0, 200)); // all in the same millisecond
    vi.advanceTimersByTime(1);
    fill(q, ...names.slice(200));
    vi.advanceTimersByTime(200);
    expect(dead).toEqual(names.map((n) => `${n}:expired`));
    expect(q.messageCount).toBe(0);
  });
});
