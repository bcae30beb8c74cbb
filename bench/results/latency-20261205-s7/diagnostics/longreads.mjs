import { readFileSync } from 'node:fs';
const ev = readFileSync('/tmp/idle/tl.txt', 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number));
let open = null; const long = []; let nreads = 0;
for (const e of ev) { if (e[1] === 1) open = e; else if (e[1] === 2 && open) { nreads++; const w = e[0] - open[0]; if (w > 2) long.push([w, (e[4] - open[4]) / 1000, (e[5] - open[5]) / 1000, open[2], open[3]]); open = null; } }
console.log(`reads ${nreads}, longer than 2 ms: ${long.length}`);
for (const [w, u, s, id, n] of long.slice(0, 30)) console.log(`wall ${w.toFixed(2)} ms, process cpu user ${u.toFixed(2)} sys ${s.toFixed(2)} (sock ${id}, ${n} B)`);
