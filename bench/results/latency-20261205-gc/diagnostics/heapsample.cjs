// diagnostic preload: sampling heap profiler including collected objects (all allocations), written at SIGTERM
const { Session } = require('inspector');
const fs = require('fs');
const { isMainThread } = require('worker_threads');
if (isMainThread) {
  const s = new Session(); s.connect();
  setTimeout(() => {
    s.post('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, (err) => { if (err) console.error('startSampling', err); });
  }, Number(process.env.HS_DELAY || 2000)).unref();
  process.on('SIGTERM', () => {
    s.post('HeapProfiler.stopSampling', (err, r) => {
      if (err) console.error(err); else fs.writeFileSync(process.env.HS_OUT || '/tmp/hs.heapprofile', JSON.stringify(r.profile));
      process.exit(0);
    });
  });
}
