// Whether a re-declare matches what exists, as RabbitMQ decides it: flags compared as given,
// x-arguments compared by type class (any integer width is one class) and value, and the
// 406 texts that quote values the way Erlang prints them (rabbit_misc:val/1, ~tp).

import type { FieldTable, FieldValue } from '../codec/field-table.js';
import { RABBIT_TYPE_NAMES } from '../codec/field-table.js';
import { ChannelError } from '../errors.js';

export function assertEquivalent(field: string, what: string, received: string | boolean, current: string | boolean): void {
  if (received !== current) {
    throw new ChannelError('PRECONDITION_FAILED', `inequivalent arg '${field}' for ${what}: received '${received}' but current is '${current}'`);
  }
}

export function assertArgsEquivalent(keys: readonly string[], what: string, received: FieldTable, current: FieldTable): void {
  for (const k of keys) {
    const r = received.get(k);
    const c = current.get(k);
    if (r === undefined && c === undefined) continue;
    if (r !== undefined && c !== undefined) {
      if (sameTypeClassAndValue(r, c)) continue;
      // RabbitMQ compares the bare values here, so its text names no types.
      throw new ChannelError('PRECONDITION_FAILED', `inequivalent arg '${k}' for ${what}: received '${bareValue(r)}' but current is '${bareValue(c)}'`);
    }
    // A classic queue may or may not carry x-queue-type (rabbitmq-common#341).
    if (k === 'x-queue-type' && isClassic(r ?? c!)) continue;
    throw new ChannelError('PRECONDITION_FAILED', `inequivalent arg '${k}' for ${what}: received ${describeArg(r)} but current is ${describeArg(c)}`);
  }
}

function isClassic(v: FieldValue): boolean {
  return v.type === 'S' && (typeof v.value === 'string' ? v.value : v.value.toString('utf8')) === 'classic';
}

/** A value as rabbit_misc:val/1 prints it: binaries with ~s (bare text), the rest with ~p. */
function bareValue(v: FieldValue): string {
  if (v.type === 'S') return typeof v.value === 'string' ? v.value : v.value.toString('utf8');
  if (v.type === 'x') return v.value.toString('utf8');
  return erlangTerm(v);
}

function describeArg(v: FieldValue | undefined): string {
  if (v === undefined) return 'none';
  return `the value '${bareValue(v)}' of type '${RABBIT_TYPE_NAMES[v.type]}'`;
}

/** A field value as Erlang's ~tp prints it (how RabbitMQ quotes argument values). */
export function erlangTerm(v: FieldValue): string {
  switch (v.type) {
    case 'S':
      return `<<"${typeof v.value === 'string' ? v.value : v.value.toString('latin1')}">>`;
    case 'x':
      return `<<"${v.value.toString('latin1')}">>`;
    case 't':
      return String(v.value);
    case 'V':
      return 'undefined';
    case 'A':
      return `[${v.value.map((x) => `{${RABBIT_TYPE_NAMES[x.type]},${erlangTerm(x)}}`).join(',')}]`;
    case 'F':
      return `[${[...v.value].map(([k, x]) => `{<<"${k}">>,${RABBIT_TYPE_NAMES[x.type]},${erlangTerm(x)}}`).join(',')}]`;
    case 'D':
      return `{${v.value.scale},${v.value.value}}`;
    case 'f':
    case 'd':
      return Number.isInteger(v.value) ? v.value.toFixed(1) : String(v.value);
    default:
      return String(v.value);
  }
}

const INT_TYPES = new Set(['b', 'B', 's', 'u', 'I', 'i', 'l']);

/** rabbit_misc:type_class/1: integers of any width are one class, as are float and double. */
function typeClass(t: FieldValue['type']): string {
  return INT_TYPES.has(t) ? 'int' : t === 'f' || t === 'd' ? 'float' : t;
}

function sameTypeClassAndValue(a: FieldValue, b: FieldValue): boolean {
  const ca = typeClass(a.type);
  if (ca !== typeClass(b.type)) return false;
  if (ca === 'int') return BigInt(a.value as number | bigint) === BigInt(b.value as number | bigint);
  if (ca === 'float') return a.value === b.value;
  return erlangTerm(a) === erlangTerm(b);
}
