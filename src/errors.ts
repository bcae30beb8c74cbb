// AMQP errors raised by spec name. Handlers throw ChannelError (soft: the channel closes) or
// ConnectionError (hard: the connection closes); exactly one place per scope turns them into
// channel.close / connection.close with RabbitMQ's text format "<CODE_NAME> - <detail>".

import { REPLY_CODES, type ReplyCodeName } from './codec/methods.generated.js';

export abstract class AmqpError extends Error {
  readonly codeName: ReplyCodeName;
  readonly replyCode: number;
  /** Class and method of the failing method; 0/0 for asynchronous errors. */
  classId: number;
  methodId: number;
  /** Ids given explicitly (even 0/0): `at` leaves them alone. */
  readonly #idsGiven: boolean;

  constructor(codeName: ReplyCodeName, detail: string, options?: { classId?: number; methodId?: number; cause?: unknown }) {
    super(detail === '' ? codeName : `${codeName} - ${detail}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.codeName = codeName;
    this.replyCode = REPLY_CODES[codeName];
    this.classId = options?.classId ?? 0;
    this.methodId = options?.methodId ?? 0;
    this.#idsGiven = options?.classId !== undefined;
  }

  /** The reply text as sent on the wire: a shortstr, so longer texts are cut to 252 bytes and "...", as RabbitMQ does. */
  get replyText(): string {
    return Buffer.byteLength(this.message) <= 255 ? this.message : `${truncateUtf8(this.message, 252)}...`;
  }

  /** Records the method being handled, unless the error already names one. */
  at(methodIdWord: number): this {
    if (!this.#idsGiven && this.classId === 0 && this.methodId === 0) {
      this.classId = methodIdWord >>> 16;
      this.methodId = methodIdWord & 0xffff;
    }
    return this;
  }
}

/** A soft error: closes the channel it happened on. */
export class ChannelError extends AmqpError {
  override readonly name = 'ChannelError';
}

/** A hard error: closes the whole connection. */
export class ConnectionError extends AmqpError {
  override readonly name = 'ConnectionError';
}

export function truncateUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  const b = Buffer.from(s).subarray(0, maxBytes);
  // Drop a trailing partial character.
  let end = b.length;
  while (end > 0 && (b[end - 1]! & 0xc0) === 0x80) end--;
  if (end > 0 && b[end - 1]! >= 0xc0) end--;
  return b.subarray(0, end).toString('utf8');
}
