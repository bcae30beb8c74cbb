// What the fuzzers start from and how they damage it: field tables and every client-to-server
// method built by fast-check arbitraries and encoded with the codec, content headers, whole
// frames, and byte-level mutations (bit flips, interesting bytes, length-field edits, truncation,
// insertion, deletion, duplication, splices), all as fast-check values so failures shrink.

import fc from 'fast-check';
import { BufferWriter } from '../src/codec/buffer-writer.js';
import type { FieldTable, FieldValue } from '../src/codec/field-table.js';
import * as M from '../src/codec/methods.generated.js';
import { encodeBasicProperties, encodeMethod, FRAME_END, type BasicProperties, type Method } from '../src/codec/methods.generated.js';

// ---------------------------------------------------------------------------------------------
// Strings: short ASCII names mostly, sometimes arbitrary UTF-8, sometimes long or invalid bytes.

const NAMES = ['', 'q', 'q1', 'x', 'amq.direct', 'amq.topic', 'amq.fanout', 'amq.headers', 'amq.gen-1', 'amq.rabbitmq.reply-to', 'ctag', '#', '*.a', 'a.#.b'];

export const shortName: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NAMES) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  { weight: 1, arbitrary: fc.string({ minLength: 200, maxLength: 255 }) },
);

// ---------------------------------------------------------------------------------------------
// Field tables (as the writer encodes them; 'L' is read but never written)

const i64 = fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n).map((v) => (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v));
const u64 = fc.bigInt(0n, 2n ** 64n - 1n).map((v) => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v));

const scalar: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.boolean().map((value): FieldValue => ({ type: 't', value })),
  fc.integer({ min: -128, max: 127 }).map((value): FieldValue => ({ type: 'b', value })),
  fc.integer({ min: 0, max: 255 }).map((value): FieldValue => ({ type: 'B', value })),
  fc.integer({ min: -32768, max: 32767 }).map((value): FieldValue => ({ type: 's', value })),
  fc.integer({ min: 0, max: 65535 }).map((value): FieldValue => ({ type: 'u', value })),
  fc.integer().map((value): FieldValue => ({ type: 'I', value })),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((value): FieldValue => ({ type: 'i', value })),
  i64.map((value): FieldValue => ({ type: 'l', value })),
  u64.map((value): FieldValue => ({ type: 'T', value })),
  fc.float().map((value): FieldValue => ({ type: 'f', value })),
  fc.double().map((value): FieldValue => ({ type: 'd', value })),
  fc.record({ scale: fc.integer({ min: 0, max: 255 }), value: fc.integer() }).map((value): FieldValue => ({ type: 'D', value })),
  fc.string({ maxLength: 40 }).map((value): FieldValue => ({ type: 'S', value })),
  fc.uint8Array({ maxLength: 40 }).map((b): FieldValue => ({ type: 'x', value: Buffer.from(b) })),
  fc.constant<FieldValue>({ type: 'V', value: null }),
);

const { value: fieldValue } = fc.letrec<{ value: FieldValue; table: FieldTable }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 8, arbitrary: scalar },
    { weight: 1, arbitrary: fc.array(tie('value'), { maxLength: 4 }).map((value): FieldValue => ({ type: 'A', value })) },
    { weight: 1, arbitrary: tie('table').map((value): FieldValue => ({ type: 'F', value })) },
  ),
  table: fc.array(fc.tuple(fc.string({ maxLength: 12 }), tie('value')), { maxLength: 5 }).map((e) => new Map(e)),
}));

export const fieldTable: fc.Arbitrary<FieldTable> = fc.array(fc.tuple(fc.string({ maxLength: 12 }), fieldValue), { maxLength: 6 }).map((e) => new Map(e));

