// `npm run fuzz:wire`: mutation fuzzing of whole client sessions against a live broker (the
// built dist/src/main.js, spawned on a free port with state in a temporary data dir).
//  1. Records real sessions: amqplib runs a few scenarios (declare/bind/publish/consume/ack,
//     confirms, get/nack/reject/recover/qos/purge/delete, tx, headers and topic exchanges with
//     arguments, TTL and dead-lettering) through a recording proxy; each is the client's byte stream.
//  2. Mutates them: bit flips, interesting bytes, truncation, splices of two sessions, frame-size
//     edits, duplicated, dropped and swapped frames, inserted bytes; several at once sometimes.
//  3. Replays each as a session (sent in 1-3 chunks, --concurrency at a time), waits until the
//     broker closes it or goes quiet, and every --check-every sessions checks that the broker
//     process is alive and a canary amqplib client can declare, publish and get.
// Reports sessions/s, broker exits (crashes; goal 0), canary failures, error-level log lines,
// and the broker's RSS. A crash is reported with the sessions in flight (hex) and the log tail.
//
//   npm run fuzz:wire -- [--sessions 100000] [--seed S] [--concurrency 24] [--check-every 2000] [--purge] [--json file]

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { WARREN_MAIN } from '../bench/lib/paths.js';
import { procStatus } from '../bench/lib/proc.js';

