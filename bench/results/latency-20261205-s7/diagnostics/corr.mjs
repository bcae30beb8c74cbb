import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync('/tmp/idle/raw.json')); const gc = JSON.parse(readFileSync('/tmp/idle/gc.json'));
const T = Number(process.argv[2] ?? 4);
let slow = 0, withGc = 0, gcMs = 0; const kinds = {};
for (let i = 0; i < p.rpc.length; i++) {
  const a = p.rpc_epoch[i], r = p.rpc[i]; if (r < T) continue; slow++;
  const ov = gc.filter(([s, d]) => s < a + r && s + d > a);
  if (ov.length) { withGc++; gcMs += ov.reduce((x, g) => x + g[1], 0); for (const g of ov) kinds[g[2]] = (kinds[g[2]] ?? 0) + 1; }
}
const inWin = gc.filter(([s]) => s > p.rpc_epoch[0] && s < p.rpc_epoch.at(-1));
const durs = inWin.map((g) => g[1]).sort((x, y) => x - y);
console.log(`rpc >= ${T} ms: ${slow} of ${p.rpc.length}; overlapping a GC: ${withGc} (GC ms in them ${gcMs.toFixed(1)}; kinds ${JSON.stringify(kinds)}) | GCs in window ${inWin.length}, total ${durs.reduce((x, y) => x + y, 0).toFixed(0)} ms, p50 ${durs[durs.length >> 1]?.toFixed(2)} p90 ${durs[Math.floor(durs.length * 0.9)]?.toFixed(2)} max ${durs.at(-1)?.toFixed(2)}`);
