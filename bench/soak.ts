// `npm run soak -- --minutes N`: a long mixed workload against a fresh warren, sampling the
// broker's RSS, open file descriptors and event-loop delay every 10 s into a CSV, then checking
// that every message the broker confirmed was consumed (or dead-lettered and consumed). The
// question it answers: does anything grow or slow down with time (leaks of connections,
// channels, consumers, queues, timers, store rows)?
//
// Workload (one amqplib process):
//   steady publisher   confirm channel, --rate msg/s through a topic exchange: 70 % to a durable
//                      work queue (half persistent), 30 % to a queue with a 3 s queue TTL (some
//                      with a shorter per-message expiration) that dead-letters into soak.dead
//   churn publishers   a new connection every 2 s publishing 20 confirmed messages, then closing
//   steady consumers   one on soak.work and one on soak.dead (prefetch 100, ack each)
//   churn consumers    a new connection every 3 s consuming soak.work for 1-6 s; some close with
//                      messages unacked (requeued), some drop the socket without closing
//   queue churn        every 5 s a server-named exclusive queue is declared, bound, fed, deleted
// At the end the publishers stop, the TTLs run out, the consumers drain everything, and each
// confirmed id must have been seen by a consumer.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { RESULTS_DIR, TMP_DIR } from './lib/paths.js';
import { cpuSeconds, procStatus } from './lib/proc.js';
import { snapshotBroker } from './lib/target.js';
import { eachLine, sleep } from './lib/util.js';
import { COLUMNS, curvesTable, judge, parseCsv, show, toCsvLine, windowSecondsFor, type Row } from './lib/soak-report.js';
import { LAUNCH_ENV, LAUNCH_NODE_FLAGS } from '../src/cli/node-flags.js';

interface Options {
  minutes: number;
  warmupMinutes: number;
  rate: number;
  tag: string;
  out: string;
  sampleSeconds: number;
  /** CPUs to pin the broker to (taskset -c), e.g. "0"; empty: not pinned. */
  brokerCpus: string;
  /** Minutes of sampling the fresh broker with no client before the load: the machine's floor. */
  idleMinutes: number;
  /** Judge an earlier run's CSV again instead of running. */
  reportOnly: string;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { minutes: 5, warmupMinutes: -1, rate: 200, tag: '', out: RESULTS_DIR, sampleSeconds: 10, brokerCpus: '', idleMinutes: 0, reportOnly: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--minutes') o.minutes = Number(next());
    else if (a === '--warmup-minutes') o.warmupMinutes = Number(next());
    else if (a === '--rate') o.rate = Number(next());
    else if (a === '--tag') o.tag = next();
    else if (a === '--out') o.out = resolve(next());
    else if (a === '--sample-seconds') o.sampleSeconds = Number(next());
    else if (a === '--broker-cpus') o.brokerCpus = next();
    else if (a === '--idle-minutes') o.idleMinutes = Number(next());
    else if (a === '--report-only') o.reportOnly = resolve(next());
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run soak -- [--minutes 5] [--warmup-minutes min(5, minutes/6)] [--rate 200] [--tag name] [--out dir] [--sample-seconds 10] [--broker-cpus 0] [--idle-minutes 0] | --report-only FILE.csv [--warmup-minutes 5]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!(o.minutes > 0)) throw new Error('--minutes must be > 0');
  if (!(o.idleMinutes >= 0)) throw new Error('--idle-minutes must be >= 0');
  // A report of an earlier run takes its warm-up default from that run's length.
  if (o.warmupMinutes < 0 && o.reportOnly === '') o.warmupMinutes = Math.min(5, o.minutes / 6);
  if (o.tag === '') o.tag = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  return o;
}

