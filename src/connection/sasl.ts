// SASL for connection.start-ok: the mechanisms warren offers and how each one's response
// carries the user name and password, parsed as strictly as RabbitMQ does (a malformed response
// is a protocol error, not a wrong password); for EXTERNAL, the name in the client's TLS
// certificate. Checking them against the users is the broker's job.

import { BufferReader } from '../codec/buffer-reader.js';
import { CodecError } from '../codec/codec-error.js';
import type { FieldTable } from '../codec/field-table.js';
import { CONNECTION_START_OK } from '../codec/methods.generated.js';

/** Offered in connection.start, in RabbitMQ's order. */
export const SASL_MECHANISMS = 'PLAIN AMQPLAIN';
/**
 * Offered on TLS connections: RabbitMQ with rabbitmq_auth_mechanism_ssl offers EXTERNAL on
 * every TLS connection, with or without a client certificate (a missing one is refused at
 * login, which reads better than a failed negotiation), in this order.
 */
export const SASL_MECHANISMS_TLS = 'PLAIN EXTERNAL AMQPLAIN';

/** What a TLS connection knows of its client's certificate (peer null: it sent none). */
export interface TlsClient {
  readonly peer: { readonly authorized: boolean; readonly commonName: string | null } | null;
}

/**
 * The user EXTERNAL logs in as: the certificate's subject CN (RabbitMQ's ssl_cert_login_from =
 * common_name), or why there is none, in rabbit_auth_mechanism_ssl's words. The response
 * bytes are ignored, as RabbitMQ does.
 */
export function externalUser(tls: TlsClient): { readonly user: string } | { readonly refused: string } {
  if (tls.peer === null) return { refused: 'connection peer presented no TLS (x.509) certificate' };
  // Unverified certificates are dropped before AMQP starts; this guards the login anyway.
  if (!tls.peer.authorized) return { refused: 'TLS configuration is unsafe' };
  if (tls.peer.commonName === null) return { refused: 'no name found' };
  return { user: tls.peer.commonName };
}

export type Credentials =
  | { readonly kind: 'ok'; readonly user: string; readonly password: string }
  /** A mechanism we do not offer. */
  | { readonly kind: 'unknown-mechanism' }
  /** A response the mechanism cannot parse (RabbitMQ: a protocol error); `reason` is for the log. */
  | { readonly kind: 'invalid'; readonly reason: string };

/**
 * PLAIN is exactly "\0user\0password": RabbitMQ refuses an authorisation identity, a missing
 * separator and a NUL in the password. AMQPLAIN is a field table (without its length) with
 * LOGIN and PASSWORD long strings. A table nested deeper than MAX_TABLE_DEPTH throws CodecError
 * FRAME_ERROR, as everywhere.
 */
export function parseCredentials(mechanism: string, response: Buffer): Credentials {
  if (mechanism === 'PLAIN') {
    const second = response.indexOf(0, 1);
    if (response[0] !== 0 || second < 0 || response.indexOf(0, second + 1) >= 0) {
      return { kind: 'invalid', reason: 'PLAIN response is not "\\0user\\0password"' };
    }
    return { kind: 'ok', user: response.toString('utf8', 1, second), password: response.toString('utf8', second + 1) };
  }
  if (mechanism === 'AMQPLAIN') {
    const framed = Buffer.alloc(response.length + 4);
    framed.writeUInt32BE(response.length, 0);
    response.copy(framed, 4);
    let t: FieldTable;
    try {
      t = new BufferReader(framed).table();
    } catch (e) {
      if (e instanceof CodecError && e.code === 'FRAME_ERROR') throw new CodecError('FRAME_ERROR', e.message, CONNECTION_START_OK);
      return { kind: 'invalid', reason: 'AMQPLAIN response is not a field table' };
    }
    const login = t.get('LOGIN');
    const password = t.get('PASSWORD');
    if (login?.type === 'S' && password?.type === 'S') {
      return { kind: 'ok', user: fieldText(login.value), password: fieldText(password.value) };
    }
    return { kind: 'invalid', reason: 'AMQPLAIN response is missing the LOGIN or PASSWORD long string' };
  }
  return { kind: 'unknown-mechanism' };
}

function fieldText(v: string | Buffer): string {
  return typeof v === 'string' ? v : v.toString('utf8');
}
