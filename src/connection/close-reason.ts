// What an error thrown while handling a connection's input means for it: a connection.close
// with RabbitMQ's reply code and text, or dropping the socket without one (where RabbitMQ's
// parser gives up). Anything unexpected is a bug in warren: 541 for that connection alone,
// logged with its stack.

import type { Logger } from 'pino';
import { CodecError } from '../codec/codec-error.js';
import { ChannelError, ConnectionError } from '../errors.js';

/** The connection.close to send for `e`, or null to drop the socket. */
export function closeReason(e: unknown, log: Logger): ConnectionError | null {
  if (e instanceof CodecError) {
    if (e.code === 'UNKNOWN_METHOD' || e.code === 'UNKNOWN_FIELD_TYPE') {
      log.warn({ reason: e.message }, 'undecodable frame from the client; closing the socket');
      return null;
    }
    return new ConnectionError('FRAME_ERROR', e.message, { classId: e.methodId >>> 16, methodId: e.methodId & 0xffff });
  }
  if (e instanceof ConnectionError) return e;
  // Only channel-0 handling can get here; a soft error there closes the connection.
  if (e instanceof ChannelError) return new ConnectionError(e.codeName, e.message.slice(e.codeName.length + 3));
  log.error({ err: e }, 'internal error while handling this connection; closing it with 541');
  return new ConnectionError('INTERNAL_ERROR', 'internal error in warren; see the broker log for details');
}
