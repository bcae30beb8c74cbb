import { describe, expect, it } from 'vitest';
import { jumpHash, murmur3, partitionOf } from '../../src/stream/partition-key.js';

describe('murmur3', () => {
  it('matches the reference MurmurHash3_x86_32 vectors', () => {
    const b = (s: string) => Buffer.from(s, 'utf8');
    expect(murmur3(b(''), 0, 0)).toBe(0);
    expect(murmur3(b(''), 0, 1)).toBe(0x514e28b7);
    expect(murmur3(b('hello'), 5, 0)).toBe(0x248bfa47);
    expect(murmur3(b('The quick brown fox jumps over the lazy dog'), 43, 0)).toBe(0x2e4ff723);
    expect(murmur3(Buffer.from([0x21, 0x43, 0x65, 0x87]), 4, 0)).toBe(0xf55b516b);
    expect(murmur3(Buffer.from([0x21, 0x43, 0x65]), 3, 0)).toBe(0x7e4a8634);
  });
});

describe('partitionOf', () => {
  it('is stable and in range', () => {
    for (let n = 1; n <= 20; n++) {
      for (let i = 0; i < 200; i++) {
        const p = partitionOf(`key-${i}`, n);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(n);
        expect(partitionOf(`key-${i}`, n)).toBe(p);
      }
    }
  });

  it('hashes UTF-8 bytes, long keys included', () => {
    const long = 'ü'.repeat(2000);
    expect(partitionOf(long, 7)).toBe(jumpHash(murmur3(Buffer.from(long)), 7));
    expect(partitionOf('日本', 5)).toBe(jumpHash(murmur3(Buffer.from('日本')), 5));
  });

  it('spreads keys evenly', () => {
    const counts = new Array<number>(4).fill(0);
    for (let i = 0; i < 40000; i++) counts[partitionOf(`order-${i}`, 4)]!++;
    for (const c of counts) expect(Math.abs(c - 10000)).toBeLessThan(600);
  });

  it('growing from n to n+1 moves only about 1/(n+1) of the keys, all to the new partition', () => {
    for (const n of [1, 3, 4, 10]) {
      let moved = 0;
      const keys = 20000;
      for (let i = 0; i < keys; i++) {
        const before = partitionOf(`k${i}`, n);
        const after = partitionOf(`k${i}`, n + 1);
        if (before !== after) {
          moved++;
          expect(after).toBe(n);
        }
      }
      expect(Math.abs(moved / keys - 1 / (n + 1))).toBeLessThan(0.02);
    }
  });
});
