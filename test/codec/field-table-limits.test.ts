// RabbitMQ's tag set beyond the spec ('L'), the allocation-free table check used at publish, and
// the nesting-depth bound (MAX_TABLE_DEPTH) in every place a table arrives.

import { describe, expect, it } from 'vitest';
import { BufferReader, MAX_TABLE_DEPTH } from '../../src/codec/buffer-reader.js';
import { BufferWriter } from '../../src/codec/buffer-writer.js';
import { jsonToTable, type FieldTable, type FieldValue } from '../../src/codec/field-table.js';
import { decodeMethodFrame } from '../../src/codec/method-frame.js';
import { BASIC_PROPERTY_FLAGS, QUEUE_DECLARE } from '../../src/codec/methods.generated.js';
import { Message } from '../../src/message.js';
import { methodPayload } from '../helpers/frames.js';
import { expectCodecError, hex } from './helpers.js';

const withLen = (body: Buffer): Buffer => {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
};

const L = (v: bigint): Buffer => {
  const b = Buffer.alloc(9);
  b.write('L', 'latin1');
  b.writeBigInt64BE(v, 1);
  return b;
};

/** A table holding `levels` tables nested under key "a" (the outer table is level 1). */
function nestedTables(levels: number): Buffer {
  let inner = withLen(Buffer.alloc(0));
  for (let i = 1; i < levels; i++) inner = withLen(Buffer.concat([hex('0161 46'), inner]));
  return inner;
}

/** A table {a: [[[...]]]} whose deepest array is at `levels` (the table is level 1). */
function nestedArrays(levels: number): Buffer {
  let inner = withLen(Buffer.alloc(0));
  for (let i = 2; i < levels; i++) inner = withLen(Buffer.concat([hex('41'), inner]));
  return withLen(Buffer.concat([hex('0161 41'), inner]));
}

/** Built directly: concatenating 20,000 levels one by one would be quadratic. */
function veryDeepTables(levels: number): Buffer {
  const b = Buffer.alloc(4 + 7 * (levels - 1));
  let off = 0;
  for (let i = 0; i < levels - 1; i++) {
    b.writeUInt32BE(b.length - off - 4, off);
    b.write('\u0001aF', off + 4, 'latin1');
    off += 7;
  }
  b.writeUInt32BE(0, off);
  return b;
}

function checked(b: Buffer): void {
  const r = new BufferReader(b);
  r.skipTable();
  expect(r.remaining).toBe(0);
}

describe("'L' (signed 64-bit, as RabbitMQ reads it)", () => {
  it('decodes in tables and arrays as a long, exact beyond 2^53', () => {
    const b = withLen(
      Buffer.concat([hex('0362 6967'), L(1n << 40n), hex('036d6178'), L((1n << 63n) - 1n), hex('036e6567'), L(-5n), hex('0161 41 00000009'), L(7n)]),
    );
    const t = new BufferReader(b).table();
    expect(t.get('big')).toEqual({ type: 'l', value: 2 ** 40 });
    expect(t.get('max')).toEqual({ type: 'l', value: (1n << 63n) - 1n });
    expect(t.get('neg')).toEqual({ type: 'l', value: -5 });
    expect(t.get('a')).toEqual({ type: 'A', value: [{ type: 'l', value: 7 }] });
    checked(b);
  });

  it("re-encodes as 'l', as RabbitMQ does when it rewrites a header", () => {
    const t = new BufferReader(withLen(Buffer.concat([hex('0161'), L(-2n)]))).table();
    const w = new BufferWriter();
    w.table(t);
    expect(w.toBuffer().toString('hex')).toBe('0000000b' + '0161' + '6c' + 'fffffffffffffffe');
  });
});