/** Queue/exchange arguments RabbitMQ knows, with right and wrong types. */
const knownArgs: fc.Arbitrary<FieldTable> = fc
  .array(
    fc.tuple(
      fc.constantFrom('x-message-ttl', 'x-expires', 'x-max-length', 'x-max-length-bytes', 'x-overflow', 'x-dead-letter-exchange', 'x-dead-letter-routing-key', 'x-max-priority', 'x-queue-mode', 'x-queue-type', 'x-single-active-consumer', 'x-match', 'alternate-exchange', 'x-delayed-type', 'x-priority', 'x-cancel-on-ha-failover', 'x-consumer-timeout', 'hash-header'),
      fc.oneof(scalar, fc.constantFrom<FieldValue>({ type: 'S', value: 'reject-publish' }, { type: 'S', value: 'all' }, { type: 'S', value: 'lazy' }, { type: 'I', value: 0 }, { type: 'I', value: -1 }, { type: 'l', value: 100 })),
    ),
    { maxLength: 3 },
  )
  .map((e) => new Map(e));

export const argTable: fc.Arbitrary<FieldTable> = fc.oneof({ weight: 3, arbitrary: fc.constant(new Map()) }, { weight: 2, arbitrary: knownArgs }, { weight: 1, arbitrary: fieldTable });

export function encodeTable(t: FieldTable): Buffer {
  const w = new BufferWriter(64);
  w.table(t);
  return w.toBuffer();
}

/** A table nested `depth` levels deep (tables, or arrays inside one table), as bytes: the stack-depth attack. */
export function deepTable(depth: number, arrays: boolean): Buffer {
  // Written front to back with every length known in advance: no recursion, no quadratic copying.
  const head = arrays ? 7 : 0;
  const step = arrays ? 5 : 7;
  const total = head + step * depth + 4;
  const b = Buffer.alloc(total);
  if (arrays) {
    b.writeUInt32BE(total - 4, 0);
    b.write('\u0001kA', 4, 'latin1');
  }
  for (let i = 0; i < depth; i++) {
    const at = head + step * i;
    b.writeUInt32BE(total - at - 4, at);
    b.write(arrays ? 'A' : '\u0001kF', at + 4, 'latin1');
  }
  return b;
}

// ---------------------------------------------------------------------------------------------
// Methods a client sends

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const tag = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.maxSafeNat());
const b = fc.boolean();
const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

