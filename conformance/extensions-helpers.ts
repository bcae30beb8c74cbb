// Helpers for the RabbitMQ-extension conformance files (extensions.*.test.ts, arguments.test.ts,
// extensions-restart.test.ts): a field-table decoder that keeps the wire type tags (so x-death can be
// checked byte for byte: count is a long, time a timestamp, ...), raw basic.get / queue.declare
// round trips, and the x-death shape RabbitMQ 3.10 produces.
import { enc, type FieldValue, FRAME_BODY, FRAME_HEADER, FRAME_METHOD, parseClose, RawClient, raw, Reader } from './harness.js';

/** A field value with its type tag: `{ t: 'l', v: 1n }`, tables as ordered entry lists. */
export interface Tagged {
  t: string;
  v: unknown;
}
export type TaggedTable = Array<[string, Tagged]>;

/** Decodes a field table keeping tags and key order. Strings come back as strings. */
export class TaggedReader extends Reader {
  taggedValue(): Tagged {
    const tag = String.fromCharCode(this.u8());
    switch (tag) {
      case 'F':
        return { t: 'F', v: this.taggedTable() };
      case 'A': {
        const n = this.u32();
        const end = this.pos + n;
        const out: Tagged[] = [];
        while (this.pos < end) out.push(this.taggedValue());
        return { t: 'A', v: out };
      }
      default:
        // reuse the untagged decoder for scalars: step back over the tag
        this.pos--;
        return { t: tag, v: this.value() };
    }
  }
  taggedTable(): TaggedTable {
    const n = this.u32();
    const end = this.pos + n;
    const out: TaggedTable = [];
    while (this.pos < end) {
      const k = this.shortstr();
      out.push([k, this.taggedValue()]);
    }
    return out;
  }
}

/** The shape of a tagged value: tags only (values dropped), for "shaped exactly as RabbitMQ's" checks. */
export function shape(t: Tagged): unknown {
  if (t.t === 'F') return (t.v as TaggedTable).map(([k, x]) => [k, shape(x)]);
  if (t.t === 'A') return (t.v as Tagged[]).map(shape);
  return t.t;
}

/** Plain JS view of a tagged value (tables become objects, long/timestamp stay bigint). */
export function plain(t: Tagged): unknown {
  if (t.t === 'F') return Object.fromEntries((t.v as TaggedTable).map(([k, x]) => [k, plain(x)]));
  if (t.t === 'A') return (t.v as Tagged[]).map(plain);
  return t.v;
}

export function lookup(table: TaggedTable, key: string): Tagged | undefined {
  return table.find(([k]) => k === key)?.[1];
}

/** Basic properties of a message as they were on the wire (headers tagged). */
export interface RawProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: TaggedTable;
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  expiration?: string;
  messageId?: string;
  timestamp?: bigint;
  type?: string;
  userId?: string;
  appId?: string;
}

export function decodeProperties(payload: Buffer): RawProperties {
  const r = new TaggedReader(payload, 12);
  const flags = r.u16();
  const has = (bit: number): boolean => (flags & (1 << bit)) !== 0;
  const p: RawProperties = {};
  if (has(15)) p.contentType = r.shortstr();
  if (has(14)) p.contentEncoding = r.shortstr();
  if (has(13)) p.headers = r.taggedTable();
  if (has(12)) p.deliveryMode = r.u8();
  if (has(11)) p.priority = r.u8();
  if (has(10)) p.correlationId = r.shortstr();
  if (has(9)) p.replyTo = r.shortstr();
  if (has(8)) p.expiration = r.shortstr();
  if (has(7)) p.messageId = r.shortstr();
  if (has(6)) p.timestamp = r.u64();
  if (has(5)) p.type = r.shortstr();
  if (has(4)) p.userId = r.shortstr();
  if (has(3)) p.appId = r.shortstr();
  return p;
}

export interface RawGot {
  exchange: string;
  routingKey: string;
  redelivered: boolean;
  messageCount: number;
  properties: RawProperties;
  body: Buffer;
}

/** basic.get (no-ack) on an open raw channel; null on get-empty. */
export async function rawGet(c: RawClient, channel: number, queue: string): Promise<RawGot | null> {
  c.sendMethod(channel, 60, 70, raw.basicGet(queue, true));
  const f = await c.nextNonHeartbeat();
  if (f.type === FRAME_METHOD && f.classId === 60 && f.methodId === 72) return null;
  if (f.type !== FRAME_METHOD || f.classId !== 60 || f.methodId !== 71) {
    const close = f.classId === 20 && f.methodId === 40 ? ` ${JSON.stringify(parseClose(f))}` : '';
    throw new Error(`expected basic.get-ok, got frame ${f.type} ${f.classId}/${f.methodId}${close}`);
  }
  const r = new Reader(f.payload, 4);
  r.u64(); // delivery tag
  const redelivered = r.u8() !== 0;
  const exchange = r.shortstr();
  const routingKey = r.shortstr();
  const messageCount = r.u32();
  const h = await c.nextNonHeartbeat();
  if (h.type !== FRAME_HEADER) throw new Error(`expected content header, got frame type ${h.type}`);
  const size = Number(h.payload.readBigUInt64BE(4));
  const chunks: Buffer[] = [];
  let got = 0;
  while (got < size) {
    const b = await c.nextNonHeartbeat();
    if (b.type !== FRAME_BODY) throw new Error(`expected body frame, got frame type ${b.type}`);
    chunks.push(b.payload);
    got += b.payload.length;
  }
  return { exchange, routingKey, redelivered, messageCount, properties: decodeProperties(h.payload), body: Buffer.concat(chunks) };
}

