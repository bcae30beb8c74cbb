// The body pool: sizes rounded to 8 steps per power of two, buffers used again once given back,
// the free bytes bounded (other sizes make room first), and BodyLease through Message.written:
// the buffer goes back on the last release only, and the message is left with an empty body.

import { afterEach, describe, expect, it } from 'vitest';
import { Message } from '../../src/message.js';
import { BodyLease, bodyPoolStats, clearBodyPool, giveBody, isPooled, POOL_MAX, POOL_MIN, poolSize, takeBody } from '../../src/util/body-pool.js';

afterEach(() => clearBodyPool());

describe('body pool', () => {
  it('rounds sizes up by at most an eighth; 64 KiB and 1 MiB are sizes of their own', () => {
    expect(poolSize(64 * 1024)).toBe(64 * 1024);
    expect(poolSize(1024 * 1024)).toBe(1024 * 1024);
    expect(poolSize(64 * 1024 + 1)).toBe(72 * 1024);
    for (let s = POOL_MIN; s < 4 * 1024 * 1024; s = Math.floor(s * 1.37) + 11) {
      const n = poolSize(s);
      expect(n).toBeGreaterThanOrEqual(s);
      expect(n).toBeLessThanOrEqual(s * 1.125);
      expect(poolSize(n)).toBe(n);
    }
  });

  it('gives a buffer back out to the next body of its size, never a smaller or foreign one', () => {
    const a = takeBody(64 * 1024);
    expect(isPooled(a)).toBe(true);
    giveBody(a);
    const before = bodyPoolStats.reused;
    const b = takeBody(64 * 1024 - 100); // rounds to the same size
    expect(b).toBe(a);
    expect(bodyPoolStats.reused).toBe(before + 1);
    expect(takeBody(64 * 1024)).not.toBe(a); // taken: not handed out twice
    giveBody(Buffer.alloc(64 * 1024).subarray(1)); // not one of ours: ignored
    giveBody(a.subarray(0, 1000));
    expect(takeBody(64 * 1024)).not.toBe(a);
  });

  it('sizes outside its range get buffers of their own, exactly sized', () => {
    expect(takeBody(POOL_MIN - 1).length).toBe(POOL_MIN - 1);
    expect(takeBody(POOL_MAX + 1).length).toBe(POOL_MAX + 1);
  });

  it('keeps at most 16 MiB free, dropping other sizes first', () => {
    const mib = Array.from({ length: 20 }, () => takeBody(1024 * 1024));
    const small = takeBody(40 * 1024);
    giveBody(small);
    for (const b of mib) giveBody(b);
    // 16 fit; the 40 KiB one made room for one of them and the rest were dropped.
    const again = new Set(Array.from({ length: 20 }, () => takeBody(1024 * 1024)));
    expect(mib.filter((b) => again.has(b)).length).toBe(16);
    expect(takeBody(40 * 1024)).not.toBe(small);
  });

  it('a lease gives the buffer back on its last release, and the message then has no body', () => {
    const buf = takeBody(100_000);
    buf.fill(7, 0, 100_000);
    const m = new Message('', 'q', Buffer.alloc(14), buf.subarray(0, 100_000));
    m.pool = new BodyLease(buf);
    m.pool.holds = 3;
    m.written();
    m.written();
    expect(m.body.length).toBe(100_000);
    expect(takeBody(100_000)).not.toBe(buf); // still held
    m.written();
    expect(m.pool).toBe(null);
    expect(m.body.length).toBe(0);
    m.written(); // a stray release after the last does nothing
    expect(takeBody(100_000)).toBe(buf);
  });
});