/** Every method a client may send (and a few only a server sends), with arbitrary arguments. */
export const clientMethod: fc.Arbitrary<Method> = fc.oneof(
  fc.record({ id: fc.constant(M.CONNECTION_START_OK), clientProperties: fieldTable, mechanism: fc.constantFrom('PLAIN', 'AMQPLAIN', 'EXTERNAL', 'X'), response: bytes(40), locale: fc.constantFrom('en_US', '') }),
  fc.record({ id: fc.constant(M.CONNECTION_SECURE_OK), response: bytes(20) }),
  fc.record({ id: fc.constant(M.CONNECTION_TUNE_OK), channelMax: u16, frameMax: u32, heartbeat: u16 }),
  fc.record({ id: fc.constant(M.CONNECTION_OPEN), virtualHost: fc.constantFrom('/', '', 'nope'), capabilities: fc.constant(''), insist: b }),
  fc.record({ id: fc.constant(M.CONNECTION_CLOSE), replyCode: u16, replyText: shortName, classId: u16, methodId: u16 }),
  fc.constant<Method>({ id: M.CONNECTION_CLOSE_OK }),
  fc.record({ id: fc.constant(M.CONNECTION_BLOCKED), reason: shortName }),
  fc.record({ id: fc.constant(M.CONNECTION_UPDATE_SECRET), newSecret: bytes(20), reason: shortName }),
  fc.record({ id: fc.constant(M.CHANNEL_OPEN), outOfBand: fc.constantFrom('', 'x') }),
  fc.record({ id: fc.constant(M.CHANNEL_FLOW), active: b }),
  fc.record({ id: fc.constant(M.CHANNEL_FLOW_OK), active: b }),
  fc.record({ id: fc.constant(M.CHANNEL_CLOSE), replyCode: u16, replyText: shortName, classId: u16, methodId: u16 }),
  fc.constant<Method>({ id: M.CHANNEL_CLOSE_OK }),
  fc.record({ id: fc.constant(M.ACCESS_REQUEST), realm: shortName, exclusive: b, passive: b, active: b, write: b, read: b }),
  fc.record({ id: fc.constant(M.EXCHANGE_DECLARE), ticket: u16, exchange: shortName, type: fc.constantFrom('direct', 'fanout', 'topic', 'headers', 'x-delayed-message', 'x-consistent-hash', 'bogus', ''), passive: b, durable: b, autoDelete: b, internal: b, nowait: b, arguments: argTable }),
  fc.record({ id: fc.constant(M.EXCHANGE_DELETE), ticket: u16, exchange: shortName, ifUnused: b, nowait: b }),
  fc.record({ id: fc.constant(M.EXCHANGE_BIND), ticket: u16, destination: shortName, source: shortName, routingKey: shortName, nowait: b, arguments: argTable }),
  fc.record({ id: fc.constant(M.EXCHANGE_UNBIND), ticket: u16, destination: shortName, source: shortName, routingKey: shortName, nowait: b, arguments: argTable }),
  fc.record({ id: fc.constant(M.QUEUE_DECLARE), ticket: u16, queue: shortName, passive: b, durable: b, exclusive: b, autoDelete: b, nowait: b, arguments: argTable }),
  fc.record({ id: fc.constant(M.QUEUE_BIND), ticket: u16, queue: shortName, exchange: shortName, routingKey: shortName, nowait: b, arguments: argTable }),
  fc.record({ id: fc.constant(M.QUEUE_PURGE), ticket: u16, queue: shortName, nowait: b }),
  fc.record({ id: fc.constant(M.QUEUE_DELETE), ticket: u16, queue: shortName, ifUnused: b, ifEmpty: b, nowait: b }),
  fc.record({ id: fc.constant(M.QUEUE_UNBIND), ticket: u16, queue: shortName, exchange: shortName, routingKey: shortName, arguments: argTable }),
  fc.record({ id: fc.constant(M.BASIC_QOS), prefetchSize: fc.oneof(fc.constant(0), u32), prefetchCount: fc.oneof(fc.integer({ min: 0, max: 5 }), u16), global: b }),
  fc.record({ id: fc.constant(M.BASIC_CONSUME), ticket: u16, queue: shortName, consumerTag: shortName, noLocal: b, noAck: b, exclusive: b, nowait: b, arguments: argTable }),
  fc.record({ id: fc.constant(M.BASIC_CANCEL), consumerTag: shortName, nowait: b }),
  fc.record({ id: fc.constant(M.BASIC_PUBLISH), ticket: u16, exchange: shortName, routingKey: shortName, mandatory: b, immediate: b }),
  fc.record({ id: fc.constant(M.BASIC_GET), ticket: u16, queue: shortName, noAck: b }),
  fc.record({ id: fc.constant(M.BASIC_ACK), deliveryTag: tag, multiple: b }),
  fc.record({ id: fc.constant(M.BASIC_REJECT), deliveryTag: tag, requeue: b }),
  fc.record({ id: fc.constant(M.BASIC_RECOVER_ASYNC), requeue: b }),
  fc.record({ id: fc.constant(M.BASIC_RECOVER), requeue: b }),
  fc.record({ id: fc.constant(M.BASIC_NACK), deliveryTag: tag, multiple: b, requeue: b }),
  fc.constant<Method>({ id: M.TX_SELECT }),
  fc.constant<Method>({ id: M.TX_COMMIT }),
  fc.constant<Method>({ id: M.TX_ROLLBACK }),
  fc.record({ id: fc.constant(M.CONFIRM_SELECT), nowait: b }),
) as fc.Arbitrary<Method>;

export function encodeMethodPayload(m: Method): Buffer {
  const w = new BufferWriter(64);
  encodeMethod(w, m);
  return w.toBuffer();
}

/** A method's payload; null when the writer refuses the value (e.g. a name over 255 bytes). */
export function tryEncodeMethod(m: Method): Buffer | null {
  try {
    return encodeMethodPayload(m);
  } catch {
    return null;
  }
}

