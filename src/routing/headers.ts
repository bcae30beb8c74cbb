// Headers exchange: a binding's arguments are matched against the message's headers table.
// x-match = all (default) | any decide whether every or one pair must match; keys starting
// with "x-" take part only with all-with-x / any-with-x. A void value asks only for presence.
// Bindings are compiled into pair lists when bound; values compare by RabbitMQ's type class.

import type { FieldTable, FieldValue } from '../codec/field-table.js';
import { fieldEquals, fieldString } from '../codec/field-table.js';
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
    const s = fieldString(mode);
    if (s === undefined || !MATCH_MODES.has(s)) {
      throw new ChannelError(
        'PRECONDITION_FAILED',
        `Invalid x-match field value ${s === undefined ? mode.type : `<<"${s}">>`}; expected all, any, all-with-x, or any-with-x`,
      );
    }
  }

  route(msg: Message, into: Set<Destination>): void {
    if (this.#compiled.size === 0) return;
    const headers = msg.properties.headers;
    for (const b of this.#compiled.values()) {
      if (!into.has(b.destination) && matches(b, headers)) into.add(b.destination);
    }
  }

  protected addToIndex(b: Binding): void {
    const mode = fieldString(b.arguments.get('x-match')) ?? 'all';
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

type TypeClass = 'int' | 'float' | 'binary' | 'other';

function typeClass(v: FieldValue): TypeClass {
  switch (v.type) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
    case 'l':
      return 'int';
    case 'f':
    case 'd':
      return 'float';
    case 'S':
    case 'x':
      return 'binary';
    default:
      return 'other';
  }
}

function valueMatches(want: FieldValue, got: FieldValue): boolean {
  if (want.type === 'V') return true;
  const c = typeClass(want);
  if (c !== typeClass(got)) return false;
  switch (c) {
    case 'int':
    case 'float':
      return Number(want.value) === Number(got.value);
    case 'binary':
      return fieldString(want) === fieldString(got);
    default:
      return fieldEquals(want, got);
  }
}
