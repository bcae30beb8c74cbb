// Preloaded into a broker by bench/h-memory.py (node --require), for diagnosis only: every 50 ms
// one line of process.memoryUsage() and V8's old and new space, to $MEMSAMP_OUT (the main
// thread) or $MEMSAMP_OUT.w<threadId> (worker threads): time (s since the epoch), rss,
// heapTotal, heapUsed, external, arrayBuffers, old space used, new space used, large objects
// used, in bytes. The timer is unref'd: it keeps nothing alive.
const fs = require('fs');
const v8 = require('v8');
const wt = require('worker_threads');
const base = process.env.MEMSAMP_OUT;
const out = base && (wt.isMainThread ? base : `${base}.w${wt.threadId}`);
if (out) {
  const fd = fs.openSync(out, 'w');
  const t = setInterval(() => {
    const m = process.memoryUsage();
    let old = 0;
    let young = 0;
    let large = 0;
    for (const s of v8.getHeapSpaceStatistics()) {
      if (s.space_name === 'old_space') old = s.space_used_size;
      else if (s.space_name === 'new_space') young = s.space_used_size;
      else if (s.space_name === 'large_object_space') large = s.space_used_size;
    }
    const now = (performance.timeOrigin + performance.now()) / 1000;
    fs.writeSync(fd, `${now} ${m.rss} ${m.heapTotal} ${m.heapUsed} ${m.external} ${m.arrayBuffers} ${old} ${young} ${large}\n`);
  }, 50);
  t.unref();
}
