// A published message, shared by every queue it was routed to. The content header is kept as
// the bytes the publisher sent and resent verbatim to consumers; properties are decoded only
// when something needs them (routing on headers, persistence, expiry), and then once.

import { BufferReader } from './codec/buffer-reader.js';
import type { FieldTable, FieldValue } from './codec/field-table.js';
import { BufferWriter } from './codec/buffer-writer.js';
import type { WriteWaiter } from './codec/frame-writer.js';
import { giveBody, type BodyLease } from './util/body-pool.js';
import {
  BASIC_PROPERTY_FLAGS,
  CLASS_IDS,
  decodeBasicProperties,
  encodeBasicProperties,
  skipBasicProperties,
  type BasicProperties,
} from './codec/methods.generated.js';

/** Offset of the property flags in a content header payload (class, weight, body size). */
const FLAGS_OFFSET = 12;
const checkReader = new BufferReader(Buffer.alloc(0));
const EMPTY_BODY = Buffer.alloc(0);

export class Message {
  readonly exchange: string;
  readonly routingKey: string;
  /** Content header frame payload as received: class id, weight, body size, flags, properties. */
  header: Buffer;
  /** Header and body change only in detach(), to copies of the same bytes. */
  body: Buffer;
  /** Store id once written to disk; 0 while only in memory. */
  storeId = 0;
  /** Durable queues holding this message in the store (maintained by the store). */
  storeRefs = 0;
  /** Per-message TTL from the expiration property, ms (-1: none); set when published. */
  ttl = -1;
  /** Routing keys from the CC and BCC headers, routed besides routingKey (null: none). */
  ccKeys: readonly string[] | null = null;
  /**
   * The body's pooled buffer and its holders, while every holder is known (see publish.ts
   * route); null when the body is not pooled, or went somewhere that cannot say when it is done.
   */
  pool: BodyLease | null = null;
  #properties: BasicProperties | undefined;

  constructor(exchange: string, routingKey: string, header: Buffer, body: Buffer) {
    this.exchange = exchange;
    this.routingKey = routingKey;
    this.header = header;
    this.body = body;
  }

  static fromProperties(exchange: string, routingKey: string, properties: BasicProperties, body: Buffer): Message {
    const w = new BufferWriter(64);
    w.u16(CLASS_IDS.basic);
    w.u16(0);
    w.u64(body.length);
    encodeBasicProperties(w, properties);
    const m = new Message(exchange, routingKey, w.toBuffer(), body);
    m.#properties = properties;
    return m;
  }

  /**
   * A published message's header and body are views of the socket read chunk they came in (up
   * to 64 KiB, shared with the frames around them); kept in a queue, a 16-byte message would
   * keep the whole chunk alive. Queues call this when they keep a message: a part whose buffer
   * is more than twice its size is copied into a buffer of its own, exactly sized (Node's
   * 8 KiB pool would pin a pool slab the same way). See docs/architecture.md for the figures.
   */
  detach(): void {
    const header = this.header;
    const body = this.body;
    const copyHeader = header.buffer.byteLength > 2 * header.length;
    const copyBody = body.buffer.byteLength > 2 * body.length;
    if (!copyHeader && !copyBody) return;
    const h = copyHeader ? header.length : 0;
    const own = Buffer.allocUnsafeSlow(h + (copyBody ? body.length : 0));
    if (copyHeader) this.header = own.subarray(0, header.copy(own, 0));
    if (copyBody) this.body = own.subarray(h, h + body.copy(own, h));
  }

  /**
   * One holder of a pooled body is done with it (the output path calls this once the socket
   * took the bytes: FrameWriter.afterWrite). The last gives the buffer back; this message then
   * has an empty body, so a stray reader sees nothing rather than another message's bytes.
   */
  written(): void {
    const p = this.pool;
    if (p === null || --p.holds > 0) return;
    this.pool = null;
    this.body = EMPTY_BODY;
    giveBody(p.buf);
  }

  /**
   * One more holder of a pooled body until `writer`'s socket has written what is queued there
   * now: a delivery requeued (or settled) may still sit in that socket's queue while another
   * consumer takes and acks the message.
   */
  holdUntilWritten(writer: { afterWrite(w: WriteWaiter): void }): void {
    if (this.pool === null) return;
    this.pool.holds++;
    writer.afterWrite(this);
  }

  /**
   * Throws CodecError when the property list does not decode (checked once, at publish, as
   * RabbitMQ decodes it there). Tables are walked, not built: the header stays the bytes the
   * publisher sent, and is decoded only when a value is needed. Returns whether the headers have
   * a top-level CC or BCC key, which routing must read.
   */
  checkProperties(): boolean {
    const r = checkReader;
    r.reset(this.header, FLAGS_OFFSET, this.header.length);
    skipBasicProperties(r);
    const flags = this.propertyFlags;
    if ((flags & BASIC_PROPERTY_FLAGS.headers) === 0) return false;
    let p = this.#offsetOf(BASIC_PROPERTY_FLAGS.headers);
    if (p < 0) {
      const headers = this.properties.headers;
      return headers !== undefined && (headers.has('CC') || headers.has('BCC'));
    }
    // The walk above proved the lengths.
    const h = this.header;
    const end = p + 4 + h.readUInt32BE(p);
    p += 4;
    while (p < end) {
      const n = h[p]!;
      // 'CC' or 'BCC'
      if ((n === 2 && h[p + 1] === 0x43 && h[p + 2] === 0x43) || (n === 3 && h[p + 1] === 0x42 && h[p + 2] === 0x43 && h[p + 3] === 0x43)) {
        return true;
      }
      r.reset(h, p + 1 + n, end);
      r.skipFieldValue();
      p = r.pos;
    }
    return false;
  }

