// Queue arguments (x-message-ttl, x-max-length, x-dead-letter-exchange, ...): validated when a
// queue is declared, with RabbitMQ's 406 texts, and turned into the typed settings the queue
// runs on. Validation follows RabbitMQ's order of checks so the first error reported is the
// same one RabbitMQ reports.

import type { FieldTable, FieldValue } from '../codec/field-table.js';
import { fieldString, RABBIT_TYPE_NAMES } from '../codec/field-table.js';
import { ChannelError } from '../errors.js';

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';
export type QueueType = 'classic' | 'quorum';

export interface QueueSettings {
  /** x-message-ttl, ms (null: none). */
  readonly messageTtl: number | null;
  /** x-expires, ms: delete the queue after it has been unused this long. */
  readonly expires: number | null;
  readonly maxLength: number | null;
  readonly maxLengthBytes: number | null;
  readonly overflow: Overflow;
  readonly deadLetterExchange: string | null;
  readonly deadLetterRoutingKey: string | null;
  /** x-max-priority: 0 means not a priority queue. */
  readonly maxPriority: number;
  readonly singleActiveConsumer: boolean;
  /** x-delivery-limit: returns allowed before a message is dead-lettered (null: unlimited). */
  readonly deliveryLimit: number | null;
  readonly queueType: QueueType;
  /** x-consumer-timeout, ms: how long a delivery may stay unacknowledged. */
  readonly consumerTimeout: number | null;
}

export const DEFAULT_SETTINGS: QueueSettings = {
  messageTtl: null,
  expires: null,
  maxLength: null,
  maxLengthBytes: null,
  overflow: 'drop-head',
  deadLetterExchange: null,
  deadLetterRoutingKey: null,
  maxPriority: 0,
  singleActiveConsumer: false,
  deliveryLimit: null,
  queueType: 'classic',
  consumerTimeout: null,
};

/** RabbitMQ's cap on TTLs and expiry timers (2^32 - 1 ms). */
export const MAX_EXPIRY = 0xffffffff;
const MAX_PRIORITY = 255;
const INTEGER_TYPES = new Set(['b', 'B', 's', 'u', 'I', 'i', 'l']);

/** The reason a value is invalid, rendered as RabbitMQ prints the Erlang term. */
type Check = (v: FieldValue, args: FieldTable) => string | null;

function intValue(v: FieldValue): number {
  return typeof v.value === 'bigint' ? Number(v.value) : (v.value as number);
}

const isInt: Check = (v) => (INTEGER_TYPES.has(v.type) ? null : `"expected integer, got ${RABBIT_TYPE_NAMES[v.type]}"`);

const nonNegInt: Check = (v, a) => isInt(v, a) ?? (intValue(v) < 0 ? `{value_negative,${intValue(v)}}` : null);

function expiry(n: number): string | null {
  if (n < 0) return `{value_negative,${n}}`;
  if (n > MAX_EXPIRY) return `{value_too_large,${n}}`;
  return null;
}

const CHECKS: readonly [string, Check][] = [
  ['x-expires', (v, a) => isInt(v, a) ?? (intValue(v) === 0 ? `{value_zero,0}` : expiry(intValue(v)))],
  ['x-message-ttl', (v, a) => isInt(v, a) ?? expiry(intValue(v))],
  ['x-dead-letter-exchange', (v) => (v.type === 'S' ? null : `{unacceptable_type,${RABBIT_TYPE_NAMES[v.type]}}`)],
  [
    'x-dead-letter-routing-key',
    (v, a) => (v.type !== 'S' ? `{unacceptable_type,${RABBIT_TYPE_NAMES[v.type]}}` : a.has('x-dead-letter-exchange') ? null : 'routing_key_but_no_dlx_defined'),
  ],
  ['x-max-length', nonNegInt],
  ['x-max-length-bytes', nonNegInt],
  ['x-max-in-memory-length', nonNegInt],
  ['x-max-in-memory-bytes', nonNegInt],
  ['x-max-priority', (v, a) => nonNegInt(v, a) ?? (intValue(v) > MAX_PRIORITY ? `{max_value_exceeded,${intValue(v)}}` : null)],
  [
    'x-overflow',
    (v) =>
      v.type !== 'S'
        ? `{unacceptable_type,${RABBIT_TYPE_NAMES[v.type]}}`
        : ['drop-head', 'reject-publish', 'reject-publish-dlx'].includes(fieldString(v)!)
          ? null
          : 'invalid_overflow',
  ],
  [
    'x-queue-mode',
    (v) =>
      v.type !== 'S'
        ? `{unacceptable_type,${RABBIT_TYPE_NAMES[v.type]}}`
        : ['default', 'lazy'].includes(fieldString(v)!)
          ? null
          : `"unsupported queue mode '${fieldString(v)}'"`,
  ],
  ['x-single-active-consumer', (v) => (v.type === 't' ? null : `{unacceptable_type,${RABBIT_TYPE_NAMES[v.type]}}`)],
  [
    'x-queue-type',
    (v) =>
      v.type !== 'S'
        ? `{unacceptable_type,${RABBIT_TYPE_NAMES[v.type]}}`
        : ['classic', 'quorum'].includes(fieldString(v)!)
          ? null
          : `"unsupported queue type '${fieldString(v)}'"`,
  ],
  ['x-delivery-limit', nonNegInt],
  ['x-consumer-timeout', (v, a) => nonNegInt(v, a)],
];

