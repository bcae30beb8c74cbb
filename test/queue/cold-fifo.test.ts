// ColdFifo: records across chunk boundaries come out in order with every field intact.

import { describe, expect, it } from 'vitest';
import { ColdFifo } from '../../src/queue/cold-fifo.js';

describe('ColdFifo', () => {
  it('keeps five fields per record, first in first out, across chunks', () => {
    const f = new ColdFifo();
    const n = 10_000;
    for (let i = 0; i < n; i++) f.push(i + 2 ** 40, i * 3, i + 2 ** 35, i & 0xffffff, i % 300);
    expect(f.length).toBe(n);
    // Seqs and store ids as 32-bit offsets within a chunk: 20 bytes a record, 3 chunks of 4096.
    expect(f.bytes).toBe(3 * 4096 * 20);
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

  it('keeps records exact when seqs and store ids jump beyond 32-bit offsets (the chunk widens)', () => {
    const f = new ColdFifo();
    const want: number[][] = [];
    const push = (seq: number, size: number, id: number, bits: number, count: number): void => {
      f.push(seq, size, id, bits, count);
      want.push([seq, size, id, bits, count]);
    };
    // Compact records first, then a store id 2^40 away (a message republished much later), then a
    // seq 2^33 away, then ids below the chunk's first: the earlier records must read back unchanged.
    for (let i = 0; i < 100; i++) push(1000 + i, 10, 5000 + i, 1, 0);
    push(1100, 11, 2 ** 40, 2, 1);
    for (let i = 0; i < 100; i++) push(1101 + i, 12, 5100 + i, 3, 2);
    push(2 ** 33, 13, 7, 4, 3);
    for (let i = 0; i < 5000; i++) push(2 ** 33 + 1 + i, 14, 2 ** 45 - i, 5, 4);
    expect(f.length).toBe(want.length);
    expect(f.bytes).toBeGreaterThan(2 * 4096 * 20); // widened chunks: 28 bytes a record
    for (let i = 0; i < want.length; i++) expect([f.seqAt(i), f.sizeAt(i), f.storeIdAt(i), f.bitsAt(i), f.countAt(i)]).toEqual(want[i]);
    for (const w of want) {
      expect([f.seq, f.size, f.storeId, f.bits, f.count]).toEqual(w);
      f.shift();
    }
    expect(f.length).toBe(0);
  });

  it('setAt writes a store id far from the other ids of its chunk (a parked reference filled in) without losing its neighbours', () => {
    const f = new ColdFifo();
    for (let i = 0; i < 10; i++) f.push(i, 1, i === 5 ? 0 : 2 ** 40 + i, 0, 0);
    f.setAt(5, 99, 2 ** 40 + 5, 7, 1);
    f.setAt(6, 98, 3, 8, 2); // 2^40 below the chunk's first id: widens
    expect(f.indexAfter(5)).toBe(6);
    const got: number[][] = [];
    f.forEach((seq, size, storeId, bits, count) => got.push([seq, size, storeId, bits, count]));
    expect(got[4]).toEqual([4, 1, 2 ** 40 + 4, 0, 0]);
    expect(got[5]).toEqual([5, 99, 2 ** 40 + 5, 7, 1]);
    expect(got[6]).toEqual([6, 98, 3, 8, 2]);
    expect(got[9]).toEqual([9, 1, 2 ** 40 + 9, 0, 0]);
  });
});
