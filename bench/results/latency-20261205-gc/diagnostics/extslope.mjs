// from extmon output: ext after each scavenge (first sample after a kind-1 GC), slope over the load
import fs from 'node:fs';
const lines = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n');
let after = false; const pts = []; let mcs = 0;
for (const l of lines) {
  const p = l.split(' ');
  if (p[0] === 'G') { if (p[3] === '1') after = true; if (p[3] === '4') mcs++; continue; }
  if (after) { pts.push([+p[1], +p[3], +p[5]]); after = false; }
}
// windows of consecutive scavenges without MC between
const from = Number(process.argv[3] ?? 0), to = Number(process.argv[4] ?? 1e9);
const w = pts.filter((x) => x[0] >= from && x[0] <= to);
console.log('MCs', mcs, 'scavenges in window', w.length);
for (let i = 1; i < w.length; i += Math.max(1, Math.floor(w.length / 25))) console.log(w[i][0].toFixed(0), 'ext', w[i][1], 'used', w[i][2]);