const say = (msg: string): void => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${msg}`);

// ---------------------------------------------------------------------------------------------
// The broker

interface Broker {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly url: string;
  readonly httpPort: number;
  readonly dataDir: string;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
}

async function startBroker(runDir: string, brokerCpus: string): Promise<Broker> {
  const main = snapshotBroker(join(runDir, 'broker'));
  const dataDir = join(runDir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const log = createWriteStream(join(runDir, 'warren.log'));
  const args = [...LAUNCH_NODE_FLAGS, main, 'start', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--data-dir', dataDir, '--log-level', 'info'];
  // taskset execs node, so the pid is the broker's.
  const child = spawn(brokerCpus === '' ? process.execPath : 'taskset', brokerCpus === '' ? args : ['-c', brokerCpus, process.execPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...LAUNCH_ENV },
  });
  child.stderr!.pipe(log);
  const broker: Broker = { child, pid: child.pid!, url: '', httpPort: 0, dataDir, exit: null };
  child.once('exit', (code, signal) => {
    broker.exit = { code, signal };
    if (!stopping) say(`BROKER EXITED code=${code} signal=${signal}`);
  });
  process.on('exit', () => {
    if (broker.exit === null) child.kill('SIGKILL');
  });
  const { port, httpPort } = await new Promise<{ port: number; httpPort: number }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error('warren did not start within 30 s')), 30_000);
    child.stdout!.on('data', (d: Buffer) => log.write(d));
    eachLine(child.stdout!, (line) => {
      if (!line.startsWith('{')) return;
      const rec = JSON.parse(line) as { msg?: string; port?: number; httpPort?: number };
      if (rec.msg === 'listening' && typeof rec.port === 'number' && typeof rec.httpPort === 'number') {
        clearTimeout(timer);
        res({ port: rec.port, httpPort: rec.httpPort });
      }
    });
  });
  // After "listening" only the log file gets stdout.
  child.stdout!.removeAllListeners('data');
  child.stdout!.pipe(log);
  return Object.assign(broker, { url: `amqp://guest:guest@127.0.0.1:${port}`, httpPort });
}

async function scrapeMetrics(httpPort: number): Promise<Map<string, number>> {
  const r = await fetch(`http://127.0.0.1:${httpPort}/metrics`, { signal: AbortSignal.timeout(20_000) });
  const text = await r.text();
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const sp = line.lastIndexOf(' ');
    const name = line.slice(0, sp).replace(/\{.*\}$/, '');
    m.set(name, Number(line.slice(sp + 1)));
  }
  return m;
}

function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// Accounting: ids are dense integers, so two growable byte maps do.

