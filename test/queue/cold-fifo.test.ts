// ColdFifo: records across chunk boundaries come out in order with every field intact.

import { describe, expect, it } from 'vitest';
import { ColdFifo } from '../../src/queue/cold-fifo.js';

describe('ColdFifo', () => {
  it('keeps five fields per record, first in first out, across chunks', () => {
    const f = new ColdFifo();
    const n = 10_000;
    for (let i = 0; i < n; i++) f.push(i + 2 ** 40, i * 3, i + 2 ** 35, i & 0xffffff, i % 300);
    expect(f.length).toBe(n);
    for (let i = 0; i < n; i++) {
      expect([f.seq, f.size, f.storeId, f.bits, f.count]).toEqual([i + 2 ** 40, i * 3, i + 2 ** 35, i & 0xffffff, i % 300]);
      f.shift();
    }
    expect(f.length).toBe(0);
  });

  it('interleaved pushes and shifts around a chunk boundary', () => {
    const f = new ColdFifo();
    let next = 0;
    let expected = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) f.push(next++, 1, 1, 1, 1);
      for (let i = 0; i < 290; i++) {
        expect(f.seq).toBe(expected++);
        f.shift();
      }
    }
    expect(f.length).toBe(next - expected);
    f.clear();
    expect(f.length).toBe(0);
    f.push(7, 1, 1, 1, 1);
    expect(f.seq).toBe(7);
  });

  it('forEach visits every record head first, across chunks, and leaves the FIFO as it was', () => {
    const f = new ColdFifo();
    for (let i = 0; i < 9000; i++) f.push(i, i, i, i, i);
    for (let i = 0; i < 100; i++) f.shift();
    const seen: number[] = [];
    f.forEach((seq, size, storeId, bits, count) => {
      expect([size, storeId, bits, count]).toEqual([seq, seq, seq, seq]);
      seen.push(seq);
    });
    expect(seen).toEqual(Array.from({ length: 8900 }, (_, i) => i + 100));
    expect(f.length).toBe(8900);
    expect(f.seq).toBe(100);
  });
});
