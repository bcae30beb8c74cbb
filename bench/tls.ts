// TLS cost: scenarios (a) 16 B and (b) 1 KiB — one publisher and one autoack consumer on a
// transient queue, each its own amqplib process — and the connection set-up rate (connect with
// the full AMQP handshake, then close, CONCURRENCY at a time), each over plain TCP and over TLS,
// against warren and, when given, a RabbitMQ with TLS. Rounds are interleaved (every target,
// every scenario, then the next round) so that a machine shared with other work loads every
// target alike; the report gives medians and every round. The shared C load generators have
// no TLS, hence amqplib on both sides of the comparison.
//
//   npm run build && node dist/bench/tls.js [--rounds 3] [--seconds 8] [--warmup 2] [--out DIR]
//   RabbitMQ too: BENCH_RABBIT_PORT=5678 BENCH_RABBIT_TLS_PORT=5679 BENCH_RABBIT_CA_DIR=/dir/with/ca.pem+ca.key
//   [BENCH_RABBIT_TLS_HOST=[::1]]; BENCH_BROKER_CPUS=0 pins warren (run this script under taskset -c 1)
//
// Warren is spawned with a server certificate from the same CA, so one client configuration
// (trusting ca.pem, no client certificate) serves both brokers. Writes bench/results/tls-<date>.md.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as amqplib from 'amqplib';
import { makeTestPki } from '../conformance/tls-certs.js';
import { RESULTS_DIR, WARREN_MAIN } from './lib/paths.js';
import { loadavg1, machineInfo, pidsListeningOn } from './lib/proc.js';
import { median, sleep } from './lib/util.js';

const SELF = fileURLToPath(import.meta.url);

// ---- the client roles, each in its own process ----------------------------------------------

interface Tls {
  readonly ca: string;
}

function connectOptions(tls: Tls | null): Record<string, unknown> {
  return tls === null ? {} : { ca: [readFileSync(tls.ca)] };
}

/** Counts deliveries from the first one on; prints the rate over [warmup, warmup+seconds]. */
async function consumeRole(url: string, tls: Tls | null, queue: string, warmup: number, seconds: number): Promise<void> {
  const conn = await amqplib.connect(url, connectOptions(tls));
  const ch = await conn.createChannel();
  let received = 0;
  let started = false;
  let done: (rate: number) => void = () => undefined;
  const result = new Promise<number>((r) => (done = r));
  await ch.consume(
    queue,
    () => {
      received++;
      if (started) return;
      started = true;
      setTimeout(() => {
        const c0 = received;
        const t0 = performance.now();
        setTimeout(() => done(((received - c0) * 1000) / (performance.now() - t0)), seconds * 1000);
      }, warmup * 1000);
    },
    { noAck: true },
  );
  process.stdout.write('ready\n');
  const rate = await result;
  process.stdout.write(JSON.stringify({ rate }) + '\n');
  process.exit(0);
}

/** Publishes transient messages as fast as the socket takes them (scenario a/b's producer). */
async function publishRole(url: string, tls: Tls | null, queue: string, size: number): Promise<void> {
  const conn = await amqplib.connect(url, connectOptions(tls));
  const ch = await conn.createChannel();
  const body = Buffer.alloc(size, 0x61);
  const pump = (): void => {
    while (ch.publish('', queue, body)) {
      // keep going until the socket pushes back
    }
    ch.once('drain', pump);
  };
  pump();
  await new Promise(() => undefined); // killed by the runner
}

/** Opens and closes connections (full AMQP handshake each), `concurrency` at a time. */
async function connectRole(url: string, tls: Tls | null, seconds: number, concurrency: number): Promise<void> {
  const opts = connectOptions(tls);
  const end = performance.now() + seconds * 1000;
  let opened = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        try {
          const c = await amqplib.connect(url, opts);
          await c.close();
          opened++;
        } catch {
          failed++;
        }
      }
    }),
  );
  process.stdout.write(JSON.stringify({ rate: (opened * 1000) / (performance.now() - t0), opened, failed }) + '\n');
  process.exit(0);
}

// ---- the runner -----------------------------------------------------------------------------

interface Target {
  readonly name: string;
  readonly url: string;
  readonly tls: Tls | null;
}

