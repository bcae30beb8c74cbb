// For each read callback longer than 2 ms (tl.txt, CLOCK_MONOTONIC ms) inside the perf sched window, what ran on CPU 0 meanwhile
import { readFileSync } from 'node:fs';
const ev = readFileSync('/tmp/idle/tl.txt', 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number));
const runs = readFileSync('/tmp/idle/th.txt', 'utf8').trim().split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 6)
  .map((f) => { const end = Number(f[0]) * 1000; const run = Number(f[f.length - 1]); return { task: f[2], from: end - run, to: end }; });
const w0 = runs[0].from, w1 = runs.at(-1).to;
const main = Object.entries(runs.reduce((m, r) => ((m[r.task] = (m[r.task] ?? 0) + r.to - r.from), m), {})).sort((a, b) => b[1] - a[1])[0][0];
let open = null; const tot = {}; let nLong = 0, wallLong = 0;
for (const e of ev) {
  if (e[1] === 1) open = e;
  else if (e[1] === 2 && open) {
    const a = open[0], b = e[0]; open = null;
    if (b - a <= 2 || a < w0 || b > w1) continue;
    nLong++; wallLong += b - a;
    for (const r of runs) { const o = Math.min(b, r.to) - Math.max(a, r.from); if (o > 0) { const k = r.task === main ? 'event loop' : r.task.replace(/\[\d+\/\d+\]/, '[thread]').replace(/\[\d+\]/, ''); tot[k] = (tot[k] ?? 0) + o; } }
  }
}
console.log(`window ${((w1 - w0) / 1000).toFixed(1)} s; reads over 2 ms: ${nLong}, ${wallLong.toFixed(1)} ms in all; what CPU 0 ran meanwhile (ms):`);
for (const [k, v] of Object.entries(tot).sort((x, y) => y[1] - x[1])) console.log(`  ${k}: ${v.toFixed(1)}`);
