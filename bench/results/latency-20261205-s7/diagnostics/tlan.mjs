import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync('/tmp/idle/raw.json')); const gc = JSON.parse(readFileSync('/tmp/idle/gc.json'));
const ev = readFileSync('/tmp/idle/tl.txt', 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number));
const T = Number(process.argv[2] ?? 4); const SHOW = Number(process.argv[3] ?? 3);
// the probe's socket id: the id whose reads are ~ every 10 ms with small n
const per = {}; for (const [t, ty, a, b] of ev) if (ty === 1) { (per[a] ??= []).push(b); }
for (const [id, ns] of Object.entries(per)) console.log(`sock ${id}: reads ${ns.length}, mean bytes ${(ns.reduce((x, y) => x + y, 0) / ns.length).toFixed(0)}`);
let shown = 0;
for (let i = 0; i < p.rpc.length; i++) {
  const a0 = p.rpc_epoch[i], r = p.rpc[i]; if (r < T) continue;
  const seg = ev.filter((e) => e[0] >= a0 - 1 && e[0] <= a0 + r + 0.5);
  const sum = { read: {}, flush: 0, resume: 0, nreads: {} }; let open = null;
  let fl = null, rs = null;
  for (const [t, ty, x, y] of seg) {
    if (ty === 1) open = [t, x]; else if (ty === 2 && open) { sum.read[open[1]] = (sum.read[open[1]] ?? 0) + (t - open[0]); sum.nreads[open[1]] = (sum.nreads[open[1]] ?? 0) + 1; open = null; }
    else if (ty === 3) fl = t; else if (ty === 4 && fl) { sum.flush += t - fl; fl = null; } else if (ty === 5) rs = t; else if (ty === 6 && rs) { sum.resume += t - rs; rs = null; }
  }
  const g = gc.filter(([s, d]) => s < a0 + r && s + d > a0).map((x) => x[1].toFixed(2));
  const tot = Object.values(sum.read).reduce((x, y) => x + y, 0) + sum.flush + sum.resume;
  console.log(`rpc ${r.toFixed(2)} ms: reads ${JSON.stringify(Object.fromEntries(Object.entries(sum.read).map(([k, v]) => [k, v.toFixed(2) + '/' + sum.nreads[k]])))} flush ${sum.flush.toFixed(2)} resume ${sum.resume.toFixed(2)} | instrumented ${tot.toFixed(2)} of ${(r + 1.5).toFixed(2)} | gc ${g.join(',')}`);
  if (shown++ < SHOW) {
    for (const [t, ty, x, y] of seg) console.log(`   ${(t - a0).toFixed(3)} ${['', 'read+', 'read-', 'flush+', 'flush-', 'resume+', 'resume-', 'drain'][ty]} ${x} ${y}`);
  }
}
