// The batch buffer a writer hands back is reused for the next batch only when it fits and is
// not far larger: a 16 MiB spare left by a flat-out backlog must not stay pinned behind the
// small batches that follow (its drain's acks).
import { describe, expect, it } from 'vitest';
import { BatchWriter, REUSE_SLACK } from '../../src/store/batch.js';

const KiB = 1024;

describe('BatchWriter reuse of a handed-back buffer', () => {
  it('reuses a buffer of the size wanted, or up to REUSE_SLACK times it', () => {
    const same = new ArrayBuffer(64 * KiB);
    expect(new BatchWriter(10 * KiB, same).finish().buffer).toBe(same);
    const larger = new ArrayBuffer(64 * KiB * REUSE_SLACK);
    expect(new BatchWriter(64 * KiB, larger).finish().buffer).toBe(larger);
  });

  it('lets a far larger buffer go and allocates one of the batch size', () => {
    const huge = new ArrayBuffer(16 * 1024 * KiB);
    const buf = new BatchWriter(10 * KiB, huge).finish().buffer;
    expect(buf).not.toBe(huge);
    expect(buf.byteLength).toBe(64 * KiB);
  });

  it('does not take a buffer too small for the batch', () => {
    const small = new ArrayBuffer(64 * KiB);
    const buf = new BatchWriter(100 * KiB, small).finish().buffer;
    expect(buf).not.toBe(small);
    expect(buf.byteLength).toBe(128 * KiB);
  });

  it('a batch written into a reused buffer reads back as written', () => {
    const w = new BatchWriter(64 * KiB, new ArrayBuffer(128 * KiB));
    w.u32(7);
    w.u32(9);
    const { buffer, length } = w.finish();
    expect(length).toBe(8);
    const v = new DataView(buffer, 0, length);
    expect([v.getUint32(0), v.getUint32(4)]).toEqual([7, 9]);
  });
});
