// How a connection answers an error thrown while it handled input, following RabbitMQ: which
// mistakes drop the socket at once, which are met with silence before tune-ok, and which become
// connection.close with a reply code. The one place that maps errors to a connection's fate.

import { CodecError } from '../codec/codec-error.js';
import { AmqpError, ChannelError, ConnectionError } from '../errors.js';

export type ErrorOutcome =
  /** RabbitMQ's parser gives up (unknown method or field type): reset the socket at once. */
  | { readonly kind: 'reset'; readonly reason: string }
  /** A mistake before tune-ok: say nothing and drop the socket after a delay. */
  | { readonly kind: 'refuse'; readonly reason: string }
  /** connection.close with this error; `internal` marks a bug in warren (logged with its stack). */
  | { readonly kind: 'close'; readonly error: ConnectionError; readonly internal: boolean };

export function errorOutcome(e: unknown, beforeTuneOk: boolean): ErrorOutcome {
  if (e instanceof CodecError && (e.code === 'UNKNOWN_METHOD' || e.code === 'UNKNOWN_FIELD_TYPE')) {
    return { kind: 'reset', reason: e.message };
  }
  // warren's own nesting limit has no RabbitMQ behaviour to copy: it keeps its 501, even in the handshake.
  const ownLimit = e instanceof CodecError && e.message.startsWith('field table nested deeper');
  if (beforeTuneOk && !ownLimit && (e instanceof CodecError || e instanceof AmqpError)) return { kind: 'refuse', reason: e.message };
  if (e instanceof CodecError) {
    return { kind: 'close', error: new ConnectionError('FRAME_ERROR', e.message, { classId: e.methodId >>> 16, methodId: e.methodId & 0xffff }), internal: false };
  }
  if (e instanceof ConnectionError) return { kind: 'close', error: e, internal: false };
  if (e instanceof ChannelError) {
    // Only channel-0 handling can get here; a soft error there closes the connection.
    return { kind: 'close', error: new ConnectionError(e.codeName, e.message.slice(e.codeName.length + 3)), internal: false };
  }
  return { kind: 'close', error: new ConnectionError('INTERNAL_ERROR', 'internal error in warren; see the broker log for details'), internal: true };
}
