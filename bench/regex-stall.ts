// Can one HTTP request with a catastrophic regular expression stall every AMQP client? Spawns a
// built warren (this repo's, or another build's main.js with --warren), declares queues whose
// names a backtracking engine needs 2^n steps to reject for `(a+)+$` (n a's then '!'), and
// measures an AMQP probe — every 10 ms, a publish to its own queue timed until it is delivered
// back, and a passive queue.declare RPC — with nothing else running, then while --clients HTTP
// clients loop GET /api/queues?use_regex=true with a harmless name filter (^zz: the cost of
// the HTTP load itself), then with name=(a+)+$ (with page=1: RabbitMQ filters by name only on
// paged requests). A probe still
// unanswered at the end counts as lasting until then (a stalled broker cannot answer).
//
//   npm run build && node dist/bench/regex-stall.js [--a 40] [--seconds 10] [--clients 4]
//       [--warren path/to/dist/src/main.js | --external AMQP_PORT,HTTP_PORT]
//
// Prints a markdown table and one JSON line. The broker is killed (SIGKILL) at the end: a
// broker stuck in a regex does not answer SIGTERM's graceful close.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { eachLine } from './lib/util.js';

interface Options {
  a: number;
  seconds: number;
  clients: number;
  queues: number;
  warren: string;
  /** Measure a running broker instead (e.g. RabbitMQ with rabbitmq_management): AMQP port and HTTP port on 127.0.0.1, guest/guest. */
  external: { port: number; httpPort: number } | null;
}

