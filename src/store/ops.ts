// The store's queued writes (Op) and how each is encoded into a batch for the writer thread
// (batch.ts has the op codes, worker.ts applies them). Also the entry and scheduled-message
// states the encoder flips as ops go out: an op whose entry was cancelled meanwhile is skipped.

import { BufferReader } from '../codec/buffer-reader.js';
import { BufferWriter } from '../codec/buffer-writer.js';
import type { FieldTable } from '../codec/field-table.js';
import type { Message } from '../message.js';
import { bindingRecordKey } from './memory-store.js';
import {
  ENTRY_COMMITTED,
  ENTRY_ON_DISK,
  type BindingRecord,
  type ExchangeRecord,
  type LimitsRecord,
  type ReaderOffsetRecord,
  type PermissionRecord,
  type PolicyKind,
  type PolicyRecord,
  type QueueRecord,
  type ScheduledMessage,
  type StoreEntry,
  type StreamChunkWrite,
  type UserRecord,
  type VhostRecord,
} from './store.js';
import {
  BatchWriter,
  OP_BINDING_DEL,
  OP_BINDING_PUT,
  OP_DELAYED_DEL,
  OP_DELAYED_DROP,
  OP_DELAYED_PUT,
  OP_ENTRY_DEL,
  OP_ENTRY_MARK,
  OP_ENTRY_PUT,
  OP_EXCHANGE_DEL,
  OP_EXCHANGE_PUT,
  OP_MESSAGE_PUT,
  OP_QUEUE_DEL,
  OP_QUEUE_PUT,
  OP_PERMISSION_DEL,
  OP_PERMISSION_PUT,
  OP_LIMITS_PUT,
  OP_POLICY_PUT,
  OP_READER_DEL,
  OP_READER_PUT,
  OP_STREAM_CHUNK,
  OP_STREAM_TRIM,
  OP_USER_DEL,
  OP_USER_PUT,
  OP_VHOST_DEL,
  OP_VHOST_PUT,
} from './batch.js';

// Entry states (StoreEntry.storeState), low bits; flags above them.
export const PENDING_INSERT = 1;
export const ON_DISK = ENTRY_ON_DISK; // insert sent to the writer (committed or about to be)
export const FAILED = 3; // insert could not be written: the message lives only in memory
export const STATE_MASK = 7;
export const MARK_QUEUED = 8; // a delivered-mark op is queued
export const DELIVERED_EARLY = 16; // delivered before its insert went out: insert it as delivered
export const MARKED = 32; // the delivered mark is on disk (later marks only to record a new delivery count)
export const COMMITTED = ENTRY_COMMITTED; // the insert is committed

// States of a scheduled message's insert (Scheduled.state).
export const SCHED_PENDING = 0; // queued, not sent: a remove cancels it
export const SCHED_SENT = 1; // sent to the writer (committed or about to be)
export const SCHED_CANCELLED = 2; // removed before it went out: never written

/** A message scheduled by a delayed exchange whose insert is not known to be durable. */
export interface Scheduled extends ScheduledMessage {
  readonly vhost: string;
  readonly exchange: string;
  state: number;
}

/** A queued write. Entry and message ops keep references so they can be cancelled or skipped. */
export type Op =
  | { readonly k: typeof OP_MESSAGE_PUT; readonly m: Message }
  | { readonly k: typeof OP_ENTRY_PUT; readonly q: number; readonly e: StoreEntry }
  | { readonly k: typeof OP_ENTRY_DEL; readonly q: number; readonly seq: number; readonly id: number; readonly multi: boolean }
  | { readonly k: typeof OP_ENTRY_MARK; readonly q: number; readonly e: StoreEntry }
  | { readonly k: typeof OP_EXCHANGE_PUT; readonly r: ExchangeRecord }
  | { readonly k: typeof OP_EXCHANGE_DEL; readonly vhost: string; readonly name: string }
  | { readonly k: typeof OP_QUEUE_PUT; readonly id: number; readonly r: QueueRecord }
  | { readonly k: typeof OP_QUEUE_DEL; readonly id: number; readonly vhost: string; readonly name: string }
  | { readonly k: typeof OP_BINDING_PUT; readonly r: BindingRecord }
  | { readonly k: typeof OP_BINDING_DEL; readonly key: string }
  | { readonly k: typeof OP_USER_PUT; readonly r: UserRecord }
  | { readonly k: typeof OP_USER_DEL; readonly name: string }
  | { readonly k: typeof OP_VHOST_PUT; readonly r: VhostRecord }
  | { readonly k: typeof OP_VHOST_DEL; readonly name: string }
  | { readonly k: typeof OP_PERMISSION_PUT; readonly r: PermissionRecord }
  | { readonly k: typeof OP_PERMISSION_DEL; readonly user: string; readonly vhost: string }
  | { readonly k: typeof OP_LIMITS_PUT; readonly r: LimitsRecord }
  | { readonly k: typeof OP_POLICY_PUT; readonly kind: PolicyKind; readonly vhost: string; readonly name: string; readonly r: PolicyRecord | null }
  | { readonly k: typeof OP_READER_PUT; readonly r: ReaderOffsetRecord }
  | { readonly k: typeof OP_READER_DEL; readonly vhost: string; readonly stream: string; readonly reader: string }
  | { readonly k: typeof OP_STREAM_CHUNK; readonly q: number; readonly w: StreamChunkWrite }
  | { readonly k: typeof OP_STREAM_TRIM; readonly q: number; readonly below: number }
  | { readonly k: typeof OP_DELAYED_PUT; readonly s: Scheduled }
  | { readonly k: typeof OP_DELAYED_DEL; readonly id: number }
  | { readonly k: typeof OP_DELAYED_DROP; readonly vhost: string; readonly exchange: string; readonly below: number };

