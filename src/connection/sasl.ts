// SASL for connection.start-ok: the mechanisms warren offers and how each one's response
// carries the user name and password; for EXTERNAL, the name in the client's TLS certificate.
// Checking them against the users is the broker's job.

import { BufferReader } from '../codec/buffer-reader.js';
import { CodecError } from '../codec/codec-error.js';
import { fieldString, type FieldTable } from '../codec/field-table.js';
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

/**
 * PLAIN ("\0user\0password") and AMQPLAIN (a field table without its length); null if the
 * mechanism is unknown; 'undecodable' for an AMQPLAIN response that is not a table holding LOGIN
 * and PASSWORD (RabbitMQ's reader gives up on those and closes the socket without a word).
 * A table nested deeper than MAX_TABLE_DEPTH throws CodecError FRAME_ERROR, as everywhere.
 */
export function parseCredentials(mechanism: string, response: Buffer): [string, string] | null | 'undecodable' {
  if (mechanism === 'PLAIN') {
    const parts = response.toString('utf8').split('\u0000');
    if (parts.length === 3) return [parts[1]!, parts[2]!];
    if (parts.length === 2) return [parts[0]!, parts[1]!];
    return ['', ''];
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
      return 'undecodable';
    }
    const user = fieldString(t.get('LOGIN'));
    const password = fieldString(t.get('PASSWORD'));
    return user === undefined || password === undefined ? 'undecodable' : [user, password];
  }
  return null;
}
