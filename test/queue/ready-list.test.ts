// The ready list: priority levels, requeue at the original position, and tombstones for entries
// removed in place (expired), which must not pile up in a queue whose head never moves.

import { describe, expect, it } from 'vitest';
import { ReadyList, type ReadyItem } from '../../src/queue/ready-list.js';

function item(seq: number, priority = 0): ReadyItem {
  return { seq, size: 10, priority, ready: false };
}

describe('ReadyList', () => {
  it('delivers higher levels first, FIFO within a level, and requeues by seq', () => {
    const r = new ReadyList<ReadyItem>(3);
    const items = [item(1, 0), item(2, 2), item(3, 1), item(4, 2)];
    for (const i of items) r.push(i);
    const a = r.shift()!;
    const b = r.shift()!;
    expect([a.seq, b.seq]).toEqual([2, 4]);
    r.requeue([b, a]);
    expect([...r.iterate()].map((i) => i.seq)).toEqual([2, 4, 3, 1]);
    expect(r.length).toBe(4);
    expect(r.bytes).toBe(40);
  });

  it('removed entries are skipped, and swept out when most of the list is tombstones', () => {
    const r = new ReadyList<ReadyItem>();
    const items = Array.from({ length: 20_000 }, (_, i) => item(i + 1));
    for (const i of items) r.push(i);
    // Expire everything but every tenth entry, from the back, so the head never moves.
    for (let i = items.length - 1; i >= 0; i--) if (i % 10 !== 0) r.remove(items[i]!);
    expect(r.length).toBe(2000);
    expect(r.held).toBeLessThan(2000 + 4096);
    expect([...r.iterate()].map((i) => i.seq).slice(0, 3)).toEqual([1, 11, 21]);
    expect(r.shift()!.seq).toBe(1);
    expect(r.shift()!.seq).toBe(11);
  });
});

// The cold section: past hotLimit, entries the freezer accepts live as numbers; order and
// counts must be exactly those of a plain list.
interface Item extends ReadyItem {
  frozenOk: boolean;
  thawed?: boolean;
}

function coldList(hotLimit: number): { r: ReadyList<Item>; thawCount: () => number } {
  let thawed = 0;
  const r = new ReadyList<Item>(1, {
    hotLimit,
    freezer: {
      canFreeze: (e) => e.frozenOk,
      freeze: (e, cold) => cold.push(e.seq, e.size, 0, 1, 0),
      freezeAt: (e, cold, i) => cold.setAt(i, e.size, 0, 1, 0),
      thaw: (seq, size) => {
        thawed++;
        return { seq, size, priority: 0, ready: true, frozenOk: true, thawed: true };
      },
    },
  });
  return { r, thawCount: () => thawed };
}

function coldItem(seq: number, frozenOk = true): Item {
  return { seq, size: 10, priority: 0, ready: false, frozenOk };
}

function drain(r: ReadyList<Item>): number[] {
  const out: number[] = [];
  for (let e = r.shift(); e !== undefined; e = r.shift()) out.push(e.seq);
  return out;
}

