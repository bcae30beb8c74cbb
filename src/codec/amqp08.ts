// AMQP 0-8 as RabbitMQ serves it (protocol headers "AMQP 1 1 8 0" and "AMQP 1 1 9 1"): the same
// frames as 0-9-1 and, for the methods both define, mostly the same encodings. The differences
// are translated here, at the edge, so everything past it speaks 0-9-1. Source: RabbitMQ's
// rabbitmq_codegen amqp-rabbitmq-0.8.json (connection.close is 10/60 there, channel.open-ok has
// no arguments, basic.consume no arguments table; exchange.bind, basic.nack, confirm and
// connection.blocked/update-secret do not exist).

import { BufferWriter } from './buffer-writer.js';
import { CodecError } from './codec-error.js';
import {
  CHANNEL_OPEN_OK,
  CONNECTION_CLOSE,
  CONNECTION_CLOSE_OK,
  FRAME_END,
  FRAME_METHOD,
  type Method,
} from './methods.generated.js';

const id = (classId: number, methodId: number): number => ((classId << 16) | methodId) >>> 0;

/** 0-8 ids whose 0-9-1 meaning differs: the 0-9-1 id to decode them as. */
const RENAMED = new Map<number, number>([
  [id(10, 60), CONNECTION_CLOSE],
  [id(10, 61), CONNECTION_CLOSE_OK],
]);

/** Ids a 0-9-1 decoder knows but 0-8 does not define (or only server to client). */
const NOT_IN_08 = new Set<number>([
  id(10, 50), id(10, 51), id(10, 70), id(10, 71), // redirect (server only); update-secret
  id(20, 30), // channel.alert (server only)
  id(40, 30), id(40, 31), id(40, 40), id(40, 51), // exchange.bind / unbind
  id(60, 120), // basic.nack
  id(85, 10), id(85, 11), // confirm
]);

const BASIC_CONSUME = id(60, 20);
const EMPTY_TABLE = Buffer.alloc(4);

/** A 0-8 method frame payload in its 0-9-1 form (the same buffer when nothing differs). */
export function methodPayloadFrom08(payload: Buffer): Buffer {
  if (payload.length < 4) return payload;
  const m = payload.readUInt32BE(0);
  if (NOT_IN_08.has(m)) throw new CodecError('UNKNOWN_METHOD', `unknown method id ${m >>> 16}/${m & 0xffff} in AMQP 0-8`);
  if (m === BASIC_CONSUME) return Buffer.concat([payload, EMPTY_TABLE]);
  const renamed = RENAMED.get(m);
  if (renamed === undefined) return payload;
  const copy = Buffer.from(payload);
  copy.writeUInt32BE(renamed, 0);
  return copy;
}

/** The whole 0-8 frame for a method the server sends whose encoding differs from 0-9-1; null if it does not differ. */
export function methodFrameTo08(channel: number, m: Method): Buffer | null {
  if (m.id !== CONNECTION_CLOSE && m.id !== CONNECTION_CLOSE_OK && m.id !== CHANNEL_OPEN_OK) return null;
  const w = new BufferWriter(64);
  w.u8(FRAME_METHOD);
  w.u16(channel);
  w.u32(0); // size, patched below
  if (m.id === CONNECTION_CLOSE) {
    w.u16(10);
    w.u16(60);
    w.u16(m.replyCode);
    w.shortstr(m.replyText);
    w.u16(m.classId);
    w.u16(m.methodId);
  } else {
    w.u16(m.id === CHANNEL_OPEN_OK ? 20 : 10);
    w.u16(m.id === CHANNEL_OPEN_OK ? 11 : 61);
  }
  w.u8(FRAME_END);
  const frame = w.toBuffer();
  frame.writeUInt32BE(frame.length - 8, 3);
  return frame;
}
