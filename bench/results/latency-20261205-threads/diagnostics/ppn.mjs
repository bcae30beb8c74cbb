import net from 'node:net';
const gap = Number(process.argv[2]);
const s = net.connect(5791, '127.0.0.1'); s.setNoDelay(true);
await new Promise((r) => s.once('connect', r));
const xs = [];
const b = Buffer.alloc(16, 120);
for (let i = 0; i < 1000; i++) {
  const t = performance.now();
  await new Promise((r) => { s.once('data', r); s.write(b); });
  xs.push(performance.now() - t);
  if (gap) await new Promise((r) => setTimeout(r, gap));
}
xs.sort((a, b) => a - b);
console.log('node gap', gap, 'p50', xs[500].toFixed(3), 'p90', xs[900].toFixed(3), 'p99', xs[990].toFixed(3), 'max', xs[999].toFixed(3));
s.end();