interface Args {
  sessions: number;
  seed: number;
  concurrency: number;
  checkEvery: number;
  json: string | null;
  /** Purge every queue at every check, so RSS is not read with messages piling up. */
  purge: boolean;
  /** Session counts at which the broker writes a heap snapshot (into the run's temporary directory). */
  heapSnapshots: number[];
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { sessions: 100_000, seed: Date.now() % 2 ** 31, concurrency: 24, checkEvery: 2000, json: null, purge: false, heapSnapshots: [] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--sessions') a.sessions = Number(v());
    else if (k === '--seed') a.seed = Number(v());
    else if (k === '--concurrency') a.concurrency = Number(v());
    else if (k === '--check-every') a.checkEvery = Number(v());
    else if (k === '--json') a.json = v();
    else if (k === '--purge') a.purge = true;
    else if (k === '--heap-snapshots') a.heapSnapshots = v().split(',').map(Number).sort((x, y) => x - y);
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const say = (m: string): void => console.log(`[wire ${new Date().toISOString().slice(11, 19)}] ${m}`);

/** Seeded PRNG (mulberry32): the same seed gives the same sessions. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// The broker

interface Broker {
  child: ChildProcess;
  port: number;
  httpPort: number;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function startBroker(dir: string, logFile: string, nodeFlags: string[] = []): Promise<Broker> {
  const port = await freePort();
  const httpPort = await freePort();
  const log = openSync(logFile, 'a');
  mkdirSync(join(dir, 'data'), { recursive: true });
  // Error level: every line in the log is an internal error or worse, i.e. a finding.
  const child = spawn(process.execPath, [...nodeFlags, WARREN_MAIN, 'start', '--host', '127.0.0.1', '--port', String(port), '--http-host', '127.0.0.1', '--http-port', String(httpPort), '--data-dir', join(dir, 'data'), '--log-level', 'error'], {
    stdio: ['ignore', log, log],
    cwd: dir, // where heap snapshots are written
  });
  const b: Broker = { child, port, httpPort, exit: null };
  child.once('exit', (code, signal) => (b.exit = { code, signal }));
  for (let i = 0; i < 300 && !(await portOpen(port)); i++) {
    if (b.exit) throw new Error(`warren exited at start: ${JSON.stringify(b.exit)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return b;
}

/** Signals the broker to write a heap snapshot into `dir` and waits until the file is complete. */
async function heapSnapshot(b: Broker, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')));
  b.child.kill('SIGUSR2');
  let file = '';
  let size = -1;
  for (let i = 0; i < 1200; i++) {
    await new Promise((r) => setTimeout(r, 500));
    file ||= readdirSync(dir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f)) ?? '';
    if (file === '') continue;
    const now = statSync(join(dir, file)).size;
    if (now === size && now > 0) break; // V8 writes it in one go while the broker is stopped
    size = now;
  }
  return join(dir, file);
}

// ---------------------------------------------------------------------------------------------
// Recording real sessions through a proxy

async function record(brokerPort: number, scenario: (url: string) => Promise<void>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const proxy = createServer((client: Socket) => {
    const upstream = connect({ port: brokerPort, host: '127.0.0.1' });
    client.on('data', (d: Buffer) => {
      chunks.push(Buffer.from(d));
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => client.write(d));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const { port } = proxy.address() as AddressInfo;
  try {
    await scenario(`amqp://guest:guest@127.0.0.1:${port}`);
  } finally {
    await new Promise((r) => setTimeout(r, 50));
    proxy.close();
  }
  return Buffer.concat(chunks);
}

const SCENARIO_QUEUES = ['wf.q1', 'wf.q2', 'wf.q3', 'wf.q4', 'wf.ttl', 'wf.dead'];

/** Messages in each of the scenarios' queues ('absent' if deleted); purges them too if asked. */
async function scenarioQueues(port: number, purge: boolean): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = {};
  for (const q of SCENARIO_QUEUES) {
    try {
      const c = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
      c.on('error', () => undefined);
      try {
        const ch = await c.createChannel();
        ch.on('error', () => undefined);
        out[q] = (await ch.checkQueue(q)).messageCount;
        if (purge) await ch.purgeQueue(q);
      } finally {
        await c.close().catch(() => undefined);
      }
    } catch {
      out[q] = 'absent';
    }
  }
  return out;
}

/**
 * Empties every other queue holding messages too: mutated sessions declare queues under damaged
 * names and publish into them, and those messages would otherwise be read as growth of the broker.
 */
async function purgeEveryQueue(httpPort: number): Promise<void> {
  const headers = { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') };
  try {
    const r = await fetch(`http://127.0.0.1:${httpPort}/api/queues?columns=name,vhost,messages`, { headers });
    for (const q of (await r.json()) as Array<{ name: string; vhost: string; messages: number }>) {
      if (q.messages > 0) await fetch(`http://127.0.0.1:${httpPort}/api/queues/${encodeURIComponent(q.vhost)}/${encodeURIComponent(q.name)}/contents`, { method: 'DELETE', headers });
    }
  } catch {
    // the broker is checked by the canary; a failed purge only leaves messages in place
  }
}

const SCENARIOS: Record<string, (url: string) => Promise<void>> = {
  async 'publish-consume-ack'(url) {
    const c = await amqp.connect(url);
    const ch = await c.createChannel();
    await ch.assertExchange('wf.direct', 'direct', { durable: false });
    await ch.assertQueue('wf.q1', { durable: false, arguments: { 'x-max-length': 100 } });
    await ch.bindQueue('wf.q1', 'wf.direct', 'k1');
    for (let i = 0; i < 5; i++) ch.publish('wf.direct', 'k1', Buffer.from(`m${i}`), { mandatory: i % 2 === 0, headers: { n: i, s: 'x', nested: { a: [1, 'b'] } }, contentType: 'text/plain', messageId: `id${i}` });
    await ch.prefetch(3);
    let n = 0;
    await new Promise<void>((resolve) => {
      void ch.consume('wf.q1', (m) => {
        if (m) ch.ack(m);
        if (++n === 5) resolve();
      }, { consumerTag: 'wf-ctag' });
    });
    await ch.cancel('wf-ctag');
    await ch.close();
    await c.close();
  },
  async confirms(url) {
    const c = await amqp.connect(url);
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('wf.q2', { durable: true });
    for (let i = 0; i < 10; i++) ch.sendToQueue('wf.q2', Buffer.alloc(200 + i * 50, i), { persistent: i % 2 === 0 });
    await ch.waitForConfirms();
    await ch.purgeQueue('wf.q2');
    await c.close();
  },
  async 'get-nack-reject-recover'(url) {
    const c = await amqp.connect(url);
    const ch = await c.createChannel();
    await ch.assertQueue('wf.q3', { durable: false });
    for (let i = 0; i < 6; i++) ch.sendToQueue('wf.q3', Buffer.from(`g${i}`), { priority: i, expiration: '60000' });
    for (let i = 0; i < 3; i++) {
      const m = await ch.get('wf.q3');
      if (m) {
        if (i === 0) ch.nack(m, false, true);
        else if (i === 1) ch.reject(m, false);
        else ch.ack(m);
      }
    }
    await ch.recover();
    await ch.deleteQueue('wf.q3', { ifUnused: false });
    await c.close();
  },
  async 'tx-and-topic-headers'(url) {
    const c = await amqp.connect(url);
    const ch = await c.createChannel();
    await ch.assertExchange('wf.topic', 'topic', { durable: false, autoDelete: true });
    await ch.assertExchange('wf.headers', 'headers', { durable: false });
    await ch.assertQueue('wf.q4', { durable: false, autoDelete: true });
    await ch.bindQueue('wf.q4', 'wf.topic', 'a.*.c');
    await ch.bindQueue('wf.q4', 'wf.headers', '', { 'x-match': 'any', color: 'red', size: 3 });
    await ch.bindExchange('wf.headers', 'wf.topic', '#');
    // tx.* has no API in amqplib: its rpc does it.
    const rpc = (ch as unknown as { rpc(method: number, fields: object, expect: number): Promise<unknown> }).rpc.bind(ch);
    await rpc(0x005a000a, {}, 0x005a000b);
    ch.publish('wf.topic', 'a.b.c', Buffer.from('t1'), { headers: { color: 'red' } });
    await rpc(0x005a0014, {}, 0x005a0015);
    ch.publish('wf.headers', '', Buffer.from('t2'), { headers: { size: 3 } });
    await rpc(0x005a001e, {}, 0x005a001f);
    await ch.unbindQueue('wf.q4', 'wf.topic', 'a.*.c');
    await ch.deleteExchange('wf.headers');
    await c.close();
  },
  async 'ttl-dead-letter'(url) {
    const c = await amqp.connect(url);
    const ch = await c.createChannel();
    await ch.assertQueue('wf.dead', { durable: false });
    await ch.assertQueue('wf.ttl', { durable: false, arguments: { 'x-message-ttl': 20, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'wf.dead', 'x-overflow': 'reject-publish', 'x-max-length': 50 } });
    for (let i = 0; i < 4; i++) ch.sendToQueue('wf.ttl', Buffer.from(`d${i}`), { expiration: String(i * 5) });
    await new Promise((r) => setTimeout(r, 60));
    await ch.checkQueue('wf.dead');
    await ch.purgeQueue('wf.dead');
    await c.close();
  },
};

// ---------------------------------------------------------------------------------------------
// Mutations

const HEADER = 8;

/** Frame boundaries in a client stream (after the protocol header), as long as they parse. */
function frames(s: Buffer): Array<{ start: number; end: number }> {
  const out: Array<{ start: number; end: number }> = [];
  let p = HEADER;
  while (p + 7 <= s.length) {
    const size = s.readUInt32BE(p + 3);
    const end = p + 7 + size + 1;
    if (end > s.length) break;
    out.push({ start: p, end });
    p = end;
  }
  return out;
}

const INTERESTING_U32 = [0, 1, 7, 0xff, 0xffff, 4088, 4089, 131064, 131065, 131072, 0x7fffffff, 0xffffffff];
const INTERESTING_BYTES = [0, 1, 2, 3, 8, 0x7f, 0x80, 0xce, 0xff];

function mutateSession(base: Buffer, other: Buffer, r: () => number): { bytes: Buffer; ops: string[] } {
  let s = Buffer.from(base);
  const ops: string[] = [];
  const n = 1 + Math.floor(r() * r() * 4);
  const pick = (k: number): number => Math.floor(r() * k);
  for (let i = 0; i < n; i++) {
    const fs = frames(s);
    const op = pick(9);
    if (op === 0 && s.length > 0) {
      const at = pick(s.length);
      s[at] = s[at]! ^ (1 << pick(8));
      ops.push(`flip@${at}`);
    } else if (op === 1 && s.length > 0) {
      const at = pick(s.length);
      s[at] = INTERESTING_BYTES[pick(INTERESTING_BYTES.length)]!;
      ops.push(`byte@${at}`);
    } else if (op === 2) {
      const at = pick(s.length + 1);
      s = s.subarray(0, at);
      ops.push(`truncate@${at}`);
    } else if (op === 3) {
      const a = pick(s.length + 1);
      const b = pick(other.length + 1);
      s = Buffer.concat([s.subarray(0, a), other.subarray(b)]);
      ops.push(`splice@${a}+${b}`);
    } else if (op === 4 && fs.length > 0) {
      const f = fs[pick(fs.length)]!;
      s.writeUInt32BE(r() < 0.5 ? INTERESTING_U32[pick(INTERESTING_U32.length)]! : Math.floor(r() * 2 ** 32), f.start + 3);
      ops.push(`size@${f.start}`);
    } else if (op === 5 && fs.length > 0) {
      const f = fs[pick(fs.length)]!;
      const times = 1 + pick(3);
      s = Buffer.concat([s.subarray(0, f.end), ...Array.from({ length: times }, () => s.subarray(f.start, f.end)), s.subarray(f.end)]);
      ops.push(`dup@${f.start}x${times}`);
    } else if (op === 6 && fs.length > 0) {
      const f = fs[pick(fs.length)]!;
      s = Buffer.concat([s.subarray(0, f.start), s.subarray(f.end)]);
      ops.push(`drop@${f.start}`);
    } else if (op === 7 && fs.length > 1) {
      const i1 = pick(fs.length - 1);
      const a = fs[i1]!;
      const b = fs[i1 + 1]!;
      s = Buffer.concat([s.subarray(0, a.start), s.subarray(b.start, b.end), s.subarray(a.start, a.end), s.subarray(b.end)]);
      ops.push(`swap@${a.start}`);
    } else if (op === 8) {
      const at = pick(s.length + 1);
      const ins = Buffer.from(Array.from({ length: 1 + pick(12) }, () => pick(256)));
      s = Buffer.concat([s.subarray(0, at), ins, s.subarray(at)]);
      ops.push(`insert@${at}`);
    } else if (fs.length > 0) {
      // frame-level edits on a stream with no frames fall back to a channel-number edit
      const f = fs[pick(fs.length)]!;
      s.writeUInt16BE(pick(4), f.start + 1);
      ops.push(`channel@${f.start}`);
    }
  }
  return { bytes: s, ops };
}

// ---------------------------------------------------------------------------------------------
// Replay

/** Sends the bytes, then waits until the broker closes the socket or has been quiet a while. */
function replay(port: number, bytes: Buffer, r: () => number): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true });
    let last = Date.now();
    let timer: NodeJS.Timeout | null = null;
    const done = (): void => {
      if (timer) clearTimeout(timer);
      timer = null;
      s.destroy();
      resolve();
    };
    const started = Date.now();
    const tick = (): void => {
      // Quiet for 40 ms (the broker waits for bytes that never come), or 3 s in all.
      if (Date.now() - last >= 40 || Date.now() - started > 3000) done();
      else timer = setTimeout(tick, 20);
    };
    s.on('data', () => (last = Date.now()));
    s.on('error', () => done());
    s.on('close', () => done());
    s.once('connect', () => {
      const cuts = Math.floor(r() * 3);
      let from = 0;
      for (let i = 0; i < cuts; i++) {
        const to = from + Math.floor(r() * (bytes.length - from));
        s.write(bytes.subarray(from, to));
        from = to;
      }
      s.write(bytes.subarray(from));
      last = Date.now();
      timer = setTimeout(tick, 20);
    });
  });
}

