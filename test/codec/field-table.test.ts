// Field tables and arrays with every type tag RabbitMQ uses, byte-exact, plus malformed input.

import { describe, expect, it } from 'vitest';
import { BufferReader } from '../../src/codec/buffer-reader.js';
import { BufferWriter } from '../../src/codec/buffer-writer.js';
import {
  fieldEquals,
  fieldInteger,
  fieldString,
  tableEquals,
  type FieldTable,
  type FieldValue,
} from '../../src/codec/field-table.js';
import { expectCodecError, hex } from './helpers.js';

function encodeTable(t: FieldTable | undefined): Buffer {
  const w = new BufferWriter(4);
  w.table(t);
  return w.toBuffer();
}

function encodeArray(a: readonly FieldValue[]): Buffer {
  const w = new BufferWriter(4);
  w.array(a);
  return w.toBuffer();
}

function decodeTable(b: Buffer): FieldTable {
  const r = new BufferReader(b);
  const t = r.table();
  expect(r.remaining).toBe(0);
  return t;
}

function decodeArray(b: Buffer): FieldValue[] {
  const r = new BufferReader(b);
  const a = r.array();
  expect(r.remaining).toBe(0);
  return a;
}

/** encode → decode → encode: the bytes must not change, and the decoded value must equal t. */
function expectByteExact(t: FieldTable): Buffer {
  const first = encodeTable(t);
  const decoded = decodeTable(first);
  expect(decoded).toEqual(t);
  expect([...decoded.keys()]).toEqual([...t.keys()]);
  const second = encodeTable(decoded);
  expect(second.toString('hex')).toBe(first.toString('hex'));
  return first;
}

/** One entry per tag, with the exact bytes RabbitMQ's encoder produces for it (key, tag, value). */
const EVERY_TYPE: [string, FieldValue, string][] = [
  ['t', { type: 't', value: true }, '74 01'],
  ['t0', { type: 't', value: false }, '74 00'],
  ['b', { type: 'b', value: -128 }, '62 80'],
  ['B', { type: 'B', value: 255 }, '42 ff'],
  ['s', { type: 's', value: -32768 }, '73 8000'],
  ['u', { type: 'u', value: 65535 }, '75 ffff'],
  ['I', { type: 'I', value: -2147483648 }, '49 80000000'],
  ['i', { type: 'i', value: 4294967295 }, '69 ffffffff'],
  ['l', { type: 'l', value: -2 }, '6c fffffffffffffffe'],
  ['f', { type: 'f', value: 1.5 }, '66 3fc00000'],
  ['d', { type: 'd', value: -2.5 }, '64 c004000000000000'],
  ['D', { type: 'D', value: { scale: 2, value: -12345 } }, '44 02 ffffcfc7'],
  ['S', { type: 'S', value: 'héllo' }, '53 00000006 68c3a96c6c6f'],
  ['x', { type: 'x', value: Buffer.from([0, 0xff, 0x10]) }, '78 00000003 00ff10'],
  ['A', { type: 'A', value: [{ type: 'I', value: 1 }, { type: 'S', value: 'a' }] }, '41 0000000b 4900000001 530000000161'],
  ['T', { type: 'T', value: 1_700_000_000 }, '54 000000006553f100'],
  ['F', { type: 'F', value: new Map([['k', { type: 'V', value: null }]]) }, '46 00000003 016b56'],
  ['V', { type: 'V', value: null }, '56'],
];

