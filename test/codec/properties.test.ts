// Basic content properties: flag word bits, presence, values and order on the wire.

import { describe, expect, it } from 'vitest';
import { BufferReader } from '../../src/codec/buffer-reader.js';
import { BufferWriter } from '../../src/codec/buffer-writer.js';
import {
  BASIC_PROPERTY_FLAGS,
  decodeBasicProperties,
  encodeBasicProperties,
  type BasicProperties,
} from '../../src/codec/methods.generated.js';
import { camel, expectCodecError, loadSpec } from './helpers.js';

type Key = keyof BasicProperties;

const ALL: Required<BasicProperties> = {
  contentType: 'application/json',
  contentEncoding: 'gzip',
  headers: new Map([
    ['x-retries', { type: 'I', value: -3 }],
    ['x-tags', { type: 'A', value: [{ type: 'S', value: 'a' }, { type: 'S', value: 'b' }] }],
    ['x-big', { type: 'l', value: 2n ** 62n }],
  ]),
  deliveryMode: 2,
  priority: 9,
  correlationId: 'corr-42',
  replyTo: 'amq.rabbitmq.reply-to',
  expiration: '60000',
  messageId: 'msg-ü-1',
  timestamp: 1_700_000_000,
  type: 'order.created',
  userId: 'guest',
  appId: 'warren-tests',
  clusterId: 'c1',
};

const EXPECTED_FLAGS: Record<Key, number> = {
  contentType: 0x8000,
  contentEncoding: 0x4000,
  headers: 0x2000,
  deliveryMode: 0x1000,
  priority: 0x0800,
  correlationId: 0x0400,
  replyTo: 0x0200,
  expiration: 0x0100,
  messageId: 0x0080,
  timestamp: 0x0040,
  type: 0x0020,
  userId: 0x0010,
  appId: 0x0008,
  clusterId: 0x0004,
};

const KEYS = Object.keys(EXPECTED_FLAGS) as Key[];

function pick(keys: readonly Key[]): BasicProperties {
  const p: Record<string, unknown> = {};
  for (const k of keys) p[k] = ALL[k];
  return p as BasicProperties;
}

function roundTrip(p: BasicProperties): { bytes: Buffer; decoded: BasicProperties; flags: number } {
  const w = new BufferWriter(8);
  encodeBasicProperties(w, p);
  const bytes = w.toBuffer();
  const r = new BufferReader(bytes);
  const decoded = decodeBasicProperties(r);
  expect(r.remaining).toBe(0);
  return { bytes, decoded, flags: bytes.readUInt16BE(0) };
}

describe('basic properties', () => {
  it('the flag table matches the spec order: content-type = 0x8000 ... cluster-id = 0x0004', () => {
    expect(BASIC_PROPERTY_FLAGS).toEqual(EXPECTED_FLAGS);
    const specProps = loadSpec().classes.find((c) => c.name === 'basic')!.properties!;
    expect(specProps.map((p) => camel(p.name))).toEqual(KEYS);
  });

  it('all 14 set: flag word 0xfffc, every value back', () => {
    const { decoded, flags } = roundTrip(ALL);
    expect(flags).toBe(0xfffc);
    expect(decoded).toEqual(ALL);
  });

  it('none set: two zero bytes, empty object back', () => {
    const { bytes, decoded } = roundTrip({});
    expect(bytes.toString('hex')).toBe('0000');
    expect(decoded).toEqual({});
    expect(Object.keys(decoded)).toEqual([]);
  });

  it.each(KEYS)('%s alone sets only its bit', (k) => {
    const { bytes, decoded, flags } = roundTrip(pick([k]));
    expect(flags).toBe(EXPECTED_FLAGS[k]);
    expect(decoded).toEqual(pick([k]));
    expect(Object.keys(decoded)).toEqual([k]);
    expect(bytes.length).toBeGreaterThan(2);
  });

  it.each([
    [['contentType', 'deliveryMode'] as Key[], 0x9000],
    [['headers', 'timestamp', 'clusterId'] as Key[], 0x2044],
    [['priority', 'replyTo', 'messageId', 'appId'] as Key[], 0x0a88],
    [['contentEncoding', 'correlationId', 'expiration', 'type', 'userId'] as Key[], 0x4530],
  ])('combination %j has flag word %i', (keys, expectedFlags) => {
    const { decoded, flags } = roundTrip(pick(keys));
    expect(flags).toBe(expectedFlags);
    expect(decoded).toEqual(pick(keys));
  });

  it('writes the property list in flag order, independent of object key order', () => {
    const p: BasicProperties = { appId: 'A', deliveryMode: 1, contentType: 'T' };
    const { bytes } = roundTrip(p);
    // flags 0x9008, then content-type "T", delivery-mode 1, app-id "A".
    expect(bytes.toString('hex')).toBe('9008' + '0154' + '01' + '0141');
  });

  it('empty strings and zero numbers are present, not absent', () => {
    const p: BasicProperties = { contentType: '', deliveryMode: 0, timestamp: 0, headers: new Map() };
    const { bytes, decoded, flags } = roundTrip(p);
    expect(flags).toBe(0x8000 | 0x2000 | 0x1000 | 0x0040);
    expect(decoded).toEqual(p);
    expect(bytes.toString('hex')).toBe('b040' + '00' + '00000000' + '00' + '0000000000000000');
  });

  it('timestamp uses all 64 bits (up to 2^53)', () => {
    const { bytes, decoded } = roundTrip({ timestamp: Number.MAX_SAFE_INTEGER });
    expect(bytes.subarray(2).toString('hex')).toBe('001fffffffffffff');
    expect(decoded.timestamp).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('skips continuation flag words', () => {
    // content-type flag plus continuation bit, then an empty second word, then the value.
    const bytes = Buffer.from([0x80, 0x01, 0x00, 0x00, 3, 0x61, 0x62, 0x63]);
    const r = new BufferReader(bytes);
    expect(decodeBasicProperties(r)).toEqual({ contentType: 'abc' });
    expect(r.remaining).toBe(0);
  });

  it('a property list shorter than its flags say is a CodecError', () => {
    const { bytes } = roundTrip(ALL);
    for (let n = 0; n < bytes.length; n++) {
      expectCodecError(() => decodeBasicProperties(new BufferReader(bytes.subarray(0, n))), 'SYNTAX_ERROR', /truncated/);
    }
  });
});
