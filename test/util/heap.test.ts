// MinHeap: pops in key order; with a tie key, equal keys come out in tie order (a plain heap
// would not keep them stable).
import { describe, expect, it } from 'vitest';
import { MinHeap } from '../../src/util/heap.js';
import { Random } from '../helpers/random.js';

describe('MinHeap', () => {
  it('pops in key order, then in tie order for equal keys', () => {
    const rnd = new Random(7);
    const items = Array.from({ length: 2000 }, (_, i) => ({ key: rnd.int(20), seq: i }));
    const h = new MinHeap<{ key: number; seq: number }>(
      (x) => x.key,
      (x) => x.seq,
    );
    for (const x of rnd.shuffle([...items])) h.push(x);
    const out: { key: number; seq: number }[] = [];
    for (let x = h.pop(); x !== undefined; x = h.pop()) out.push(x);
    expect(out).toEqual([...items].sort((a, b) => a.key - b.key || a.seq - b.seq));
    expect(h.size).toBe(0);
  });

  it('without a tie key, still pops in key order', () => {
    const h = new MinHeap<number>((x) => x);
    for (const x of [5, 1, 4, 1, 3, 9, 2]) h.push(x);
    const out: number[] = [];
    for (let x = h.pop(); x !== undefined; x = h.pop()) out.push(x);
    expect(out).toEqual([1, 1, 2, 3, 4, 5, 9]);
  });
});
