// Persistent throughput with publisher confirms against one broker URL: a confirm-channel
// publisher keeps --window persistent messages of --size bytes outstanding to a durable queue
// while a consumer (prefetch 500, manual acks) drains it; after --warmup seconds it counts for
// --seconds. Prints one JSON line: confirmed and consumed messages per second. Used to compare
// warren on SQLite, warren on PostgreSQL (--store) and RabbitMQ durable queues in one sitting.
//
//   npm run build && node dist/bench/store-confirms.js --url amqp://guest:guest@127.0.0.1:5672 [--seconds 10]

import amqp from 'amqplib';
import { arg } from './lib/util.js';

const url = arg('url', 'amqp://guest:guest@127.0.0.1:5672');
const seconds = Number(arg('seconds', '10'));
const warmup = Number(arg('warmup', '3'));
const window = Number(arg('window', '200'));
const size = Number(arg('size', '1024'));
const queue = `store-confirms-${process.pid}`;

const pubConn = await amqp.connect(url, { noDelay: true });
const subConn = await amqp.connect(url, { noDelay: true });
const pub = await pubConn.createConfirmChannel();
await pub.assertQueue(queue, { durable: true });
const sub = await subConn.createChannel();
await sub.prefetch(500);
let consumed = 0;
await sub.consume(queue, (m) => {
  if (m === null) return;
  consumed++;
  sub.ack(m);
});
const body = Buffer.alloc(size, 120);
let confirmed = 0;
let outstanding = 0;
let stop = false;
await new Promise<void>((resolveRun) => {
  const publishMore = (): void => {
    while (!stop && outstanding < window) {
      outstanding++;
      pub.sendToQueue(queue, body, { persistent: true }, (err) => {
        outstanding--;
        if (!err) confirmed++;
        if (stop && outstanding === 0) resolveRun();
        else publishMore();
      });
    }
  };
  publishMore();
  setTimeout(() => {
    const c0 = confirmed;
    const d0 = consumed;
    const t0 = performance.now();
    setTimeout(() => {
      const s = (performance.now() - t0) / 1000;
      console.log(JSON.stringify({ url: url.replace(/:[^:@/]*@/, ':***@'), size, window, seconds: Math.round(s * 10) / 10, confirmed_per_s: Math.round((confirmed - c0) / s), consumed_per_s: Math.round((consumed - d0) / s) }));
      stop = true;
      if (outstanding === 0) resolveRun();
    }, seconds * 1000);
  }, warmup * 1000);
});
await pub.deleteQueue(queue).catch(() => undefined);
await pubConn.close();
await subConn.close();
