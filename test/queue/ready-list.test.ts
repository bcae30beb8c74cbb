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
