// Medians per broker of every metric in a bench/small-compare.sh folder: reads
// <broker>-r<round>.jsonl (one JSON line per scenario, as run.js writes them) and prints a
// markdown table, scenario and metric by row, one column per broker with the median, the
// number of rounds and their range, then this build's medians against the others'. `node dist/bench/small-summary.js DIR`.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Line {
  readonly scenario: string;
  readonly metrics: Record<string, number | string | null>;
  readonly labels: Record<string, string>;
  readonly units: Record<string, string>;
}

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: small-summary DIR');
  process.exit(2);
}
// broker -> "scenario\tmetric" -> values over rounds
const values = new Map<string, Map<string, number[]>>();
const labels = new Map<string, string>();
for (const f of readdirSync(dir).filter((x) => /^[a-z]+-r\d+\.jsonl$/.test(x)).sort()) {
  const broker = f.replace(/-r\d+\.jsonl$/, '');
  const per = values.get(broker) ?? new Map<string, number[]>();
  values.set(broker, per);
  for (const text of readFileSync(join(dir, f), 'utf8').trim().split('\n')) {
    if (text === '') continue;
    const l = JSON.parse(text) as Line;
    for (const [k, v] of Object.entries(l.metrics)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      const key = `${l.scenario}\t${k}`;
      labels.set(key, `${l.scenario}: ${l.labels[k] ?? k}${l.units[k] ? ` (${l.units[k]})` : ''}`);
      const list = per.get(key) ?? [];
      per.set(key, list);
      list.push(v);
    }
  }
}
/** The middle value, or the mean of the two middle ones. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 === 1 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
}
const brokers = ['before', 'after', 'rabbit'].filter((b) => values.has(b));
const fmt = (x: number): string => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : x.toPrecision(3));
const ratio = (a: number | null, b: number | null): string => (a === null || b === null || b === 0 ? '' : (a / b).toFixed(2));
const med = (b: string, key: string): number | null => {
  const xs = values.get(b)?.get(key);
  return xs === undefined || xs.length === 0 ? null : median(xs);
};
const cols = [...brokers.map((b) => `${b} (median (n; min..max))`), ...(values.has('after') ? brokers.filter((b) => b !== 'after').map((b) => `after / ${b}`) : [])];
console.log(`| metric | ${cols.join(' | ')} |`);
console.log(`| --- |${' ---: |'.repeat(cols.length)}`);
for (const [key, label] of [...labels].sort((a, b) => a[0].localeCompare(b[0]))) {
  const cells = brokers.map((b) => {
    const m = med(b, key);
    const xs = values.get(b)!.get(key) ?? [];
    return m === null ? '' : xs.length === 1 ? `${fmt(m)} (1)` : `${fmt(m)} (${xs.length}; ${fmt(Math.min(...xs))}..${fmt(Math.max(...xs))})`;
  });
  if (values.has('after')) for (const b of brokers.filter((x) => x !== 'after')) cells.push(ratio(med('after', key), med(b, key)));
  console.log(`| ${label} | ${cells.join(' | ')} |`);
}
