// Queue arguments (x-message-ttl, x-max-length, x-dead-letter-exchange, ...): validated when a
// queue is declared, with RabbitMQ's 406 texts, and turned into the typed settings the queue
// runs on. Validation follows RabbitMQ's order of checks so the first error reported is the
// same one RabbitMQ reports.

import type { FieldTable, FieldValue } from '../codec/field-table.js';
import { fieldString, RABBIT_TYPE_NAMES } from '../codec/field-table.js';
import { ChannelError } from '../errors.js';
import { maxAgeProblem } from '../stream/arguments.js';

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';
export type QueueType = 'classic' | 'quorum' | 'stream';

/** How a queue is made: queue.declare's flags and arguments. */
export interface QueueOptions {
  readonly durable: boolean;
  /** The connection that declared an exclusive queue; null for shared queues. */
  readonly exclusiveOwner: object | null;
  readonly autoDelete: boolean;
  readonly arguments: FieldTable;
  /** Parsed arguments (validated by the caller); defaults when absent. */
  readonly settings?: QueueSettings;
}

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

/** RabbitMQ's cap on TTLs and expiry timers: ten years, in ms. */
export const MAX_EXPIRY = 315_360_000_000;
const MAX_PRIORITY = 255;
const INTEGER_TYPES = new Set(['b', 'B', 's', 'u', 'I', 'i', 'l']);

/** The reason a value is invalid, rendered as RabbitMQ prints the Erlang term. */
type Check = (v: FieldValue, args: FieldTable) => string | null;

function intValue(v: FieldValue): number {
  return typeof v.value === 'bigint' ? Number(v.value) : (v.value as number);
}

/** The value exactly as Erlang prints it (64-bit integers keep every digit). */
function exact(v: FieldValue): string {
  return String(v.value);
}

const typeName = (v: FieldValue): string => RABBIT_TYPE_NAMES[v.type];

const isInt: Check = (v) => (INTEGER_TYPES.has(v.type) ? null : `"expected integer, got ${typeName(v)}"`);

const nonNegInt: Check = (v, a) => isInt(v, a) ?? (intValue(v) < 0 ? `{value_negative,${exact(v)}}` : null);

function expiry(v: FieldValue): string | null {
  const n = intValue(v);
  if (n < 0) return `{value_negative,${exact(v)}}`;
  if (n > MAX_EXPIRY) return `{value_too_large,${exact(v)}}`;
  return null;
}

function oneOf(values: readonly string[], invalid: (s: string) => string): Check {
  return (v) => {
    if (v.type !== 'S') return `{unacceptable_type,${typeName(v)}}`;
    const s = fieldString(v)!;
    return values.includes(s) ? null : invalid(s);
  };
}

const queueTypeCheck = oneOf(['classic', 'quorum', 'stream'], (s) => `"unsupported queue type '${s}'"`);

/** Value checks, in the order RabbitMQ runs them (rabbit_amqqueue's declare_args). */
const CHECKS: readonly [string, Check][] = [
  ['x-expires', (v, a) => isInt(v, a) ?? (intValue(v) === 0 ? `{value_zero,0}` : expiry(v))],
  ['x-message-ttl', (v, a) => isInt(v, a) ?? expiry(v)],
  ['x-dead-letter-exchange', (v) => (v.type === 'S' ? null : `{unacceptable_type,${typeName(v)}}`)],
  [
    'x-dead-letter-routing-key',
    (v, a) => (v.type !== 'S' ? `{unacceptable_type,${typeName(v)}}` : a.has('x-dead-letter-exchange') ? null : 'routing_key_but_no_dlx_defined'),
  ],
  ['x-max-length', nonNegInt],
  ['x-max-length-bytes', nonNegInt],
  ['x-max-age', (v) => maxAgeProblem(v)],
  ['x-stream-max-segment-size-bytes', nonNegInt],
  ['x-max-in-memory-length', nonNegInt],
  ['x-max-in-memory-bytes', nonNegInt],
  ['x-max-priority', (v, a) => nonNegInt(v, a) ?? (intValue(v) > MAX_PRIORITY ? `{max_value_exceeded,${exact(v)}}` : null)],
  ['x-overflow', oneOf(['drop-head', 'reject-publish', 'reject-publish-dlx'], () => 'invalid_overflow')],
  ['x-queue-mode', oneOf(['default', 'lazy'], (s) => `"unsupported queue mode '${s}'"`)],
  ['x-single-active-consumer', (v) => (v.type === 't' ? null : `{unacceptable_type,${typeName(v)}}`)],
  ['x-queue-type', queueTypeCheck],
  ['x-quorum-initial-group-size', (v, a) => isInt(v, a) ?? (intValue(v) === 0 ? '{value_zero,0}' : intValue(v) < 0 ? `{value_negative,${exact(v)}}` : null)],
  ['x-queue-leader-locator', oneOf(['client-local', 'balanced', 'random', 'least-leaders'], () => 'invalid_queue_locator_arg')],
  ['x-dead-letter-strategy', oneOf(['at-most-once', 'at-least-once'], () => 'invalid_dlx_strategy')],
  ['x-delivery-limit', nonNegInt],
  ['x-consumer-timeout', nonNegInt],
];

/**
 * The arguments each queue type takes. RabbitMQ refuses an argument it knows for some type
 * but not for this one ("... of queue type rabbit_classic_queue"); arguments it does not know
 * at all are ignored. warren adds x-delivery-limit to classic queues, and x-consumer-timeout.
 */