class IdSet {
  #bits = new Uint8Array(1 << 20);
  count = 0;
  add(id: number): void {
    while (id >= this.#bits.length) {
      const bigger = new Uint8Array(this.#bits.length * 2);
      bigger.set(this.#bits);
      this.#bits = bigger;
    }
    if (this.#bits[id] === 0) {
      this.#bits[id] = 1;
      this.count++;
    }
  }
  has(id: number): boolean {
    return id < this.#bits.length && this.#bits[id] === 1;
  }
}

const counters = {
  published: 0,
  confirmed: 0,
  nacked: 0,
  consumedWork: 0,
  consumedDead: 0,
  duplicates: 0,
  connectionsOpened: 0,
  abruptCloses: 0,
  queuesChurned: 0,
  skippedTicks: 0,
  errors: 0,
};
const confirmed = new IdSet();
const seen = new IdSet();
let nextId = 0;
const errorSamples: string[] = [];

function noteError(what: string, e: unknown): void {
  counters.errors++;
  if (errorSamples.length < 20) errorSamples.push(`${what}: ${(e as Error)?.message ?? String(e)}`);
}

async function open(url: string): Promise<ChannelModel> {
  const c = await amqp.connect(url);
  c.on('error', () => undefined);
  counters.connectionsOpened++;
  return c;
}

function body(id: number): Buffer {
  // 100 B - 4 KiB; the id leads so it survives any property handling.
  const size = 100 + ((id * 2654435761) >>> 0) % 4000;
  const b = Buffer.alloc(size, 0x61);
  b.writeUInt32BE(id, 0);
  return b;
}

function onDelivery(ch: Channel, m: ConsumeMessage | null, dead: boolean, ack = true): void {
  if (m === null) return;
  const id = m.content.readUInt32BE(0);
  if (ack) {
    ch.ack(m);
    if (seen.has(id)) counters.duplicates++;
    seen.add(id);
    if (dead) counters.consumedDead++;
    else counters.consumedWork++;
  }
}

function publishOne(ch: ConfirmChannel, onConfirm?: () => void): void {
  const id = nextId++;
  counters.published++;
  const r = id % 10;
  const toWork = r < 7;
  const routingKey = toWork ? `work.${id % 3}` : `ttl.${id % 2}`;
  const opts: amqp.Options.Publish = { persistent: toWork && id % 2 === 0, messageId: String(id) };
  if (!toWork && r === 9) opts.expiration = String(500 + (id % 2000));
  ch.publish('soak.topic', routingKey, body(id), opts, (err: unknown) => {
    if (err) counters.nacked++;
    else {
      counters.confirmed++;
      confirmed.add(id);
    }
    onConfirm?.();
  });
}

// ---------------------------------------------------------------------------------------------
// Workload parts; each loops until `stopping` and never throws out.

let stopping = false;

async function setup(url: string): Promise<void> {
  const c = await open(url);
  const ch = await c.createChannel();
  await ch.assertExchange('soak.topic', 'topic', { durable: true });
  await ch.assertQueue('soak.work', { durable: true });
  await ch.assertQueue('soak.dead', { durable: true });
  await ch.assertQueue('soak.ttl', { durable: true, arguments: { 'x-message-ttl': 3000, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'soak.dead' } });
  await ch.bindQueue('soak.work', 'soak.topic', 'work.#');
  await ch.bindQueue('soak.ttl', 'soak.topic', 'ttl.#');
  await c.close();
}

async function steadyPublisher(url: string, rate: number): Promise<void> {
  const c = await open(url);
  const ch = await c.createConfirmChannel();
  let outstanding = 0;
  const tickMs = 100;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const start = Date.now();
  let ticks = 0;
  while (!stopping) {
    if (outstanding > 5000) counters.skippedTicks++;
    else {
      for (let i = 0; i < perTick; i++) {
        outstanding++;
        publishOne(ch, () => outstanding--);
      }
    }
    ticks++;
    await sleep(Math.max(0, start + ticks * tickMs - Date.now()));
  }
  await ch.waitForConfirms().catch((e: unknown) => noteError('steady publisher confirms', e));
  await c.close();
}

async function churnPublishers(url: string): Promise<void> {
  while (!stopping) {
    try {
      const c = await open(url);
      const ch = await c.createConfirmChannel();
      for (let i = 0; i < 20; i++) publishOne(ch);
      await ch.waitForConfirms();
      await c.close();
    } catch (e) {
      noteError('churn publisher', e);
    }
    await sleep(2000);
  }
}

async function steadyConsumer(url: string, queue: string, dead: boolean): Promise<ChannelModel> {
  const c = await open(url);
  const ch = await c.createChannel();
  await ch.prefetch(100);
  await ch.consume(queue, (m) => onDelivery(ch, m, dead));
  return c;
}

/** Destroys a connection's socket without a connection.close: the broker sees the peer vanish. */
function dropSocket(c: ChannelModel): void {
  const stream = (c.connection as unknown as { stream?: { destroy(): void } }).stream;
  stream?.destroy();
}

async function churnConsumers(url: string): Promise<void> {
  let n = 0;
  while (!stopping) {
    n++;
    try {
      const c = await open(url);
      const ch = await c.createChannel();
      await ch.prefetch(20);
      // Every fourth consumer leaves its last deliveries unacked, so closing requeues them.
      const holdBack = n % 4 === 0;
      let received = 0;
      const { consumerTag } = await ch.consume('soak.work', (m) => {
        received++;
        onDelivery(ch, m, false, !(holdBack && received > 50));
      });
      await sleep(1000 + (n % 6) * 1000);
      if (n % 5 === 0) {
        counters.abruptCloses++;
        dropSocket(c);
      } else {
        if (n % 2 === 0) await ch.cancel(consumerTag);
        await c.close();
      }
    } catch (e) {
      noteError('churn consumer', e);
    }
    await sleep(3000 - 1000);
  }
}

async function queueChurn(url: string): Promise<void> {
  const c = await open(url);
  while (!stopping) {
    try {
      const ch = await c.createChannel();
      const { queue } = await ch.assertQueue('', { exclusive: true, arguments: { 'x-max-length': 50 } });
      await ch.bindQueue(queue, 'soak.topic', 'temp.#');
      for (let i = 0; i < 100; i++) ch.publish('soak.topic', 'temp.x', Buffer.alloc(512));
      await ch.checkQueue(queue);
      await ch.deleteQueue(queue);
      await ch.close();
      counters.queuesChurned++;
    } catch (e) {
      noteError('queue churn', e);
    }
    await sleep(5000);
  }
  await c.close();
}

// ---------------------------------------------------------------------------------------------
// Sampling and the report


/** The broker's CPU time at the previous sample: each row gives the CPU it used since (its own
 * work, whatever the machine does), beside the event-loop delay (which other load moves too). */
let lastCpuSeconds = NaN;

async function sample(b: Broker, t0: number): Promise<Row> {
  const m = await scrapeMetrics(b.httpPort).catch((e: unknown) => {
    noteError('scrape', e);
    return new Map<string, number>();
  });
  const ms = (name: string): number => Math.round((m.get(name) ?? NaN) * 1e6) / 1e3;
  const mib = (bytes: number | undefined): number => Math.round(((bytes ?? NaN) / 1048576) * 10) / 10;
  return {
    elapsed_s: Math.round((Date.now() - t0) / 1000),
    rss_mib: Math.round(((procStatus(b.pid)?.rssKb ?? NaN) / 1024) * 10) / 10,
    heap_used_mib: mib(m.get('warren_process_heap_used_bytes')),
    heap_total_mib: mib(m.get('warren_process_heap_total_bytes')),
    external_mib: mib(m.get('warren_process_external_bytes')),
    open_fds: openFds(b.pid),
    eventloop_mean_ms: ms('nodejs_eventloop_lag_mean_seconds'),
    eventloop_p50_ms: ms('nodejs_eventloop_lag_p50_seconds'),
    eventloop_p99_ms: ms('nodejs_eventloop_lag_p99_seconds'),
    eventloop_max_ms: ms('nodejs_eventloop_lag_max_seconds'),
    broker_cpu_ms: cpuSinceLastSample(b.pid),
    connections: m.get('rabbitmq_connections') ?? NaN,
    channels: m.get('rabbitmq_channels') ?? NaN,
    queue_messages: m.get('rabbitmq_queue_messages') ?? NaN,
    published: counters.published,
    confirmed: counters.confirmed,
    consumed_work: counters.consumedWork,
    consumed_dead: counters.consumedDead,
    connections_opened: counters.connectionsOpened,
    loadavg1: Math.round(loadavg()[0]! * 100) / 100,
  };
}

function cpuSinceLastSample(pid: number): number {
  const now = cpuSeconds(pid);
  const used = Math.round((now - lastCpuSeconds) * 1000);
  lastCpuSeconds = now;
  return used;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.reportOnly !== '') return reportOnly(o);
  const runDir = join(TMP_DIR, `soak-${o.tag}`);
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir, { recursive: true });
  mkdirSync(o.out, { recursive: true });
  const csvPath = join(o.out, `soak-${o.tag}.csv`);
  const mdPath = join(o.out, `soak-${o.tag}.md`);
  const startedAt = new Date();
  say(`${o.minutes} min, warm-up ${o.warmupMinutes} min, ${o.rate} msg/s steady; CSV ${csvPath}; broker log ${join(runDir, 'warren.log')}`);

