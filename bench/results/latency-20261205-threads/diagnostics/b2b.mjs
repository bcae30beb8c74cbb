import amqp from '/work/main/node_modules/amqplib/channel_api.js';
const c = await amqp.connect(process.argv[2]);
const ch = await c.createChannel();
await ch.assertQueue('b2bq', { durable: false, autoDelete: true });
const gap = Number(process.argv[3] ?? 0);
const xs = [];
for (let i = 0; i < 600; i++) {
  const t = performance.now();
  await ch.checkQueue('b2bq');
  xs.push(performance.now() - t);
  if (gap) await new Promise((r) => setTimeout(r, gap));
}
xs.sort((a, b) => a - b);
console.log('gap', gap, 'p50', xs[300].toFixed(3), 'p90', xs[540].toFixed(3), 'p99', xs[594].toFixed(3), 'max', xs[599].toFixed(3));
await c.close();
