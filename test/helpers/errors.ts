// Asserting on the AMQP errors the model throws: class (channel or connection), reply code and
// the exact text RabbitMQ sends.

import { expect } from 'vitest';
import { AmqpError, ChannelError, ConnectionError } from '../../src/errors.js';

/** Runs fn, expects it to throw an AmqpError, returns it. */
export function caught(fn: () => unknown): AmqpError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(AmqpError);
    return e as AmqpError;
  }
  throw new Error('expected an AMQP error, nothing was thrown');
}

/** Expects a channel error with this code and exact text ("CODE_NAME - detail"). */
export function expectChannelError(fn: () => unknown, code: number, text: string): void {
  const e = caught(fn);
  expect(e).toBeInstanceOf(ChannelError);
  expect(e.message).toBe(text);
  expect(e.replyCode).toBe(code);
}

export function expectConnectionError(fn: () => unknown, code: number, text: string): void {
  const e = caught(fn);
  expect(e).toBeInstanceOf(ConnectionError);
  expect(e.message).toBe(text);
  expect(e.replyCode).toBe(code);
}
