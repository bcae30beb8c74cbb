// Every method of every class: a value with non-default fields, encoded and decoded again; the
// bytes checked against an independent spec-driven encoder written here; bit packing; truncation.

import { describe, expect, it } from 'vitest';
import { BufferReader } from '../../src/codec/buffer-reader.js';
import { BufferWriter } from '../../src/codec/buffer-writer.js';
import type { FieldTable } from '../../src/codec/field-table.js';
import {
  CLASS_IDS,
  CONTENT_METHODS,
  decodeMethod,
  encodeMethod,
  METHOD_NAMES,
  methodName,
  type Method,
} from '../../src/codec/methods.generated.js';
import { camel, expectCodecError, loadSpec, primitiveOf, type SpecArg } from './helpers.js';

const spec = loadSpec();

/** A table with several value types, nested table and array included. */
function richTable(seed: string): FieldTable {
  return new Map([
    ['str', { type: 'S', value: `value of ${seed} ✓` }],
    ['int', { type: 'I', value: -123456 }],
    ['long', { type: 'l', value: 2 ** 40 + 7 }],
    ['flag', { type: 't', value: true }],
    ['bytes', { type: 'x', value: Buffer.from([0, 1, 0xfe, 0xff]) }],
    ['nested', { type: 'F', value: new Map([['inner', { type: 'd', value: -0.25 }]]) }],
    ['list', { type: 'A', value: [{ type: 'b', value: -5 }, { type: 'S', value: 'x' }, { type: 'V', value: null }] }],
  ]);
}

interface Built {
  value: Method;
  expected: Buffer;
}

// Independent reference encoding of the few table types richTable uses.
function refTable(t: FieldTable): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of t) {
    parts.push(Buffer.from([Buffer.byteLength(k)]), Buffer.from(k), Buffer.from(v.type));
    switch (v.type) {
      case 'S': {
        const s = Buffer.from(v.value as string);
        const len = Buffer.alloc(4);
        len.writeUInt32BE(s.length);
        parts.push(len, s);
        break;
      }
      case 'x': {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(v.value.length);
        parts.push(len, v.value);
        break;
      }
      case 'I': {
        const b = Buffer.alloc(4);
        b.writeInt32BE(v.value);
        parts.push(b);
        break;
      }
      case 'l': {
        const b = Buffer.alloc(8);
        b.writeBigInt64BE(BigInt(v.value));
        parts.push(b);
        break;
      }
      case 't':
        parts.push(Buffer.from([v.value ? 1 : 0]));
        break;
      case 'd': {
        const b = Buffer.alloc(8);
        b.writeDoubleBE(v.value);
        parts.push(b);
        break;
      }
      case 'F':
        parts.push(refTable(v.value));
        break;
      case 'A': {
        const items = v.value.map((x) => {
          if (x.type === 'b') return Buffer.from([0x62, x.value & 0xff]);
          if (x.type === 'V') return Buffer.from('V');
          if (x.type === 'S') return Buffer.concat([Buffer.from('S'), Buffer.from([0, 0, 0, Buffer.byteLength(x.value)]), Buffer.from(x.value)]);
          throw new Error(`refTable: array item ${x.type} not supported`);
        });
        const body = Buffer.concat(items);
        const len = Buffer.alloc(4);
        len.writeUInt32BE(body.length);
        parts.push(len, body);
        break;
      }
      default:
        throw new Error(`refTable: ${v.type} not supported`);
    }
  }
  const body = Buffer.concat(parts);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/**
 * Builds a method value from the spec with every field away from its default, and the bytes the
 * spec says it encodes to. `bits` overrides bit fields (by argument name) for the bit-packing test.
 */