describe('ReadyList cold section', () => {
  it('freezes entries past the hot limit and delivers everything in order', () => {
    const { r, thawCount } = coldList(100);
    for (let i = 1; i <= 10_000; i++) r.push(coldItem(i));
    expect(r.length).toBe(10_000);
    expect(r.bytes).toBe(100_000);
    expect(r.frozen).toBe(9_900);
    expect(drain(r)).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
    expect(thawCount()).toBe(9_900);
    expect(r.length).toBe(0);
    expect(r.bytes).toBe(0);
  });

  it('holds entries that cannot be frozen yet in the tail, then parks them once the tail is long', () => {
    const { r } = coldList(10);
    const items = Array.from({ length: 20_000 }, (_, i) => coldItem(i + 1, false));
    for (const e of items) r.push(e);
    // None could be frozen as numbers; most are parked in cold as references.
    expect(r.frozen).toBe(0);
    // An expired entry in the parked middle and one in the tail are skipped.
    r.remove(items[500]!);
    r.remove(items[19_990]!);
    const seqs = drain(r);
    expect(seqs.length).toBe(19_998);
    expect(seqs.includes(501)).toBe(false);
    expect(seqs.includes(19_991)).toBe(false);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(r.held).toBe(0);
  });

  it('parked entries become numbers where they sit once they can be frozen (a publisher ahead of the store)', () => {
    const { r, thawCount } = coldList(10);
    // The store is behind: nothing can be frozen yet, so past the tail's limit entries are parked.
    const items = Array.from({ length: 20_000 }, (_, i) => coldItem(i + 1, false));
    for (const e of items) r.push(e);
    expect(r.frozen).toBe(0);
    // Their writes commit, oldest first; one removed meanwhile; the next push freezes them in place.
    for (const e of items.slice(0, 15_000)) e.frozenOk = true;
    r.remove(items[100]!);
    r.push(coldItem(20_001, false));
    // 10 hot at the head; the parked ones that committed, less the removed one, are now numbers.
    const frozen = r.frozen;
    expect(frozen).toBeGreaterThan(14_000);
    expect(frozen).toBeLessThan(15_000);
    expect(r.length).toBe(20_000);
    const seqs = drain(r);
    expect(seqs.length).toBe(20_000);
    expect(seqs.includes(101)).toBe(false);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(thawCount()).toBe(frozen);
    expect(r.held).toBe(0);
  });

  it('keeps order when frozen and unfreezable entries alternate', () => {
    const { r } = coldList(5);
    for (let i = 1; i <= 30_000; i++) r.push(coldItem(i, i % 7 !== 0));
    expect(drain(r)).toEqual(Array.from({ length: 30_000 }, (_, i) => i + 1));
  });

  it('requeues delivered entries ahead of the cold section, and new pushes after it', () => {
    const { r } = coldList(10);
    for (let i = 1; i <= 100; i++) r.push(coldItem(i));
    const taken = [r.shift()!, r.shift()!, r.shift()!];
    r.requeue(taken.reverse());
    r.push(coldItem(101));
    expect(drain(r)).toEqual(Array.from({ length: 101 }, (_, i) => i + 1));
  });

  it('requeue of an entry that belongs after cold (never expected) still keeps order', () => {
    const { r } = coldList(10);
    for (let i = 1; i <= 100; i++) r.push(coldItem(i));
    r.requeue([coldItem(50_000)]);
    expect(r.frozen).toBe(0);
    const seqs = drain(r);
    expect(seqs.length).toBe(101);
    expect(seqs.at(-1)).toBe(50_000);
  });

  it('iterate shows frozen entries without thawing them for good; clear visits each live entry once', () => {
    const { r } = coldList(10);
    for (let i = 1; i <= 1000; i++) r.push(coldItem(i));
    expect([...r.iterate()].map((e) => e.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(r.frozen).toBe(990);
    const visited: number[] = [];
    expect(r.clear((e) => visited.push(e.seq))).toBe(1000);
    expect(visited).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(r.length).toBe(0);
    expect(r.shift()).toBeUndefined();
    r.push(coldItem(1001));
    expect(drain(r)).toEqual([1001]);
  });

  it('a priority list ignores the freezer', () => {
    const r = new ReadyList<Item>(3, {
      hotLimit: 1,
      freezer: {
        canFreeze: () => true,
        freeze: () => {
          throw new Error('must not freeze');
        },
        freezeAt: () => {
          throw new Error('must not freeze');
        },
        thaw: () => {
          throw new Error('must not thaw');
        },
      },
    });
    for (let i = 1; i <= 10; i++) r.push(coldItem(i));
    expect(drain(r).length).toBe(10);
  });
});

// walk() and takeFrozen(): what peek and move use to look at a long backlog in place and take
// entries out of its middle (frozen ones included) without disturbing the order of the rest.
describe('ReadyList walk and takeFrozen', () => {
  function walked(r: ReadyList<Item>, after: { level: number; seq: number } | null = null, stopAfter = Infinity): { seq: number; frozen: boolean }[] {
    const out: { seq: number; frozen: boolean }[] = [];
    r.walk(after, (e, frozen) => {
      out.push({ seq: e.seq, frozen });
      return out.length < stopAfter;
    });
    return out;
  }

  it('visits head, cold and tail in delivery order, frozen entries as copies, and changes nothing', () => {
    const { r, thawCount } = coldList(10);
    for (let i = 1; i <= 30; i++) r.push(coldItem(i, i !== 25));
    const seen = walked(r);
    expect(seen.map((s) => s.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(seen.filter((s) => s.frozen).length).toBe(14); // 11..24 frozen; 25 cannot be, so it and the rest wait in the tail
    expect(r.frozen).toBe(14);
    expect(thawCount()).toBe(14);
    expect(drain(r)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('resumes after a cursor in every part, and stops when told', () => {
    const { r } = coldList(10);
    for (let i = 1; i <= 100; i++) r.push(coldItem(i));
    expect(walked(r, null, 3).map((s) => s.seq)).toEqual([1, 2, 3]);
    expect(walked(r, { level: 0, seq: 5 }, 2).map((s) => s.seq)).toEqual([6, 7]);
    expect(walked(r, { level: 0, seq: 50 }, 2).map((s) => s.seq)).toEqual([51, 52]);
    expect(walked(r, { level: 0, seq: 100 })).toEqual([]);
  });

  it('takes frozen entries out in place: counts, order and later thawing skip them', () => {
    const { r } = coldList(10);
    for (let i = 1; i <= 100; i++) r.push(coldItem(i));
    expect(r.takeFrozen(50)).toBe(true);
    expect(r.takeFrozen(50)).toBe(false); // already gone
    expect(r.takeFrozen(5)).toBe(false); // an object at the head, not frozen
    expect(r.takeFrozen(1000)).toBe(false);
    expect(r.length).toBe(99);
    expect(r.bytes).toBe(990);
    expect(r.frozen).toBe(89);
    expect(walked(r).map((s) => s.seq).includes(50)).toBe(false);
    const seqs = drain(r);
    expect(seqs.length).toBe(99);
    expect(seqs.includes(50)).toBe(false);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('walks a priority list highest level first and resumes within a level', () => {
    const r = new ReadyList<ReadyItem>(3);
    for (const [seq, p] of [[1, 0], [2, 2], [3, 1], [4, 2], [5, 0]] as const) r.push(item(seq, p));
    const order: number[] = [];
    r.walk(null, (e) => (order.push(e.seq), true));
    expect(order).toEqual([2, 4, 3, 1, 5]);
    const rest: number[] = [];
    r.walk({ level: 2, seq: 2 }, (e) => (rest.push(e.seq), true));
    expect(rest).toEqual([4, 3, 1, 5]);
  });
});
