// diagnostic preload: samples V8's external memory every 2 ms and notes each GC (PerformanceObserver)
const v8 = require('v8');
const fs = require('fs');
const { PerformanceObserver, performance } = require('perf_hooks');
const { isMainThread } = require('worker_threads');
if (isMainThread) {
  const out = process.env.EXTMON_OUT || '/tmp/extmon.txt';
  const lines = [];
  const t0 = performance.now();
  setInterval(() => {
    const h = v8.getHeapStatistics();
    lines.push(`S ${(performance.now() - t0).toFixed(1)} ext ${(h.external_memory / 1048576).toFixed(2)} used ${(h.used_heap_size / 1048576).toFixed(2)}`);
  }, 2).unref();
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) lines.push(`G ${(e.startTime - t0).toFixed(1)} kind ${e.detail?.kind ?? e.kind} dur ${e.duration.toFixed(2)}`);
  }).observe({ entryTypes: ['gc'] });
  process.on('SIGTERM', () => { fs.writeFileSync(out, lines.join('\n') + '\n'); process.exit(0); });
}
