// Delayed messages falling due together: publishes N persistent messages (default 100k) to a
// durable x-delayed-message exchange with x-delay chosen so that they all fall due within one
// second, then measures how long after falling due they reach a consumer (each message carries
// its due time), the largest gap between consecutive deliveries (a stalled event loop shows up
// there), and the broker's resident memory while holding them and at its peak. Spawns the built
// warren (dist/src/main.js) on a fresh data directory. Prints one JSON line.
//
//   npm run build && node dist/bench/delayed.js [--count 100000] [--body 100] [--lead-ms 0]
//
// --lead-ms: from the start of publishing to the first due time (0: 3 s + 0.15 ms per message,
// enough at 7k publishes/s). --no-consumer: measure until every message is in the queue (polled
// with queue.declare passive every 10 ms) instead of consumed: the broker's routing alone, without
// the client's work. --keep: leave the data directory behind.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import amqp, { type ConsumeMessage } from 'amqplib';

interface Options {
  count: number;
  body: number;
  leadMs: number;
  keep: boolean;
  consumer: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { count: 100_000, body: 100, leadMs: 0, keep: false, consumer: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const num = (): number => {
      const v = Number(argv[++i]);
      if (!Number.isFinite(v) || v < 0) throw new Error(`${a}: expected a number`);
      return v;
    };
    if (a === '--count') o.count = num();
    else if (a === '--body') o.body = num();
    else if (a === '--lead-ms') o.leadMs = num();
    else if (a === '--keep') o.keep = true;
    else if (a === '--no-consumer') o.consumer = false;
    else throw new Error(`unknown option ${a} (known: --count, --body, --lead-ms, --no-consumer, --keep)`);
  }
  return o;
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root');
    dir = up;
  }
  return dir;
}

/** VmRSS and VmHWM (peak) of a process, in MiB. */
function memory(pid: number): { rssMiB: number; peakMiB: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rssMiB: Math.round(kb('VmRSS') / 1024), peakMiB: Math.round(kb('VmHWM') / 1024) };
}

async function startWarren(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const main = resolve(repoRoot(), 'dist', 'src', 'main.js');
  // BENCH_NODE_ARGS: extra node flags for the broker, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
  const child = spawn(process.execPath, [...nodeArgs, main, 'start', '--host', '127.0.0.1', '--port', '0', '--http-port', 'off', '--data-dir', dataDir, '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolvePort, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('warren did not start within 20 s')), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const rec = JSON.parse(line) as { msg?: string; port?: number; level?: number };
          if (rec.msg === 'listening' && typeof rec.port === 'number') {
            clearTimeout(timer);
            resolvePort(rec.port);
          } else if ((rec.level ?? 0) >= 40) process.stderr.write(`warren: ${line}\n`);
        } catch {
          // not a log line
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`warren exited (${code}) before listening`)));
  });
  return { child, url: `amqp://guest:guest@127.0.0.1:${port}` };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-bench-delayed-'));
  const { child, url } = await startWarren(dataDir);
  const pid = child.pid!;
  const idle = memory(pid);
  const conn = await amqp.connect(url);
  try {
    const pub = await conn.createConfirmChannel();
    await pub.assertExchange('delayed', 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } });
    await pub.assertQueue('due', { durable: true });
    await pub.bindQueue('due', 'delayed', 'k');

    // All due within [dueBase, dueBase + 1000); publishing must end before dueBase.
    const body = Buffer.alloc(o.body, 'x');
    const t0 = Date.now();
    const dueBase = t0 + (o.leadMs > 0 ? o.leadMs : 3000 + Math.ceil(o.count * 0.15));
    const publishStart = performance.now();
    for (let i = 0; i < o.count; i++) {
      const due = dueBase + (i % 1000);
      const ok = pub.publish('delayed', 'k', body, { persistent: true, headers: { 'x-delay': due - Date.now(), due } });
      if (!ok) await new Promise((r) => pub.once('drain', r));
      if (i % 5000 === 4999) await pub.waitForConfirms();
    }
    await pub.waitForConfirms();
    const publishMs = performance.now() - publishStart;
    if (Date.now() >= dueBase) throw new Error(`publishing took ${Math.round(publishMs)} ms, longer than the lead; pass a larger --lead-ms`);
    const measured = o.count;
    const holding = memory(pid);

    if (!o.consumer) {
      const poll = await conn.createChannel();
      let routedAt = 0;
      const deadline = dueBase + 120_000;
      for (;;) {
        const { messageCount } = await poll.checkQueue('due');
        if (messageCount >= measured) {
          routedAt = Date.now();
          break;
        }
        if (Date.now() > deadline) throw new Error(`timed out: ${messageCount} of ${measured} routed`);
        await new Promise((r) => setTimeout(r, 10));
      }
      const after = memory(pid);
      const result = {
        bench: 'delayed',
        mode: 'routed',
        messages: measured,
        bodyBytes: o.body,
        publishMs: Math.round(publishMs),
        publishRate: Math.round((o.count / publishMs) * 1000),
        dueWindowMs: 1000,
        // From the last due time (dueBase + 999) to every message being in the queue (10 ms polls).
        lastRoutedAfterLastDueMs: routedAt - (dueBase + 999),
        allRoutedWithinMs: routedAt - dueBase,
        rssMiB: { idle: idle.rssMiB, holding: holding.rssMiB, afterRouting: after.rssMiB, peak: after.peakMiB },
        node: process.version,
        cpus: cpus().length,
      };
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    const consume = await conn.createChannel();
    await consume.prefetch(5000);
    const lateness: number[] = [];
    let lastArrival = 0;
    let maxGap = 0;
    const done = new Promise<void>((resolveDone) => {
      void consume.consume(
        'due',
        (m: ConsumeMessage | null) => {
          if (m === null) return;
          const arrival = Date.now();
          const due = Number(m.properties.headers?.['due']);
          consume.ack(m);
          if (lastArrival !== 0) maxGap = Math.max(maxGap, arrival - lastArrival);
          lastArrival = arrival;
          lateness.push(arrival - due);
          if (lateness.length === measured) resolveDone();
        },
        { noAck: false },
      );
    });
    const timeout = setTimeout(() => {
      process.stderr.write(`timed out: ${lateness.length} of ${measured} delivered\n`);
      process.exit(1);
    }, dueBase - Date.now() + 120_000);
    await done;
    clearTimeout(timeout);
    const after = memory(pid);
    lateness.sort((a, b) => a - b);
    const result = {
      bench: 'delayed',
      mode: 'consumed',
      messages: measured,
      bodyBytes: o.body,
      publishMs: Math.round(publishMs),
      publishRate: Math.round((o.count / publishMs) * 1000),
      dueWindowMs: 1000,
      // From the last due time (dueBase + 999) to the last delivery.
      lastDeliveredAfterLastDueMs: lastArrival - (dueBase + 999),
      // From the first due time to the last delivery.
      allDeliveredWithinMs: lastArrival - dueBase,
      latenessMs: { p50: percentile(lateness, 50), p99: percentile(lateness, 99), max: lateness[lateness.length - 1] ?? 0 },
      maxGapBetweenDeliveriesMs: maxGap,
      rssMiB: { idle: idle.rssMiB, holding: holding.rssMiB, afterDelivery: after.rssMiB, peak: after.peakMiB },
      node: process.version,
      cpus: cpus().length,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await conn.close().catch(() => {});
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    if (!o.keep) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/delayed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
