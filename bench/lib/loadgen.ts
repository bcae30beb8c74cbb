// A load-generating child process (used when the C amqp-perf is not available): publishes
// persistent messages with confirms (a window in flight) into a durable queue as fast as the
// broker confirms them, while a consumer acks each one, for a given time; then prints one JSON
// line. Run as: node dist/bench/lib/loadgen.js URL QUEUE SECONDS WINDOW SIZE

import { fileURLToPath } from 'node:url';
import { connect, makeBody, publishConfirmed } from './amqp.js';
import { now, sleep } from './util.js';

async function main(argv: string[]): Promise<void> {
  const [url, queue, secondsS, windowS, sizeS] = argv;
  if (!url || !queue) throw new Error('usage: loadgen.js URL QUEUE SECONDS WINDOW SIZE');
  const seconds = Number(secondsS ?? 10);
  const window = Number(windowS ?? 500);
  const body = makeBody(Number(sizeS ?? 1024));
  const conn = await connect(url);
  const pch = await conn.model.createConfirmChannel();
  await pch.assertQueue(queue, { durable: true });
  const cch = await conn.model.createChannel();
  await cch.prefetch(200);
  let received = 0;
  await cch.consume(queue, (m) => {
    if (!m) return;
    received++;
    cch.ack(m);
  });
  let confirmed = 0;
  const t0 = now();
  const publishing = publishConfirmed(pch, {
    routingKey: queue,
    count: 1e12,
    body: () => body,
    props: () => ({ persistent: true }),
    window,
    latency: false,
    onConfirm: () => confirmed++,
  }).catch(() => undefined);
  await sleep(seconds * 1000);
  const ms = now() - t0;
  const c = confirmed;
  const r = received;
  await cch.deleteQueue(queue).catch(() => undefined);
  await conn.close();
  await publishing;
  process.stdout.write(JSON.stringify({ ok: true, confirmed: c, received: r, confirm_rate: (c / ms) * 1000, recv_rate: (r / ms) * 1000 }) + '\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stdout.write(JSON.stringify({ ok: false, error: (e as Error).message }) + '\n');
      process.exit(1);
    },
  );
}
