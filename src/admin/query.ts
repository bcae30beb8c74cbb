// The query parameters RabbitMQ's list endpoints take: `columns` (keep only these fields,
// dotted paths reach into objects), `sort` / `sort_reverse`, `name` / `use_regex` (filter by
// name), and `page` / `page_size` (then the answer is a page object instead of a list).
// Every parameter is bounded: a name regex runs on the linear-time engine (it comes from any
// management user and must not stall the broker), and its length, the number of columns and
// the page size are capped.

import { compileLinear, MAX_PATTERN_LENGTH } from '../util/linear-regex.js';
import { badRequest } from './http-error.js';
import type { Json } from './format.js';

export interface ListQuery {
  columns?: string;
  sort?: string;
  sort_reverse?: string | boolean;
  name?: string;
  use_regex?: string | boolean;
  page?: string | number;
  page_size?: string | number;
}

/** RabbitMQ's largest page (rabbit_mgmt_util ?MAX_PAGE_SIZE). */
export const MAX_PAGE_SIZE = 500;
/** Most `columns` one request may name, and the longest `columns` / `sort` text. */
export const MAX_COLUMNS = 64;
export const MAX_COLUMNS_LENGTH = 4096;

export const LIST_QUERY_SCHEMA = {
  type: 'object',
  properties: {
    columns: { type: 'string', maxLength: MAX_COLUMNS_LENGTH },
    sort: { type: 'string', maxLength: 256 },
    sort_reverse: { type: 'boolean' },
    name: { type: 'string', maxLength: MAX_PATTERN_LENGTH },
    use_regex: { type: 'boolean' },
    page: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
    page_size: { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE },
  },
} as const;

/** The value at a dotted path, or undefined. */
export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Only the named (possibly dotted) fields, nested as in the original. */
export function pickColumns(obj: Json, columns: readonly string[]): Json {
  const out: Json = {};
  for (const col of columns) {
    const v = getPath(obj, col);
    if (v === undefined) continue;
    const parts = col.split('.');
    let at = out;
    for (const p of parts.slice(0, -1)) {
      const next = at[p];
      if (typeof next === 'object' && next !== null) at = next as Json;
      else at = at[p] = {} as Json;
    }
    at[parts[parts.length - 1]!] = v;
  }
  return out;
}

function compare(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (a === undefined) return b === undefined ? 0 : -1;
  if (b === undefined) return 1;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

/** The name filter of a list query (null when there is none). */
export function nameMatcher(q: ListQuery): ((name: string) => boolean) | null {
  if (q.name === undefined || q.name === '') return null;
  // Case-insensitive, as RabbitMQ's filter (a substring, or a regex run with `caseless`).
  const name = q.name.toLowerCase();
  if (q.use_regex === true || q.use_regex === 'true') {
    let re: { test(s: string): boolean };
    try {
      re = compileLinear(q.name, { caseless: true });
    } catch (e) {
      throw badRequest(`invalid regular expression in name: ${(e as Error).message}`);
    }
    return (s) => re.test(s);
  }
  return (s) => s.toLowerCase().includes(name);
}

/** Sorts (stably) by the query's sort key, as read by `key`; unchanged when the query names none. */
export function sortByQuery<T>(items: T[], q: ListQuery, key: (item: T, path: string) => unknown): T[] {
  const sortKey = q.sort !== undefined && q.sort !== '' ? q.sort : null;
  if (sortKey === null) return items;
  const keyed = items.map((item) => ({ item, k: key(item, sortKey) }));
  keyed.sort((a, b) => compare(a.k, b.k));
  const out = keyed.map((e) => e.item);
  if (q.sort_reverse === true || q.sort_reverse === 'true') out.reverse();
  return out;
}

/** Keeps only the query's `columns`, if it names any. */
export function selectColumns(items: Json[], q: ListQuery): Json[] {
  if (q.columns === undefined || q.columns === '') return items;
  const cols = q.columns.split(',').map((c) => c.trim()).filter((c) => c !== '');
  if (cols.length > MAX_COLUMNS) throw badRequest(`columns names more than ${MAX_COLUMNS} fields`);
  return items.map((i) => pickColumns(i, cols));
}

/** The query's page of `filtered` (already filtered and sorted), as RabbitMQ's page object; `toJson` runs on that page only. */
export function pageOf<T>(filtered: T[], totalCount: number, q: ListQuery & { page: string | number }, toJson: (item: T) => Json): Json {
  const page = Number(q.page);
  const size = Number(q.page_size ?? 100);
  const pageCount = Math.max(1, Math.ceil(filtered.length / size));
  if (page > pageCount) throw badRequest(`page ${page} is past the last page (${pageCount})`);
  const slice = selectColumns(filtered.slice((page - 1) * size, page * size).map(toJson), q);
  return {
    filtered_count: filtered.length,
    item_count: slice.length,
    items: slice,
    page,
    page_count: pageCount,
    page_size: size,
    total_count: totalCount,
  };
}

/** Applies a list query to the items of a list endpoint (sorted by name when no sort is given, as RabbitMQ does). */
export function applyListQuery(items: Json[], q: ListQuery): unknown {
  const match = nameMatcher(q);
  const filtered = match === null ? items : items.filter((i) => match(String(i['name'] ?? '')));
  const sorted = sortByQuery(filtered, q, getPath);
  if (q.page === undefined) return selectColumns(sorted, q);
  return pageOf(sorted, items.length, { ...q, page: q.page }, (i) => i);
}

/** Sorts by vhost, then name (the order RabbitMQ lists objects in). */
export function byVhostAndName(a: Json, b: Json): number {
  return compare(a['vhost'], b['vhost']) || compare(a['name'], b['name']);
}
