// Field tables and arrays as RabbitMQ encodes them (not as the 0-9-1 PDF says: see the errata).
// Every value keeps its wire type tag so that a table decoded and encoded again is byte-identical,
// and so that error texts can name the type ("of type 'signedint'") exactly as RabbitMQ does.
// Tables are Maps because object keys would reorder integer-like names.

import { CodecError } from './codec-error.js';

export type FieldValue =
  | { readonly type: 't'; readonly value: boolean }
  | { readonly type: 'b' | 'B' | 's' | 'u' | 'I' | 'i' | 'f' | 'd'; readonly value: number }
  | { readonly type: 'l' | 'T'; readonly value: number | bigint }
  | { readonly type: 'D'; readonly value: { readonly scale: number; readonly value: number } }
  | { readonly type: 'S'; readonly value: string | Buffer }
  | { readonly type: 'x'; readonly value: Buffer }
  | { readonly type: 'A'; readonly value: readonly FieldValue[] }
  | { readonly type: 'F'; readonly value: FieldTable }
  | { readonly type: 'V'; readonly value: null };

export type FieldTable = Map<string, FieldValue>;
export type FieldType = FieldValue['type'];

/** One empty table shared by everything declared without arguments (most queues): it refuses changes. */
const EMPTY_TABLE: FieldTable = new Map();
EMPTY_TABLE.set = EMPTY_TABLE.delete = EMPTY_TABLE.clear = (): never => {
  throw new TypeError('the shared empty field table cannot be changed');
};

/** `t`, or the shared empty table when `t` is empty, so that idle objects keeping it cost less. */
export function sharedIfEmpty(t: FieldTable): FieldTable {
  return t.size === 0 ? EMPTY_TABLE : t;
}

/**
 * Deepest nesting of tables and arrays accepted anywhere (the outermost table is level 1), on
 * the wire (BufferReader) and from JSON (management API, definitions). RabbitMQ has no limit
 * short of the frame size (~18,000 levels fit in 128 KiB); warren's decoder and everything that
 * walks a table recurse, so deeper input is refused: 501 FRAME_ERROR on the wire, 400 over HTTP.
 * Real tables nest a few levels (x-death is 4).
 */
export const MAX_TABLE_DEPTH = 100;

/** RabbitMQ's names for the tags, as they appear in its error texts. */
export const RABBIT_TYPE_NAMES: Readonly<Record<FieldType, string>> = {
  t: 'bool',
  b: 'byte',
  B: 'unsignedbyte',
  s: 'short',
  u: 'unsignedshort',
  I: 'signedint',
  i: 'unsignedint',
  l: 'long',
  f: 'float',
  d: 'double',
  D: 'decimal',
  S: 'longstr',
  x: 'binary',
  A: 'array',
  T: 'timestamp',
  F: 'table',
  V: 'void',
};

/** Constructors for tables the broker builds itself (server properties, x-death, ...). */
export const F = {
  bool: (value: boolean): FieldValue => ({ type: 't', value }),
  int: (value: number): FieldValue => ({ type: 'I', value }),
  long: (value: number | bigint): FieldValue => ({ type: 'l', value }),
  str: (value: string | Buffer): FieldValue => ({ type: 'S', value }),
  timestamp: (seconds: number): FieldValue => ({ type: 'T', value: seconds }),
  table: (value: FieldTable): FieldValue => ({ type: 'F', value }),
  array: (value: readonly FieldValue[]): FieldValue => ({ type: 'A', value }),
  void: (): FieldValue => ({ type: 'V', value: null }),
};

export function table(entries: Record<string, FieldValue>): FieldTable {
  return new Map(Object.entries(entries));
}

/** Integer value of any integral tag, or undefined for other types. */
export function fieldInteger(v: FieldValue | undefined): number | undefined {
  if (v === undefined) return undefined;
  switch (v.type) {
    case 'b':
    case 'B':
    case 's':
    case 'u':
    case 'I':
    case 'i':
      return v.value;
    case 'l':
    case 'T':
      return typeof v.value === 'bigint' ? Number(v.value) : v.value;
    default:
      return undefined;
  }
}

export function isIntegerField(v: FieldValue): boolean {
  return fieldInteger(v) !== undefined;
}

/** String value of a longstr (or the UTF-8 reading of a byte array), else undefined. */
export function fieldString(v: FieldValue | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v.type === 'S') return typeof v.value === 'string' ? v.value : v.value.toString('utf8');
  if (v.type === 'x') return v.value.toString('utf8');
  return undefined;
}