describe('skipTable checks exactly what table() decodes', () => {
  const every: FieldTable = new Map<string, FieldValue>([
    ['t', { type: 't', value: true }],
    ['b', { type: 'b', value: -1 }],
    ['B', { type: 'B', value: 1 }],
    ['s', { type: 's', value: -1 }],
    ['u', { type: 'u', value: 1 }],
    ['I', { type: 'I', value: -1 }],
    ['i', { type: 'i', value: 1 }],
    ['l', { type: 'l', value: -1 }],
    ['f', { type: 'f', value: 1.5 }],
    ['d', { type: 'd', value: 2.5 }],
    ['D', { type: 'D', value: { scale: 1, value: 5 } }],
    ['S', { type: 'S', value: 'x' }],
    ['x', { type: 'x', value: Buffer.from([1]) }],
    ['A', { type: 'A', value: [{ type: 'I', value: 1 }, { type: 'F', value: new Map() }] }],
    ['T', { type: 'T', value: 1 }],
    ['F', { type: 'F', value: new Map([['k', { type: 'V', value: null }]]) }],
    ['V', { type: 'V', value: null }],
  ]);
  const w = new BufferWriter();
  w.table(every);
  const good = w.toBuffer();

  it('accepts every tag and stops where table() stops', () => {
    const r = new BufferReader(Buffer.concat([good, hex('ff')]));
    r.skipTable();
    const d = new BufferReader(Buffer.concat([good, hex('ff')]));
    d.table();
    expect(r.pos).toBe(d.pos);
  });

  it('fails on every truncation, as table() does', () => {
    for (let n = 0; n < good.length; n++) {
      expectCodecError(() => new BufferReader(good.subarray(0, n)).skipTable(), 'SYNTAX_ERROR');
    }
  });

  it.each(['Z', 'U', 'c', 'N', '\u0000'])('fails on the unknown tag %j, in a table and in an array', (tag) => {
    const inTable = withLen(Buffer.concat([hex('0161'), Buffer.from(tag, 'latin1'), hex('00000000')]));
    expectCodecError(() => new BufferReader(inTable).skipTable(), 'UNKNOWN_FIELD_TYPE', /unknown field type/);
    const inArray = withLen(Buffer.concat([hex('0161 41'), withLen(Buffer.concat([Buffer.from(tag, 'latin1'), hex('00000000')]))]));
    expectCodecError(() => new BufferReader(inArray).skipTable(), 'UNKNOWN_FIELD_TYPE', /unknown field type/);
    expectCodecError(() => new BufferReader(inArray).table(), 'UNKNOWN_FIELD_TYPE', /unknown field type/);
  });

  it('fails on a nested table overrunning its parent', () => {
    const inner = withLen(hex('0162 74 01'));
    const outer = Buffer.concat([hex('0161 46'), inner]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(outer.length - 2);
    expectCodecError(() => new BufferReader(Buffer.concat([len, outer, hex('0000')])).skipTable(), 'SYNTAX_ERROR', /overruns/);
  });
});

describe(`nesting depth: at most ${MAX_TABLE_DEPTH} levels`, () => {
  const tooDeep = `field table nested deeper than ${MAX_TABLE_DEPTH} levels`;

  it.each([
    ['tables', nestedTables],
    ['arrays', nestedArrays],
  ])('%s nested exactly to the limit decode and check', (_, build) => {
    const b = build(MAX_TABLE_DEPTH);
    expect(new BufferReader(b).table().size).toBe(1);
    checked(b);
  });

  it.each([
    ['tables', nestedTables],
    ['arrays', nestedArrays],
  ])('%s one level deeper are a FRAME_ERROR, decoded or checked', (_, build) => {
    const b = build(MAX_TABLE_DEPTH + 1);
    expectCodecError(() => new BufferReader(b).table(), 'FRAME_ERROR', tooDeep);
    expectCodecError(() => new BufferReader(b).skipTable(), 'FRAME_ERROR', tooDeep);
  });

  it('20,000 levels (what fits in a 128 KiB frame) fail cleanly, without a stack overflow', () => {
    const b = veryDeepTables(20_000);
    expectCodecError(() => new BufferReader(b).table(), 'FRAME_ERROR', tooDeep);
    expectCodecError(() => new BufferReader(b).skipTable(), 'FRAME_ERROR', tooDeep);
  });

  it('siblings do not add up: many tables side by side at one level are fine', () => {
    const one = Buffer.concat([hex('0161 46'), nestedTables(MAX_TABLE_DEPTH - 1)]);
    const b = withLen(Buffer.concat(Array.from({ length: 50 }, () => one)));
    expect(new BufferReader(b).table().size).toBe(1);
    checked(b);
  });

  it('a reused reader starts from depth 0 after a failure', () => {
    const r = new BufferReader(Buffer.alloc(0));
    const deep = nestedTables(MAX_TABLE_DEPTH + 5);
    r.reset(deep, 0, deep.length);
    expectCodecError(() => r.table(), 'FRAME_ERROR', tooDeep);
    const ok = nestedTables(MAX_TABLE_DEPTH);
    r.reset(ok, 0, ok.length);
    expect(r.table().size).toBe(1);
  });

  it('in method arguments: 501 material naming the method', () => {
    const ok = methodPayload({ id: QUEUE_DECLARE, ticket: 0, queue: 'q', passive: false, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: new Map() });
    // Replace the empty arguments table (last 4 bytes) with a deep one.
    const payload = Buffer.concat([ok.subarray(0, ok.length - 4), nestedTables(MAX_TABLE_DEPTH + 1)]);
    try {
      decodeMethodFrame(new BufferReader(Buffer.alloc(0)), payload);
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ name: 'CodecError', code: 'FRAME_ERROR', message: tooDeep, methodId: QUEUE_DECLARE });
    }
  });
});