export type DelayedOp = Extract<Op, { readonly k: typeof OP_DELAYED_PUT | typeof OP_DELAYED_DEL | typeof OP_DELAYED_DROP }>;

export function decodeTable(b: Buffer): FieldTable {
  const framed = Buffer.allocUnsafe(b.length + 4);
  framed.writeUInt32BE(b.length, 0);
  b.copy(framed, 4);
  return new BufferReader(framed).table();
}

export const tableWriter = new BufferWriter(256);
export function encodeTable(t: FieldTable): Buffer {
  tableWriter.reset();
  tableWriter.table(t);
  return tableWriter.toBuffer(4);
}

/** Appends a scheduled-message op; false when it was cancelled in the meantime. */
export function encodeDelayedOp(w: BatchWriter, op: DelayedOp): boolean {
  switch (op.k) {
    case OP_DELAYED_PUT: {
      const s = op.s;
      if (s.state !== SCHED_PENDING) return false;
      s.state = SCHED_SENT;
      const m = s.message;
      w.u8(OP_DELAYED_PUT);
      w.u64(s.id);
      w.longstr(s.vhost);
      w.longstr(s.exchange);
      w.u64(s.dueAt);
      // The `message` column (schema.ts), as one longstr.
      w.u32(0);
      const start = w.pos;
      w.longstr(m.exchange);
      w.longstr(m.routingKey);
      w.longstr(m.ccKeys === null ? '' : JSON.stringify(m.ccKeys));
      w.u64(Math.max(0, m.ttl + 1));
      w.longstr(m.header);
      w.bytes(m.body);
      w.buf.writeUInt32BE(w.pos - start, start - 4);
      return true;
    }
    case OP_DELAYED_DEL:
      w.u8(OP_DELAYED_DEL);
      w.u64(op.id);
      return true;
    case OP_DELAYED_DROP:
      w.u8(OP_DELAYED_DROP);
      w.longstr(op.vhost);
      w.longstr(op.exchange);
      w.u64(op.below);
      return true;
  }
}

