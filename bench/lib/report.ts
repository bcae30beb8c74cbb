// Results: every scenario yields named metrics (plus raw figures and notes); the runner prints
// them as a table, appends one JSON line per scenario, and writes a short markdown summary.

import { appendFileSync, writeFileSync } from 'node:fs';
import { fmtNum, round } from './util.js';

export interface Metric {
  /** Stable key, e.g. "publish_rate". */
  readonly key: string;
  /** Human label, e.g. "publish msg/s (confirmed)". */
  readonly label: string;
  readonly value: number | string | null;
  readonly unit: string;
  /** Which way is better, for comparisons. */
  readonly better?: 'hi' | 'lo';
}

export interface ScenarioResult {
  readonly scenario: string;
  readonly title: string;
  ok: boolean;
  skipped: string | null;
  error: string | null;
  readonly metrics: Metric[];
  readonly notes: string[];
  readonly raw: Record<string, unknown>;
  problems: string[];
  seconds: number;
}

export class Recorder {
  readonly result: ScenarioResult;

  constructor(scenario: string, title: string) {
    this.result = { scenario, title, ok: true, skipped: null, error: null, metrics: [], notes: [], raw: {}, problems: [], seconds: 0 };
  }

  /** Adds a metric; numbers are rounded for display, the raw value goes to `raw`. */
  add(key: string, label: string, value: number | string | null | undefined, unit = '', better?: 'hi' | 'lo'): void {
    const v = value === undefined ? null : typeof value === 'number' ? (Number.isFinite(value) ? round(value) : null) : value;
    this.result.metrics.push(better ? { key, label, value: v, unit, better } : { key, label, value: v, unit });
  }

  note(text: string): void {
    this.result.notes.push(text);
  }

  raw(key: string, value: unknown): void {
    this.result.raw[key] = value;
  }

  skip(reason: string): void {
    this.result.skipped = reason;
  }
}

export interface RunMeta {
  readonly run: string;
  readonly date: string;
  readonly target: Record<string, unknown>;
  readonly server: { product: string; version: string } | null;
  readonly machine: Record<string, unknown>;
  readonly commit: string;
  readonly quick: boolean;
  readonly settings: Record<string, unknown>;
}

export function jsonLine(meta: RunMeta, r: ScenarioResult): string {
  const metrics: Record<string, number | string | null> = {};
  for (const m of r.metrics) metrics[m.key] = m.value;
  return JSON.stringify({
    run: meta.run,
    date: meta.date,
    target: meta.target['kind'],
    scenario: r.scenario,
    ok: r.ok,
    skipped: r.skipped,
    error: r.error,
    seconds: round(r.seconds),
    metrics,
    units: Object.fromEntries(r.metrics.map((m) => [m.key, m.unit])),
    labels: Object.fromEntries(r.metrics.map((m) => [m.key, m.label])),
    better: Object.fromEntries(r.metrics.filter((m) => m.better).map((m) => [m.key, m.better])),
    notes: r.notes,
    problems: r.problems,
    raw: r.raw,
    meta: { target: meta.target, server: meta.server, machine: meta.machine, commit: meta.commit, quick: meta.quick, settings: meta.settings },
  });
}

export function appendJson(file: string, line: string): void {
  appendFileSync(file, line + '\n');
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function padLeft(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

function statusOf(r: ScenarioResult): string {
  return r.skipped ? `SKIPPED: ${r.skipped}` : r.ok ? '' : `FAILED: ${r.error ?? '?'}`;
}

/** Plain-text table for the terminal. */
export function textTable(results: readonly ScenarioResult[]): string {
  const rows: [string, string, string, string][] = [];
  for (const r of results) {
    const st = statusOf(r);
    if (st) rows.push([r.scenario, st, '', '']);
    for (const m of r.metrics) rows.push([r.scenario, m.label, fmtNum(m.value), m.unit]);
  }
  const w0 = Math.max(8, ...rows.map((r) => r[0].length));
  const w1 = Math.min(70, Math.max(6, ...rows.map((r) => (r[2] === '' && r[3] === '' ? 0 : r[1].length))));
  const w2 = Math.max(5, ...rows.map((r) => r[2].length));
  const lines = [`${pad('scenario', w0)}  ${pad('metric', w1)}  ${padLeft('value', w2)}  unit`, '-'.repeat(w0 + w1 + w2 + 12)];
  let prev = '';
  for (const [s, m, v, u] of rows) {
    lines.push(`${pad(s === prev ? '' : s, w0)}  ${pad(m, w1)}  ${padLeft(v, w2)}  ${u}`.trimEnd());
    prev = s;
  }
  return lines.join('\n');
}

/** Markdown summary of one run. */
export function markdown(meta: RunMeta, results: readonly ScenarioResult[]): string {
  const m = meta.machine;
  const out: string[] = [];
  out.push(`# warren benchmark ${meta.run}`);
  out.push('');
  out.push(`- date: ${meta.date}`);
  out.push(`- target: ${meta.target['kind']}${meta.server ? ` (${meta.server.product} ${meta.server.version})` : ''}${meta.target['pinned'] ? `, pinned to CPU ${String(meta.target['pinned'])}` : ''}`);
  out.push(`- machine: ${String(m['cpuModel'])}, ${String(m['cpus'])} CPUs, ${String(m['memGiB'])} GiB, Linux ${String(m['kernel'])}, Node ${String(m['node'])}; load average at start ${String(m['loadavg'])}`);
  out.push(`- commit: ${meta.commit}${meta.quick ? ' — QUICK MODE (small sizes, smoke check only)' : ''}`);
  out.push(`- settings: ${Object.entries(meta.settings).map(([k, v]) => `${k}=${String(v)}`).join(', ')}`);
  out.push('');
  out.push('| scenario | metric | value | unit |');
  out.push('| --- | --- | ---: | --- |');
  for (const r of results) {
    const st = statusOf(r);
    if (st) out.push(`| ${r.scenario} | ${st.replace(/\|/g, '\\|')} | | |`);
    for (const x of r.metrics) out.push(`| ${r.scenario} | ${x.label} | ${fmtNum(x.value)} | ${x.unit} |`);
  }
  const notes = results.filter((r) => r.notes.length || r.problems.length);
  if (notes.length) {
    out.push('');
    out.push('## Notes');
    for (const r of notes) {
      for (const n of r.notes) out.push(`- **${r.scenario}**: ${n}`);
      if (r.problems.length) {
        out.push(`- **${r.scenario}**: broker reported ${r.problems.length} warning/error line(s), first ones:`);
        out.push('');
        out.push('```');
        for (const p of r.problems.slice(0, 8)) out.push(p.length > 400 ? p.slice(0, 400) + '...' : p);
        out.push('```');
      }
    }
  }
  out.push('');
  return out.join('\n');
}

export function writeText(file: string, text: string): void {
  writeFileSync(file, text);
}