describe('field tables: every value type', () => {
  it('covers exactly the 17 tags t b B s u I i l f d D S x A T F V', () => {
    expect(new Set(EVERY_TYPE.map(([, v]) => v.type))).toEqual(new Set('tbBsuIilfdDSxATFV'.split('')));
  });

  it.each(EVERY_TYPE)('%s encodes to the expected bytes and decodes back', (key, value, bytesHex) => {
    const expected = Buffer.concat([Buffer.from([key.length]), Buffer.from(key), hex(bytesHex)]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(expected.length);
    const table = new Map([[key, value]]);
    const bytes = expectByteExact(table);
    expect(bytes.toString('hex')).toBe(Buffer.concat([len, expected]).toString('hex'));
    expect(decodeTable(Buffer.concat([len, expected]))).toEqual(table);
  });

  it('a table with all types at once round-trips byte-exactly, in order', () => {
    const t: FieldTable = new Map(EVERY_TYPE.map(([k, v]) => [k, v]));
    const bytes = expectByteExact(t);
    const body = Buffer.concat(EVERY_TYPE.map(([k, , h]) => Buffer.concat([Buffer.from([k.length]), Buffer.from(k), hex(h)])));
    expect(bytes.readUInt32BE(0)).toBe(body.length);
    expect(bytes.subarray(4).equals(body)).toBe(true);
  });

  it('an array with every type round-trips byte-exactly', () => {
    const a = EVERY_TYPE.map(([, v]) => v);
    const bytes = encodeArray(a);
    expect(bytes.subarray(4).toString('hex')).toBe(EVERY_TYPE.map(([, , h]) => h.replace(/\s+/g, '')).join(''));
    const decoded = decodeArray(bytes);
    expect(decoded).toEqual(a);
    expect(encodeArray(decoded).equals(bytes)).toBe(true);
  });

  it('nested tables and arrays, several levels deep', () => {
    const deep: FieldTable = new Map<string, FieldValue>([
      ['level1', {
        type: 'F',
        value: new Map<string, FieldValue>([
          ['list', {
            type: 'A',
            value: [
              { type: 'F', value: new Map<string, FieldValue>([['x', { type: 'A', value: [{ type: 'A', value: [] }, { type: 'F', value: new Map() }] }]]) },
              { type: 'A', value: [{ type: 'l', value: 2n ** 60n }, { type: 'D', value: { scale: 0, value: 7 } }] },
            ],
          }],
          ['empty', { type: 'F', value: new Map() }],
        ]),
      }],
      ['after', { type: 'S', value: 'still here' }],
    ]);
    expectByteExact(deep);
  });

  it('empty table, undefined table and empty array are four zero bytes', () => {
    expect(encodeTable(new Map()).toString('hex')).toBe('00000000');
    expect(encodeTable(undefined).toString('hex')).toBe('00000000');
    expect(encodeArray([]).toString('hex')).toBe('00000000');
    expect(decodeTable(hex('00000000')).size).toBe(0);
    expect(decodeArray(hex('00000000'))).toEqual([]);
  });

  it('negative numbers keep their sign in every signed type', () => {
    const t: FieldTable = new Map<string, FieldValue>([
      ['b', { type: 'b', value: -1 }],
      ['s', { type: 's', value: -2 }],
      ['I', { type: 'I', value: -3 }],
      ['l', { type: 'l', value: -4 }],
      ['lmin', { type: 'l', value: -(2n ** 63n) }],
      ['lbig', { type: 'l', value: -(2n ** 53n) - 1n }],
      ['lsafe', { type: 'l', value: Number.MIN_SAFE_INTEGER }],
      ['f', { type: 'f', value: -0.5 }],
      ['d', { type: 'd', value: -1e300 }],
      ['D', { type: 'D', value: { scale: 3, value: -1 } }],
    ]);
    const bytes = expectByteExact(t);
    const back = decodeTable(bytes);
    expect(back.get('b')).toEqual({ type: 'b', value: -1 });
    expect(back.get('lmin')).toEqual({ type: 'l', value: -(2n ** 63n) });
    expect(typeof back.get('lsafe')!.value).toBe('number');
    expect(typeof back.get('lbig')!.value).toBe('bigint');
  });

  it('64-bit values beyond 2^53 come back exactly, as bigint', () => {
    const t: FieldTable = new Map<string, FieldValue>([
      ['l-max', { type: 'l', value: 2n ** 63n - 1n }],
      ['l-2^53', { type: 'l', value: 2n ** 53n }],
      ['l-2^53+1', { type: 'l', value: 2n ** 53n + 1n }],
      ['T-max', { type: 'T', value: 2n ** 64n - 1n }],
      ['T-2^60+3', { type: 'T', value: 2n ** 60n + 3n }],
    ]);
    const bytes = expectByteExact(t);
    const back = decodeTable(bytes);
    for (const [k, v] of t) {
      expect(typeof back.get(k)!.value, k).toBe('bigint');
      expect(back.get(k)!.value, k).toBe(v.value);
    }
    // Exact bytes of the two extremes.
    expect(bytes.toString('hex')).toContain('056c2d6d61786c7fffffffffffffff');
    const tmax = Buffer.concat([Buffer.from([5]), Buffer.from('T-max'), Buffer.from('T'), Buffer.alloc(8, 0xff)]);
    expect(bytes.includes(tmax)).toBe(true);
  });

  it('64-bit values within 2^53 come back as numbers', () => {
    const t: FieldTable = new Map<string, FieldValue>([
      ['l', { type: 'l', value: Number.MAX_SAFE_INTEGER }],
      ['T', { type: 'T', value: Number.MAX_SAFE_INTEGER }],
      ['T0', { type: 'T', value: 0 }],
    ]);
    const back = decodeTable(expectByteExact(t));
    expect(back.get('l')!.value).toBe(Number.MAX_SAFE_INTEGER);
    expect(back.get('T')!.value).toBe(Number.MAX_SAFE_INTEGER);
    expect(back.get('T0')!.value).toBe(0);
  });

  it('a bigint written as a small value decodes as a number but keeps the bytes', () => {
    const bytes = encodeTable(new Map([['n', { type: 'l', value: 5n }]]));
    expect(decodeTable(bytes).get('n')).toEqual({ type: 'l', value: 5 });
    expect(encodeTable(decodeTable(bytes)).equals(bytes)).toBe(true);
  });

  it('longstr with invalid UTF-8 is kept as a Buffer, byte for byte', () => {
    const raw = Buffer.from([0x61, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x00]);
    const t: FieldTable = new Map([['bin', { type: 'S', value: raw }]]);
    const bytes = expectByteExact(t);
    const back = decodeTable(bytes).get('bin')!;
    expect(back.type).toBe('S');
    expect(Buffer.isBuffer(back.value)).toBe(true);
    expect((back.value as Buffer).equals(raw)).toBe(true);
  });

  it('longstr with valid UTF-8 (multi-byte, empty) decodes to a string', () => {
    for (const s of ['', 'plain', 'ü€😀', '\u0000nul']) {
      const back = decodeTable(encodeTable(new Map([['s', { type: 'S', value: s }]]))).get('s')!;
      expect(back).toEqual({ type: 'S', value: s });
    }
  });

  it('a valid-UTF-8 Buffer longstr decodes as the equal string (same bytes)', () => {
    const bytes = encodeTable(new Map([['s', { type: 'S', value: Buffer.from('abc') }]]));
    expect(decodeTable(bytes).get('s')).toEqual({ type: 'S', value: 'abc' });
    expect(encodeTable(decodeTable(bytes)).equals(bytes)).toBe(true);
  });

  it('decoded byte strings do not alias the input buffer', () => {
    const bytes = encodeTable(new Map<string, FieldValue>([
      ['x', { type: 'x', value: Buffer.from('binary') }],
      ['S', { type: 'S', value: Buffer.from([0xff, 0xfe]) }],
    ]));
    const t = decodeTable(bytes);
    bytes.fill(0);
    expect((t.get('x')!.value as Buffer).toString()).toBe('binary');
    expect([...(t.get('S')!.value as Buffer)]).toEqual([0xff, 0xfe]);
  });

  it('integer-like keys keep insertion (wire) order', () => {
    const keys = ['10', '2', 'b', '1', 'a', '0', '-1', '4294967296'];
    const t: FieldTable = new Map(keys.map((k, i) => [k, { type: 'I', value: i }]));
    const bytes = expectByteExact(t);
    expect([...decodeTable(bytes).keys()]).toEqual(keys);
    // And on the wire, the first key is "10".
    expect(bytes.subarray(4, 7).toString('latin1')).toBe('\u000210');
  });

  it('a key repeated on the wire decodes without error', () => {
    // {"a": I 1, "a": I 2}: which one wins is not settled here (RabbitMQ's lookups find the first).
    const body = hex('0161 49 00000001 0161 49 00000002');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(body.length);
    const t = decodeTable(Buffer.concat([len, body]));
    expect([...t.keys()]).toEqual(['a']);
    expect(t.get('a')!.type).toBe('I');
  });
});

describe('field tables: malformed input is a CodecError', () => {
  const withLen = (body: Buffer, declared = body.length): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(declared);
    return Buffer.concat([len, body]);
  };

  it('unknown field type tag', () => {
    const b = withLen(hex('0161 5a 00'));
    expectCodecError(() => new BufferReader(b).table(), 'UNKNOWN_FIELD_TYPE', 'unknown field type "Z" (0x5a)');
  });

  it.each(['c', 'U', 'N', '\u0000'])('unknown tag %j in an array too', (tag) => {
    const b = withLen(Buffer.concat([Buffer.from(tag, 'latin1'), hex('00000000')]));
    expectCodecError(() => new BufferReader(b).array(), 'UNKNOWN_FIELD_TYPE', /unknown field type/);
  });

  it('table whose entries overrun its declared length', () => {
    // Declared 5 bytes, but "a" I <4 bytes> needs 7; the buffer itself goes on (no truncation).
    const b = Buffer.concat([withLen(hex('0161 49 00000001'), 5), hex('0000')]);
    expectCodecError(() => new BufferReader(b).table(), 'SYNTAX_ERROR', /overruns/);
  });

  it('array whose values overrun its declared length', () => {
    const b = Buffer.concat([withLen(hex('49 00000001 49 00000002'), 7), hex('000000')]);
    expectCodecError(() => new BufferReader(b).array(), 'SYNTAX_ERROR', /overruns/);
  });

  it('nested table overrunning its parent table', () => {
    // outer declares 9 bytes; the inner table "F" declares 4 and holds "b" t 1 (4 bytes): 3+4+4 = 11.
    const inner = withLen(hex('0162 74 01'));
    const outerBody = Buffer.concat([hex('0161 46'), inner]);
    const b = Buffer.concat([withLen(outerBody, outerBody.length - 2), hex('0000')]);
    expectCodecError(() => new BufferReader(b).table(), 'SYNTAX_ERROR', /overruns/);
  });

  it('table declaring more bytes than there are', () => {
    expectCodecError(() => new BufferReader(withLen(hex('0161 74 01'), 100)).table(), 'SYNTAX_ERROR', /truncated/);
    expectCodecError(() => new BufferReader(withLen(Buffer.alloc(0), 0xffffffff)).table(), 'SYNTAX_ERROR', /truncated/);
  });

  it('every truncation of a valid table or array is a CodecError', () => {
    const t: FieldTable = new Map(EVERY_TYPE.map(([k, v]) => [k, v]));
    const tb = encodeTable(t);
    for (let n = 0; n < tb.length; n++) {
      expectCodecError(() => new BufferReader(tb.subarray(0, n)).table(), 'SYNTAX_ERROR');
    }
    const ab = encodeArray(EVERY_TYPE.map(([, v]) => v));
    for (let n = 0; n < ab.length; n++) {
      expectCodecError(() => new BufferReader(ab.subarray(0, n)).array(), 'SYNTAX_ERROR');
    }
  });

  it('a value cut short at the end of the buffer, table length matching the short content', () => {
    // "a" l with only 4 of its 8 bytes, table length consistent with the short content.
    expectCodecError(() => new BufferReader(withLen(hex('0161 6c 00000001'))).table(), 'SYNTAX_ERROR', /truncated/);
  });

  it('short string over 255 bytes on encode (keys and shortstr fields)', () => {
    const w = new BufferWriter();
    expectCodecError(() => w.shortstr('a'.repeat(256)), 'SYNTAX_ERROR', 'short string too long (256 bytes, limit 255)');
    // 128 two-byte characters: 128 characters but 256 bytes.
    expectCodecError(() => w.shortstr('é'.repeat(128)), 'SYNTAX_ERROR', /256 bytes/);
    expectCodecError(() => w.table(new Map([['k'.repeat(300), { type: 'V', value: null }]])), 'SYNTAX_ERROR', /300 bytes/);
    // 255 bytes is fine.
    const ok = new BufferWriter();
    ok.shortstr('é'.repeat(127) + 'a');
    expect(ok.pos).toBe(256);
    expect(new BufferReader(ok.toBuffer()).shortstr()).toBe('é'.repeat(127) + 'a');
  });
});