export const basicProperties: fc.Arbitrary<BasicProperties> = fc.record(
  {
    contentType: fc.constantFrom('text/plain', 'application/json'),
    contentEncoding: fc.constantFrom('gzip', ''),
    headers: fc.oneof(fieldTable, fc.constant(new Map<string, FieldValue>([['CC', { type: 'A', value: [{ type: 'S', value: 'q1' }] }]]))),
    deliveryMode: fc.integer({ min: 0, max: 3 }),
    priority: fc.integer({ min: 0, max: 255 }),
    correlationId: shortName,
    replyTo: fc.constantFrom('amq.rabbitmq.reply-to', 'q', ''),
    expiration: fc.constantFrom('0', '100', '-1', 'abc', '99999999999999999999', ''),
    messageId: shortName,
    timestamp: fc.integer({ min: 0, max: 2 ** 40 }),
    type: shortName,
    userId: fc.constantFrom('guest', 'other'),
    appId: shortName,
    clusterId: fc.constant(''),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<BasicProperties>;

/** A content header payload: class, weight, body size (u64) and properties. */
export function headerPayload(bodySize: number, properties: BasicProperties = {}, classId = 60): Buffer {
  const w = new BufferWriter(64);
  w.u16(classId);
  w.u16(0);
  w.u32(Math.floor(bodySize / 0x1_0000_0000));
  w.u32(bodySize >>> 0);
  encodeBasicProperties(w, properties);
  return w.toBuffer();
}

export function tryHeaderPayload(bodySize: number, properties: BasicProperties): Buffer | null {
  try {
    return headerPayload(bodySize, properties);
  } catch {
    return null;
  }
}

/** A complete frame: type, channel, size, payload, frame-end. */
export function frame(type: number, channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(7);
  head[0] = type;
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([FRAME_END])]);
}

// ---------------------------------------------------------------------------------------------
// Mutations

export type Mutation =
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'set'; readonly at: number; readonly byte: number }
  | { readonly op: 'u32'; readonly at: number; readonly value: number }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'insert'; readonly at: number; readonly bytes: Buffer }
  | { readonly op: 'delete'; readonly at: number; readonly len: number }
  | { readonly op: 'duplicate'; readonly at: number; readonly len: number };

const INTERESTING_BYTES = [0, 1, 0x7f, 0x80, 0xce, 0xff, 0x41, 0x46, 0x53, 0x56, 0x78];
const INTERESTING_U32 = [0, 1, 7, 0x7f, 0xff, 0x100, 0xffff, 0x1_0000, 131064, 131065, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff];

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('set' as const), at: fc.nat(), byte: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.integer({ min: 0, max: 255 })) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('u32' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(...INTERESTING_U32), u32) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: bytes(16) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }) }) },
);

export function mutate(input: Buffer, mutations: readonly Mutation[]): Buffer {
  let b = Buffer.from(input);
  for (const m of mutations) {
    const n = b.length;
    const at = n === 0 ? 0 : m.at % n;
    switch (m.op) {
      case 'flip':
        if (n > 0) b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'set':
        if (n > 0) b[at] = m.byte;
        break;
      case 'u32':
        if (n >= 4) b.writeUInt32BE(m.value, Math.min(at, n - 4));
        break;
      case 'truncate':
        b = b.subarray(0, at);
        break;
      case 'insert':
        b = Buffer.concat([b.subarray(0, at), m.bytes, b.subarray(at)]);
        break;
      case 'delete':
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
        break;
      case 'duplicate':
        b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at, at + m.len), b.subarray(at + m.len)]);
        break;
    }
  }
  return b;
}

/** `base` bytes, with up to `max` mutations (none a third of the time). */
export function mutated(base: fc.Arbitrary<Buffer>, max = 4): fc.Arbitrary<Buffer> {
  return fc.tuple(base, fc.oneof({ weight: 1, arbitrary: fc.constant([] as Mutation[]) }, { weight: 2, arbitrary: fc.array(mutation, { minLength: 1, maxLength: max }) })).map(([bytes, ms]) => mutate(bytes, ms));
}

export function hex(b: Buffer): string {
  return b.toString('hex');
}
