// The soak's samples and how they are judged: the CSV columns, the curves after warm-up and the
// table the report prints. Kept apart from bench/soak.ts so that an old run's CSV can be judged
// again with the same code (`npm run soak -- --report-only FILE.csv`).

export const COLUMNS = [
  'elapsed_s',
  'rss_mib',
  'heap_used_mib',
  'heap_total_mib',
  'external_mib',
  'open_fds',
  'eventloop_mean_ms',
  'eventloop_p50_ms',
  'eventloop_p99_ms',
  'eventloop_max_ms',
  'broker_cpu_ms',
  'connections',
  'channels',
  'queue_messages',
  'published',
  'confirmed',
  'consumed_work',
  'consumed_dead',
  'connections_opened',
  'loadavg1',
] as const;
export type Column = (typeof COLUMNS)[number];
export type Row = Record<Column, number>;

/** Counters and the clock only grow; every other column is judged for flatness, in this order. */
const NOT_JUDGED: readonly Column[] = ['elapsed_s', 'channels', 'published', 'confirmed', 'consumed_work', 'consumed_dead', 'connections_opened'];
export const JUDGED: readonly Column[] = COLUMNS.filter((c) => !NOT_JUDGED.includes(c));

export interface Curve {
  readonly column: Column;
  readonly first: number;
  readonly last: number;
  readonly min: number;
  readonly max: number;
  readonly changePct: number;
  readonly spreadPct: number;
  /** Unrounded: the spread is computed from these, so rounding for display cannot move it. */
  readonly medians: readonly number[];
  readonly medianSpreadPct: number;
}

export function median(v: readonly number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const pct = (a: number, b: number): number => Math.round(((a - b) / b) * 1000) / 10;

/**
 * A curve after warm-up. Single samples catch V8 handing memory back or one busy moment of a
 * shared machine, so flatness is also judged on the medians of equal windows (10 minutes in a
 * 60-minute run): their spread, max over min, is the figure held against the 10 % goal.
 * Returns null when the rows have no value for the column (a CSV from before it existed).
 */
export function curve(rows: readonly Row[], column: Column, windowSeconds: number): Curve | null {
  const start = rows[0]?.elapsed_s ?? 0;
  const windows: number[][] = [];
  const v: number[] = [];
  for (const r of rows) {
    const x = r[column];
    if (!Number.isFinite(x)) continue;
    v.push(x);
    (windows[Math.floor((r.elapsed_s - start) / windowSeconds)] ??= []).push(x);
  }
  if (v.length === 0) return null;
  const first = v[0]!;
  const last = v[v.length - 1]!;
  const min = Math.min(...v);
  const max = Math.max(...v);
  const medians = windows.filter((w) => w.length > 0).map(median);
  return { column, first, last, min, max, changePct: pct(last, first), spreadPct: pct(max, min), medians, medianSpreadPct: pct(Math.max(...medians), Math.min(...medians)) };
}

/** Six windows after warm-up at most, none shorter than a minute (10 minutes in a 60-minute run). */
export function windowSecondsFor(minutes: number, warmupMinutes: number): number {
  return Math.max(60, Math.ceil(((minutes - warmupMinutes) * 60) / 6));
}

/** Three significant digits: enough to see a 10 % difference in any of the figures. */
export function show(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(3))) : String(x);
}

export function curvesTable(curves: readonly Curve[]): string[] {
  return [
    '| figure | first | last | min | max | last vs first | max vs min | window medians | spread of window medians |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
    ...curves.map(
      (c) =>
        `| ${c.column} | ${c.first} | ${c.last} | ${c.min} | ${c.max} | ${c.changePct} % | ${c.spreadPct} % | ${c.medians.map(show).join(', ')} | ${c.medianSpreadPct} % |`,
    ),
  ];
}

export function toCsvLine(row: Row): string {
  return COLUMNS.map((c) => row[c]).join(',');
}

/** Rows of a soak CSV; columns it lacks (older runs) read as NaN. */
export function parseCsv(text: string): Row[] {
  const [head, ...lines] = text.trim().split('\n');
  const names = (head ?? '').split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const row = {} as Row;
    for (const c of COLUMNS) {
      const i = names.indexOf(c);
      row[c] = i < 0 ? NaN : Number(cells[i]);
    }
    return row;
  });
}

/** The curves of every judged figure with values, after `warmupSeconds`. */
export function judge(rows: readonly Row[], warmupSeconds: number, windowSeconds: number): Curve[] {
  const warm = rows.filter((r) => r.elapsed_s >= warmupSeconds);
  return JUDGED.map((c) => curve(warm, c, windowSeconds)).filter((c): c is Curve => c !== null);
}