/** Arguments quorum queues do not take (RabbitMQ refuses them on that type). */
const NOT_FOR_QUORUM = new Set(['x-max-priority', 'x-queue-mode', 'x-max-in-memory-length', 'x-max-in-memory-bytes']);

/**
 * Validates the arguments of a queue about to be created and returns its settings. Throws
 * ChannelError 406 with RabbitMQ's text for the first invalid argument.
 */
export function parseQueueArguments(
  args: FieldTable,
  queue: string,
  vhost: string,
  flags: { readonly durable: boolean; readonly exclusive: boolean },
): QueueSettings {
  const what = `queue '${queue}' in vhost '${vhost}'`;
  for (const [key, check] of CHECKS) {
    const v = args.get(key);
    if (v === undefined) continue;
    const problem = check(v, args);
    if (problem !== null) throw new ChannelError('PRECONDITION_FAILED', `invalid arg '${key}' for ${what}: ${problem}`);
  }
  const queueType = (fieldString(args.get('x-queue-type')) ?? 'classic') as QueueType;
  if (queueType === 'quorum') {
    if (!flags.durable) throw new ChannelError('PRECONDITION_FAILED', `invalid property 'non-durable' for ${what}`);
    if (flags.exclusive) throw new ChannelError('PRECONDITION_FAILED', `invalid property 'exclusive-owner' for ${what}`);
    for (const k of args.keys()) {
      if (NOT_FOR_QUORUM.has(k)) throw new ChannelError('PRECONDITION_FAILED', `invalid arg '${k}' for ${what} of queue type rabbit_quorum_queue`);
    }
  }
  const int = (k: string): number | null => {
    const v = args.get(k);
    return v === undefined ? null : intValue(v);
  };
  const dlx = args.get('x-dead-letter-exchange');
  return {
    messageTtl: int('x-message-ttl'),
    expires: int('x-expires'),
    maxLength: int('x-max-length'),
    maxLengthBytes: int('x-max-length-bytes'),
    overflow: (fieldString(args.get('x-overflow')) ?? 'drop-head') as Overflow,
    deadLetterExchange: dlx === undefined ? null : fieldString(dlx)!,
    deadLetterRoutingKey: fieldString(args.get('x-dead-letter-routing-key')) ?? null,
    maxPriority: int('x-max-priority') ?? 0,
    singleActiveConsumer: args.get('x-single-active-consumer')?.value === true,
    deliveryLimit: int('x-delivery-limit'),
    queueType,
    consumerTimeout: int('x-consumer-timeout'),
  };
}

/** Settings of a queue restored from the store (its arguments were validated when it was declared). */
export function settingsOf(args: FieldTable, queue: string, vhost: string): QueueSettings {
  try {
    return parseQueueArguments(args, queue, vhost, { durable: true, exclusive: false });
  } catch {
    return DEFAULT_SETTINGS;
  }
}

/**
 * The per-message `expiration` property as RabbitMQ reads it: a decimal integer of ms. Returns
 * the TTL, or throws 406 "invalid expiration '<s>': <reason>".
 */
export function parseExpiration(s: string): number {
  const m = /^([+-]?\d+)(.*)$/s.exec(s);
  let reason: string;
  if (m === null) reason = 'no_integer';
  else if (m[2] !== '') reason = `{leftover_string,"${m[2]}"}`;
  else {
    const n = Number(m[1]);
    const bad = expiry(n);
    if (bad === null) return n;
    reason = bad;
  }
  throw new ChannelError('PRECONDITION_FAILED', `invalid expiration '${s}': ${reason}`);
}