describe('Message.checkProperties: checks the headers without decoding them', () => {
  /** Content header payload: class 60, weight 0, body size 0, then flags and raw properties. */
  function header(flags: number, props: Buffer): Buffer {
    const h = Buffer.alloc(14);
    h.writeUInt16BE(60, 0);
    h.writeUInt16BE(flags, 12);
    return Buffer.concat([h, props]);
  }
  const H = BASIC_PROPERTY_FLAGS.headers;
  const msg = (h: Buffer): Message => new Message('', 'q', h, Buffer.alloc(0));

  it("accepts 'L' and keeps the bytes as sent", () => {
    const h = header(H, withLen(Buffer.concat([hex('0362 6967'), L(1n << 40n)])));
    const copy = Buffer.from(h);
    const m = msg(h);
    expect(m.checkProperties()).toBe(false);
    expect(m.header.equals(copy)).toBe(true);
    expect(m.properties.headers?.get('big')).toEqual({ type: 'l', value: 2 ** 40 });
  });

  it('says whether CC or BCC is a top-level header, after content-type and content-encoding', () => {
    const ct = Buffer.concat([hex('04'), Buffer.from('text'), hex('04'), Buffer.from('gzip')]);
    const flags = H | BASIC_PROPERTY_FLAGS.contentType | BASIC_PROPERTY_FLAGS.contentEncoding;
    const cc = withLen(Buffer.concat([hex('0178 49 00000001'), hex('024343 41 00000006 53 00000001 71')]));
    const bcc = withLen(hex('03424343 41 00000000'));
    const nestedCc = withLen(Buffer.concat([hex('0178 46'), withLen(hex('024343 56'))]));
    const other = withLen(hex('024342 56 0342434d 56'));
    expect(msg(header(flags, Buffer.concat([ct, cc]))).checkProperties()).toBe(true);
    expect(msg(header(H, bcc)).checkProperties()).toBe(true);
    expect(msg(header(H, nestedCc)).checkProperties()).toBe(false);
    expect(msg(header(H, withLen(hex('03434343 56')))).checkProperties()).toBe(false);
    expect(msg(header(H, other)).checkProperties()).toBe(false);
    expect(msg(header(0, Buffer.alloc(0))).checkProperties()).toBe(false);
  });

  it('throws for an unknown tag and for a table nested too deep', () => {
    expectCodecError(() => msg(header(H, withLen(hex('017a 5a 00')))).checkProperties(), 'UNKNOWN_FIELD_TYPE', /unknown field type "Z"/);
    expectCodecError(() => msg(header(H, nestedTables(MAX_TABLE_DEPTH + 1))).checkProperties(), 'FRAME_ERROR', /nested deeper/);
  });
});