  // The commit the broker was built from, read before the run (the tree may move on meanwhile).
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  const b = await startBroker(runDir, o.brokerCpus);
  say(`warren pid ${b.pid} at ${b.url.replace(/\/\/[^@]*@/, '//')}, metrics on :${b.httpPort}`);
  const idleRows = o.idleMinutes > 0 ? await sampleIdle(b, o, join(o.out, `soak-${o.tag}-idle.csv`)) : [];
  await setup(b.url);
  const consumers = [await steadyConsumer(b.url, 'soak.work', false), await steadyConsumer(b.url, 'soak.dead', true)];
  const t0 = Date.now();
  const parts = [steadyPublisher(b.url, o.rate), churnPublishers(b.url), churnConsumers(b.url), queueChurn(b.url)].map((p) =>
    p.catch((e: unknown) => noteError('workload part', e)),
  );

  const csv = createWriteStream(csvPath);
  csv.write(COLUMNS.join(',') + '\n');
  const rows: Row[] = [];
  const endAt = t0 + o.minutes * 60_000;
  let nextSample = t0;
  while (Date.now() < endAt && b.exit === null) {
    const row = await sample(b, t0);
    rows.push(row);
    csv.write(toCsvLine(row) + '\n');
    say(`t=${row.elapsed_s}s rss=${row.rss_mib}MiB fds=${row.open_fds} el_p99=${row.eventloop_p99_ms}ms el_max=${row.eventloop_max_ms}ms conns=${row.connections} queued=${row.queue_messages} confirmed=${row.confirmed} errors=${counters.errors}`);
    nextSample += o.sampleSeconds * 1000;
    await sleep(Math.max(0, Math.min(nextSample, endAt) - Date.now()));
  }

