// Cursor over a Buffer for AMQP's primitive types and RabbitMQ's field-table tags.
// Reading past the end, or an unknown tag, throws CodecError: malformed input is the peer's
// mistake, never a crash. Strings decode as UTF-8; byte strings are views, not copies.
// The tag set is RabbitMQ's (rabbit_binary_parser): 'L' reads as a signed 64-bit 'l', as there
// (py-amqp writes it for integers beyond 32 bits); 'U' and anything else are unknown.

import { isUtf8 } from 'node:buffer';
import { CodecError } from './codec-error.js';
import { MAX_TABLE_DEPTH, type FieldTable, type FieldValue } from './field-table.js';

export { MAX_TABLE_DEPTH };

/**
 * Short strings are decoded as UTF-8. In method arguments (strictUtf8) invalid UTF-8 is refused
 * as RabbitMQ refuses it: 501 "Malformed UTF-8 in shortstr". Elsewhere (table keys, content
 * properties, basic.publish's exchange and routing key) RabbitMQ keeps the raw bytes; warren decodes them lossily, each invalid byte
 * becoming U+FFFD (3 bytes). One of up to 85 bytes therefore always fits in a short string
 * again; a longer one may not, and would fail later, when warren encodes it (a dead-lettered
 * copy's headers, in a TTL timer), so those are refused where they arrive.
 */
const MAX_LOSSLESS_SHORTSTR = 85;
export const MALFORMED_SHORTSTR = 'Malformed UTF-8 in shortstr';

export class BufferReader {
  buf: Buffer;
  pos: number;
  end: number;
  /** Refuse short strings that are not UTF-8 (set while method arguments are decoded). */
  strictUtf8 = false;
  /** Tables and arrays open around the current position (reset with the reader after a throw). */
  #depth = 0;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }

  reset(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.pos = start;
    this.end = end;
    this.#depth = 0;
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
    // U+FFFD marks invalid input (or, rarely, a real U+FFFD): only then look closer.
    if (this.strictUtf8 && s.includes('\uFFFD') && !isUtf8(this.buf.subarray(this.pos, this.pos + len))) {
      throw new CodecError('FRAME_ERROR', MALFORMED_SHORTSTR);
    }
    if (len > MAX_LOSSLESS_SHORTSTR && Buffer.byteLength(s) > 255) throw unencodableShortstr(len);
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
    const len = this.u8();
    // Checked as shortstr() would decode it: skipped names and keys are decoded later.
    if (len > MAX_LOSSLESS_SHORTSTR && this.pos + len <= this.end && Buffer.byteLength(this.buf.toString('utf8', this.pos, this.pos + len)) > 255) {
      throw unencodableShortstr(len);
    }
    this.skip(len);
  }

  skipLongstr(): void {
    this.skip(this.u32());
  }

  table(): FieldTable {
    const len = this.u32();
    this.#need(len);
    const end = this.pos + len;
    this.#enter();
    const t: FieldTable = new Map();
    // Keys are not checked for UTF-8, as in RabbitMQ (only for fitting once decoded).
    const strict = this.strictUtf8;
    while (this.pos < end) {
      this.strictUtf8 = false;
      const key = this.shortstr();
      this.strictUtf8 = strict;
      t.set(key, this.#fieldValue());
    }
    if (this.pos !== end) throw new CodecError('SYNTAX_ERROR', 'field table overruns its declared length');
    this.#depth--;
    return t;
  }

  array(): FieldValue[] {
    const len = this.u32();
    this.#need(len);
    const end = this.pos + len;
    this.#enter();
    const a: FieldValue[] = [];
    while (this.pos < end) a.push(this.#fieldValue());
    if (this.pos !== end) throw new CodecError('SYNTAX_ERROR', 'field array overruns its declared length');
    this.#depth--;
    return a;
  }

  /**
   * Checks a table as table() would decode it (tags, lengths, depth) without building anything:
   * publish uses it so that headers are only decoded when something needs their values.
   */
  skipTable(): void {
    const len = this.u32();
    this.#need(len);
    const end = this.pos + len;
    this.#enter();
    while (this.pos < end) {
      this.skipShortstr();
      this.skipFieldValue();
    }
    if (this.pos !== end) throw new CodecError('SYNTAX_ERROR', 'field table overruns its declared length');
    this.#depth--;
  }

  #skipArray(): void {
    const len = this.u32();
    this.#need(len);
    const end = this.pos + len;
    this.#enter();
    while (this.pos < end) this.skipFieldValue();
    if (this.pos !== end) throw new CodecError('SYNTAX_ERROR', 'field array overruns its declared length');
    this.#depth--;
  }

  /** One tagged value, checked and passed over (see skipTable). */
  skipFieldValue(): void {
    const tag = this.u8();
    switch (tag) {
      case 0x74 /* t */:
      case 0x62 /* b */:
      case 0x42 /* B */:
        return this.skip(1);
      case 0x73 /* s */:
      case 0x75 /* u */:
        return this.skip(2);
      case 0x49 /* I */:
      case 0x69 /* i */:
      case 0x66 /* f */:
        return this.skip(4);
      case 0x6c /* l */:
      case 0x4c /* L */:
      case 0x64 /* d */:
      case 0x54 /* T */:
        return this.skip(8);
      case 0x44 /* D */:
        return this.skip(5);
      case 0x53 /* S */:
      case 0x78 /* x */:
        return this.skipLongstr();
      case 0x41 /* A */:
        return this.#skipArray();
      case 0x46 /* F */:
        return this.skipTable();
      case 0x56 /* V */:
        return;
      default:
        throw unknownTag(tag);
    }
  }

  #enter(): void {
    if (++this.#depth > MAX_TABLE_DEPTH) {
      throw new CodecError('FRAME_ERROR', `field table nested deeper than ${MAX_TABLE_DEPTH} levels`);
    }
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
      case 0x4c /* L */:
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
        throw unknownTag(tag);
    }
  }
}

function unencodableShortstr(len: number): CodecError {
  return new CodecError('SYNTAX_ERROR', `short string of ${len} bytes is not UTF-8 and would not fit in 255 bytes once decoded`);
}

function unknownTag(tag: number): CodecError {
  return new CodecError('UNKNOWN_FIELD_TYPE', `unknown field type ${JSON.stringify(String.fromCharCode(tag))} (0x${tag.toString(16)})`);
}
