// The bytes of one stream message in a segment, written once at append and read back as views
// (no copy) when delivered. The content header is stored with the `x-stream-offset` header
// already in it (spliced into the publisher's bytes, not decoded and re-encoded), so a reader
// sends stored bytes verbatim. Layout, big-endian:
//   u32 length of what follows | f64 offset | f64 timestamp (ms) | u8 n + exchange |
//   u8 n + routing key | u16 n + filter value (0xffff: none) | u32 n + content header | body
// Fixed overhead: 28 bytes, plus exchange, routing key, filter value and the 25-byte header entry.

import { F } from '../codec/field-table.js';
import { Message } from '../message.js';

export const RECORD_FIXED = 28;
export const NO_FILTER = 0xffff;
const OFFSET_KEY = Buffer.from('x-stream-offset');
const FILTER_KEY = Buffer.from('x-stream-filter-value');
/** The header entry: u8 15, 'x-stream-offset', 'l', i64. */
const OFFSET_ENTRY = 1 + 15 + 1 + 8;
const FLAGS = 12;
const FLAG_CONTENT_TYPE = 0x8000;
const FLAG_CONTENT_ENCODING = 0x4000;
const FLAG_HEADERS = 0x2000;

/** The filter value a publisher set (`x-stream-filter-value` header), or null. */
export function filterValueOf(msg: Message): string | null {
  // Decoding the properties costs; most messages do not carry the key at all.
  if (msg.header.indexOf(FILTER_KEY) < 0) return null;
  const v = msg.properties.headers?.get('x-stream-filter-value');
  if (v === undefined) return null;
  if (typeof v.value === 'string') return v.value;
  if (Buffer.isBuffer(v.value)) return v.value.toString('utf8');
  if (typeof v.value === 'number' || typeof v.value === 'bigint') return String(v.value);
  return null;
}

/** The content header to store: the publisher's, with x-stream-offset set to `offset`. */
function headerSize(msg: Message): number {
  const h = msg.header;
  if (spliceable(h)) return h.length + OFFSET_ENTRY + ((h[FLAGS]! << 8) & FLAG_HEADERS ? 0 : 4);
  return -1;
}

function spliceable(h: Buffer): boolean {
  // Continuation flag words, or a publisher that set the key itself: decode and re-encode instead.
  return h.length >= FLAGS + 2 && (h[FLAGS + 1]! & 1) === 0 && h.indexOf(OFFSET_KEY) < 0;
}

/** Where the headers table starts (its u32 length), or where it would be inserted. */
function headersAt(h: Buffer): number {
  const flags = (h[FLAGS]! << 8) | h[FLAGS + 1]!;
  let p = FLAGS + 2;
  if (flags & FLAG_CONTENT_TYPE) p += 1 + h[p]!;
  if (flags & FLAG_CONTENT_ENCODING) p += 1 + h[p]!;
  return p;
}

function writeOffsetEntry(out: Buffer, at: number, offset: number): number {
  out[at] = 15;
  OFFSET_KEY.copy(out, at + 1);
  out[at + 16] = 0x6c; // 'l'
  out.writeBigInt64BE(BigInt(offset), at + 17);
  return at + OFFSET_ENTRY;
}

/** Writes the publisher's header with x-stream-offset added; returns the end position. */
function writeHeader(h: Buffer, out: Buffer, at: number, offset: number): number {
  const flags = (h[FLAGS]! << 8) | h[FLAGS + 1]!;
  const p = headersAt(h);
  h.copy(out, at, 0, p);
  out[at + FLAGS] = (flags | FLAG_HEADERS) >>> 8;
  let w = at + p;
  if (flags & FLAG_HEADERS) {
    const len = h.readUInt32BE(p);
    out.writeUInt32BE(len + OFFSET_ENTRY, w);
    w = h.copy(out, w + 4, p + 4, p + 4 + len) + w + 4;
    w = writeOffsetEntry(out, w, offset);
    w += h.copy(out, w, p + 4 + len);
  } else {
    out.writeUInt32BE(OFFSET_ENTRY, w);
    w = writeOffsetEntry(out, w + 4, offset);
    w += h.copy(out, w, p);
  }
  return w;
}

export interface RecordInput {
  readonly msg: Message;
  readonly offset: number;
  readonly timestamp: number;
  readonly filter: string | null;
}

/**
 * The record's size, and a prepared header when the publisher's cannot be spliced (decoded
 * and re-encoded once, at append).
 */
