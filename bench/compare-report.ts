// Side-by-side reports of RabbitMQ (base) and warren (other) measured in one sitting.
//
//   sideBySide(baseJsonl, otherJsonl)   the runner's own scenarios (run.ts --compare A B)
//   node dist/bench/compare-report.js --matrix BASE OTHER [--h1m BASE OTHER] [--own BASE OTHER]
//        [--summary FILE]... [--title T] [--info K=V]...
//     the whole comparison in markdown: the goals from the issues with a verdict, then the
//     summarize.mjs tables given with --summary, then the own scenarios side by side.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fmtNum } from './lib/util.js';

type Json = Record<string, unknown>;

function lines(text: string): Json[] {
  const out: Json[] = [];
  for (const l of text.split('\n')) {
    const t = l.trim();
    if (!t.startsWith('{')) continue;
    try {
      out.push(JSON.parse(t) as Json);
    } catch {
      // skip
    }
  }
  return out;
}

function get(o: unknown, path: string): number | null {
  let v: unknown = o;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Json)[k] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

interface Med {
  readonly med: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

function med(xs: (number | null)[]): Med | null {
  const v = xs.filter((x): x is number => x !== null).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return { med: v.length % 2 ? v[m]! : (v[m - 1]! + v[m]!) / 2, min: v[0]!, max: v[v.length - 1]!, n: v.length };
}

const cell = (m: Med | null, unit = ''): string => (m ? `${fmtNum(m.med)}${unit}${m.n > 1 ? ` (${fmtNum(m.min)}–${fmtNum(m.max)})` : ''}` : '-');

/** Own-scenario results (run.ts JSON lines) of two runs, medians per metric, side by side. */
export function sideBySide(baseText: string, otherText: string, baseName = 'RabbitMQ', otherName = 'warren'): string {
  const base = lines(baseText);
  const other = lines(otherText);
  const scenarios: string[] = [];
  for (const o of [...base, ...other]) {
    const s = String(o['scenario']);
    if (!scenarios.includes(s)) scenarios.push(s);
  }
  const out: string[] = [];
  out.push(`| scenario | metric | unit | ${baseName} | ${otherName} | ${otherName}/${baseName} |`);
  out.push('| --- | --- | --- | ---: | ---: | ---: |');
  for (const s of scenarios) {
    const b = base.filter((o) => o['scenario'] === s);
    const w = other.filter((o) => o['scenario'] === s);
    const status = (rows: Json[]): string =>
      rows.length === 0 ? 'not run' : rows.every((r) => r['skipped']) ? `skipped: ${String(rows[0]!['skipped'])}` : rows.some((r) => r['ok'] === false) ? `FAILED: ${String(rows.find((r) => r['ok'] === false)!['error'])}` : '';
    const sb = status(b);
    const sw = status(w);
    if (sb || sw) out.push(`| ${s} | (status) | | ${sb || 'ok'} | ${sw || 'ok'} | |`);
    const keys: string[] = [];
    const labels: Record<string, string> = {};
    const units: Record<string, string> = {};
    for (const r of [...w, ...b]) {
      const m = (r['metrics'] ?? {}) as Record<string, unknown>;
      const lab = (r['labels'] ?? {}) as Record<string, string>;
      const un = (r['units'] ?? {}) as Record<string, string>;
      for (const k of Object.keys(m)) {
        if (!keys.includes(k)) keys.push(k);
        labels[k] ??= lab[k] ?? k;
        units[k] ??= un[k] ?? '';
      }
    }
    for (const k of keys) {
      const vals = (rows: Json[]): (number | null)[] => rows.filter((r) => r['ok'] !== false).map((r) => get(r['metrics'], k));
      const strs = (rows: Json[]): string => {
        const v = rows.map((r) => ((r['metrics'] ?? {}) as Record<string, unknown>)[k]).find((x) => typeof x === 'string');
        return typeof v === 'string' ? v : '';
      };
      const mb = med(vals(b));
      const mw = med(vals(w));
      const ratio = mb && mw && mb.med !== 0 ? (mw.med / mb.med).toFixed(2) : '';
      out.push(`| ${s} | ${labels[k]} | ${units[k]} | ${mb ? cell(mb) : strs(b) || '-'} | ${mw ? cell(mw) : strs(w) || '-'} | ${ratio} |`);
    }
  }
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// goals

interface Goal {
  readonly what: string;
  /** Value from the base (RabbitMQ) and other (warren) medians. */
  readonly base: Med | null;
  readonly other: Med | null;
  readonly unit: string;
  /** Pass test and the goal's wording. */
  readonly pass: (b: number | null, o: number) => boolean;
  readonly goal: string;
  /** When the goal compares only warren's figure with a constant. */
  readonly absolute?: boolean;
}

function matrixMed(rows: Json[], scenario: string, acc: (o: Json) => number | null): Med | null {
  return med(rows.filter((o) => o['scenario'] === scenario && o['ok'] !== false).map(acc));
}

function ownMed(rows: Json[], scenario: string, key: string): Med | null {
  return med(rows.filter((o) => o['scenario'] === scenario && o['ok'] !== false).map((o) => get(o['metrics'], key)));
}

function goals(mb: Json[], mo: Json[], hb: Json[], ho: Json[], ob: Json[], oo: Json[]): Goal[] {
  const g: Goal[] = [];
  const recv = (o: Json): number | null => get(o, 'recv_rate');
  for (const [s, what] of [
    ['a', '(a) 1p/1c 16 B transient: delivered msg/s'],
    ['b', '(b) 1p/1c 1 KiB transient: delivered msg/s'],
    ['d', '(d) fan-out to 10 queues: deliveries/s'],
    ['e', '(e) 10p/10c: delivered msg/s'],
  ] as const) {
    g.push({ what, base: matrixMed(mb, s, recv), other: matrixMed(mo, s, recv), unit: 'msg/s', pass: (b, o) => b !== null && o >= 2 * b, goal: '≥ 2× RabbitMQ' });
  }
  const p99 = (o: Json): number | null => {
    const v = get(o, 'lat_us.p99');
    return v === null ? null : v / 1000;
  };
  g.push({ what: '(g) latency p99 at 1000 msg/s', base: matrixMed(mb, 'g', p99), other: matrixMed(mo, 'g', p99), unit: 'ms', pass: (b, o) => b !== null && o <= b, goal: '≤ RabbitMQ' });
  const conn = (o: Json): number | null => get(o, 'rss_per_conn_kb_fit') ?? get(o, 'rss_per_conn_kb');
  g.push({ what: '(j) RSS per idle connection (fit over steps)', base: matrixMed(mb, 'j', conn), other: matrixMed(mo, 'j', conn), unit: 'KiB', pass: (b, o) => b !== null && o <= b / 2, goal: '≤ ½ RabbitMQ' });
  g.push({ what: '(c) persistent + confirms: end-to-end msg/s', base: matrixMed(mb, 'c', recv), other: matrixMed(mo, 'c', recv), unit: 'msg/s', pass: (b, o) => b !== null && o >= 2 * b, goal: '≥ 2× RabbitMQ' });
  if (ob.length || oo.length) {
    g.push({ what: '(c shape, Node client) confirm latency p50', base: ownMed(ob, 'steady', 'confirm_p50_ms'), other: ownMed(oo, 'steady', 'confirm_p50_ms'), unit: 'ms', pass: (b, o) => b !== null && o <= b, goal: '≤ RabbitMQ' });
    g.push({ what: '(c shape, Node client) confirm latency p99', base: ownMed(ob, 'steady', 'confirm_p99_ms'), other: ownMed(oo, 'steady', 'confirm_p99_ms'), unit: 'ms', pass: (b, o) => b !== null && o <= b, goal: '≤ RabbitMQ' });
  }
  g.push({ what: '(c) end-to-end latency p99 (amqp-perf)', base: matrixMed(mb, 'c', p99), other: matrixMed(mo, 'c', p99), unit: 'ms', pass: (b, o) => b !== null && o <= b, goal: '≤ RabbitMQ' });
  const hRows = hb.length || ho.length ? [hb, ho] : [mb, mo];
  const hCount = med([...hRows[0]!, ...hRows[1]!].filter((o) => o['scenario'] === 'h').map((o) => get(o, 'count')));
  const hsrc: [Json[], Json[], string] = [hRows[0]!, hRows[1]!, `backlog (h, ${hCount ? fmtNum(hCount.med) : '?'} persistent 1 KiB)`];
  g.push({ what: `${hsrc[2]}: publish msg/s`, base: matrixMed(hsrc[0], 'h', (o) => get(o, 'publish_rate')), other: matrixMed(hsrc[1], 'h', (o) => get(o, 'publish_rate')), unit: 'msg/s', pass: (b, o) => b !== null && o >= 2 * b, goal: '≥ 2× RabbitMQ' });
  g.push({ what: `${hsrc[2]}: drain msg/s`, base: matrixMed(hsrc[0], 'h', (o) => get(o, 'drain_rate')), other: matrixMed(hsrc[1], 'h', (o) => get(o, 'drain_rate')), unit: 'msg/s', pass: (b, o) => b !== null && o >= 2 * b, goal: '≥ 2× RabbitMQ' });
  const peak = (o: Json): number | null => {
    const v = get(o, 'broker_rss_kb.peak');
    return v === null ? null : v / 1024;
  };
  g.push({ what: `${hsrc[2]}: peak RSS`, base: matrixMed(hsrc[0], 'h', peak), other: matrixMed(hsrc[1], 'h', peak), unit: 'MiB', pass: (_b, o) => o < 300 * 1e6 / 1048576, goal: '< 300 MB', absolute: true });
  if (ob.length || oo.length) {
    g.push({ what: 'restart with the backlog stored: start to first message', base: ownMed(ob, 'backlog', 'restart_first_msg_ms'), other: ownMed(oo, 'backlog', 'restart_first_msg_ms'), unit: 'ms', pass: (_b, o) => o <= 5000, goal: '≤ 5 s', absolute: true });
    g.push({ what: 'steady publish/ack of N messages: data dir after', base: ownMed(ob, 'steady', 'db_idle_mib'), other: ownMed(oo, 'steady', 'db_idle_mib'), unit: 'MiB', pass: (_b, o) => o < 256, goal: 'bounded (≪ N × 1 KiB)', absolute: true });
    g.push({ what: 'event loop under persistent load: probe RPC p99', base: ownMed(ob, 'responsiveness', 'load_rpc_p99_ms'), other: ownMed(oo, 'responsiveness', 'load_rpc_p99_ms'), unit: 'ms', pass: (b, o) => b !== null && o <= b, goal: '≤ RabbitMQ' });
  }
  return g;
}

function goalTable(gs: Goal[]): string {
  const out = ['| goal | RabbitMQ | warren | warren/RabbitMQ | wanted | met? |', '| --- | ---: | ---: | ---: | --- | --- |'];
  for (const x of gs) {
    const ratio = x.base && x.other && x.base.med ? (x.other.med / x.base.med).toFixed(2) : '';
    let met = 'no data';
    if (x.other && (x.base || x.absolute)) met = x.pass(x.base?.med ?? null, x.other.med) ? 'yes' : '**no**';
    out.push(`| ${x.what} | ${cell(x.base, ` ${x.unit}`)} | ${cell(x.other, ` ${x.unit}`)} | ${ratio} | ${x.goal} | ${met} |`);
  }
  return out.join('\n') + '\n';
}

function main(argv: string[]): void {
  const files: Record<string, [string, string]> = {};
  const summaries: string[] = [];
  const info: string[] = [];
  let title = 'warren vs RabbitMQ';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--matrix' || a === '--h1m' || a === '--own') {
      files[a.slice(2)] = [argv[++i]!, argv[++i]!];
    } else if (a === '--summary') {
      summaries.push(argv[++i]!);
    } else if (a === '--title') {
      title = argv[++i]!;
    } else if (a === '--info') {
      info.push(argv[++i]!);
    } else {
      throw new Error(`compare-report: unknown argument ${a}`);
    }
  }
  const read = (f: string | undefined): Json[] => {
    if (!f) return [];
    try {
      return lines(readFileSync(f, 'utf8'));
    } catch {
      return [];
    }
  };
  const [mb, mo] = [read(files['matrix']?.[0]), read(files['matrix']?.[1])];
  const [hb, ho] = [read(files['h1m']?.[0]), read(files['h1m']?.[1])];
  const [ob, oo] = [read(files['own']?.[0]), read(files['own']?.[1])];
  const out: string[] = [`# ${title}`, ''];
  for (const i of info) out.push(`- ${i}`);
  out.push('', '## Goals', '', 'Medians over the rounds (min–max in brackets). RabbitMQ is the base of every ratio.', '', goalTable(goals(mb, mo, hb, ho, ob, oo)));
  for (const s of summaries) {
    let text = '';
    try {
      text = readFileSync(s, 'utf8');
    } catch {
      continue;
    }
    const [head, ...rest] = text.split('\n');
    out.push(`## ${head?.replace(/^#+\s*/, '') ?? s}`, '', rest.join('\n').trim(), '');
  }
  if (ob.length || oo.length) {
    out.push('## warren\'s own scenarios (bench/run.ts), both brokers', '', sideBySide(files['own']![0] ? readFileSync(files['own']![0], 'utf8') : '', files['own']![1] ? readFileSync(files['own']![1], 'utf8') : ''));
  }
  process.stdout.write(out.join('\n') + '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
}
