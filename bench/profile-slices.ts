// A V8 .cpuprofile (node --cpu-prof) cut into time slices: per slice, the busy share (not
// "(idle)"), the garbage collector's and "(program)"'s shares and the functions with the most
// self time. It shows how the cost of one phase changes over a run (a replay read early in a
// broker's life against a later one) where a flame graph (bench/flamegraph.ts) sums it all.
//   node dist/bench/profile-slices.js IN.cpuprofile [--slice-ms 1000] [--top 6]
//     [--from MS --to MS]   one slice over that range (ms since the profile's start)

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'slice-ms': { type: 'string', default: '1000' }, top: { type: 'string', default: '6' }, from: { type: 'string' }, to: { type: 'string' } },
});
const file = positionals[0];
if (file === undefined) {
  process.stderr.write('usage: profile-slices IN.cpuprofile [--slice-ms 1000] [--top 6] [--from MS --to MS]\n');
  process.exit(2);
}
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const names = new Map<number, string>();
for (const n of p.nodes) {
  const f = n.callFrame;
  const where = f.url === '' ? '' : ` ${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/').replace(/^node:/, '')}:${f.lineNumber + 1}`;
  names.set(n.id, `${f.functionName === '' ? '(anonymous)' : f.functionName}${where}`);
}

interface Slice {
  start: number;
  total: number;
  self: Map<string, number>;
}
const sliceMs = Number(o['slice-ms']);
const from = o.from === undefined ? null : Number(o.from);
const to = o.to === undefined ? Infinity : Number(o.to);
const slices = new Map<number, Slice>();
let t = 0;
for (let i = 0; i < p.samples.length; i++) {
  const dt = (p.timeDeltas[i] ?? 0) / 1000;
  t += dt;
  if (from !== null && (t < from || t >= to)) continue;
  const key = from !== null ? 0 : Math.floor(t / sliceMs);
  let s = slices.get(key);
  if (s === undefined) slices.set(key, (s = { start: from ?? key * sliceMs, total: 0, self: new Map() }));
  const name = names.get(p.samples[i]!) ?? '?';
  s.total += dt;
  s.self.set(name, (s.self.get(name) ?? 0) + dt);
}

const pct = (x: number, of: number): string => `${((100 * x) / of).toFixed(1)}%`;
for (const s of [...slices.values()].sort((a, b) => a.start - b.start)) {
  const idle = s.self.get('(idle)') ?? 0;
  const busy = s.total - idle;
  if (busy <= 0) continue;
  const gc = s.self.get('(garbage collector)') ?? 0;
  const prog = s.self.get('(program)') ?? 0;
  const top = [...s.self.entries()]
    .filter(([n]) => n !== '(idle)' && n !== '(garbage collector)' && n !== '(program)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, Number(o.top))
    .map(([n, ms]) => `${pct(ms, busy)} ${n}`);
  process.stdout.write(`${(s.start / 1000).toFixed(1)}s +${(s.total / 1000).toFixed(1)}s busy ${pct(busy, s.total)} | of busy: gc ${pct(gc, busy)} program ${pct(prog, busy)} | ${top.join(' | ')}\n`);
}