  /**
   * A top-level header's value when it is a long string, found by walking the headers where
   * they sit (nothing else is decoded; routing on one header stays cheap); undefined otherwise.
   */
  stringHeader(name: string): string | undefined {
    if ((this.propertyFlags & BASIC_PROPERTY_FLAGS.headers) === 0) return undefined;
    let p = this.#offsetOf(BASIC_PROPERTY_FLAGS.headers);
    if (p < 0) {
      const v = this.properties.headers?.get(name);
      return v !== undefined && v.type === 'S' ? (typeof v.value === 'string' ? v.value : v.value.toString('utf8')) : undefined;
    }
    // checkProperties walked this table at publish: the lengths hold.
    const h = this.header;
    const end = p + 4 + h.readUInt32BE(p);
    p += 4;
    const r = checkReader;
    const nameLength = Buffer.byteLength(name);
    while (p < end) {
      const n = h[p]!;
      if (n === nameLength && h.toString('utf8', p + 1, p + 1 + n) === name) {
        if (h[p + 1 + n] !== 0x53) return undefined; // 'S'
        const at = p + 2 + n;
        return h.toString('utf8', at + 4, at + 4 + h.readUInt32BE(at));
      }
      r.reset(h, p + 1 + n, end);
      r.skipFieldValue();
      p = r.pos;
    }
    return undefined;
  }

  get propertyFlags(): number {
    const h = this.header;
    // Two byte reads: cheaper than readUInt16BE on this path, taken several times per message.
    return h.length >= FLAGS_OFFSET + 2 ? (h[FLAGS_OFFSET]! << 8) | h[FLAGS_OFFSET + 1]! : 0;
  }

  hasProperty(flag: number): boolean {
    return (this.propertyFlags & flag) !== 0;
  }

  get properties(): BasicProperties {
    if (this.#properties === undefined) {
      this.#properties = decodeBasicProperties(new BufferReader(this.header, FLAGS_OFFSET));
    }
    return this.#properties;
  }

  /**
   * Where the value of property `flag` starts in the header, found by stepping over the ones
   * before it (the layout was checked at publish), so that reading one property decodes no
   * other; -1 when the properties are decoded already or the list has continuation words.
   */
  #offsetOf(flag: number): number {
    const flags = this.propertyFlags;
    if (this.#properties !== undefined || (flags & 1) !== 0) return -1;
    const h = this.header;
    let p = FLAGS_OFFSET + 2;
    for (let bit = 0x8000; bit > flag; bit >>>= 1) {
      if ((flags & bit) === 0) continue;
      if (bit === BASIC_PROPERTY_FLAGS.headers) p += 4 + h.readUInt32BE(p);
      else if (bit === BASIC_PROPERTY_FLAGS.deliveryMode || bit === BASIC_PROPERTY_FLAGS.priority) p += 1;
      else if (bit === BASIC_PROPERTY_FLAGS.timestamp) p += 8;
      else p += 1 + h[p]!;
    }
    return p;
  }

  /** A short-string property read where it sits; null: read it from `properties`. */
  #shortstr(flag: number): string | null {
    const p = this.#offsetOf(flag);
    return p < 0 ? null : this.header.toString('utf8', p + 1, p + 1 + this.header[p]!);
  }

  /** The priority property (0 when absent). */
  get priority(): number {
    if ((this.propertyFlags & BASIC_PROPERTY_FLAGS.priority) === 0) return 0;
    const p = this.#offsetOf(BASIC_PROPERTY_FLAGS.priority);
    return p < 0 ? (this.properties.priority ?? 0) : this.header[p]!;
  }

  /** The expiration property, without decoding the others (headers above all). */
  get expiration(): string | undefined {
    if ((this.propertyFlags & BASIC_PROPERTY_FLAGS.expiration) === 0) return undefined;
    return this.#shortstr(BASIC_PROPERTY_FLAGS.expiration) ?? this.properties.expiration;
  }

  /** The user-id property, without decoding the others. */
  get userId(): string | undefined {
    if ((this.propertyFlags & BASIC_PROPERTY_FLAGS.userId) === 0) return undefined;
    return this.#shortstr(BASIC_PROPERTY_FLAGS.userId) ?? this.properties.userId;
  }

  /** A copy with other properties (same body; routing fields may change too). */
  withProperties(properties: BasicProperties, exchange = this.exchange, routingKey = this.routingKey): Message {
    const m = Message.fromProperties(exchange, routingKey, properties, this.body);
    m.ttl = this.ttl;
    m.ccKeys = this.ccKeys;
    return m;
  }

  /** A copy with one header set (e.g. x-delivery-count); store identity is kept. */
  withHeader(key: string, value: FieldValue): Message {
    const props = this.properties;
    const headers: FieldTable = new Map(props.headers ?? []);
    headers.set(key, value);
    const m = this.withProperties({ ...props, headers });
    m.storeId = this.storeId;
    return m;
  }

  /** delivery_mode 2: written to disk when routed to a durable queue. */
  get persistent(): boolean {
    if ((this.propertyFlags & BASIC_PROPERTY_FLAGS.deliveryMode) === 0) return false;
    const p = this.#offsetOf(BASIC_PROPERTY_FLAGS.deliveryMode);
    return p < 0 ? this.properties.deliveryMode === 2 : this.header[p] === 2;
  }

  /** Bytes this message accounts for (body plus header), for memory limits and stats. */
  get size(): number {
    return this.body.length + this.header.length;
  }
}
