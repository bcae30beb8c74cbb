// Diagnostic: where does the idle probe's RPC p99 come from?
import amqp from 'amqplib';
import { monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
const [url, secs = '6', mode = 'orig'] = process.argv.slice(2);
const now = () => performance.now();
const sockopts = mode.includes('nodelay') ? { noDelay: true } : {};
const conn = await amqp.connect(url, sockopts);
const stream = conn.connection.stream;
let lastData = 0;
stream.prependListener('data', () => { lastData = now(); });
const gcs = [];
new PerformanceObserver((l) => { for (const e of l.getEntries()) gcs.push([e.startTime, e.duration, e.detail?.kind]); }).observe({ entryTypes: ['gc'] });
const h = monitorEventLoopDelay({ resolution: 1 }); h.enable();
const ch = await conn.createChannel();
const q = 'floor-' + process.pid;
await ch.assertQueue(q, { durable: false, autoDelete: true });
const rpcCh = await conn.createChannel();
const noPub = mode.includes('nopub');
const rpc = [], client = [], wire = [], late = [], deliver = [];
const pending = new Map();
await ch.consume(q, (m) => { const s = m.content.readUInt32LE(0); const t = pending.get(s); if (t !== undefined) { deliver.push(now() - t); pending.delete(s); } }, { noAck: true });
await new Promise((r) => setTimeout(r, 1000));
const every = 10, ms = Number(secs) * 1000;
let seq = 0, busy = false, k = 0; const start = now();
const slow = []; const recs = [];
await new Promise((resolve) => {
  const tick = () => {
    const t = now(); late.push(Math.max(0, t - (start + k * every)));
    if (!noPub) { seq++; const b = Buffer.alloc(16); b.writeUInt32LE(seq, 0); pending.set(seq, t); ch.sendToQueue(q, b); }
    if (!busy) { busy = true; const r0 = now(); rpcCh.checkQueue(q).then(() => { const r1 = now(); rpc.push(r1 - r0); recs.push([performance.timeOrigin + r0, performance.timeOrigin + lastData, performance.timeOrigin + r1]); client.push(r1 - lastData); wire.push(lastData - r0); if (r1 - r0 > 2) slow.push([+(r0 - start).toFixed(1), +(lastData - r0).toFixed(2), +(r1 - lastData).toFixed(2)]); busy = false; }); }
    k++; const next = start + k * every;
    if (next - start >= ms) return resolve();
    setTimeout(tick, Math.max(0, next - now()));
  };
  tick();
});
await new Promise((r) => setTimeout(r, 300));
h.disable();
const pct = (a, p) => { const s = Float64Array.from(a).sort(); return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN; };
const f = (a) => `p50 ${pct(a, 50).toFixed(3)} p99 ${pct(a, 99).toFixed(3)} max ${pct(a, 100).toFixed(3)}`;
console.log(`mode=${mode} n=${rpc.length}`);
console.log(' rpc      ', f(rpc));
console.log(' send->data', f(wire));
console.log(' data->cb ', f(client));
console.log(' deliver  ', f(deliver));
console.log(' late     ', f(late));
console.log(' eld(ms)   p50', (h.percentile(50) / 1e6).toFixed(2), 'p99', (h.percentile(99) / 1e6).toFixed(2), 'max', (h.max / 1e6).toFixed(2));
console.log(' gcs', gcs.length, 'total ms', gcs.reduce((s, g) => s + g[1], 0).toFixed(1));
console.log(' slow (t, send->data, data->cb):', JSON.stringify(slow.slice(0, 30)));
(await import('node:fs')).writeFileSync('/tmp/latency-diag/recs-' + mode + '.json', JSON.stringify(recs));
await conn.close();
