// join.mjs MODE PORT: split each RPC into client-before-wire, broker turnaround, client-after-wire
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
const [mode, port] = process.argv.slice(2);
const recs = JSON.parse(readFileSync(`/tmp/latency-diag/recs-${mode}.json`, 'utf8'));
const txt = execFileSync('tcpdump', ['-r', `/tmp/latency-diag/cap-${mode}.pcap`, '-nn', '-tt', '--time-stamp-precision=nano'], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 28 }).toString();
const pk = [];
for (const l of txt.split('\n')) { const f = l.split(' '); if (f.length < 5) continue; const src = f[2].split('.')[4]; pk.push([Number(f[0]) * 1000, src === port ? 's' : 'c', Number(f[f.length - 1])]); }
// RPC: client packet of length 8+? passive declare; pick the first c packet after r0 - 5 ms, then the next s packet
const pre = [], turn = [], post = [];
let j = 0;
for (const [r0, td] of recs) {
  while (j < pk.length && !(pk[j][1] === 'c' && pk[j][0] >= r0 - 2)) j++;
  if (j >= pk.length) break;
  const c = pk[j][0]; let k = j + 1; while (k < pk.length && pk[k][1] !== 's') k++;
  if (k >= pk.length) break;
  const s = pk[k][0];
  pre.push(c - r0); turn.push(s - c); post.push(td - s); j = k + 1;
}
const pct = (a, p) => { const s = Float64Array.from(a).sort(); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
const f = (a) => `p50 ${pct(a, 50).toFixed(3)} p90 ${pct(a, 90).toFixed(3)} p99 ${pct(a, 99).toFixed(3)} max ${pct(a, 100).toFixed(3)}`;
console.log(mode, 'n', pre.length);
console.log(' r0->wire (client send)', f(pre));
console.log(' wire turnaround (broker)', f(turn));
console.log(' wire->data (client wake)', f(post));