function defaultMain(): string {
  // dist/bench/regex-stall.js -> dist/src/main.js
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { a: 40, seconds: 10, clients: 4, queues: 3, warren: defaultMain(), external: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg}: expected a value`);
      return v;
    };
    if (arg === '--a') o.a = Number(next());
    else if (arg === '--seconds') o.seconds = Number(next());
    else if (arg === '--clients') o.clients = Number(next());
    else if (arg === '--queues') o.queues = Number(next());
    else if (arg === '--warren') o.warren = resolve(next());
    else if (arg === '--external') {
      const [port, httpPort] = next().split(',').map(Number);
      o.external = { port: port!, httpPort: httpPort! };
    }
    else throw new Error(`unknown option ${arg} (known: --a, --seconds, --clients, --queues, --warren, --external AMQP_PORT,HTTP_PORT)`);
  }
  return o;
}

async function startWarren(main: string, dataDir: string): Promise<{ child: ChildProcess; port: number; httpPort: number }> {
  const child = spawn(process.execPath, [main, 'start', '--host', '127.0.0.1', '--port', '0', '--http-host', '127.0.0.1', '--http-port', '0', '--data-dir', dataDir, '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolvePorts, reject) => {
    eachLine(child.stdout!, (line) => {
      if (!line.startsWith('{')) return;
      const rec = JSON.parse(line) as { msg?: string; port?: number; httpPort?: number };
      if (rec.msg === 'listening' && typeof rec.port === 'number' && typeof rec.httpPort === 'number') resolvePorts({ child, port: rec.port, httpPort: rec.httpPort });
    });
    child.once('exit', (code) => reject(new Error(`warren exited (${code}) before listening`)));
  });
}

interface Probe {
  deliver: number[];
  rpc: number[];
  sent: number;
}

/**
 * Connects (before any load starts: a stalled broker would not even accept the connection),
 * then probes every 10 ms for `ms`; unanswered probes count as lasting until the window's end.
 */
async function openProbe(url: string): Promise<(ms: number) => Promise<Probe>> {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  const rpcCh = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  const pending = new Map<number, number>();
  const out: Probe = { deliver: [], rpc: [], sent: 0 };
  await ch.consume(
    queue,
    (m) => {
      if (!m) return;
      const t0 = pending.get(m.content.readUInt32LE(0));
      if (t0 === undefined) return;
      out.deliver.push(performance.now() - t0);
      pending.delete(m.content.readUInt32LE(0));
    },
    { noAck: true },
  );
  return (ms) => runProbe(conn, ch, rpcCh, queue, pending, out, ms);
}

async function runProbe(conn: amqp.ChannelModel, ch: amqp.Channel, rpcCh: amqp.Channel, queue: string, pending: Map<number, number>, out: Probe, ms: number): Promise<Probe> {
  const start = performance.now();
  let rpcStart: number | null = null;
  let seq = 0;
  await new Promise<void>((done) => {
    const timer = setInterval(() => {
      const t = performance.now();
      if (t - start >= ms) {
        clearInterval(timer);
        done();
        return;
      }
      const b = Buffer.alloc(8);
      b.writeUInt32LE(++seq, 0);
      pending.set(seq, t);
      ch.sendToQueue(queue, b);
      out.sent++;
      if (rpcStart === null) {
        rpcStart = t;
        rpcCh.checkQueue(queue).then(
          () => {
            out.rpc.push(performance.now() - rpcStart!);
            rpcStart = null;
          },
          () => (rpcStart = null),
        );
      }
    }, 10);
  });
  const end = performance.now();
  for (const t0 of pending.values()) out.deliver.push(end - t0);
  if (rpcStart !== null) out.rpc.push(end - rpcStart);
  void conn.close().catch(() => undefined);
  return out;
}

function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

interface HttpLoad {
  done: number;
  failed: number;
  slowestMs: number;
}

/** `clients` loops of the evil request until `stop()`; resolves when the last one answers. */
function httpLoad(httpPort: number, clients: number, path: string): { stop(): Promise<HttpLoad> } {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const stats: HttpLoad = { done: 0, failed: 0, slowestMs: 0 };
  let running = true;
  const auth = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
  const one = (): Promise<void> =>
    new Promise((res) => {
      const t0 = performance.now();
      const req = request({ host: '127.0.0.1', port: httpPort, path, agent, headers: { authorization: auth } }, (r) => {
        r.resume();
        r.on('end', () => {
          stats.slowestMs = Math.max(stats.slowestMs, performance.now() - t0);
          if (r.statusCode === 200) stats.done++;
          else stats.failed++;
          res();
        });
      });
      req.on('error', () => {
        stats.failed++;
        res();
      });
      req.end();
    });
  const loops = Array.from({ length: clients }, async () => {
    while (running) await one();
  });
  return {
    async stop() {
      running = false;
      // A request stuck in a stalled broker never ends: give up after 2 s and say so.
      await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 2000))]);
      agent.destroy();
      return stats;
    },
  };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-regex-stall-'));
  const w = o.external === null ? await startWarren(o.warren, dataDir) : { child: null, ...o.external };
  const url = `amqp://guest:guest@127.0.0.1:${w.port}`;
  try {
    const setup = await amqp.connect(url);
    const sch = await setup.createChannel();
    const names = Array.from({ length: o.queues }, (_, i) => `${'a'.repeat(o.a)}!${i}`);
    for (const n of names) await sch.assertQueue(n, { autoDelete: false });
    await setup.close();
    const ms = o.seconds * 1000;

    const idle = await (await openProbe(url))(ms);
    // The same HTTP load with a harmless regex: what the HTTP work alone costs the probe.
    const benignPath = `/api/queues?page=1&columns=name&use_regex=true&name=${encodeURIComponent('^zz')}`;
    const benignProbe = await openProbe(url);
    const benignLoad = httpLoad(w.httpPort, o.clients, benignPath);
    const benign = await benignProbe(ms);
    const benignHttp = await benignLoad.stop();
    const evilPath = `/api/queues?page=1&columns=name&use_regex=true&name=${encodeURIComponent('(a+)+$')}`;
    const evilProbe = await openProbe(url);
    const load = httpLoad(w.httpPort, o.clients, evilPath);
    const loaded = await evilProbe(ms);
    const http = await load.stop();

    const row = (label: string, p: Probe) =>
      `| ${label} | ${p.sent} | ${pct(p.deliver, 50).toFixed(2)} | ${pct(p.deliver, 99).toFixed(2)} | ${Math.max(...p.deliver).toFixed(1)} | ${pct(p.rpc, 50).toFixed(2)} | ${pct(p.rpc, 99).toFixed(2)} | ${p.rpc.length} |`;
    const date = new Date().toISOString();
    console.log(`regex-stall ${date}, ${cpus().length} CPUs, broker ${o.external === null ? o.warren : `external 127.0.0.1:${o.external.port} (HTTP ${o.external.httpPort})`}`);
    console.log(`queues: ${o.queues} named ${o.a} a's + '!<i>'; HTTP: ${o.clients} clients looping GET ${evilPath}; ${o.seconds} s per phase\n`);
    console.log('| phase | probes sent | deliver p50 ms | deliver p99 ms | deliver max ms | rpc p50 ms | rpc p99 ms | rpcs done |');
    console.log('|---|---|---|---|---|---|---|---|');
    console.log(row('idle', idle));
    console.log(row('harmless regex ^zz over HTTP', benign));
    console.log(row('evil regex (a+)+$ over HTTP', loaded));
    console.log(`\nHTTP requests answered with ^zz: ${benignHttp.done} (failed ${benignHttp.failed}, slowest ${benignHttp.slowestMs.toFixed(0)} ms)`);
    console.log(`HTTP requests answered with (a+)+$: ${http.done} (failed ${http.failed}, slowest ${http.slowestMs.toFixed(0)} ms; a request unanswered at the end is not counted)`);
    console.log(
      JSON.stringify({
        scenario: 'regex-stall',
        date,
        options: o,
        idle: { deliverP50: pct(idle.deliver, 50), deliverP99: pct(idle.deliver, 99), rpcP50: pct(idle.rpc, 50), rpcP99: pct(idle.rpc, 99), rpcs: idle.rpc.length },
        benign: { deliverP50: pct(benign.deliver, 50), deliverP99: pct(benign.deliver, 99), rpcP50: pct(benign.rpc, 50), rpcP99: pct(benign.rpc, 99), rpcs: benign.rpc.length, http: benignHttp },
        loaded: { deliverP50: pct(loaded.deliver, 50), deliverP99: pct(loaded.deliver, 99), rpcP50: pct(loaded.rpc, 50), rpcP99: pct(loaded.rpc, 99), rpcs: loaded.rpc.length },
        http,
      }),
    );
    if (o.external !== null) {
      const cleanup = await amqp.connect(url);
      const cch = await cleanup.createChannel();
      for (const n of names) await cch.deleteQueue(n);
      await cleanup.close();
    }
  } finally {
    w.child?.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
