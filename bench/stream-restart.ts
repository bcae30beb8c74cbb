// Start time of a broker holding a large stream: how long from spawn to its "listening" line,
// after a clean stop or after kill -9. `fill` makes the data directory once (a stream of N
// messages of 1 KiB, segments of SEG bytes, published with confirms); `time` starts the broker
// at MAIN (this build, or an older one copied aside) on it RUNS times. With --crash, before
// each timed start a broker is started, given 100 more messages and killed with SIGKILL.
//   node dist/bench/stream-restart.js fill DATA [N=1000000] [SEG=16777216]
//   WARREN_MEASURE=1 flock /work/wt/_quiet/measure.lock taskset -c 0 node dist/bench/stream-restart.js time DATA [MAIN] [RUNS=3] [--crash]
// (an empty DATA gives the start time of a broker with nothing to read, for comparison)
// Prints one JSON line per start.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import amqp from 'amqplib';
import { dirSize } from './lib/proc.js';
import { eachLine } from './lib/util.js';

const STREAM = 'restart-bench';
const MAIN = resolve('dist/src/main.js');

interface Running {
  child: ChildProcess;
  port: number;
  ms: number;
}

function start(main: string, data: string): Promise<Running> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [main, 'start', '--host', '127.0.0.1', '--port', '0', '--http-port', 'off', '--data-dir', data, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((ok, fail) => {
    eachLine(child.stdout!, (line) => {
      if (!line.startsWith('{')) return;
      const rec = JSON.parse(line) as { msg?: string; port?: number };
      if (rec.msg === 'listening' && typeof rec.port === 'number') ok({ child, port: rec.port, ms: performance.now() - t0 });
    });
    child.once('exit', (code) => fail(new Error(`broker exited (${code}) before listening`)));
  });
}

function stop(r: Running, signal: NodeJS.Signals): Promise<void> {
  return new Promise((ok) => {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return ok();
    r.child.once('exit', () => ok());
    r.child.kill(signal);
  });
}

async function publish(port: number, n: number, seg: number): Promise<void> {
  const c = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
  const ch = await c.createConfirmChannel();
  await ch.assertQueue(STREAM, { durable: true, arguments: { 'x-queue-type': 'stream', 'x-stream-max-segment-size-bytes': seg } });
  const body = Buffer.alloc(1024, 0x61);
  for (let i = 0; i < n; i++) {
    ch.sendToQueue(STREAM, body);
    if (i % 2000 === 1999) await ch.waitForConfirms();
  }
  await ch.waitForConfirms();
  await c.close();
}

function segments(data: string): number {
  let n = 0;
  if (!existsSync(join(data, 'streams'))) return 0;
  for (const d of readdirSync(join(data, 'streams'))) n += readdirSync(join(data, 'streams', d)).filter((f) => f.endsWith('.seg')).length;
  return n;
}

const [mode, data, ...rest] = process.argv.slice(2);
if (data === undefined) throw new Error('usage: stream-restart.js fill|time DATA ...');
if (mode === 'fill') {
  const n = Number(rest[0] ?? 1_000_000);
  const seg = Number(rest[1] ?? 16 * 1024 * 1024);
  const r = await start(MAIN, data);
  await publish(r.port, n, seg);
  await stop(r, 'SIGTERM');
  console.log(JSON.stringify({ filled: n, segments: segments(data), bytes: dirSize(join(data, 'streams')) }));
} else {
  const crash = rest.includes('--crash');
  const args = rest.filter((a) => a !== '--crash');
  const main = resolve(args[0] ?? MAIN);
  const runs = Number(args[1] ?? 3);
  for (let i = 0; i < runs; i++) {
    if (crash) {
      const w = await start(main, data);
      await publish(w.port, 100, 16 * 1024 * 1024);
      await stop(w, 'SIGKILL');
    }
    const r = await start(main, data);
    await stop(r, crash ? 'SIGKILL' : 'SIGTERM');
    console.log(JSON.stringify({ main, after: crash ? 'kill -9' : 'clean stop', startMs: +r.ms.toFixed(0), segments: segments(data), bytes: segments(data) === 0 ? 0 : dirSize(join(data, 'streams')).bytes }));
  }
}
