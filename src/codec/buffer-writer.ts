// Appends AMQP primitives and RabbitMQ field tables to a Buffer. The default writer grows by
// copying; OutputSlab (frame-writer.ts) overrides `grow` to move to a fresh slab instead, which is
// why callers reserve a frame's worst-case size up front with `ensure`.

import { putU32 } from './big-endian.js';
import { CodecError } from './codec-error.js';
import type { FieldTable, FieldValue } from './field-table.js';

const TWO_32 = 0x1_0000_0000;

export class BufferWriter {
  buf: Buffer;
  pos = 0;
  /**
   * Total distance `grow` has moved written bytes towards the start of the buffer. The default
   * grow moves nothing; the slab's moves the current frame. `pos + shifted` is thus stable across
   * a grow, which is how table() and array() find their length field again after one.
   */
  protected shifted = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Guarantees room for n more bytes. */
  ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  protected grow(n: number): void {
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** The bytes written so far, as a view (valid until the next write). */
  view(start = 0): Buffer {
    return this.buf.subarray(start, this.pos);
  }

  /** A copy of the bytes written so far. */
  toBuffer(start = 0): Buffer {
    return Buffer.from(this.buf.subarray(start, this.pos));
  }

  reset(): void {
    this.pos = 0;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  i8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  i16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    // writeUInt32BE's argument checks cost more than the write (v >>> 0 is in range).
    putU32(this.buf, this.pos, v >>> 0);
    this.pos += 4;
  }

  i32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  u64(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / TWO_32);
    const lo = v - hi * TWO_32;
    const b = this.buf;
    const p = this.pos;
    if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER && lo === Math.floor(lo))) {
      // Out of range or not an integer: writeUInt32BE throws, as it did for every value.
      b.writeUInt32BE(hi >>> 0, p);
      b.writeUInt32BE(lo, p + 4);
      this.pos = p + 8;
      return;
    }
    putU32(b, p, hi);
    putU32(b, p + 4, lo);
    this.pos = p + 8;
  }

  i64(v: number | bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64BE(BigInt(v), this.pos);
    this.pos += 8;
  }

  u64Exact(v: number | bigint): void {
    if (typeof v === 'number') return this.u64(v);
    this.ensure(8);
    this.buf.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
  }

  f32(v: number): void {
    this.ensure(4);
    this.buf.writeFloatBE(v, this.pos);
    this.pos += 4;
  }

  f64(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  /**
   * Names are short and nearly always ASCII: copied in a loop rather than with two calls into C++
   * (Buffer.byteLength, Buffer#write). Writes a short ASCII `s` after `prefix` bytes left for its
   * length and says whether it was one (false: nothing usable written, pos unchanged).
   */
  #asciiAfter(s: string, prefix: number): boolean {
    const n = s.length;
    if (n >= 64) return false;
    this.ensure(prefix + n);
    const buf = this.buf;
    const start = this.pos + prefix;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return false;
      buf[start + i] = c;
    }
    return true;
  }

  shortstr(s: string): void {
    if (this.#asciiAfter(s, 1)) {
      this.buf[this.pos] = s.length;
      this.pos += 1 + s.length;
      return;
    }
    const len = Buffer.byteLength(s);
    if (len > 255) throw new CodecError('SYNTAX_ERROR', `short string too long (${len} bytes, limit 255)`);
    this.ensure(1 + len);
    this.buf[this.pos] = len;
    this.buf.write(s, this.pos + 1, len, 'utf8');
    this.pos += 1 + len;
  }

  longstr(v: Buffer | string): void {
    if (typeof v === 'string') {
      // Names, as the store's batches write one or two a message.
      if (this.#asciiAfter(v, 4)) {
        this.u32(v.length);
        this.pos += v.length;
        return;
      }
      const len = Buffer.byteLength(v);
      this.ensure(4 + len);
      this.u32(len);
      this.buf.write(v, this.pos, len, 'utf8');
      this.pos += len;
    } else {
      this.ensure(4 + v.length);
      this.u32(v.length);
      // TypedArray#set, as in bytes().
      this.buf.set(v, this.pos);
      this.pos += v.length;
    }
  }

  bytes(b: Buffer): void {
    this.ensure(b.length);
    // TypedArray#set: Buffer#copy's argument checks cost more than the copy for small bodies.
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  table(t: FieldTable | undefined): void {
    this.ensure(4);
    const at = this.pos + this.shifted;
    this.pos += 4;
    if (t) {
      for (const [k, v] of t) {
        this.shortstr(k);
        this.#fieldValue(v);
      }
    }
    this.#patchLength(at);
  }

  array(a: readonly FieldValue[]): void {
    this.ensure(4);
    const at = this.pos + this.shifted;
    this.pos += 4;
    for (const v of a) this.#fieldValue(v);
    this.#patchLength(at);
  }

  /** Writes the byte count since the 4-byte length field at logical offset `at` into that field. */
  #patchLength(at: number): void {
    const p = at - this.shifted;
    this.buf.writeUInt32BE(this.pos - p - 4, p);
  }

  #fieldValue(v: FieldValue): void {
    this.u8(v.type.charCodeAt(0));
    switch (v.type) {
      case 't':
        return this.u8(v.value ? 1 : 0);
      case 'b':
        return this.i8(v.value);
      case 'B':
        return this.u8(v.value);
      case 's':
        return this.i16(v.value);
      case 'u':
        return this.u16(v.value);
      case 'I':
        return this.i32(v.value);
      case 'i':
        return this.u32(v.value);
      case 'l':
        return this.i64(v.value);
      case 'f':
        return this.f32(v.value);
      case 'd':
        return this.f64(v.value);
      case 'D':
        this.u8(v.value.scale);
        return this.i32(v.value.value);
      case 'S':
      case 'x':
        return this.longstr(v.value);
      case 'A':
        return this.array(v.value);
      case 'T':
        return this.u64Exact(v.value);
      case 'F':
        return this.table(v.value);
      case 'V':
        return;
    }
  }
}