describe('tables from JSON (management API, definitions) have the same bound', () => {
  const nest = (levels: number, open: string, close: string, leaf: string): string => `${open.repeat(levels - 1)}${leaf}${close.repeat(levels - 1)}`;

  it(`${MAX_TABLE_DEPTH} levels of objects or arrays convert; one more is a CodecError`, () => {
    const ok = JSON.parse(nest(MAX_TABLE_DEPTH, '{"a":', '}', '{}')) as Record<string, unknown>;
    expect(jsonToTable(ok).size).toBe(1);
    const okArrays = JSON.parse(`{"a":${nest(MAX_TABLE_DEPTH - 1, '[', ']', '[]')}}`) as Record<string, unknown>;
    expect(jsonToTable(okArrays).size).toBe(1);
    const tooDeep = JSON.parse(nest(MAX_TABLE_DEPTH + 1, '{"a":', '}', '{}')) as Record<string, unknown>;
    expectCodecError(() => jsonToTable(tooDeep), 'SYNTAX_ERROR', `field table nested deeper than ${MAX_TABLE_DEPTH} levels`);
    const tooDeepArrays = JSON.parse(`{"a":${nest(MAX_TABLE_DEPTH, '[', ']', '[]')}}`) as Record<string, unknown>;
    expectCodecError(() => jsonToTable(tooDeepArrays), 'SYNTAX_ERROR', /nested deeper/);
  });

  it('100,000 levels fail cleanly', () => {
    const deep = JSON.parse(nest(100_000, '{"a":', '}', '1')) as Record<string, unknown>;
    expectCodecError(() => jsonToTable(deep), 'SYNTAX_ERROR', /nested deeper/);
  });
});

describe('Message reads single properties in place, as decoding all of them would', () => {
  const all = {
    contentType: 'text/plain',
    contentEncoding: 'gzip',
    headers: new Map<string, FieldValue>([['k', { type: 'F', value: new Map([['n', { type: 'l', value: 2 ** 40 }]]) }]]),
    deliveryMode: 2,
    priority: 7,
    correlationId: 'c',
    replyTo: 'r',
    expiration: '60000',
    messageId: 'm',
    timestamp: 1_700_000_000,
    type: 't',
    userId: 'guest',
    appId: 'a',
    clusterId: 'cl',
  } as const;
  const names = Object.keys(all) as (keyof typeof all)[];

  it('for every combination of the 14 properties (stepping through the 16,384 subsets)', () => {
    for (let mask = 0; mask < 1 << names.length; mask += 7) {
      const props: Record<string, unknown> = {};
      names.forEach((n, i) => {
        if ((mask & (1 << i)) !== 0) props[n] = all[n];
      });
      const sent = Message.fromProperties('', 'q', props, Buffer.alloc(0));
      const m = new Message('', 'q', sent.header, Buffer.alloc(0)); // as received: nothing decoded
      expect(m.checkProperties()).toBe(false);
      const want = { priority: (props['priority'] as number | undefined) ?? 0, expiration: props['expiration'], userId: props['userId'], persistent: props['deliveryMode'] === 2 };
      expect({ priority: m.priority, expiration: m.expiration, userId: m.userId, persistent: m.persistent }).toEqual(want);
      // and the same once everything is decoded
      expect(m.properties).toEqual(props);
      expect({ priority: m.priority, expiration: m.expiration, userId: m.userId, persistent: m.persistent }).toEqual(want);
    }
  });
});
