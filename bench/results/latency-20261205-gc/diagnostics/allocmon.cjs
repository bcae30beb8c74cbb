// diagnostic preload: bytes allocated through Buffer.allocUnsafeSlow / allocUnsafe / alloc, by caller (sampled stacks)
const fs = require('fs');
const { isMainThread } = require('worker_threads');
if (isMainThread) {
  const by = new Map(); let n = 0;
  const wrap = (name) => {
    const orig = Buffer[name];
    Buffer[name] = function (size, ...rest) {
      n++;
      const e = {}; Error.captureStackTrace(e, Buffer[name]);
      const line = (e.stack.split('\n')[1] || '').trim().replace(/^at /, '').replace(/\/work\/wt\/gc\/dist\//, '');
      const k = name + ' ' + line;
      const a = by.get(k) || [0, 0]; a[0]++; a[1] += size; by.set(k, a);
      return orig.call(this, size, ...rest);
    };
  };
  wrap('allocUnsafeSlow'); wrap('allocUnsafe');
  process.on('SIGTERM', () => {
    const rows = [...by].sort((a, b) => b[1][1] - a[1][1]).slice(0, 30).map(([k, [c, b]]) => `${c}\t${(b / 1048576).toFixed(1)}MiB\t${k}`);
    fs.writeFileSync(process.env.ALLOCMON_OUT || '/tmp/allocmon.txt', rows.join('\n') + '\n'); process.exit(0);
  });
}
