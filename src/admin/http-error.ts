// Errors of the management HTTP API and their JSON bodies, as RabbitMQ's management plugin
// writes them: {"error": <kind>, "reason": <text>}. AMQP errors raised by the broker model
// (the same checks a client's method goes through) map to 400/401/404 here, in one place.

import { AmqpError } from '../errors.js';

export class HttpError extends Error {
  override readonly name = 'HttpError';
  readonly status: number;
  readonly error: string;
  readonly reason: unknown;

  constructor(status: number, error: string, reason: unknown) {
    super(typeof reason === 'string' ? reason : JSON.stringify(reason));
    this.status = status;
    this.error = error;
    this.reason = reason;
  }

  get body(): { error: string; reason: unknown } {
    return { error: this.error, reason: this.reason };
  }
}

/** RabbitMQ's body for a missing object (the same for every kind of object). */
export function notFound(): HttpError {
  return new HttpError(404, 'Object Not Found', 'Not Found');
}

export function badRequest(reason: unknown): HttpError {
  return new HttpError(400, 'bad_request', reason);
}

export function notAuthorised(reason: string): HttpError {
  return new HttpError(401, 'not_authorised', reason);
}

/** The text of an AMQP error without its "CODE_NAME - " prefix. */
export function amqpDetail(e: AmqpError): string {
  const prefix = `${e.codeName} - `;
  return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}

/** An error from the broker model as the HTTP API reports it. */
export function fromAmqpError(e: AmqpError): HttpError {
  switch (e.codeName) {
    case 'NOT_FOUND':
      return new HttpError(404, 'not_found', amqpDetail(e));
    case 'ACCESS_REFUSED':
      return new HttpError(401, 'not_authorised', e.message);
    default:
      return badRequest(amqpDetail(e));
  }
}

/** Runs `fn`, turning AMQP errors into HTTP ones. */
export function amqpToHttp<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof AmqpError) throw fromAmqpError(e);
    throw e;
  }
}
