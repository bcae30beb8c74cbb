// diagnostic preload: every GC as [epoch ms start, duration ms, kind]
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { writeFileSync } from 'node:fs';
const ev = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) ev.push([performance.timeOrigin + e.startTime, e.duration, e.detail?.kind ?? 0]); }).observe({ entryTypes: ['gc'] });
process.on('exit', () => writeFileSync('/tmp/idle/gc.json', JSON.stringify(ev)));
