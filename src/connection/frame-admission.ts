// Which frames a connection admits in its state, as RabbitMQ's reader decides before a frame
// reaches a channel: heartbeats only on channel 0; before tune-ok only the handshake's methods
// (anything else is dropped silently, with the socket); while waiting for connection.open
// nothing on other channels; on channel 0 only methods. Mistakes throw UNEXPECTED_FRAME with
// the frame quoted as RabbitMQ quotes it.

import { octetsSnippet } from '../codec/frame-reader.js';
import { FRAME_HEARTBEAT, FRAME_METHOD } from '../codec/methods.generated.js';
import { ConnectionError } from '../errors.js';

export const enum Admit {
  /** A heartbeat: nothing to do (receiving it was enough). */
  Heartbeat,
  /** A frame before the handshake completed that RabbitMQ drops with the connection. */
  Refuse,
  /** A method for the connection (channel 0). */
  Connection,
  /** A frame for a channel. */
  Channel,
}

/** `handshaking`: tune-ok has not come yet; `awaitingOpen`: it has, connection.open has not. */
export function admitFrame(type: number, channel: number, payload: Buffer, handshaking: boolean, awaitingOpen: boolean): Admit {
  if (type === FRAME_HEARTBEAT) {
    if (channel !== 0) throw new ConnectionError('UNEXPECTED_FRAME', `type ${type}, ${octetsSnippet(payload)}`);
    return Admit.Heartbeat;
  }
  if (handshaking) {
    if (channel !== 0 || type !== FRAME_METHOD) return Admit.Refuse;
  } else if (channel !== 0 && awaitingOpen) {
    throw new ConnectionError('UNEXPECTED_FRAME', `type ${type}, ${octetsSnippet(payload)}`);
  }
  if (channel !== 0) return Admit.Channel;
  // RabbitMQ quotes the frame here; "expected method frame" is its text on other channels.
  if (type !== FRAME_METHOD) throw new ConnectionError('UNEXPECTED_FRAME', `type ${type}, ${octetsSnippet(payload)}`);
  return Admit.Connection;
}
