// Stream arguments as RabbitMQ 3.10.8 reads them: x-max-age ("7D", "12h", ...),
// x-stream-max-segment-size-bytes, the consumer's x-stream-offset (first, last, next, an offset,
// a timestamp, an interval), and warren's exact filters (x-stream-filter,
// x-stream-match-unfiltered). Where RabbitMQ crashes on a value (an interval without digits, a
// boolean offset) it closes the connection with a bare 541 INTERNAL_ERROR; warren gives the same
// answer, on purpose, without crashing.

import type { FieldTable, FieldValue } from '../codec/field-table.js';
import { fieldInteger, fieldString, RABBIT_TYPE_NAMES } from '../codec/field-table.js';
import { ChannelError, ConnectionError } from '../errors.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  Y: 365 * 86_400_000,
  M: 30 * 86_400_000,
  D: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1000,
};

/** RabbitMQ's default segment size (x-stream-max-segment-size-bytes). */
export const DEFAULT_SEGMENT_BYTES = 500_000_000;

/** x-stream-max-segment-size-bytes, or the default. */
export function segmentBytes(args: FieldTable): number {
  const n = fieldInteger(args.get('x-stream-max-segment-size-bytes'));
  return n === undefined || n <= 0 ? DEFAULT_SEGMENT_BYTES : n;
}

/** RabbitMQ's crash answer for an unparseable number. */
export const crash = (): ConnectionError => new ConnectionError('INTERNAL_ERROR', '');

/**
 * An age like "7D": leading digits and a unit (Y M D h m s). Returns ms, or null when RabbitMQ
 * answers invalid_max_age; throws its crash answer when there are no digits at all.
 */
export function parseAge(s: string): number | null {
  const m = /^([0-9]*)([\s\S]*)$/.exec(s)!;
  if (m[1] === '') throw crash();
  const n = Number(m[1]);
  const unit = UNIT_MS[m[2]!];
  if (n <= 0 || unit === undefined) return null;
  return n * unit;
}

/** The x-max-age check for queue.declare: RabbitMQ's problem text, or null when valid. */
export function maxAgeProblem(v: FieldValue): string | null {
  if (v.type !== 'S') return `{unacceptable_type,${RABBIT_TYPE_NAMES[v.type]}}`;
  return parseAge(fieldString(v)!) === null ? 'invalid_max_age' : null;
}

export type StartSpec =
  | { readonly kind: 'first' }
  | { readonly kind: 'last' }
  | { readonly kind: 'next' }
  | { readonly kind: 'offset'; readonly offset: number }
  /** ms since the epoch: the first message appended at or after it. */
  | { readonly kind: 'time'; readonly at: number };

const INTEGER_TYPES = new Set(['b', 'B', 's', 'u', 'I', 'i', 'l']);

/** basic.consume's x-stream-offset (absent: next). */
export function parseStartSpec(args: FieldTable, what: string): StartSpec {
  const v = args.get('x-stream-offset');
  if (v === undefined) return { kind: 'next' };
  if (INTEGER_TYPES.has(v.type)) {
    const n = typeof v.value === 'bigint' ? Number(v.value) : (v.value as number);
    return { kind: 'offset', offset: Math.max(0, n) };
  }
  if (v.type === 'T') {
    const secs = typeof v.value === 'bigint' ? Number(v.value) : Number(v.value);
    return { kind: 'time', at: secs * 1000 };
  }
  if (v.type !== 'S') throw crash();
  const s = fieldString(v)!;
  if (s === 'first' || s === 'last' || s === 'next') return { kind: s };
  const ms = parseAge(s);
  if (ms === null) {
    throw new ChannelError('PRECONDITION_FAILED', `invalid arg 'x-stream-offset' for ${what}: {invalid_stream_offset_arg,{longstr,<<"${s}">>}}`);
  }
  return { kind: 'time', at: Date.now() - ms };
}

export interface FilterSpec {
  readonly values: ReadonlySet<string>;
  readonly matchUnfiltered: boolean;
}

/** x-stream-filter (a string or a list of strings) and x-stream-match-unfiltered; null: no filter. */
export function parseFilter(args: FieldTable, what: string): FilterSpec | null {
  const f = args.get('x-stream-filter');
  const u = args.get('x-stream-match-unfiltered');
  const bad = (key: string, v: FieldValue): ChannelError =>
    new ChannelError('PRECONDITION_FAILED', `invalid arg '${key}' for ${what}: {unacceptable_type,${RABBIT_TYPE_NAMES[v.type]}}`);
  if (u !== undefined && u.type !== 't') throw bad('x-stream-match-unfiltered', u);
  if (f === undefined) return null;
  const values = new Set<string>();
  if (f.type === 'S') values.add(fieldString(f)!);
  else if (f.type === 'A') {
    const items = f.value as FieldValue[];
    for (const item of items) {
      if (item.type !== 'S') throw bad('x-stream-filter', item);
      values.add(fieldString(item)!);
    }
  } else throw bad('x-stream-filter', f);
  return { values, matchUnfiltered: u?.value === true };
}
