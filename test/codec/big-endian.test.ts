// The frame path's big-endian reads and writes give what Buffer's own methods give, at every
// position and for the extreme values.
import { describe, expect, it } from 'vitest';
import { putU16, putU32, u16, u32 } from '../../src/codec/big-endian.js';

const VALUES16 = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xfffe, 0xffff];
const VALUES32 = [0, 1, 0xff, 0x100, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x12345678];

describe('big-endian', () => {
  it('reads what Buffer reads', () => {
    const b = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 200) & 0xff));
    for (let p = 0; p + 4 <= b.length; p++) {
      expect(u16(b, p)).toBe(b.readUInt16BE(p));
      expect(u32(b, p)).toBe(b.readUInt32BE(p));
    }
    for (const v of VALUES32) {
      const c = Buffer.alloc(8);
      c.writeUInt32BE(v, 3);
      expect(u32(c, 3)).toBe(v);
    }
  });

  it('writes what Buffer writes, and nothing around it', () => {
    const cases: [readonly number[], (b: Buffer, p: number, v: number) => void, (b: Buffer, p: number, v: number) => void][] = [
      [VALUES16, putU16, (b, p, v) => b.writeUInt16BE(v, p)],
      [VALUES32, putU32, (b, p, v) => b.writeUInt32BE(v, p)],
    ];
    for (const [values, put, write] of cases) {
      for (const v of values) {
        const mine = Buffer.alloc(8, 0xaa);
        const theirs = Buffer.alloc(8, 0xaa);
        put(mine, 3, v);
        write(theirs, 3, v);
        expect(mine).toEqual(theirs);
      }
    }
  });
});