const SUPPORTED: Readonly<Record<QueueType, ReadonlySet<string>>> = {
  classic: new Set([
    'x-expires',
    'x-message-ttl',
    'x-dead-letter-exchange',
    'x-dead-letter-routing-key',
    'x-max-length',
    'x-max-length-bytes',
    'x-max-priority',
    'x-overflow',
    'x-queue-mode',
    'x-queue-version',
    'x-single-active-consumer',
    'x-queue-type',
    'x-queue-master-locator',
    'x-delivery-limit',
    'x-consumer-timeout',
  ]),
  quorum: new Set([
    'x-expires',
    'x-message-ttl',
    'x-dead-letter-exchange',
    'x-dead-letter-routing-key',
    'x-dead-letter-strategy',
    'x-max-length',
    'x-max-length-bytes',
    'x-max-in-memory-length',
    'x-max-in-memory-bytes',
    'x-overflow',
    'x-single-active-consumer',
    'x-queue-type',
    'x-quorum-initial-group-size',
    'x-delivery-limit',
    'x-queue-leader-locator',
    'x-consumer-timeout',
  ]),
  // RabbitMQ 3.10's stream arguments, and x-consumer-timeout, which it does not know (ignored).
  stream: new Set([
    'x-max-length-bytes',
    'x-queue-type',
    'x-max-age',
    'x-stream-max-segment-size-bytes',
    'x-initial-cluster-size',
    'x-queue-leader-locator',
    'x-consumer-timeout',
  ]),
};

/** Every argument some queue type takes (streams included). */
const KNOWN = new Set([...SUPPORTED.classic, ...SUPPORTED.quorum, ...SUPPORTED.stream]);

/** Checks whose values RabbitMQ 3.10 does not validate for a type. */
const UNCHECKED: Readonly<Record<QueueType, ReadonlySet<string>>> = {
  classic: new Set(),
  quorum: new Set(['x-delivery-limit']),
  stream: new Set(),
};

/**
 * Validates the arguments of a queue about to be created and returns its settings. Throws
 * ChannelError 406 with RabbitMQ's text for the first problem, in RabbitMQ's order: the queue
 * type, then the values of the arguments the type takes, then arguments the type does not take
 * (in the order the client sent them), then the properties the type requires.
 */
export function parseQueueArguments(
  args: FieldTable,
  queue: string,
  vhost: string,
  flags: { readonly durable: boolean; readonly exclusive: boolean; readonly autoDelete?: boolean; readonly serverNamed?: boolean },
): QueueSettings {
  const what = `queue '${queue}' in vhost '${vhost}'`;
  const invalid = (key: string, problem: string): ChannelError => new ChannelError('PRECONDITION_FAILED', `invalid arg '${key}' for ${what}: ${problem}`);
  const typeArg = args.get('x-queue-type');
  if (typeArg !== undefined) {
    const problem = queueTypeCheck(typeArg, args);
    if (problem !== null) throw invalid('x-queue-type', problem);
  }
  const queueType = (typeArg === undefined ? 'classic' : fieldString(typeArg)!) as QueueType;
  const supported = SUPPORTED[queueType];
  for (const [key, check] of CHECKS) {
    const v = args.get(key);
    if (v === undefined || !supported.has(key) || UNCHECKED[queueType].has(key)) continue;
    const problem = check(v, args);
    if (problem !== null) throw invalid(key, problem);
  }
  for (const key of args.keys()) {
    if (KNOWN.has(key) && !supported.has(key)) {
      throw new ChannelError('PRECONDITION_FAILED', `invalid arg '${key}' for ${what} of queue type rabbit_${queueType}_queue`);
    }
  }
  if (queueType === 'quorum' || queueType === 'stream') {
    if (flags.serverNamed) throw new ChannelError('PRECONDITION_FAILED', `Cannot declare a server-named queue for type rabbit_${queueType}_queue`);
    if (flags.autoDelete) throw new ChannelError('PRECONDITION_FAILED', `invalid property 'auto-delete' for ${what}`);
    if (flags.exclusive) throw new ChannelError('PRECONDITION_FAILED', `invalid property 'exclusive-owner' for ${what}`);
    if (!flags.durable) throw new ChannelError('PRECONDITION_FAILED', `invalid property 'non-durable' for ${what}`);
  }
  if (args.size === 0) return DEFAULT_SETTINGS; // shared: idle queues should cost little
  const int = (k: string): number | null => {
    const v = args.get(k);
    return v === undefined || !INTEGER_TYPES.has(v.type) ? null : intValue(v);
  };
  const dlx = args.get('x-dead-letter-exchange');
  const deliveryLimit = int('x-delivery-limit');
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
    deliveryLimit: deliveryLimit !== null && deliveryLimit >= 0 ? deliveryLimit : null,
    queueType,
    consumerTimeout: int('x-consumer-timeout'),
  };
}

/** Settings of a queue restored from the store (its arguments were validated when it was declared). */
export function settingsOf(args: FieldTable, queue: string, vhost: string): QueueSettings {
  try {
    return parseQueueArguments(args, queue, vhost, { durable: true, exclusive: false, autoDelete: false });
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
    const bad = expiry({ type: 'l', value: BigInt(m[1]!) });
    if (bad === null) return n;
    reason = bad;
  }
  throw new ChannelError('PRECONDITION_FAILED', `invalid expiration '${s}': ${reason}`);
}