/** Appends one op; entry/message ops that were cancelled in the meantime are skipped. */
export function encodeOp(w: BatchWriter, op: Op, messages: Map<number, Message>): void {
  switch (op.k) {
    case OP_MESSAGE_PUT: {
      // The SQLite writer stores a message with one reference and the entry encoded right after
      // it as one row (schema 5), so the four fields stay together and in this order.
      const m = op.m;
      if (m.storeRefs <= 0) return;
      messages.set(m.storeId, m);
      w.u8(OP_MESSAGE_PUT);
      w.u64(m.storeId);
      w.u32(m.storeRefs);
      w.longstr(m.exchange);
      w.longstr(m.routingKey);
      w.longstr(m.header);
      w.longstr(m.body);
      return;
    }
    case OP_ENTRY_PUT: {
      const e = op.e;
      if ((e.storeState & STATE_MASK) !== PENDING_INSERT) return;
      const m = messages.get(e.storeId);
      e.storeMulti = m !== undefined && m.storeRefs > 1;
      w.u8(OP_ENTRY_PUT);
      w.u32(op.q);
      w.u64(e.seq);
      w.u64(e.storeId);
      w.u8((e.storeState & DELIVERED_EARLY) !== 0 ? 1 : 0);
      w.u32(e.size);
      w.u8(e.storeMulti ? 1 : 0);
      w.u8(e.priority);
      w.u64(e.expiresAt);
      w.u32(e.deliveryCount);
      e.storeState = ON_DISK;
      return;
    }
    case OP_ENTRY_DEL:
      w.u8(OP_ENTRY_DEL);
      w.u32(op.q);
      w.u64(op.seq);
      w.u64(op.id);
      w.u8(op.multi ? 1 : 0);
      return;
    case OP_ENTRY_MARK: {
      const e = op.e;
      if ((e.storeState & MARK_QUEUED) === 0 || (e.storeState & STATE_MASK) !== ON_DISK) return;
      e.storeState = (e.storeState & ~MARK_QUEUED) | MARKED;
      w.u8(OP_ENTRY_MARK);
      w.u32(op.q);
      w.u64(e.seq);
      w.u32(e.deliveryCount);
      return;
    }
    case OP_EXCHANGE_PUT:
      w.u8(OP_EXCHANGE_PUT);
      w.longstr(op.r.vhost);
      w.longstr(op.r.name);
      w.longstr(op.r.type);
      w.u8(op.r.autoDelete ? 1 : 0);
      w.u8(op.r.internal ? 1 : 0);
      w.longstr(encodeTable(op.r.arguments));
      return;
    case OP_EXCHANGE_DEL:
      w.u8(OP_EXCHANGE_DEL);
      w.longstr(op.vhost);
      w.longstr(op.name);
      return;
    case OP_QUEUE_PUT:
      w.u8(OP_QUEUE_PUT);
      w.u32(op.id);
      w.longstr(op.r.vhost);
      w.longstr(op.r.name);
      w.u8(op.r.autoDelete ? 1 : 0);
      w.longstr(encodeTable(op.r.arguments));
      return;
    case OP_QUEUE_DEL:
      w.u8(OP_QUEUE_DEL);
      w.u32(op.id);
      w.longstr(op.vhost);
      w.longstr(op.name);
      return;
    case OP_BINDING_PUT:
      w.u8(OP_BINDING_PUT);
      w.longstr(bindingRecordKey(op.r));
      w.longstr(op.r.vhost);
      w.longstr(op.r.source);
      w.longstr(op.r.destination);
      w.longstr(op.r.destinationKind);
      w.longstr(op.r.routingKey);
      w.longstr(encodeTable(op.r.arguments));
      return;
    case OP_BINDING_DEL:
      w.u8(OP_BINDING_DEL);
      w.longstr(op.key);
      return;
    case OP_USER_PUT:
      w.u8(OP_USER_PUT);
      w.longstr(op.r.name);
      w.longstr(op.r.passwordHash);
      w.longstr(op.r.hashingAlgorithm);
      w.longstr(JSON.stringify(op.r.tags));
      return;
    case OP_USER_DEL:
      w.u8(OP_USER_DEL);
      w.longstr(op.name);
      return;
    case OP_VHOST_PUT:
      w.u8(OP_VHOST_PUT);
      w.longstr(op.r.name);
      w.longstr(op.r.description);
      w.longstr(JSON.stringify(op.r.tags));
      return;
    case OP_VHOST_DEL:
      w.u8(OP_VHOST_DEL);
      w.longstr(op.name);
      return;
    case OP_PERMISSION_PUT:
      w.u8(OP_PERMISSION_PUT);
      w.longstr(op.r.user);
      w.longstr(op.r.vhost);
      w.longstr(op.r.configure);
      w.longstr(op.r.write);
      w.longstr(op.r.read);
      return;
    case OP_PERMISSION_DEL:
      w.u8(OP_PERMISSION_DEL);
      w.longstr(op.user);
      w.longstr(op.vhost);
      return;
    case OP_LIMITS_PUT:
      w.u8(OP_LIMITS_PUT);
      w.longstr(op.r.scope);
      w.longstr(op.r.name);
      w.longstr(JSON.stringify(op.r.limits));
      return;
    case OP_POLICY_PUT:
      w.u8(OP_POLICY_PUT);
      w.longstr(op.kind);
      w.longstr(op.vhost);
      w.longstr(op.name);
      w.longstr(op.r === null ? '' : JSON.stringify({ pattern: op.r.pattern, 'apply-to': op.r.applyTo, priority: op.r.priority, definition: op.r.definition }));
      return;
    case OP_READER_PUT:
      w.u8(OP_READER_PUT);
      w.longstr(op.r.vhost);
      w.longstr(op.r.stream);
      w.longstr(op.r.reader);
      w.u64(op.r.offset);
      return;
    case OP_READER_DEL:
      w.u8(OP_READER_DEL);
      w.longstr(op.vhost);
      w.longstr(op.stream);
      w.longstr(op.reader);
      return;
    case OP_STREAM_CHUNK: {
      // Sealed now: what the log appends from here on goes to its next chunk.
      const c = op.w.seal();
      if (c === null) return;
      w.u8(OP_STREAM_CHUNK);
      w.u32(op.q);
      w.u64(c.pos);
      w.u64(c.segment);
      w.u64(c.firstOffset);
      w.u64(c.lastOffset);
      w.u64(c.firstTs);
      w.u64(c.lastTs);
      w.longstr(c.records);
      return;
    }
    case OP_STREAM_TRIM:
      w.u8(OP_STREAM_TRIM);
      w.u32(op.q);
      w.u64(op.below);
      return;
  }
}

/** A queued insert with nothing left to write: its entry (or every entry of its message) was removed. */
export function cancelled(op: Op): boolean {
  if (op.k === OP_ENTRY_PUT) return (op.e.storeState & STATE_MASK) !== PENDING_INSERT;
  if (op.k === OP_MESSAGE_PUT) return op.m.storeRefs <= 0;
  return false;
}
