// The methods on channel 0 once the handshake is over: while open (close, close-ok,
// update-secret, the blocked/unblocked notices a client may echo, RabbitMQ's refusal of
// anything else) and while closing (only close and close-ok matter). The connection keeps its
// states and socket; this decides what each method does to them.

import type { Logger } from 'pino';
import {
  CONNECTION_BLOCKED,
  CONNECTION_CLOSE,
  CONNECTION_CLOSE_OK,
  CONNECTION_UNBLOCKED,
  CONNECTION_UPDATE_SECRET,
  CONNECTION_UPDATE_SECRET_OK,
  type Method,
} from '../codec/methods.generated.js';
import { ConnectionError } from '../errors.js';

export interface ConnectionMethodHost {
  readonly log: Logger;
  /** Sends a method on channel 0. */
  send(m: Method): void;
  /** Flushes what is pending, then ends the socket. */
  endSocket(reason?: string): void;
  /** Drops the socket at once. */
  destroy(): void;
}

/** A channel-0 method on an open connection. */
export function openConnectionMethod(m: Method, host: ConnectionMethodHost): void {
  switch (m.id) {
    case CONNECTION_CLOSE:
      host.log.info({ code: m.replyCode, text: m.replyText }, 'client closed the connection');
      host.send({ id: CONNECTION_CLOSE_OK });
      host.endSocket('client closed the connection');
      return;
    case CONNECTION_CLOSE_OK:
      return;
    case CONNECTION_UPDATE_SECRET:
      host.send({ id: CONNECTION_UPDATE_SECRET_OK });
      return;
    case CONNECTION_BLOCKED:
    case CONNECTION_UNBLOCKED:
      return;
    default:
      throw new ConnectionError('CHANNEL_ERROR', 'unexpected method in connection state running');
  }
}

/** A channel-0 method after we sent connection.close: close-ok ends it, a crossing close is answered. */
export function closingConnectionMethod(m: Method, host: ConnectionMethodHost): void {
  if (m.id === CONNECTION_CLOSE_OK) host.destroy();
  else if (m.id === CONNECTION_CLOSE) {
    host.send({ id: CONNECTION_CLOSE_OK });
    host.endSocket();
  }
}
