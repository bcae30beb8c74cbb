// AMQP 0-9-1 encoding for the raw client: frame constants, argument encoders (field tables
// with explicit type tags too, so a test can send what no client library would) and a decoder.

export const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_END = 0xce;

/** A value in a field table: plain JS values are typed automatically, or give the tag explicitly. */
export type FieldValue =
  | string
  | boolean
  | number
  | bigint
  | Buffer
  | null
  | FieldValue[]
  | { [k: string]: FieldValue }
  | { $type: string; value?: unknown; raw?: Buffer };

export const enc = {
  u8(n: number): Buffer {
    const b = Buffer.alloc(1);
    b.writeUInt8(n);
    return b;
  },
  u16(n: number): Buffer {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  },
  u32(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  },
  u64(n: number | bigint): Buffer {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  },
  /** shortstr; `lengthOverride` lets a test lie about the length byte. */
  shortstr(s: string | Buffer, lengthOverride?: number): Buffer {
    const data = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    return Buffer.concat([enc.u8(lengthOverride ?? data.length), data]);
  },
  longstr(s: string | Buffer): Buffer {
    const data = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    return Buffer.concat([enc.u32(data.length), data]);
  },
  bits(...flags: boolean[]): Buffer {
    const out: number[] = [];
    flags.forEach((f, i) => {
      if (i % 8 === 0) out.push(0);
      if (f) out[out.length - 1]! |= 1 << i % 8;
    });
    return Buffer.from(out);
  },
  fieldValue(v: FieldValue): Buffer {
    if (v === null) return Buffer.from('V');
    if (typeof v === 'string') return Buffer.concat([Buffer.from('S'), enc.longstr(v)]);
    if (typeof v === 'boolean') return Buffer.from([0x74, v ? 1 : 0]);
    if (typeof v === 'bigint') {
      const b = Buffer.alloc(9);
      b.write('l');
      b.writeBigInt64BE(v, 1);
      return b;
    }
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) {
        const b = Buffer.alloc(5);
        b.write('I');
        b.writeInt32BE(v, 1);
        return b;
      }
      const b = Buffer.alloc(9);
      b.write('d');
      b.writeDoubleBE(v, 1);
      return b;
    }
    if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from('x'), enc.longstr(v)]);
    if (Array.isArray(v)) {
      const inner = Buffer.concat(v.map((x) => enc.fieldValue(x)));
      return Buffer.concat([Buffer.from('A'), enc.u32(inner.length), inner]);
    }
    if ('$type' in v && typeof v.$type === 'string') {
      const tv = v as { $type: string; value?: unknown; raw?: Buffer };
      return Buffer.concat([Buffer.from(tv.$type, 'latin1'), tv.raw ?? Buffer.alloc(0)]);
    }
    return Buffer.concat([Buffer.from('F'), enc.table(v as Record<string, FieldValue>)]);
  },
  table(t: Record<string, FieldValue> = {}): Buffer {
    const parts: Buffer[] = [];
    for (const [k, v] of Object.entries(t)) parts.push(enc.shortstr(k), enc.fieldValue(v));
    const inner = Buffer.concat(parts);
    return Buffer.concat([enc.u32(inner.length), inner]);
  },
};

/** Decodes AMQP field tables/values (RabbitMQ's type tags). */
export class Reader {
  constructor(
    public buf: Buffer,
    public pos = 0,
  ) {}
  u8(): number {
    return this.buf.readUInt8(this.pos++);
  }
  u16(): number {
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  shortstr(): string {
    const n = this.u8();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  longstrBuf(): Buffer {
    const n = this.u32();
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  longstr(): string {
    return this.longstrBuf().toString('utf8');
  }
  value(): unknown {
    const tag = String.fromCharCode(this.u8());
    switch (tag) {
      case 't':
        return this.u8() !== 0;
      case 'b':
        return this.buf.readInt8(this.pos++);
      case 'B':
        return this.u8();
      case 's': {
        const v = this.buf.readInt16BE(this.pos);
        this.pos += 2;
        return v;
      }
      case 'u':
        return this.u16();
      case 'I': {
        const v = this.buf.readInt32BE(this.pos);
        this.pos += 4;
        return v;
      }
      case 'i':
        return this.u32();
      case 'l': {
        const v = this.buf.readBigInt64BE(this.pos);
        this.pos += 8;
        return v;
      }
      case 'f': {
        const v = this.buf.readFloatBE(this.pos);
        this.pos += 4;
        return v;
      }
      case 'd': {
        const v = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return v;
      }
      case 'D': {
        const scale = this.u8();
        const v = this.buf.readInt32BE(this.pos);
        this.pos += 4;
        return v / 10 ** scale;
      }
      case 'S':
        return this.longstr();
      case 'x':
        return this.longstrBuf();
      case 'T':
        return this.u64();
      case 'V':
        return null;
      case 'F':
        return this.table();
      case 'A': {
        const n = this.u32();
        const end = this.pos + n;
        const out: unknown[] = [];
        while (this.pos < end) out.push(this.value());
        return out;
      }
      default:
        throw new Error(`unknown field type tag ${JSON.stringify(tag)}`);
    }
  }
  table(): Record<string, unknown> {
    const n = this.u32();
    const end = this.pos + n;
    const out: Record<string, unknown> = {};
    while (this.pos < end) {
      const k = this.shortstr();
      out[k] = this.value();
    }
    return out;
  }
}