function build(classId: number, className: string, m: { id: number; name: string; arguments: SpecArg[] }, bits?: Record<string, boolean>): Built {
  const value: Record<string, unknown> = { id: (classId << 16) | m.id };
  const out: Buffer[] = [Buffer.from([classId >> 8, classId & 0xff, m.id >> 8, m.id & 0xff])];
  let bitByte = 0;
  let bitCount = 0;
  const flushBits = (): void => {
    if (bitCount > 0) out.push(Buffer.from([bitByte]));
    bitByte = 0;
    bitCount = 0;
  };
  m.arguments.forEach((a, i) => {
    const p = primitiveOf(spec, a);
    const key = camel(a.name);
    const tag = `${className}.${m.name}.${a.name}`;
    if (p === 'bit') {
      const v = bits ? (bits[a.name] ?? false) : a['default-value'] !== true;
      value[key] = v;
      if (v) bitByte |= 1 << bitCount;
      bitCount++;
      if (bitCount === 8) flushBits();
      return;
    }
    flushBits();
    switch (p) {
      case 'octet': {
        const v = 0xf0 + i;
        value[key] = v;
        out.push(Buffer.from([v]));
        break;
      }
      case 'short': {
        const v = 0xfff0 - i; // above 0x7fff: must stay unsigned
        value[key] = v;
        const b = Buffer.alloc(2);
        b.writeUInt16BE(v);
        out.push(b);
        break;
      }
      case 'long': {
        const v = 0xfffffff0 - i; // above 2^31: must stay unsigned
        value[key] = v;
        const b = Buffer.alloc(4);
        b.writeUInt32BE(v);
        out.push(b);
        break;
      }
      case 'longlong':
      case 'timestamp': {
        const v = Number.MAX_SAFE_INTEGER - i; // uses both 32-bit halves
        value[key] = v;
        const b = Buffer.alloc(8);
        b.writeBigUInt64BE(BigInt(v));
        out.push(b);
        break;
      }
      case 'shortstr': {
        const v = `${tag}/é✓`;
        value[key] = v;
        const s = Buffer.from(v);
        out.push(Buffer.from([s.length]), s);
        break;
      }
      case 'longstr': {
        // Not valid UTF-8, and with zero bytes: longstr method fields are raw bytes.
        const v = Buffer.concat([Buffer.from([0, 0xff, 0xc3, 0x28]), Buffer.from(tag)]);
        value[key] = v;
        const len = Buffer.alloc(4);
        len.writeUInt32BE(v.length);
        out.push(len, v);
        break;
      }
      case 'table': {
        const v = richTable(tag);
        value[key] = v;
        out.push(refTable(v));
        break;
      }
      default:
        throw new Error(`unhandled primitive ${p} in ${tag}`);
    }
  });
  flushBits();
  return { value: value as unknown as Method, expected: Buffer.concat(out) };
}

const cases = spec.classes.flatMap((c) =>
  c.methods.map((m) => ({ name: `${c.name}.${m.name}`, classId: c.id, className: c.name, m: m as { id: number; name: string; arguments: SpecArg[] } })),
);

function encode(m: Method): Buffer {
  const w = new BufferWriter(16); // small on purpose: encoding must grow the buffer
  encodeMethod(w, m);
  return w.toBuffer();
}

