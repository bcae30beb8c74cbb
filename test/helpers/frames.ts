// Frame payloads and whole frames built with the codec, for tests that feed the broker bytes:
// method payloads, content headers, and complete frames ready for a socket.

import { BufferWriter } from '../../src/codec/buffer-writer.js';
import {
  CLASS_IDS,
  encodeBasicProperties,
  encodeMethod,
  FRAME_END,
  type BasicProperties,
  type Method,
} from '../../src/codec/methods.generated.js';

export function methodPayload(m: Method): Buffer {
  const w = new BufferWriter(64);
  encodeMethod(w, m);
  return w.toBuffer();
}

/** A content header payload: class, weight, body size (u64) and properties. */
export function headerPayload(bodySize: number, properties: BasicProperties = {}, classId: number = CLASS_IDS.basic): Buffer {
  const w = new BufferWriter(64);
  w.u16(classId);
  w.u16(0);
  w.u32(Math.floor(bodySize / 0x1_0000_0000));
  w.u32(bodySize >>> 0);
  encodeBasicProperties(w, properties);
  return w.toBuffer();
}

/** A complete frame: type, channel, size, payload, frame-end. */
export function frame(type: number, channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(7);
  head[0] = type;
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([FRAME_END])]);
}