/** Value equality with the tag; RabbitMQ compares arguments this way when checking equivalence. */
export function fieldEquals(a: FieldValue, b: FieldValue): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'S':
    case 'x': {
      const bv = b.value as string | Buffer;
      const av = a.value;
      const ab = typeof av === 'string' ? Buffer.from(av) : av;
      const bb = typeof bv === 'string' ? Buffer.from(bv) : bv;
      return ab.equals(bb);
    }
    case 'D': {
      const bv = b.value as { scale: number; value: number };
      return a.value.scale === bv.scale && a.value.value === bv.value;
    }
    case 'A': {
      const bv = b.value as readonly FieldValue[];
      return a.value.length === bv.length && a.value.every((x, i) => fieldEquals(x, bv[i]!));
    }
    case 'F':
      return tableEquals(a.value, b.value as FieldTable);
    case 'l':
    case 'T':
      return BigInt(a.value) === BigInt(b.value as number | bigint);
    default:
      return a.value === b.value;
  }
}

export function tableEquals(a: FieldTable, b: FieldTable): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || !fieldEquals(v, w)) return false;
  }
  return true;
}

/** A value as RabbitMQ prints it in "received the value '2000'" texts. */
export function formatFieldValue(v: FieldValue): string {
  switch (v.type) {
    case 'S':
      return typeof v.value === 'string' ? v.value : v.value.toString('utf8');
    case 'x':
      return v.value.toString('utf8');
    case 'D':
      return `${v.value.value}e-${v.value.scale}`;
    case 'A':
      return `[${v.value.map(formatFieldValue).join(',')}]`;
    case 'F':
      return `[${[...v.value].map(([k, x]) => `{<<"${k}">>,${RABBIT_TYPE_NAMES[x.type]},${formatFieldValue(x)}}`).join(',')}]`;
    case 'V':
      return 'undefined';
    default:
      return String(v.value);
  }
}

/** Plain JS view of a table, for logs and JSON APIs. */
export function tableToJson(t: FieldTable): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of t) out[k] = fieldToJson(v);
  return out;
}

export function fieldToJson(v: FieldValue): unknown {
  switch (v.type) {
    case 'S':
      return typeof v.value === 'string' ? v.value : v.value.toString('utf8');
    case 'x':
      return v.value.toString('base64');
    case 'l':
    case 'T':
      return typeof v.value === 'bigint' ? v.value.toString() : v.value;
    case 'D':
      return v.value.value / 10 ** v.value.scale;
    case 'A':
      return v.value.map(fieldToJson);
    case 'F':
      return tableToJson(v.value);
    default:
      return v.value;
  }
}

/**
 * Best-effort table from plain JSON (management API, definitions files). Throws CodecError
 * (SYNTAX_ERROR) past MAX_TABLE_DEPTH levels.
 */
export function jsonToTable(obj: Record<string, unknown> | null | undefined, depth = 1): FieldTable {
  const t: FieldTable = new Map();
  if (!obj) return t;
  if (depth > MAX_TABLE_DEPTH) throw tooDeep();
  for (const [k, v] of Object.entries(obj)) t.set(k, jsonToField(v, depth + 1));
  return t;
}

/** `depth`: the level a table or array made of `v` would sit at. */
export function jsonToField(v: unknown, depth = 1): FieldValue {
  if (v === null || v === undefined) return { type: 'V', value: null };
  if (typeof v === 'boolean') return { type: 't', value: v };
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return { type: 'd', value: v };
    // RabbitMQ's JSON decoder yields integers that it then stores as 'long'.
    return { type: 'l', value: v };
  }
  if (typeof v === 'bigint') return { type: 'l', value: v };
  if (typeof v === 'string') return { type: 'S', value: v };
  if (Array.isArray(v)) {
    if (depth > MAX_TABLE_DEPTH) throw tooDeep();
    return { type: 'A', value: v.map((x) => jsonToField(x, depth + 1)) };
  }
  if (Buffer.isBuffer(v)) return { type: 'x', value: v };
  return { type: 'F', value: jsonToTable(v as Record<string, unknown>, depth) };
}

function tooDeep(): CodecError {
  return new CodecError('SYNTAX_ERROR', `field table nested deeper than ${MAX_TABLE_DEPTH} levels`);
}