describe('field-table helpers', () => {
  it('fieldEquals compares type and value, strings by bytes, 64-bit across number/bigint', () => {
    expect(fieldEquals({ type: 'S', value: 'ab' }, { type: 'S', value: Buffer.from('ab') })).toBe(true);
    expect(fieldEquals({ type: 'S', value: 'ab' }, { type: 'S', value: 'ac' })).toBe(false);
    expect(fieldEquals({ type: 'I', value: 1 }, { type: 'i', value: 1 })).toBe(false);
    expect(fieldEquals({ type: 'l', value: 5 }, { type: 'l', value: 5n })).toBe(true);
    expect(fieldEquals({ type: 'D', value: { scale: 1, value: 5 } }, { type: 'D', value: { scale: 2, value: 5 } })).toBe(false);
    expect(fieldEquals({ type: 'A', value: [{ type: 'V', value: null }] }, { type: 'A', value: [] })).toBe(false);
  });

  it('tableEquals ignores key order but not keys or values', () => {
    const a: FieldTable = new Map<string, FieldValue>([['x', { type: 'I', value: 1 }], ['y', { type: 't', value: true }]]);
    const b: FieldTable = new Map<string, FieldValue>([['y', { type: 't', value: true }], ['x', { type: 'I', value: 1 }]]);
    expect(tableEquals(a, b)).toBe(true);
    b.set('x', { type: 'I', value: 2 });
    expect(tableEquals(a, b)).toBe(false);
    expect(tableEquals(a, new Map([['x', { type: 'I', value: 1 }]]))).toBe(false);
  });

  it('fieldInteger accepts every integral tag and nothing else', () => {
    for (const t of ['b', 'B', 's', 'u', 'I', 'i', 'l', 'T'] as const) {
      expect(fieldInteger({ type: t, value: 7 } as FieldValue), t).toBe(7);
    }
    expect(fieldInteger({ type: 'l', value: 9n })).toBe(9);
    expect(fieldInteger({ type: 'd', value: 7 })).toBeUndefined();
    expect(fieldInteger({ type: 'S', value: '7' })).toBeUndefined();
    expect(fieldInteger(undefined)).toBeUndefined();
  });

  it('fieldString reads longstr and binary, nothing else', () => {
    expect(fieldString({ type: 'S', value: 'a' })).toBe('a');
    expect(fieldString({ type: 'S', value: Buffer.from('b') })).toBe('b');
    expect(fieldString({ type: 'x', value: Buffer.from('c') })).toBe('c');
    expect(fieldString({ type: 'I', value: 1 })).toBeUndefined();
  });
});
