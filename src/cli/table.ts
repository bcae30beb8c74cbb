// Output of the CLI's list commands: aligned plain-text tables for people (numbers right-
// aligned, one header line), or JSON for scripts, with the columns the user picked. Columns are
// field names of the HTTP API's objects; dotted names reach into nested ones
// (message_stats.publish_details.rate).

import { UsageError } from './client.js';

export type Row = Record<string, unknown>;

/** The value at a dotted path, or undefined. */
export function valueAt(row: unknown, path: string): unknown {
  let cur: unknown = row;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** A cell as text: strings as they are, lists joined with commas, objects as JSON, nothing as ''. */
export function cellText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(',');
  return JSON.stringify(v);
}

/** Columns from `--columns a,b` and/or positional names; `defaults` when none given. */
export function chooseColumns(positional: readonly string[] | undefined, option: string | undefined, defaults: readonly string[]): string[] {
  const picked = [...(positional ?? []), ...(option ?? '').split(',')].flatMap((c) => c.split(',')).map((c) => c.trim()).filter((c) => c !== '');
  return picked.length > 0 ? picked : [...defaults];
}

/** Refuses columns that no row has (a typo would otherwise print an empty column). */
export function checkColumns(rows: readonly Row[], columns: readonly string[]): void {
  if (rows.length === 0) return;
  for (const c of columns) {
    if (rows.some((r) => valueAt(r, c) !== undefined)) continue;
    const known = [...new Set(rows.flatMap((r) => Object.keys(r)))].sort();
    throw new UsageError(`unknown column '${c}'; the fields here are: ${known.join(', ')}`);
  }
}

/** An aligned table with a header line; numeric columns are right-aligned. */
export function formatTable(rows: readonly Row[], columns: readonly string[]): string {
  const cells = rows.map((r) => columns.map((c) => cellText(valueAt(r, c))));
  const numeric = columns.map((c) => rows.length > 0 && rows.every((r) => {
    const v = valueAt(r, c);
    return v === undefined || v === null || typeof v === 'number';
  }));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : i === values.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(columns), ...cells.map(line)].join('\n') + '\n';
}

/** Keeps only `columns` of each row (nested as in the original), for --json with --columns. */
export function pick(rows: readonly Row[], columns: readonly string[]): Row[] {
  return rows.map((r) => {
    const out: Row = {};
    for (const c of columns) {
      const v = valueAt(r, c);
      if (v === undefined) continue;
      const parts = c.split('.');
      let at = out;
      for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Row;
      at[parts[parts.length - 1]!] = v;
    }
    return out;
  });
}

/** Key/value lines with the keys aligned (status, get). */
export function formatPairs(pairs: readonly (readonly [string, string])[]): string {
  const w = Math.max(0, ...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${k.padEnd(w)}  ${v}`.trimEnd()).join('\n') + '\n';
}
