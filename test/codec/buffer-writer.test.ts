// BufferWriter's integers and long strings are written with byte stores and a loop for short
// ASCII strings: the bytes must be what Buffer's own methods write, for every kind of value.
import { describe, expect, it } from 'vitest';
import { BufferWriter } from '../../src/codec/buffer-writer.js';

function written(f: (w: BufferWriter) => void): Buffer {
  const w = new BufferWriter(1);
  w.u8(0xee); // an odd start, and growth from a tiny buffer
  f(w);
  return w.toBuffer(1);
}

describe('BufferWriter', () => {
  it('u32 writes what writeUInt32BE writes (values wrap as v >>> 0)', () => {
    for (const v of [0, 1, 0xff, 0x100, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678, -1, 2 ** 32 + 5]) {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(v >>> 0, 0);
      expect(written((w) => w.u32(v))).toEqual(b);
    }
  });

  it('u64 writes what two writeUInt32BE of its halves wrote, for every kind of number (throwing where they threw)', () => {
    const before = (v: number): Buffer | 'threw' => {
      const b = Buffer.alloc(8);
      const hi = Math.floor(v / 2 ** 32);
      try {
        b.writeUInt32BE(hi >>> 0, 0);
        b.writeUInt32BE(v - hi * 2 ** 32, 4);
      } catch {
        return 'threw';
      }
      return b;
    };
    const now = (v: number): Buffer | 'threw' => {
      try {
        return written((w) => w.u64(v));
      } catch {
        return 'threw';
      }
    };
    for (const v of [0, 1, 0xffffffff, 2 ** 32, 2 ** 32 + 1, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER, 2 ** 60, -1, -(2 ** 33), 1.5, Number.NaN, Infinity]) {
      expect(now(v)).toEqual(before(v));
    }
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(2 ** 40 + 12345), 0);
    expect(now(2 ** 40 + 12345)).toEqual(b);
  });

  it('longstr writes a length and the UTF-8 bytes of short, long, ASCII and other strings, and of buffers', () => {
    for (const s of ['', 'amq.direct', 'x'.repeat(63), 'x'.repeat(64), 'y'.repeat(1000), 'caf\u00e9', 'a\u{1f600}b', '\u00e9'.repeat(70)]) {
      const bytes = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(bytes.length, 0);
      expect(written((w) => w.longstr(s))).toEqual(Buffer.concat([len, bytes]));
      expect(written((w) => w.longstr(bytes))).toEqual(Buffer.concat([len, bytes]));
    }
  });
});
