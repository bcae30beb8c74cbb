// Checks a policy or operator policy as RabbitMQ 3.10 does before storing it (rabbit_policy,
// rabbit_policies): the body's pattern, definition, apply-to and priority, and each definition
// key's value, with RabbitMQ's texts. Errors accumulate in RabbitMQ's order (definition,
// apply-to, pattern, priority); within a definition only the first bad value is reported, keys
// taken in sorted order, and unknown keys only once every known one is valid. Operator
// policies take only the numeric limits RabbitMQ allows them.

import type { PolicyKind, PolicyRecord } from '../store/store.js';
import { erlangJson } from '../util/erlang-json.js';
import { compileLinear, PatternError } from '../util/linear-regex.js';

/** Why a policy was refused: RabbitMQ's lines (the API prefixes "Validation failed"), or a missing key. */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  /** RabbitMQ's validation lines; empty when `missing` is set. */
  readonly problems: readonly string[];
  /** A mandatory body key that is absent ("pattern" or "definition"): RabbitMQ's [{key_missing,K}]. */
  readonly missing: string | null;
  constructor(problems: readonly string[], missing: string | null = null) {
    super(missing !== null ? `[{key_missing,${missing}}]` : problems.join('\n'));
    this.problems = problems;
    this.missing = missing;
  }
}

/** Most keys a definition may have, and the longest name or string value (bounded input). */
export const MAX_DEFINITION_KEYS = 64;
export const MAX_POLICY_NAME = 255;

type Check = (v: unknown, def: Readonly<Record<string, unknown>>) => string | null;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const intAtLeast =
  (min: number, what: string): Check =>
  (v) =>
    isInt(v) && v >= min ? null : `${erlangJson(v)} is not a valid ${what}`;
const str =
  (what: string): Check =>
  (v) =>
    typeof v === 'string' ? null : `${erlangJson(v)} is not a valid ${what}`;
const oneOf =
  (values: readonly string[], text: (v: unknown) => string): Check =>
  (v) =>
    typeof v === 'string' && values.includes(v) ? null : text(v);

const MAX_AGE = /^[0-9]+[YMDhms]$/;
const needsHaMode: Check = (_v, def) => (def['ha-mode'] === undefined ? 'ha-mode must be specified to specify ha-params, ha-sync-mode or ha-promote-on-shutdown' : null);

/** Every definition key RabbitMQ 3.10 recognises without plugins, with its value check. */
const CHECKS: Readonly<Record<string, Check>> = {
  'alternate-exchange': str('alternate exchange name'),
  'dead-letter-exchange': str('dead letter exchange name'),
  'dead-letter-routing-key': str('dead letter routing key'),
  'dead-letter-strategy': oneOf(['at-most-once', 'at-least-once'], (v) => `${erlangJson(v)} is not a valid dead letter strategy`),
  'message-ttl': intAtLeast(0, 'message TTL'),
  expires: intAtLeast(1, 'queue expiry'),
  'max-length': intAtLeast(0, 'maximum length'),
  'max-length-bytes': intAtLeast(0, 'maximum length in bytes'),
  'max-in-memory-length': intAtLeast(0, 'maximum memory in bytes'),
  'max-in-memory-bytes': intAtLeast(0, 'maximum memory in bytes'),
  'delivery-limit': intAtLeast(0, 'delivery limit'),
  overflow: oneOf(['drop-head', 'reject-publish', 'reject-publish-dlx'], (v) => `${erlangJson(v)} is not a valid overflow value`),
  'queue-mode': oneOf(['default', 'lazy'], (v) => `${erlangJson(v)} is not a valid queue-mode value`),
  'queue-version': (v) => (v === 1 || v === 2 ? null : `${erlangJson(v)} is not a valid queue-version value`),
  'queue-master-locator': oneOf(['min-masters', 'client-local', 'random'], (v) => `${erlangJson(v)} invalid queue-master-locator value`),
  'queue-leader-locator': oneOf(['client-local', 'balanced'], (v) => `${erlangJson(v)} is not a valid queue leader locator value`),
  'initial-cluster-size': intAtLeast(0, 'cluster size'),
  'max-age': (v) => (typeof v === 'string' && MAX_AGE.test(v) && parseInt(v, 10) > 0 ? null : `${erlangJson(v)} is not a valid max age`),
  'stream-max-segment-size-bytes': intAtLeast(0, 'segment size'),
  // Classic mirroring: accepted so that RabbitMQ exports import; a single node has nothing to mirror.
  'ha-mode': (v, def) => {
    if (v === 'all') return null;
    if (v === 'exactly' || v === 'nodes') return def['ha-params'] === undefined ? `ha-mode="${v}" takes ${v === 'exactly' ? 'an integer' : 'a list'}, none given` : null;
    return `${erlangJson(v)} is not a valid ha-mode value`;
  },
  'ha-params': needsHaMode,
  'ha-sync-mode': (v, def) => needsHaMode(v, def) ?? (v === 'manual' || v === 'automatic' ? null : `ha-sync-mode must be "manual" or "automatic", got ${erlangJson(v)}`),
  'ha-sync-batch-size': (v, def) => needsHaMode(v, def) ?? (isInt(v) && v > 0 ? null : `ha-sync-batch-size takes an integer greater than 0, ${erlangJson(v)} given`),
  'ha-promote-on-shutdown': needsHaMode,
  'ha-promote-on-failure': needsHaMode,
};

