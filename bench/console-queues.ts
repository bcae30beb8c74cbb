// How long /api/queues takes to answer one page of a large queue list — what the console's
// queue page asks for every 5 s — with the page-only path (sort keys read off the queues, JSON
// for the page only) and with the general path (every queue's JSON, then sort and slice; a
// sort key the fast path does not know forces it). Spawns the built warren (in memory, pinned
// to CPU 0 with taskset; run this under `taskset -c 1`), declares N queues over AMQP, then
// times each query `rounds` times and prints the median and the slowest.
//   WARREN_MEASURE=1 flock /work/wt/_quiet/measure.lock taskset -c 1 node dist/bench/console-queues.js [queues=100000] [rounds=15]

import { spawn } from 'node:child_process';
import amqp from 'amqplib';
import { WARREN_MAIN } from './lib/paths.js';

const N = Number(process.argv[2] ?? 100_000);
const ROUNDS = Number(process.argv[3] ?? 15);

const child = spawn('taskset', ['-c', '0', process.execPath, WARREN_MAIN, 'start', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--http-host', '127.0.0.1', '--data-dir', 'none', '--log-level', 'info', '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'inherit'] });
const ports = await new Promise<{ amqp: number; http: number }>((resolve, reject) => {
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    for (const line of buf.split('\n')) {
      if (!line.startsWith('{')) continue;
      const rec = JSON.parse(line) as { msg?: string; port?: number; httpPort?: number };
      if (rec.msg === 'listening' && rec.port && rec.httpPort) resolve({ amqp: rec.port, http: rec.httpPort });
    }
  });
  child.once('exit', () => reject(new Error('warren exited')));
});

const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${ports.amqp}`);
const ch = await conn.createChannel();
for (let i = 0; i < N; i += 1000) {
  const batch: Promise<unknown>[] = [];
  for (let j = i; j < Math.min(N, i + 1000); j++) batch.push(ch.assertQueue(`q-${j}`, { durable: false }));
  await Promise.all(batch);
}
for (let i = 0; i < 100; i++) ch.sendToQueue(`q-${(i * 997) % N}`, Buffer.from('x'));
await ch.checkQueue('q-0');

const auth = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
const cols = 'columns=name,vhost,type,durable,auto_delete,exclusive,arguments,policy,state,consumers,messages,messages_ready,messages_unacknowledged,message_stats,messages_details';
const queries: [string, string][] = [
  ['page 1 by name (fast path)', `page=1&page_size=20&sort=name&${cols}`],
  ['page 1 by total, descending (fast path)', `page=1&page_size=20&sort=messages&sort_reverse=true&${cols}`],
  [`page ${Math.ceil(N / 40)} (the middle) by name (fast path)`, `page=${Math.ceil(N / 40)}&page_size=20&sort=name&${cols}`],
  ['name filter "q-9999" (fast path)', `page=1&page_size=20&name=q-9999&${cols}`],
  ['page 1, sort key only the general path knows', `page=1&page_size=20&sort=state&${cols}`],
];
console.log(`${N} queues; ${ROUNDS} rounds per query; ms per request (median / max)`);
for (const [label, q] of queries) {
  const times: number[] = [];
  let bytes = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${ports.http}/api/queues?${q}`, { headers: { authorization: auth } });
    bytes = (await res.arrayBuffer()).byteLength;
    times.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`${label}: HTTP ${res.status}`);
  }
  times.sort((a, b) => a - b);
  console.log(`${label.padEnd(48)} ${times[Math.floor(times.length / 2)]!.toFixed(1).padStart(8)} / ${times[times.length - 1]!.toFixed(1).padStart(8)}   (${bytes} bytes)`);
}
await conn.close();
child.kill('SIGTERM');