/** queue.declare on an open raw channel: 'ok' with counts, or the channel.close it caused (answered). */
export async function rawDeclare(
  c: RawClient,
  channel: number,
  name: string,
  flags: { passive?: boolean; durable?: boolean; exclusive?: boolean; autoDelete?: boolean },
  args: Record<string, FieldValue>,
): Promise<{ ok: true; queue: string; messageCount: number; consumerCount: number } | { ok: false; code: number; text: string; classId: number; methodId: number }> {
  c.sendMethod(channel, 50, 10, raw.queueDeclare(name, flags, args));
  const f = await c.nextNonHeartbeat();
  if (f.type === FRAME_METHOD && f.classId === 50 && f.methodId === 11) {
    const r = new Reader(f.payload, 4);
    return { ok: true, queue: r.shortstr(), messageCount: r.u32(), consumerCount: r.u32() };
  }
  if (f.type === FRAME_METHOD && f.classId === 20 && f.methodId === 40) {
    c.sendMethod(channel, 20, 41);
    return { ok: false, ...parseClose(f) };
  }
  throw new Error(`unexpected frame ${f.type} ${f.classId}/${f.methodId} after queue.declare`);
}

export function rawQueueDelete(c: RawClient, channel: number, name: string): Promise<unknown> {
  c.sendMethod(channel, 50, 40, Buffer.concat([enc.u16(0), enc.shortstr(name), enc.bits(false, false, false)]));
  return c.expectMethod(channel, 50, 41);
}

/** Field values with an explicit wire type, for argument tables sent through RawClient. */
export const typed = {
  byte: (n: number): FieldValue => ({ $type: 'b', raw: Buffer.from([n & 0xff]) }),
  ubyte: (n: number): FieldValue => ({ $type: 'B', raw: Buffer.from([n]) }),
  short: (n: number): FieldValue => {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    return { $type: 's', raw: b };
  },
  ushort: (n: number): FieldValue => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return { $type: 'u', raw: b };
  },
  int: (n: number): FieldValue => n,
  uint: (n: number): FieldValue => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return { $type: 'i', raw: b };
  },
  long: (n: number | bigint): FieldValue => BigInt(n),
  float: (n: number): FieldValue => {
    const b = Buffer.alloc(4);
    b.writeFloatBE(n);
    return { $type: 'f', raw: b };
  },
  double: (n: number): FieldValue => {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(n);
    return { $type: 'd', raw: b };
  },
  decimal: (scale: number, n: number): FieldValue => {
    const b = Buffer.alloc(5);
    b.writeUInt8(scale);
    b.writeInt32BE(n, 1);
    return { $type: 'D', raw: b };
  },
  timestamp: (n: number): FieldValue => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return { $type: 'T', raw: b };
  },
  str: (s: string): FieldValue => s,
  binary: (s: string): FieldValue => Buffer.from(s),
  bool: (v: boolean): FieldValue => v,
  table: (): FieldValue => ({}),
  array: (): FieldValue => [],
  void: (): FieldValue => null,
};

/** One wrong-typed value per AMQP type tag, with the type name RabbitMQ prints for it. */
export const WRONG_TYPES: Array<[string, FieldValue]> = [
  ['longstr', typed.str('5')],
  ['bool', typed.bool(true)],
  ['double', typed.double(1.5)],
  ['float', typed.float(1.5)],
  ['decimal', typed.decimal(1, 15)],
  ['timestamp', typed.timestamp(1)],
  ['binary', typed.binary('ab')],
  ['table', typed.table()],
  ['array', typed.array()],
  ['void', typed.void()],
];

/** Every integer type tag RabbitMQ accepts for integer arguments, all holding 5. */
export const INTEGER_TYPES: Array<[string, FieldValue]> = [
  ['byte', typed.byte(5)],
  ['unsignedbyte', typed.ubyte(5)],
  ['short', typed.short(5)],
  ['unsignedshort', typed.ushort(5)],
  ['signedint', typed.int(5)],
  ['unsignedint', typed.uint(5)],
  ['long', typed.long(5)],
];

/** RabbitMQ's upper bound for TTLs and expiry timers: ten years in ms. */
export const MAX_EXPIRY_MS = 315_360_000_000;

/**
 * The shape (key order and type tags) of one x-death entry as RabbitMQ 3.10 writes it.
 * `originalExpiration`: the dead-lettered message had an expiration property. `sorted`: RabbitMQ
 * writes the entry of a message's very first death in this order (count, reason, queue, time,
 * exchange, routing-keys[, original-expiration]), but every entry it adds or updates while the
 * message already carries x-death is sorted by key.
 */
export function xDeathEntryShape(routingKeys: number, originalExpiration = false, sorted = false): unknown {
  const entries: Array<[string, unknown]> = [
    ['count', 'l'],
    ['reason', 'S'],
    ['queue', 'S'],
    ['time', 'T'],
    ['exchange', 'S'],
    ['routing-keys', Array.from({ length: routingKeys }, () => 'S')],
    ...(originalExpiration ? ([['original-expiration', 'S']] as Array<[string, unknown]>) : []),
  ];
  if (sorted) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries;
}