  say('stopping the publishers and churn; draining');
  stopping = true;
  await Promise.all(parts);
  // Queue TTL 3 s; then the steady consumers drain both queues.
  const drainDeadline = Date.now() + 180_000;
  let queued = NaN;
  while (Date.now() < drainDeadline && b.exit === null) {
    await sleep(2000);
    const m = await scrapeMetrics(b.httpPort).catch(() => new Map<string, number>());
    queued = m.get('rabbitmq_queue_messages') ?? NaN;
    if (queued === 0 && seenAllConfirmed()) break;
  }
  // Whatever is still queued is fetched with basic.get, so it is accounted for as "still queued".
  let stillQueued = 0;
  for (const c of consumers) await c.close().catch(() => undefined);
  if (b.exit === null) {
    const c = await open(b.url);
    const ch = await c.createChannel();
    for (const q of ['soak.work', 'soak.ttl', 'soak.dead']) {
      for (;;) {
        const m = await ch.get(q);
        if (m === false) break;
        stillQueued++;
        seen.add(m.content.readUInt32BE(0));
        ch.ack(m);
      }
    }
    await c.close();
  }
  const missing: number[] = [];
  for (let id = 0; id < nextId; id++) if (confirmed.has(id) && !seen.has(id)) missing.push(id);
  const last = await sample(b, t0).catch(() => null);
  csv.end();

  const crashed = b.exit !== null;
  const brokerProblems = crashed ? `broker exited: ${JSON.stringify(b.exit)}` : 'none';
  b.child.kill('SIGTERM');
  await new Promise((r) => (b.exit !== null ? r(null) : b.child.once('exit', r)));

  const warm = rows.filter((r) => r.elapsed_s >= o.warmupMinutes * 60);
  const windowSeconds = windowSecondsFor(o.minutes, o.warmupMinutes);
  const curves = judge(rows, o.warmupMinutes * 60, windowSeconds);
  const ok = missing.length === 0 && !crashed && counters.confirmed > 0;
  const lines = [
    `# Soak ${o.tag}`,
    '',
    `- started ${startedAt.toISOString()}, ${o.minutes} min of load, warm-up ${o.warmupMinutes} min excluded from the curves`,
    `- machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB; shared with other work while running (load average in the CSV)`,
    `- command: \`npm run soak -- ${process.argv.slice(2).join(' ')}\``,
    `- broker: commit ${commit}${o.brokerCpus === '' ? ', not pinned' : `, pinned to CPU ${o.brokerCpus} (taskset)`}; the soak's own clients wherever the soak process runs`,
    `- workload: ${o.rate} msg/s steady publisher with confirms (70 % durable work queue, half persistent; 30 % into a 3 s TTL queue dead-lettering to soak.dead, a tenth of those with per-message expiration), a churn publisher connection every 2 s (20 confirmed messages), a churn consumer connection every 3 s (1-6 s; every 4th leaves deliveries unacked, every 5th drops its socket), an exclusive queue declared/fed/deleted every 5 s`,
    `- samples every ${o.sampleSeconds} s: ${csvPath.replace(resolve(RESULTS_DIR, '..', '..') + '/', '')}`,
    '',
    '## Accounting',
    '',
    `- published ${counters.published}, confirmed ${counters.confirmed}, nacked ${counters.nacked}`,
    `- consumed from soak.work ${counters.consumedWork}, from soak.dead ${counters.consumedDead}, still queued at the end ${stillQueued}, redelivered duplicates ${counters.duplicates}`,
    `- confirmed but never seen: **${missing.length}**${missing.length > 0 ? ` (first ids: ${missing.slice(0, 20).join(', ')})` : ''}`,
    `- connections opened ${counters.connectionsOpened} (${counters.abruptCloses} dropped without close), exclusive queues churned ${counters.queuesChurned}, publisher ticks skipped (over 5000 unconfirmed) ${counters.skippedTicks}`,
    `- client-side errors ${counters.errors}${errorSamples.length ? ': ' + errorSamples.join('; ') : ''}`,
    `- broker problems during the run: ${brokerProblems}`,
    '',
    `## Curves after warm-up (${warm.length} samples)`,
    '',
    `Window medians: one per ${(windowSeconds / 60).toFixed(1)} minutes after warm-up; their spread (max over min) is the flatness figure (goal: within 10 %).`,
    '',
    ...curvesTable(curves),
    '',
    ...idleSection(idleRows, o),
    `Final sample after the drain: ${last ? `rss ${last.rss_mib} MiB, fds ${last.open_fds}, connections ${last.connections}, queued ${last.queue_messages}` : 'not taken'}.`,
    '',
  ];
  writeFileSync(mdPath, lines.join('\n'));
  console.log(lines.join('\n'));
  say(`report ${mdPath}`);
  // amqplib may keep a dropped connection's handles alive: do not hang after the report.
  process.exit(ok ? 0 : 1);