export function recordSize(r: RecordInput): { size: number; header: Buffer | null } {
  const m = r.msg;
  let hs = headerSize(m);
  let header: Buffer | null = null;
  if (hs < 0) {
    header = m.withHeader('x-stream-offset', F.long(r.offset)).header;
    hs = header.length;
  }
  const size =
    RECORD_FIXED + Buffer.byteLength(m.exchange) + Buffer.byteLength(m.routingKey) + (r.filter === null ? 0 : Buffer.byteLength(r.filter)) + hs + m.body.length;
  return { size, header };
}

/** Encodes a record of `size` bytes (from recordSize) into `out` at `at`. */
export function writeRecord(r: RecordInput, size: number, header: Buffer | null, out: Buffer, at: number): void {
  const m = r.msg;
  out.writeUInt32BE(size - 4, at);
  out.writeDoubleBE(r.offset, at + 4);
  out.writeDoubleBE(r.timestamp, at + 12);
  let w = at + 20;
  const ex = out.write(m.exchange, w + 1);
  out[w] = ex;
  w += 1 + ex;
  const rk = out.write(m.routingKey, w + 1);
  out[w] = rk;
  w += 1 + rk;
  if (r.filter === null) {
    out.writeUInt16BE(NO_FILTER, w);
    w += 2;
  } else {
    const n = out.write(r.filter, w + 2);
    out.writeUInt16BE(n, w);
    w += 2 + n;
  }
  const hAt = w + 4;
  const hEnd = header !== null ? hAt + header.copy(out, hAt) : writeHeader(m.header, out, hAt, r.offset);
  out.writeUInt32BE(hEnd - hAt, w);
  m.body.copy(out, hEnd);
}

/** A record read back: views into the buffer it was read from. */
export interface ReadRecord {
  offset: number;
  timestamp: number;
  filter: string | null;
  /** Total bytes, length field included. */
  size: number;
}

/** Size of the record at `at` if all of it is in `buf` (else -1, or -2 when the length is invalid). */
export function recordAt(buf: Buffer, at: number, end: number): number {
  if (end - at < 4) return -1;
  const len = buf.readUInt32BE(at);
  if (len < RECORD_FIXED - 4) return -2;
  return end - at < len + 4 ? -1 : len + 4;
}

export function recordOffset(buf: Buffer, at: number): number {
  return buf.readDoubleBE(at + 4);
}

export function recordTimestamp(buf: Buffer, at: number): number {
  return buf.readDoubleBE(at + 12);
}

/** The filter value of the record at `at` (null: none). */
export function recordFilter(buf: Buffer, at: number): string | null {
  let p = at + 20;
  p += 1 + buf[p]!;
  p += 1 + buf[p]!;
  const n = buf.readUInt16BE(p);
  return n === NO_FILTER ? null : buf.toString('utf8', p + 2, p + 2 + n);
}

let lastExchangeBytes: Buffer | null = null;
let lastExchange = '';
let lastKeyBytes: Buffer | null = null;
let lastKey = '';

/** Whether buf[at, at + b.length) holds b's bytes; a loop, as names are short and a native compare costs more. */
function sameBytes(buf: Buffer, at: number, b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (buf[at + i] !== b[i]) return false;
  return true;
}

/** The record at `at` (of `size` bytes) as a Message whose header and body are views of `buf`. */
export function recordMessage(buf: Buffer, at: number, size: number): Message {
  let p = at + 20;
  const exLen = buf[p]!;
  // Most records of a stream came through the same exchange: reuse its string.
  let exchange: string;
  if (lastExchangeBytes !== null && lastExchangeBytes.length === exLen && sameBytes(buf, p + 1, lastExchangeBytes)) {
    exchange = lastExchange;
  } else {
    exchange = buf.toString('utf8', p + 1, p + 1 + exLen);
    lastExchangeBytes = Buffer.from(buf.subarray(p + 1, p + 1 + exLen));
    lastExchange = exchange;
  }
  p += 1 + exLen;
  const rkLen = buf[p]!;
  let routingKey: string;
  if (lastKeyBytes !== null && lastKeyBytes.length === rkLen && sameBytes(buf, p + 1, lastKeyBytes)) {
    routingKey = lastKey;
  } else {
    routingKey = buf.toString('utf8', p + 1, p + 1 + rkLen);
    lastKeyBytes = Buffer.from(buf.subarray(p + 1, p + 1 + rkLen));
    lastKey = routingKey;
  }
  p += 1 + rkLen;
  const fLen = buf.readUInt16BE(p);
  p += 2 + (fLen === NO_FILTER ? 0 : fLen);
  const hLen = buf.readUInt32BE(p);
  p += 4;
  return new Message(exchange, routingKey, buf.subarray(p, p + hLen), buf.subarray(p + hLen, at + size));
}
