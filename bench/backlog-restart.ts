// A persistent backlog across a kill -9, and across an upgrade when --from and --to are two
// builds: a warren from --from (a checkout with dist/ built) gets --n persistent messages of
// --size bytes in one durable queue (amqplib, confirms every 10k), each with its number as
// message id and in a header; the first --redeliver of them are delivered and requeued
// unacknowledged (so they are stored as delivered). Then kill -9, and a warren from --to starts
// on the same data directory: how long until it listens and until the first message arrives,
// then the whole backlog drained (prefetch 100, an ack each), checked message by message
// (order, message id, header, body size, the redelivered flag). One JSON line; "ok" false, and
// exit status 1, if any message is missing, extra, out of order or different.
// Brokers on CPU 0 (--broker-cpus), this client wherever it was started.
//
//   npm run build && taskset -c 1 node dist/bench/backlog-restart.js --from /work/wt/before3 --to . --n 200000 --redeliver 1000

import amqp from 'amqplib';
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { arg } from './lib/util.js';

const from = resolve(arg('from', '.'));
const to = resolve(arg('to', '.'));
const n = Number(arg('n', '200000'));
const size = Number(arg('size', '1024'));
const redeliver = Number(arg('redeliver', '1000'));
const cpus = arg('broker-cpus', '0');
const queue = 'restart-backlog';

function start(checkout: string, dataDir: string): ChildProcess {
  // The flags and environment `warren start` launches node with.
  return spawn(
    'taskset',
    ['-c', cpus, 'node', '--max-semi-space-size=4', '--initial-old-space-size=32', join(checkout, 'dist/src/main.js'), 'start', '--host', '127.0.0.1', '--port', '0', '--http-port', 'off', '--data-dir', dataDir, '--log-level', 'warn'],
    { stdio: 'ignore', env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '4194304' } },
  );
}

async function portOf(child: ChildProcess): Promise<number> {
  for (let i = 0; i < 600; i++) {
    // taskset execs node, so the pid is the broker's.
    const out = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
    const line = out.split('\n').find((l) => l.includes(`pid=${child.pid},`));
    if (line !== undefined) return Number(/:(\d+)\s/.exec(line)![1]);
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the broker did not listen within 12 s');
}

function dirBytes(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) total += statSync(join(dir, f)).size;
  return total;
}

async function fill(port: number): Promise<void> {
  const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true });
  const body = Buffer.alloc(size, 0x61);
  for (let i = 1; i <= n; i++) {
    if (!ch.publish('', queue, body, { persistent: true, messageId: String(i), headers: { i } })) await new Promise((r) => ch.once('drain', r));
    if (i % 10_000 === 0) await ch.waitForConfirms();
  }
  await ch.waitForConfirms();
  if (redeliver > 0) {
    // Delivered, then requeued when the channel closes: stored with its delivered mark.
    const take = await conn.createChannel();
    await take.prefetch(redeliver);
    let got = 0;
    await new Promise<void>((done) => {
      void take.consume(queue, () => {
        if (++got === redeliver) done();
      });
    });
    await take.close();
    // A confirmed publish after the requeue: the marks went to the writer before it.
    ch.publish('', queue, body, { persistent: true, messageId: String(n + 1), headers: { i: n + 1 } });
    await ch.waitForConfirms();
  }
  await conn.close();
}

async function drain(port: number, t0: number): Promise<{ firstS: number; drainRate: number; problems: string[]; received: number; redelivered: number }> {
  const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
  const ch = await conn.createChannel();
  await ch.prefetch(100);
  const total = n + (redeliver > 0 ? 1 : 0);
  const problems: string[] = [];
  let next = 1;
  let redelivered = 0;
  let firstS = 0;
  let firstAt = 0;
  await new Promise<void>((done) => {
    void ch.consume(queue, (m) => {
      if (m === null) return;
      if (next === 1) {
        firstAt = performance.now();
        firstS = (firstAt - t0) / 1000;
      }
      const id = Number(m.properties.messageId);
      if (problems.length < 20) {
        if (id !== next) problems.push(`message ${next} expected, ${m.properties.messageId} came`);
        else if ((m.properties.headers as { i?: number } | undefined)?.i !== id) problems.push(`message ${id}: header i is ${JSON.stringify(m.properties.headers)}`);
        else if (m.content.length !== size) problems.push(`message ${id}: ${m.content.length} bytes`);
        else if (m.fields.redelivered !== (id <= redeliver)) problems.push(`message ${id}: redelivered ${m.fields.redelivered}`);
        else if (m.properties.deliveryMode !== 2) problems.push(`message ${id}: delivery mode ${m.properties.deliveryMode}`);
      }
      if (m.fields.redelivered) redelivered++;
      next = id + 1;
      ch.ack(m);
      if (id >= total) done();
    });
  });
  const drainRate = Math.round((total - 1) / ((performance.now() - firstAt) / 1000));
  const left = (await ch.checkQueue(queue)).messageCount;
  if (left !== 0) problems.push(`${left} messages left in the queue`);
  await conn.close();
  return { firstS, drainRate, problems, received: next - 1, redelivered };
}

const dataDir = mkdtempSync(join(tmpdir(), 'warren-restart-'));
let broker: ChildProcess | null = null;
try {
  broker = start(from, dataDir);
  await fill(await portOf(broker));
  broker.kill('SIGKILL');
  await new Promise((r) => broker!.once('exit', r));
  const bytes = dirBytes(dataDir);
  const t0 = performance.now();
  broker = start(to, dataDir);
  const port = await portOf(broker);
  const listenS = (performance.now() - t0) / 1000;
  const r = await drain(port, t0);
  const ok = r.problems.length === 0 && r.received === n + (redeliver > 0 ? 1 : 0);
  console.log(
    JSON.stringify({ utc: new Date().toISOString().slice(11, 19), load: Number(execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ')[0]), from, to, n, size, redeliver, data_bytes_at_kill: bytes, listen_s: +listenS.toFixed(3), first_delivery_s: +r.firstS.toFixed(3), drain_rate: r.drainRate, received: r.received, redelivered: r.redelivered, problems: r.problems, ok }),
  );
  process.exitCode = ok ? 0 : 1;
} finally {
  broker?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
}
