// What a queue runs on once policies apply: its arguments' settings combined with the
// definition of the policy and of the operator policy that match it, by RabbitMQ 3.10's rules
// (rabbit_amqqueue_process:process_args_policy, rabbit_policy:get/2): for expires,
// message-ttl, max-length, max-length-bytes and (quorum queues) delivery-limit the lowest of argument, policy
// and operator policy wins; for overflow and the dead-letter exchange and routing key the
// argument wins over the policy. Other keys (queue-mode, max-age, ha-*) change nothing here.

import type { FieldTable } from '../codec/field-table.js';
import { MAX_EXPIRY, type Overflow, type QueueSettings } from './arguments.js';

export type PolicyDefinition = Readonly<Record<string, unknown>>;

/** The keys where the lower value wins when a policy and an operator policy both set them. */
const LOWER_WINS = new Set(['expires', 'message-ttl', 'max-length', 'max-length-bytes', 'max-in-memory-length', 'max-in-memory-bytes', 'delivery-limit']);

/**
 * The definition in force for a queue: the policy's keys and the operator policy's, the lower
 * value where both set a numeric limit (RabbitMQ's effective_policy_definition), keys sorted.
 */
export function effectiveDefinition(policy: PolicyDefinition | null, operator: PolicyDefinition | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const keys = new Set([...Object.keys(policy ?? {}), ...Object.keys(operator ?? {})]);
  for (const k of [...keys].sort()) {
    const p = policy?.[k];
    const o = operator?.[k];
    if (p !== undefined && o !== undefined) out[k] = LOWER_WINS.has(k) && typeof p === 'number' && typeof o === 'number' ? Math.min(p, o) : p;
    else out[k] = p ?? o;
  }
  return out;
}

function lowest(arg: number | null, pol: unknown, cap = Number.MAX_SAFE_INTEGER): number | null {
  const p = typeof pol === 'number' ? Math.min(pol, cap) : null;
  if (arg === null) return p;
  return p === null ? arg : Math.min(arg, p);
}

/** `base` (from the queue's arguments) with the effective policy definition applied. */
export function settingsWithPolicy(base: QueueSettings, args: FieldTable, def: PolicyDefinition): QueueSettings {
  if (Object.keys(def).length === 0) return base;
  const str = (k: string): string | null => (typeof def[k] === 'string' ? (def[k] as string) : null);
  // As in RabbitMQ 3.10, only quorum queues take delivery-limit from a policy (warren's classic
  // queues take it only as the x-delivery-limit argument).
  const deliveryLimit = base.queueType === 'quorum' ? lowest(base.deliveryLimit, def['delivery-limit']) : base.deliveryLimit;
  return {
    ...base,
    messageTtl: lowest(base.messageTtl, def['message-ttl'], MAX_EXPIRY),
    expires: lowest(base.expires, def['expires'], MAX_EXPIRY),
    maxLength: lowest(base.maxLength, def['max-length']),
    maxLengthBytes: lowest(base.maxLengthBytes, def['max-length-bytes']),
    overflow: args.has('x-overflow') ? base.overflow : ((str('overflow') as Overflow | null) ?? base.overflow),
    deadLetterExchange: args.has('x-dead-letter-exchange') ? base.deadLetterExchange : (str('dead-letter-exchange') ?? base.deadLetterExchange),
    deadLetterRoutingKey: args.has('x-dead-letter-routing-key') ? base.deadLetterRoutingKey : (str('dead-letter-routing-key') ?? base.deadLetterRoutingKey),
    deliveryLimit,
  };
}
