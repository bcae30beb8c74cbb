// SASL for connection.start-ok: the mechanisms warren offers and how each one's response
// carries the user name and password. Checking them against the users is the broker's job.

import { BufferReader } from '../codec/buffer-reader.js';
import { fieldString } from '../codec/field-table.js';

/** Offered in connection.start, in RabbitMQ's order. */
export const SASL_MECHANISMS = 'PLAIN AMQPLAIN';

/** PLAIN ("\0user\0password") and AMQPLAIN (a field table without its length); null if unknown. */
export function parseCredentials(mechanism: string, response: Buffer): [string, string] | null {
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
    try {
      const t = new BufferReader(framed).table();
      return [fieldString(t.get('LOGIN')) ?? '', fieldString(t.get('PASSWORD')) ?? ''];
    } catch {
      return ['', ''];
    }
  }
  return null;
}