describe('methods: every method of the spec', () => {
  it('covers all 8 classes and every method the spec defines', () => {
    expect(spec.classes.map((c) => c.name).sort()).toEqual(['access', 'basic', 'channel', 'confirm', 'connection', 'exchange', 'queue', 'tx']);
    const specCount = spec.classes.reduce((n, c) => n + c.methods.length, 0);
    expect(cases.length).toBe(specCount);
    expect(Object.keys(METHOD_NAMES).length).toBe(specCount);
    // Spot-check that the newer RabbitMQ additions are in.
    const names = cases.map((c) => c.name);
    for (const n of ['connection.blocked', 'connection.unblocked', 'connection.update-secret', 'connection.update-secret-ok', 'exchange.bind', 'exchange.unbind', 'exchange.unbind-ok', 'basic.nack', 'confirm.select', 'confirm.select-ok']) {
      expect(names).toContain(n);
    }
    for (const c of spec.classes) expect(CLASS_IDS[c.name as keyof typeof CLASS_IDS]).toBe(c.id);
  });

  let roundTripped = 0;
  it.each(cases)('$name round-trips with non-default values and spec-exact bytes', ({ name, classId, className, m }) => {
    const { value, expected } = build(classId, className, m);
    const bytes = encode(value);
    expect(bytes.toString('hex')).toBe(expected.toString('hex'));

    const r = new BufferReader(bytes);
    const decoded = decodeMethod(r);
    expect(r.remaining).toBe(0);
    expect(r.pos).toBe(bytes.length);
    expect(decoded).toEqual(value);
    expect(Object.keys(decoded).sort()).toEqual(Object.keys(value).sort());
    expect(methodName(decoded.id)).toBe(name);
    roundTripped++;
  });

  it('round-tripped exactly as many methods as the spec has', () => {
    expect(roundTripped).toBe(cases.length);
  });

  it.each(cases.filter((c) => c.m.arguments.some((a) => primitiveOf(spec, a) === 'bit')))(
    '$name packs each bit flag into its own bit',
    ({ classId, className, m }) => {
      const bitArgs = m.arguments.filter((a) => primitiveOf(spec, a) === 'bit');
      for (const only of [...bitArgs.map((a) => a.name), null]) {
        const bits = Object.fromEntries(bitArgs.map((a) => [a.name, a.name === only]));
        const { value, expected } = build(classId, className, m, bits);
        const bytes = encode(value);
        expect(bytes.equals(expected)).toBe(true);
        const decoded = decodeMethod(new BufferReader(bytes));
        expect(decoded).toEqual(value);
      }
    },
  );

  it.each(cases.filter((c) => c.m.arguments.length > 0))('$name: every truncation is a CodecError', ({ classId, className, m }) => {
    const { value } = build(classId, className, m);
    const bytes = encode(value);
    for (let n = 0; n < bytes.length; n++) {
      expectCodecError(() => decodeMethod(new BufferReader(bytes.subarray(0, n))), 'SYNTAX_ERROR', /truncated/);
    }
  });

  it('decodes a method embedded in a larger buffer without reading outside its range', () => {
    const m = cases.find((c) => c.name === 'basic.deliver')!;
    const { value } = build(m.classId, m.className, m.m);
    const bytes = encode(value);
    const big = Buffer.concat([Buffer.from([1, 2, 3]), bytes, Buffer.from([9, 9])]);
    const r = new BufferReader(big, 3, 3 + bytes.length);
    expect(decodeMethod(r)).toEqual(value);
    expect(r.pos).toBe(3 + bytes.length);
    // Same range minus its last byte: truncated, even though the underlying buffer goes on.
    expectCodecError(() => decodeMethod(new BufferReader(big, 3, 2 + bytes.length)), 'SYNTAX_ERROR');
  });

  it('marks exactly publish, return, deliver and get-ok as carrying content', () => {
    const withContent = cases.filter((c) => (c.m as { content?: boolean }).content).map((c) => (c.classId << 16) | c.m.id);
    expect([...CONTENT_METHODS].sort()).toEqual(withContent.sort());
    expect([...CONTENT_METHODS].map(methodName).sort()).toEqual(['basic.deliver', 'basic.get-ok', 'basic.publish', 'basic.return']);
  });
});

describe('methods: unknown ids', () => {
  it.each([
    ['unknown class', 99, 1],
    ['known class, unknown method', 60, 99],
    ['class 0', 0, 0],
  ])('%s (%i/%i) is UNKNOWN_METHOD', (_, classId, methodId) => {
    const b = Buffer.alloc(8);
    b.writeUInt16BE(classId, 0);
    b.writeUInt16BE(methodId, 2);
    expectCodecError(() => decodeMethod(new BufferReader(b)), 'UNKNOWN_METHOD', `unknown method id ${classId}/${methodId}`);
    expect(methodName((classId << 16) | methodId)).toBe(`unknown method ${classId}/${methodId}`);
  });

  it('a payload too short for the ids is a truncation error', () => {
    expectCodecError(() => decodeMethod(new BufferReader(Buffer.from([0, 60, 0]))), 'SYNTAX_ERROR');
  });
});