/** The keys an operator policy may set (rabbit_policies' operator policy validators in 3.10). */
export const OPERATOR_KEYS: ReadonlySet<string> = new Set(['expires', 'message-ttl', 'max-length', 'max-length-bytes', 'max-in-memory-length', 'max-in-memory-bytes', 'delivery-limit']);

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The first problem with a definition, or null. */
function definitionProblem(kind: PolicyKind, def: unknown): string | null {
  if (typeof def !== 'object' || def === null || Array.isArray(def)) return `definition must be a JSON object, got ${erlangJson(def)}`;
  const d = def as Record<string, unknown>;
  const keys = Object.keys(d).sort(byName);
  if (keys.length === 0) return 'no policy provided';
  if (keys.length > MAX_DEFINITION_KEYS) return `a definition has at most ${MAX_DEFINITION_KEYS} keys`;
  const known = (k: string): boolean => (kind === 'operator' ? OPERATOR_KEYS.has(k) : CHECKS[k] !== undefined);
  for (const k of keys) {
    if (!known(k)) continue;
    const problem = CHECKS[k]!(d[k], d);
    if (problem !== null) return problem;
  }
  const unknown = keys.filter((k) => !known(k));
  if (unknown.length > 0) return `[${unknown.map((k) => `{<<"${k}">>,${erlangJson(d[k])}}`).join(',')}] are not recognised policy settings`;
  return null;
}

/**
 * A policy from its API body ({"pattern", "definition", "priority"?, "apply-to"?}), or
 * PolicyError with RabbitMQ's texts.
 */
export function parsePolicy(kind: PolicyKind, vhost: string, name: string, body: unknown): PolicyRecord {
  const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  for (const key of ['pattern', 'definition']) if (b[key] === undefined) throw new PolicyError([], key);
  const problems: string[] = [];
  const def = definitionProblem(kind, b['definition']);
  if (def !== null) problems.push(def);
  const applyTo = b['apply-to'] ?? 'all';
  if (applyTo !== 'queues' && applyTo !== 'exchanges' && applyTo !== 'all') {
    problems.push(`apply-to ${typeof applyTo === 'string' ? `'${applyTo}'` : erlangJson(applyTo)} unrecognised; should be 'queues', 'exchanges' or 'all'`);
  }
  const pattern = b['pattern'];
  if (typeof pattern !== 'string') problems.push(`pattern should be a binary but was ${erlangJson(pattern)}`);
  else {
    try {
      compileLinear(pattern);
    } catch (e) {
      if (!(e instanceof PatternError)) throw e;
      problems.push(`pattern should be regular expression but is invalid: ${e.message}`);
    }
  }
  const priority = b['priority'] ?? 0;
  if (typeof priority !== 'number' || !Number.isFinite(priority)) problems.push(`priority should be a number, actually was ${erlangJson(priority)}`);
  if (name.length > MAX_POLICY_NAME) problems.push(`policy name is longer than ${MAX_POLICY_NAME} characters`);
  if (problems.length > 0) throw new PolicyError(problems);
  return {
    kind,
    vhost,
    name,
    pattern: pattern as string,
    applyTo: applyTo as PolicyRecord['applyTo'],
    priority: priority as number,
    definition: { ...(b['definition'] as Record<string, unknown>) },
  };
}
