// Entry of the probe's own process (bench/lib/probe.ts): node probe-proc.js URL QUEUE MS EVERY_MS
// connects, probes, and prints the samples as one JSON line.

import { connect } from './amqp.js';
import { probe } from './probe.js';

const [url, queue, ms, everyMs] = process.argv.slice(2);
if (!url || !queue || !ms || !everyMs) {
  process.stderr.write('usage: probe-proc.js URL QUEUE MS EVERY_MS\n');
  process.exit(2);
}
const conn = await connect(url);
try {
  // a fresh process: the first round trips run cold code (amqplib's, the JIT's first tiers);
  // probe briefly without keeping the samples, as the old in-process probe was warm
  await probe(conn, queue, 300, Number(everyMs));
  const samples = await probe(conn, queue, Number(ms), Number(everyMs));
  process.stdout.write(JSON.stringify(samples) + '\n');
} finally {
  await conn.close();
}