  function seenAllConfirmed(): boolean {
    for (let id = 0; id < nextId; id++) if (confirmed.has(id) && !seen.has(id)) return false;
    return true;
  }
}

/**
 * Samples the fresh broker before any client connects. What it shows is the machine's floor:
 * an idle broker's event-loop delay is the lateness of libuv's 10 ms sampling timer (timer slack,
 * the VM's wake-ups), which the loaded curves cannot be flatter than.
 */
async function sampleIdle(b: Broker, o: Options, csvPath: string): Promise<Row[]> {
  say(`idle phase: ${o.idleMinutes} min with no client; CSV ${csvPath}`);
  const csv = createWriteStream(csvPath);
  csv.write(COLUMNS.join(',') + '\n');
  const rows: Row[] = [];
  const t0 = Date.now();
  const endAt = t0 + o.idleMinutes * 60_000;
  await sample(b, t0); // resets the broker's histogram and the CPU baseline
  let nextSample = t0 + o.sampleSeconds * 1000;
  while (b.exit === null) {
    await sleep(Math.max(0, nextSample - Date.now()));
    const row = await sample(b, t0);
    rows.push(row);
    csv.write(toCsvLine(row) + '\n');
    say(`idle t=${row.elapsed_s}s el_mean=${row.eventloop_mean_ms}ms el_p50=${row.eventloop_p50_ms}ms el_p99=${row.eventloop_p99_ms}ms cpu=${row.broker_cpu_ms}ms`);
    nextSample += o.sampleSeconds * 1000;
    if (nextSample > endAt) break;
  }
  await new Promise((r) => csv.end(r));
  return rows;
}

function idleSection(rows: readonly Row[], o: Options): string[] {
  if (rows.length === 0) return [];
  // Five windows over the idle phase, to show how much the floor itself moves between windows.
  const curves = judge(rows, 0, Math.max(o.sampleSeconds, Math.ceil((o.idleMinutes * 60) / 5)));
  return [
    `## Idle floor: the same broker with no client, ${o.idleMinutes} min before the load (${rows.length} samples)`,
    '',
    ...curvesTable(curves.filter((c) => ['rss_mib', 'open_fds', 'eventloop_mean_ms', 'eventloop_p50_ms', 'eventloop_p99_ms', 'eventloop_max_ms', 'broker_cpu_ms', 'loadavg1'].includes(c.column))),
    '',
  ];
}

/** Judges an earlier run's CSV with today's code: the figures, the windows and the table. */
function reportOnly(o: Options): void {
  const rows = parseCsv(readFileSync(o.reportOnly, 'utf8'));
  const minutes = (rows[rows.length - 1]?.elapsed_s ?? 0) / 60;
  const warmupMinutes = o.warmupMinutes >= 0 ? o.warmupMinutes : Math.min(5, minutes / 6);
  const windowSeconds = windowSecondsFor(Math.round(minutes), warmupMinutes);
  const curves = judge(rows, warmupMinutes * 60, windowSeconds);
  console.log(
    [
      `# ${o.reportOnly.replace(resolve(RESULTS_DIR, '..', '..') + '/', '')}, judged again`,
      '',
      `${rows.length} samples over ${show(minutes)} min; warm-up ${show(warmupMinutes)} min excluded; window medians one per ${show(windowSeconds / 60)} minutes, spread computed from unrounded medians.`,
      '',
      ...curvesTable(curves),
      '',
    ].join('\n'),
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(2);
});
