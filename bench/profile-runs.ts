// What held the event loop in one stretch, from a V8 .cpuprofile (node --cpu-prof): `node
// dist/bench/profile-runs.js IN.cpuprofile [min-ms]`. A flame graph shows shares; a client that
// waits cares about stretches. Consecutive samples whose stack starts in the same callback kind
// (a socket read, setImmediate's turn end, a timer, a worker's message, the collector...) are
// one run; printed: time and longest run per kind, the share of time in runs of at least
// min-ms (default 2), and the longest runs with the functions that had most samples in them.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { CallFrame, Profile } from './flamegraph.js';

interface Run {
  kind: string;
  /** ms since the profile started */
  start: number;
  ms: number;
  selfByFn: Map<string, number>;
}

const name = (f: CallFrame): string => {
  const file = f.url === '' ? '' : ` ${f.url.replace(/^file:\/\//, '').split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
  return `${f.functionName === '' ? '(anonymous)' : f.functionName}${file}`;
};

export function runs(p: Profile): Run[] {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const rootId = p.nodes[0]!.id;
  // The kind of a sample: the outermost frame under (root), i.e. what libuv or V8 called.
  const kindOf = new Map<number, string>();
  const kind = (id: number): string => {
    let k = kindOf.get(id);
    if (k !== undefined) return k;
    let at = id;
    while (parent.get(at) !== undefined && parent.get(at) !== rootId) at = parent.get(at)!;
    k = byId.get(at)!.callFrame.functionName || '(anonymous)';
    kindOf.set(id, k);
    return k;
  };
  const out: Run[] = [];
  let t = 0; // ms since the profile started
  let cur: Run | null = null;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000; // this sample lasts until the next
    t += (p.timeDeltas[i] ?? 0) / 1000;
    const id = p.samples[i]!;
    const k = kind(id);
    if (cur === null || cur.kind !== k) {
      cur = { kind: k, start: t, ms: 0, selfByFn: new Map() };
      out.push(cur);
    }
    cur.ms += dt;
    const fn = name(byId.get(id)!.callFrame);
    cur.selfByFn.set(fn, (cur.selfByFn.get(fn) ?? 0) + dt);
  }
  return out;
}

function report(p: Profile, minMs: number): string {
  const all = runs(p);
  const lines: string[] = [];
  const total = all.reduce((s, r) => s + r.ms, 0);
  const byKind = new Map<string, { ms: number; max: number; n: number; long: number }>();
  for (const r of all) {
    const k = byKind.get(r.kind) ?? { ms: 0, max: 0, n: 0, long: 0 };
    k.ms += r.ms;
    k.n++;
    k.max = Math.max(k.max, r.ms);
    if (r.ms >= minMs) k.long += r.ms;
    byKind.set(r.kind, k);
  }
  lines.push(`${(total / 1000).toFixed(1)} s profiled, ${all.length} runs`);
  lines.push(`kind | share % | runs | longest ms | in runs >= ${minMs} ms, %`);
  for (const [k, v] of [...byKind].sort((a, b) => b[1].ms - a[1].ms)) {
    if (v.ms / total < 0.002) continue;
    lines.push(`${k} | ${((100 * v.ms) / total).toFixed(1)} | ${v.n} | ${v.max.toFixed(2)} | ${((100 * v.long) / total).toFixed(2)}`);
  }
  const busy = all.filter((r) => r.kind !== '(idle)');
  const long = busy.filter((r) => r.ms >= minMs).sort((a, b) => b.ms - a.ms);
  lines.push(`runs of at least ${minMs} ms (not idle): ${long.length}; the 15 longest:`);
  for (const r of long.slice(0, 15)) {
    const top = [...r.selfByFn].sort((a, b) => b[1] - a[1]).slice(0, 4);
    lines.push(`  ${r.ms.toFixed(2)} ms ${r.kind} at +${r.start.toFixed(0)} ms: ${top.map(([f, ms]) => `${f} ${ms.toFixed(2)}`).join('; ')}`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && basename(process.argv[1]).startsWith('profile-runs')) {
  const [input, min] = process.argv.slice(2);
  if (input === undefined) {
    console.error('usage: node dist/bench/profile-runs.js IN.cpuprofile [min-ms]');
    process.exit(2);
  }
  console.log(report(JSON.parse(readFileSync(input, 'utf8')) as Profile, Number(min ?? 2)));
}