function child(args: string[]): { proc: ChildProcess; line: (pred: (l: string) => boolean) => Promise<string> } {
  const proc = spawn(process.execPath, [SELF, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let buf = '';
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      for (const w of waiters.splice(0)) w();
    }
  });
  const line = async (pred: (l: string) => boolean): Promise<string> => {
    for (;;) {
      const found = lines.find(pred);
      if (found !== undefined) return found;
      if (proc.exitCode !== null) throw new Error(`bench child ${args[0]} exited with ${proc.exitCode}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 500);
      });
    }
  };
  return { proc, line };
}

const tlsArg = (t: Target): string => t.tls?.ca ?? '-';

async function throughput(t: Target, size: number, warmup: number, seconds: number): Promise<number> {
  const queue = `bench-tls-${process.pid}-${Date.now()}`;
  const admin = await amqplib.connect(t.url, connectOptions(t.tls));
  const ach = await admin.createChannel();
  await ach.assertQueue(queue, { durable: false, autoDelete: false });
  const consumer = child(['consume', t.url, tlsArg(t), queue, String(warmup), String(seconds)]);
  await consumer.line((l) => l === 'ready');
  const publisher = child(['publish', t.url, tlsArg(t), queue, String(size)]);
  const out = await consumer.line((l) => l.startsWith('{'));
  publisher.proc.kill('SIGKILL');
  consumer.proc.kill('SIGKILL');
  await ach.deleteQueue(queue).catch(() => undefined);
  await admin.close().catch(() => undefined);
  await sleep(1000); // let the broker drop the backlog before the next run
  return (JSON.parse(out) as { rate: number }).rate;
}

async function connections(t: Target, seconds: number, concurrency: number): Promise<{ rate: number; failed: number }> {
  const c = child(['connect', t.url, tlsArg(t), String(seconds), String(concurrency)]);
  const out = JSON.parse(await c.line((l) => l.startsWith('{'))) as { rate: number; failed: number };
  await sleep(500);
  return out;
}

/** A port that was free a moment ago (the broker binds it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** warren with AMQP and AMQPS, logging at warn (no line per connection, as in production). */
async function startWarren(cert: string, key: string): Promise<{ proc: ChildProcess; port: number; tlsPort: number }> {
  const port = await freePort();
  const tlsPort = await freePort();
  const args = [WARREN_MAIN, 'start', '--host', '127.0.0.1', '--port', String(port), '--tls-port', String(tlsPort), '--http-port', 'off', '--data-dir', 'none', '--log-level', 'warn', '--tls-cert', cert, '--tls-key', key];
  // BENCH_BROKER_CPUS pins warren (taskset execs node, so the pid stays the broker's).
  const cpus = process.env['BENCH_BROKER_CPUS'] ?? '';
  const proc = spawn(cpus === '' ? process.execPath : 'taskset', cpus === '' ? args : ['-c', cpus, process.execPath, ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    if (pidsListeningOn(tlsPort).includes(proc.pid!)) return { proc, port, tlsPort };
  }
  throw new Error('warren did not start listening');
}

function arg(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
}

async function main(argv: string[]): Promise<void> {
  const rounds = arg(argv, '--rounds', 3);
  const seconds = arg(argv, '--seconds', 8);
  const warmup = arg(argv, '--warmup', 2);
  const connSeconds = arg(argv, '--conn-seconds', 6);
  const concurrency = arg(argv, '--concurrency', 4);
  const outIdx = argv.indexOf('--out');
  const outDir = outIdx >= 0 ? argv[outIdx + 1]! : RESULTS_DIR;
  const rabbitPort = process.env['BENCH_RABBIT_PORT'];
  const rabbitTlsPort = process.env['BENCH_RABBIT_TLS_PORT'];
  const caDir = process.env['BENCH_RABBIT_CA_DIR'];

  const pki = makeTestPki(caDir);
  const server = pki.server('bench-server', 0x7001);
  const warren = await startWarren(server.cert, server.key);
  const tls: Tls = { ca: pki.ca };
  const targets: Target[] = [
    { name: 'warren tcp', url: `amqp://guest:guest@127.0.0.1:${warren.port}`, tls: null },
    { name: 'warren tls', url: `amqps://guest:guest@localhost:${warren.tlsPort}`, tls },
  ];
  if (rabbitPort && rabbitTlsPort) {
    targets.push({ name: 'rabbitmq tcp', url: `amqp://guest:guest@127.0.0.1:${rabbitPort}`, tls: null });
    // BENCH_RABBIT_TLS_HOST: e.g. [::1] for a node with TLS and plain TCP on one port number, on two addresses.
    targets.push({ name: 'rabbitmq tls', url: `amqps://guest:guest@${process.env['BENCH_RABBIT_TLS_HOST'] ?? 'localhost'}:${rabbitTlsPort}`, tls });
  }
  const scenarios = ['a', 'b', 'conn'] as const;
  type Row = { target: string; scenario: string; round: number; rate: number; load: number };
  const rows: Row[] = [];
  const started = new Date();
  for (let r = 1; r <= rounds; r++) {
    for (const s of scenarios) {
      for (const t of targets) {
        const load = loadavg1();
        if (s === 'conn') {
          const c = await connections(t, connSeconds, concurrency);
          rows.push({ target: t.name, scenario: s, round: r, rate: c.rate, load });
        } else {
          const rate = await throughput(t, s === 'a' ? 16 : 1024, warmup, seconds);
          rows.push({ target: t.name, scenario: s, round: r, rate, load });
        }
        const last = rows[rows.length - 1]!;
        process.stderr.write(`round ${r} ${s} ${t.name}: ${Math.round(last.rate)}/s (load ${load.toFixed(1)})\n`);
      }
    }
  }
  warren.proc.kill('SIGTERM');
  pki.cleanup();

  const med = (t: string, s: string) => median(rows.filter((x) => x.target === t && x.scenario === s).map((x) => x.rate));
  const fmt = (v: number) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '–');
  const m = machineInfo();
  const names = targets.map((t) => t.name);
  const lines: string[] = [];
  lines.push(`# TLS vs plain TCP, warren${rabbitPort ? ' and RabbitMQ' : ''} (${started.toISOString()})`);
  lines.push('');
  lines.push(`Command: \`node dist/bench/tls.js --rounds ${rounds} --seconds ${seconds} --warmup ${warmup} --conn-seconds ${connSeconds} --concurrency ${concurrency}\`${rabbitPort ? ` with BENCH_RABBIT_PORT=${rabbitPort} BENCH_RABBIT_TLS_PORT=${rabbitTlsPort}${process.env['BENCH_RABBIT_TLS_HOST'] ? ` BENCH_RABBIT_TLS_HOST=${process.env['BENCH_RABBIT_TLS_HOST']}` : ''}` : ''}.`);
  lines.push(`Machine: ${m.cpus} × ${m.cpuModel}, ${m.memGiB} GiB, ${m.kernel}, Node ${process.version}; shared with other work (1-min load average ${Math.min(...rows.map((x) => x.load)).toFixed(1)}–${Math.max(...rows.map((x) => x.load)).toFixed(1)} during the runs), ${process.env['BENCH_BROKER_CPUS'] ? `warren pinned to CPU ${process.env['BENCH_BROKER_CPUS']} (RabbitMQ's pinning, if any, is done outside this script), clients wherever this script runs` : 'no CPU pinning'}: read the ratios, not the absolute rates.`);
  lines.push('Clients: amqplib (Node), one process per role; TLS 1.3 with an EC P-256 server certificate, no client certificate, no session resumption (every connection a full handshake).');
  lines.push('(a)/(b): one publisher (16 B / 1 KiB, transient, as fast as the socket takes) and one autoack consumer, each its own connection and process; the figure is messages received per second over the measured seconds. conn: connections opened and closed per second, each with the TLS handshake (if any) and the full AMQP handshake (start, tune, open), ' + concurrency + ' at a time.');
  lines.push('');
  lines.push(`Medians of ${rounds} interleaved rounds:`);
  lines.push('');
  lines.push(`| | ${names.join(' | ')} | warren tls/tcp |${rabbitPort ? ' rabbitmq tls/tcp | warren tls / rabbitmq tls |' : ''}`);
  lines.push(`| --- | ${names.map(() => '---:').join(' | ')} | ---: |${rabbitPort ? ' ---: | ---: |' : ''}`);
  const label = { a: '(a) 16 B msg/s', b: '(b) 1 KiB msg/s', conn: 'connections/s' } as const;
  for (const s of scenarios) {
    const cells = names.map((n) => fmt(med(n, s)));
    const ratio = (x: number, y: number) => (x / y).toFixed(2);
    let line = `| ${label[s]} | ${cells.join(' | ')} | ${ratio(med('warren tls', s), med('warren tcp', s))} |`;
    if (rabbitPort) line += ` ${ratio(med('rabbitmq tls', s), med('rabbitmq tcp', s))} | ${ratio(med('warren tls', s), med('rabbitmq tls', s))} |`;
    lines.push(line);
  }
  lines.push('');
  lines.push('Every round:');
  lines.push('');
  lines.push('| round | scenario | target | rate/s | load avg |');
  lines.push('| ---: | --- | --- | ---: | ---: |');
  for (const x of rows) lines.push(`| ${x.round} | ${x.scenario} | ${x.target} | ${fmt(x.rate)} | ${x.load.toFixed(1)} |`);
  const text = lines.join('\n') + '\n';
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `tls-${started.toISOString().slice(0, 10).replace(/-/g, '')}.md`);
  writeFileSync(file, text);
  process.stdout.write(text);
  process.stderr.write(`written to ${file}\n`);
}

if (process.argv[1] === SELF) {
  const [role, url, ca, ...rest] = process.argv.slice(2);
  const tls = ca === undefined || ca === '-' ? null : { ca };
  const run =
    role === 'consume'
      ? consumeRole(url!, tls, rest[0]!, Number(rest[1]), Number(rest[2]))
      : role === 'publish'
        ? publishRole(url!, tls, rest[0]!, Number(rest[1]))
        : role === 'connect'
          ? connectRole(url!, tls, Number(rest[0]), Number(rest[1]))
          : main(process.argv.slice(2));
  run.then(
    () => undefined,
    (e: unknown) => {
      process.stderr.write(`bench/tls: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
