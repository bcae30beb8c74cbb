// Decoding a whole method frame payload the way RabbitMQ judges it: too short for the class and
// method ids is an unknown frame; arguments that do not decode, or bytes left over after them,
// are "cannot decode <<...>>" (501, naming the method); unknown ids and unknown field types
// are left to the caller (RabbitMQ drops the socket for those). A table nested deeper than
// MAX_TABLE_DEPTH is warren's own 501, naming the method. A short string argument that is not
// UTF-8 is RabbitMQ's 501 "Malformed UTF-8 in shortstr", naming none (basic.publish excepted).

import { MALFORMED_SHORTSTR, type BufferReader } from './buffer-reader.js';
import { CodecError } from './codec-error.js';
import { erlangBinary, octetsSnippet } from './frame-reader.js';
import { BASIC_PUBLISH, decodeMethod, FRAME_METHOD, type Method } from './methods.generated.js';

export function decodeMethodFrame(reader: BufferReader, payload: Buffer): Method {
  if (payload.length < 4) throw new CodecError('FRAME_ERROR', `type ${FRAME_METHOD}, ${octetsSnippet(payload)}: unknown_frame`);
  reader.reset(payload, 0, payload.length);
  let m: Method;
  // RabbitMQ checks every short string argument except basic.publish's (decoded on a fast path).
  reader.strictUtf8 = payload.readUInt32BE(0) !== BASIC_PUBLISH;
  try {
    m = decodeMethod(reader);
  } catch (e) {
    if (e instanceof CodecError && e.code === 'SYNTAX_ERROR') throw cannotDecode(payload);
    // A table nested too deep: name the method it came in. (RabbitMQ names none for bad UTF-8.)
    if (e instanceof CodecError && e.code === 'FRAME_ERROR' && e.message !== MALFORMED_SHORTSTR) throw new CodecError('FRAME_ERROR', e.message, payload.readUInt32BE(0));
    throw e;
  } finally {
    reader.strictUtf8 = false;
  }
  if (reader.pos !== payload.length) throw cannotDecode(payload);
  return m;
}

function cannotDecode(payload: Buffer): CodecError {
  return new CodecError('FRAME_ERROR', `cannot decode ${erlangBinary(payload.subarray(4))}`, payload.readUInt32BE(0));
}