async function canary(port: number): Promise<void> {
  const c = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
  try {
    const ch = await c.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('alive'));
    let m: Awaited<ReturnType<typeof ch.get>> = false;
    for (let i = 0; i < 50 && m === false; i++) {
      m = await ch.get(queue, { noAck: true });
      if (m === false) await new Promise((r) => setTimeout(r, 10));
    }
    if (!m || m.content.toString() !== 'alive') throw new Error('canary: message not returned');
  } finally {
    await c.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'warren-wire-fuzz-'));
  const logFile = join(dir, 'warren.log');
  say(`seed ${args.seed}, ${args.sessions} sessions, concurrency ${args.concurrency}; broker log ${logFile}`);
  say(`replay: npm run fuzz:wire -- --seed ${args.seed} --sessions ${args.sessions} --concurrency ${args.concurrency}`);
  const nodeFlags = args.heapSnapshots.length > 0 ? ['--heapsnapshot-signal=SIGUSR2'] : [];
  let b = await startBroker(dir, logFile, nodeFlags);
  const snapshots: Array<{ sessions: number; rssBefore: number; file: string }> = [];
  const rssSamples: number[] = [];
  const rss = (): number => Math.round(((procStatus(b.child.pid!)?.rssKb ?? NaN) / 1024) * 10) / 10;

  const corpus: Array<{ name: string; bytes: Buffer }> = [];
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    const bytes = await record(b.port, scenario);
    corpus.push({ name, bytes });
    say(`recorded ${name}: ${bytes.length} bytes, ${frames(bytes).length} frames`);
  }
  rssSamples.push(rss());
  say(`broker RSS after recording: ${rssSamples[0]} MiB`);

  const r = rng(args.seed);
  let crashes = 0;
  let canaryFailures = 0;
  const findings: string[] = [];
  const inFlight = new Map<number, string>();
  let next = 0;
  let completed = 0;
  const started = performance.now();

  const check = async (): Promise<void> => {
    if (b.exit !== null) {
      crashes++;
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n');
      findings.push(`broker exited ${JSON.stringify(b.exit)} after ${completed} sessions; in flight:\n${[...inFlight.values()].join('\n')}\nlog tail:\n${tail}`);
      say(`BROKER EXITED ${JSON.stringify(b.exit)}; restarting`);
      b = await startBroker(dir, logFile, nodeFlags);
      return;
    }
    try {
      await canary(b.port);
    } catch (e) {
      canaryFailures++;
      findings.push(`canary failed after ${completed} sessions: ${(e as Error).message}`);
    }
    if (args.purge) {
      await scenarioQueues(b.port, true);
      await purgeEveryQueue(b.httpPort);
    }
    rssSamples.push(rss());
    // Writing a snapshot costs the broker memory of its own: RSS samples after the first are inflated.
    if (args.heapSnapshots.length > 0 && completed >= args.heapSnapshots[0]!) {
      args.heapSnapshots.shift();
      snapshots.push({ sessions: completed, rssBefore: rssSamples[rssSamples.length - 1]!, file: await heapSnapshot(b, dir) });
      say(`heap snapshot at ${completed} sessions: ${snapshots[snapshots.length - 1]!.file}`);
    }
  };

  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= args.sessions) return;
      const base = corpus[Math.floor(r() * corpus.length)]!;
      const other = corpus[Math.floor(r() * corpus.length)]!;
      const { bytes, ops } = mutateSession(base.bytes, other.bytes, r);
      inFlight.set(i, `#${i} ${base.name} [${ops.join(' ')}] ${bytes.toString('hex')}`);
      await replay(b.port, bytes, r);
      inFlight.delete(i);
      completed++;
      if (b.exit !== null) await check();
    }
  };

  let lastReport = 0;
  const workers: Promise<void>[] = [];
  for (let w = 0; w < args.concurrency; w++) workers.push(worker());
  const monitor = (async () => {
    while (completed < args.sessions) {
      await new Promise((res) => setTimeout(res, 250));
      if (completed - lastReport >= args.checkEvery) {
        lastReport = completed;
        await check();
        const secs = (performance.now() - started) / 1000;
        say(`${completed} sessions, ${Math.round(completed / secs)}/s, crashes ${crashes}, canary failures ${canaryFailures}, RSS ${rssSamples[rssSamples.length - 1]} MiB`);
      }
    }
  })();
  await Promise.all(workers);
  await monitor;
  await check();
  const seconds = (performance.now() - started) / 1000;
  const errorLines = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'));
  for (const l of errorLines.slice(0, 5)) findings.push(`error log: ${l.slice(0, 1500)}`);
  const finite = rssSamples.filter((x) => Number.isFinite(x));
  // Messages left in the recorded scenarios' queues, and what the broker still holds, to read
  // the RSS figure by (mutated sessions declare queues and exchanges under damaged names).
  const queued = await scenarioQueues(b.port, false);
  let totals: unknown = null;
  let held: unknown = null;
  const auth = { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') };
  try {
    const r = await fetch(`http://127.0.0.1:${b.httpPort}/api/overview`, { headers: auth });
    const o = (await r.json()) as { object_totals?: Record<string, number>; queue_totals?: { messages?: number } };
    totals = { ...o.object_totals, messages: o.queue_totals?.messages };
    // Messages that mutated sessions left in queues of their own (damaged names): --purge does not reach them.
    const q = await fetch(`http://127.0.0.1:${b.httpPort}/api/queues?columns=name,messages&sort=messages&sort_reverse=true&page=1&page_size=5`, { headers: auth });
    held = ((await q.json()) as { items?: unknown }).items ?? null;
  } catch {
    totals = 'unavailable';
  }
  const summary = {
    date: new Date().toISOString(),
    seed: args.seed,
    sessions: completed,
    seconds: Math.round(seconds * 10) / 10,
    perSecond: Math.round(completed / seconds),
    concurrency: args.concurrency,
    crashes,
    canaryFailures,
    purged: args.purge,
    errorLogLines: errorLines.length,
    rssMiB: { first: finite[0], last: finite[finite.length - 1], max: Math.max(...finite), samples: finite.length },
    queued,
    objectTotals: totals,
    fullestQueues: held,
    corpus: corpus.map((c) => ({ name: c.name, bytes: c.bytes.length })),
    heapSnapshots: snapshots,
  };
  say(`done: ${JSON.stringify(summary)}`);
  for (const f of findings) console.log('FINDING ' + f);
  if (args.json) writeFileSync(args.json, JSON.stringify({ ...summary, findings }, null, 2));
  b.child.kill('SIGTERM');
  await new Promise((res) => (b.exit !== null ? res(null) : b.child.once('exit', res)));
  if (snapshots.length === 0) rmSync(dir, { recursive: true, force: true });
  else say(`kept ${dir} (heap snapshots)`);
  process.exitCode = crashes === 0 && canaryFailures === 0 && errorLines.length === 0 ? 0 : 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(2);
});
