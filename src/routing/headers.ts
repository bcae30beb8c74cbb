// Headers exchange: a binding's arguments are matched against the message's headers table.
// x-match = all (default) | any decide whether every or one pair must match; keys starting
// with "x-" take part only with all-with-x / any-with-x. A void value asks only for presence.
// Bindings are compiled into pair lists when bound; values compare as Erlang's == does in
// RabbitMQ's headers_match: numbers by value whatever their width, strings by their bytes.

import type { FieldTable, FieldValue } from '../codec/field-table.js';
import { fieldEquals, fieldString, RABBIT_TYPE_NAMES } from '../codec/field-table.js';
import { ChannelError } from '../errors.js';
import type { Message } from '../message.js';
import { Exchange, type Binding, type Destination } from './exchange.js';

interface CompiledBinding {
  readonly destination: Destination;
  readonly any: boolean;
  readonly pairs: readonly (readonly [string, FieldValue])[];
}

const MATCH_MODES = new Set(['all', 'any', 'all-with-x', 'any-with-x']);

export class HeadersExchange extends Exchange {
  readonly type = 'headers';
  readonly #compiled = new Map<Binding, CompiledBinding>();

  override validateBinding(_routingKey: string, args: FieldTable): void {
    const mode = args.get('x-match');
    if (mode === undefined) return;
    if (mode.type !== 'S') {
      // RabbitMQ: "Invalid x-match field type ~tp (value ~tp); expected longstr".
      throw new ChannelError(
        'PRECONDITION_FAILED',
        `Invalid x-match field type ${RABBIT_TYPE_NAMES[mode.type]} (value ${erlangValue(mode)}); expected longstr`,
      );
    }
    const s = fieldString(mode)!;
    if (!MATCH_MODES.has(s)) {
      throw new ChannelError('PRECONDITION_FAILED', `Invalid x-match field value <<"${s}">>; expected all, any, all-with-x, or any-with-x`);
    }
  }

  routeKey(msg: Message, _key: string, into: Set<Destination>): void {
    if (this.#compiled.size === 0) return;
    const headers = msg.properties.headers;
    for (const b of this.#compiled.values()) {
      if (!into.has(b.destination) && matches(b, headers)) into.add(b.destination);
    }
  }

  protected addToIndex(b: Binding): void {
    // As RabbitMQ's parse_x_match: anything but one of the four longstr modes means all.
    const x = b.arguments.get('x-match');
    const given = x?.type === 'S' ? fieldString(x)! : 'all';
    const mode = MATCH_MODES.has(given) ? given : 'all';
    const withX = mode.endsWith('-with-x');
    const pairs: [string, FieldValue][] = [];
    for (const [k, v] of b.arguments) {
      if (k === 'x-match') continue;
      if (!withX && k.startsWith('x-')) continue;
      pairs.push([k, v]);
    }
    this.#compiled.set(b, { destination: b.destination, any: mode.startsWith('any'), pairs });
  }

  protected removeFromIndex(b: Binding): void {
    this.#compiled.delete(b);
  }
}

function matches(b: CompiledBinding, headers: FieldTable | undefined): boolean {
  if (b.any) {
    if (headers === undefined) return false;
    for (const [k, want] of b.pairs) {
      const got = headers.get(k);
      if (got !== undefined && valueMatches(want, got)) return true;
    }
    return false;
  }
  for (const [k, want] of b.pairs) {
    const got = headers?.get(k);
    if (got === undefined || !valueMatches(want, got)) return false;
  }
  return true;
}

/** Integers (any width, timestamps) as bigint, floats as number; undefined for non-numbers. */
function numeric(v: FieldValue): bigint | number | undefined {
  switch (v.type) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
    case 'l':
    case 'T':
      return BigInt(v.value);
    case 'f':
    case 'd':
      return v.value;
    default:
      return undefined;
  }
}

function bytes(v: FieldValue): Buffer | undefined {
  if (v.type === 'S') return typeof v.value === 'string' ? Buffer.from(v.value) : v.value;
  if (v.type === 'x') return v.value;
  return undefined;
}

/** Erlang's == on the decoded values: 1 (signedint) == 1 (long) == 1.0 (double); <<"a">> longstr == binary. */
function valueMatches(want: FieldValue, got: FieldValue): boolean {
  if (want.type === 'V') return true;
  const a = numeric(want);
  const b = numeric(got);
  if (a !== undefined || b !== undefined) {
    if (a === undefined || b === undefined) return false;
    if (typeof a === 'bigint' && typeof b === 'bigint') return a === b;
    return Number(a) === Number(b);
  }
  const sa = bytes(want);
  const sb = bytes(got);
  if (sa !== undefined || sb !== undefined) return sa !== undefined && sb !== undefined && sa.equals(sb);
  return fieldEquals(want, got);
}

/** A value as Erlang's ~tp prints it, for the x-match type error. */
function erlangValue(v: FieldValue): string {
  switch (v.type) {
    case 'S':
    case 'x':
      return `<<"${(typeof v.value === 'string' ? Buffer.from(v.value) : v.value).toString('latin1')}">>`;
    case 'V':
      return 'undefined';
    case 'D':
      return `{${v.value.scale},${v.value.value}}`;
    case 'f':
    case 'd':
      return Number.isInteger(v.value) ? v.value.toFixed(1) : String(v.value);
    case 'A':
      return `[${v.value.map((x) => `{${RABBIT_TYPE_NAMES[x.type]},${erlangValue(x)}}`).join(',')}]`;
    case 'F':
      return `[${[...v.value].map(([k, x]) => `{<<"${k}">>,${RABBIT_TYPE_NAMES[x.type]},${erlangValue(x)}}`).join(',')}]`;
    default:
      return String(v.value);
  }
}
