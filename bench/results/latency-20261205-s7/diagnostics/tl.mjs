// diagnostic preload: a timeline of reads, flushes and drains in a preallocated ring, plus GCs
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
const N = 3_000_000; const t = new Float64Array(N); const ty = new Uint8Array(N); const a = new Float64Array(N); const b = new Float64Array(N); const cu = new Float64Array(N); const cs = new Float64Array(N); let n = 0;
const o = performance.timeOrigin;
globalThis.__tl = (type, x, y, c) => { if (n < N) { t[n] = performance.now(); ty[n] = type; a[n] = x; b[n] = y; if (c) { cu[n] = c.user; cs[n] = c.system; } n++; } };
const gc = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) gc.push([o + e.startTime, e.duration, e.detail?.kind ?? 0]); }).observe({ entryTypes: ['gc'] });
process.on('exit', () => {
  const mono = Number(process.hrtime.bigint()) / 1e6 - performance.now();
  const rows = []; for (let i = 0; i < n; i++) rows.push(`${(mono + t[i]).toFixed(3)} ${ty[i]} ${a[i]} ${b[i]} ${cu[i]} ${cs[i]}`);
  writeFileSync('/tmp/idle/tl.txt', rows.join('\n') + '\n'); writeFileSync('/tmp/idle/gc.json', JSON.stringify(gc));
});
