// Cursor over a Buffer for AMQP's primitive types and RabbitMQ's field-table tags.
// Reading past the end, or an unknown tag, throws CodecError: malformed input is the peer's
// mistake, never a crash. Strings decode as UTF-8; byte strings are views, not copies.

import { isUtf8 } from 'node:buffer';
import { CodecError } from './codec-error.js';
import type { FieldTable, FieldValue } from './field-table.js';

export class BufferReader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  reset(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  #need(n: number): void {
    if (this.pos + n > this.end) {
      throw new CodecError('SYNTAX_ERROR', `truncated payload: needed ${n} more bytes, ${this.end - this.pos} left`);
    }
  }

  u8(): number {
    this.#need(1);
    return this.buf[this.pos++]!;
  }

  i8(): number {
    this.#need(1);
    return this.buf.readInt8(this.pos++);
  }

  u16(): number {
    this.#need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  i16(): number {
    this.#need(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.#need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.#need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Unsigned 64-bit as a number; delivery tags and counts never reach 2^53 in practice. */
  u64(): number {
    this.#need(8);
    const hi = this.buf.readUInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * 0x1_0000_0000 + lo;
  }

  /** Signed 64-bit, exact: a number when safe, else a bigint. */
  i64Exact(): number | bigint {
    this.#need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  /** Unsigned 64-bit, exact. */
  u64Exact(): number | bigint {
    this.#need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  f32(): number {
    this.#need(4);
    const v = this.buf.readFloatBE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.#need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  shortstr(): string {
    const len = this.u8();
    this.#need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** Length-prefixed bytes as a view into the frame. */
  longstrBytes(): Buffer {
    const len = this.u32();
    this.#need(len);
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  bytes(len: number): Buffer {
    this.#need(len);
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }

  skip(n: number): void {
    this.#need(n);
    this.pos += n;
  }

  skipShortstr(): void {
    this.skip(this.u8());
  }

  skipLongstr(): void {
    this.skip(this.u32());
  }

  table(): FieldTable {
    const len = this.u32();
    this.#need(len);
    const end = this.pos + len;
    const t: FieldTable = new Map();
    while (this.pos < end) {
      const key = this.shortstr();
      t.set(key, this.#fieldValue());
    }
    if (this.pos !== end) throw new CodecError('SYNTAX_ERROR', 'field table overruns its declared length');
    return t;
  }

  array(): FieldValue[] {
    const len = this.u32();
    this.#need(len);
    const end = this.pos + len;
    const a: FieldValue[] = [];
    while (this.pos < end) a.push(this.#fieldValue());
    if (this.pos !== end) throw new CodecError('SYNTAX_ERROR', 'field array overruns its declared length');
    return a;
  }

  #fieldValue(): FieldValue {
    const tag = this.u8();
    switch (tag) {
      case 0x74 /* t */:
        return { type: 't', value: this.u8() !== 0 };
      case 0x62 /* b */:
        return { type: 'b', value: this.i8() };
      case 0x42 /* B */:
        return { type: 'B', value: this.u8() };
      case 0x73 /* s */:
        return { type: 's', value: this.i16() };
      case 0x75 /* u */:
        return { type: 'u', value: this.u16() };
      case 0x49 /* I */:
        return { type: 'I', value: this.i32() };
      case 0x69 /* i */:
        return { type: 'i', value: this.u32() };
      case 0x6c /* l */:
        return { type: 'l', value: this.i64Exact() };
      case 0x66 /* f */:
        return { type: 'f', value: this.f32() };
      case 0x64 /* d */:
        return { type: 'd', value: this.f64() };
      case 0x44 /* D */: {
        const scale = this.u8();
        return { type: 'D', value: { scale, value: this.i32() } };
      }
      case 0x53 /* S */: {
        const bytes = this.longstrBytes();
        return { type: 'S', value: isUtf8(bytes) ? bytes.toString('utf8') : Buffer.from(bytes) };
      }
      case 0x78 /* x */:
        return { type: 'x', value: Buffer.from(this.longstrBytes()) };
      case 0x41 /* A */:
        return { type: 'A', value: this.array() };
      case 0x54 /* T */:
        return { type: 'T', value: this.u64Exact() };
      case 0x46 /* F */:
        return { type: 'F', value: this.table() };
      case 0x56 /* V */:
        return { type: 'V', value: null };
      default:
        throw new CodecError('UNKNOWN_FIELD_TYPE', `unknown field type ${JSON.stringify(String.fromCharCode(tag))} (0x${tag.toString(16)})`);
    }
  }
}
