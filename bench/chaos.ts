// Chaos run for several nodes (npm run chaos): two warren nodes on one throwaway PostgreSQL
// (conformance/postgres-temp.sh); a publisher with confirms and a consumer with manual acks,
// both amqplib with a reconnect loop over the two nodes' addresses, and the same pair in pika
// (bench/chaos-pika.py, Debian python3-pika) on a queue of their own. The active node is killed
// with kill -9 ten times in a row (restarted as a standby each time), then paused with SIGSTOP
// past its lease and resumed. Then the counters of RabbitMQ's Jepsen checker: lost (confirmed,
// never delivered), unexpected (delivered, never published), duplicated (delivered again
// without the redelivered flag), corrupted (body does not match its digest); plus the time from
// each kill -9 to the first delivery afterwards, with its breakdown from the new active node's
// log (lease expiry noticed, store ready, state loaded, listening, then the clients' reconnect).
// Counters per client library. A stream (amqplib publisher with confirms, consumer resuming at
// the offset after the last it saw: bench/lib/jepsen-stream.ts) goes through the same kills,
// counted the same way plus order and offset checks. Prints one JSON line. Exit 1 if lost,
// unexpected, duplicated or corrupted is not 0 (for the stream also reordered or offset gaps).
//
//   npm run chaos            (builds first; about three minutes)

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AmqplibClients, pikaClient, settle, Tally } from './lib/jepsen.js';
import { AmqplibStreamClients, StreamTally } from './lib/jepsen-stream.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'dist/src/main.js');
const KILLS = Number(process.env['CHAOS_KILLS'] ?? 10);
const LEASE_MS = 2000;
const QUEUE = 'chaos';
const PIKA_QUEUE = 'chaos-pika';

/** A port free right now (the kernel's pick), so parallel runs and other sessions do not collide. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
const PORTS: Record<string, number> = { a: await freePort(), b: await freePort() };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const [pgUrl, pgDir] = execFileSync(join(ROOT, 'conformance/postgres-temp.sh'), ['start'], { encoding: 'utf8' }).trim().split(' ') as [string, string];

interface NodeProc {
  name: string;
  child: ChildProcess;
  out: string;
}
const nodes = new Map<string, NodeProc>();

function startNode(name: string): NodeProc {
  const child = spawn(process.execPath, [MAIN, 'start', '--host', '127.0.0.1', '--port', String(PORTS[name]), '--http-port', 'off', '--data-dir', 'none', '--store', pgUrl, '--node-name', name, '--lease', String(LEASE_MS)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const n: NodeProc = { name, child, out: '' };
  child.stdout!.on('data', (d: Buffer) => (n.out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (n.out += d.toString()));
  nodes.set(name, n);
  return n;
}
const isActive = (n: NodeProc): boolean => n.child.exitCode === null && n.child.signalCode === null && n.out.includes('"role":"active"');

async function until(what: string, f: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`chaos: timed out waiting for ${what}`);
    await sleep(20);
  }
}

const js = new Tally();
const py = new Tally();
const jsClients = new AmqplibClients(js, () => ['a', 'b'].map((n) => `amqp://guest:guest@127.0.0.1:${PORTS[n]}`), QUEUE);
const st = new StreamTally();
const streamClients = new AmqplibStreamClients(st, () => ['a', 'b'].map((n) => `amqp://guest:guest@127.0.0.1:${PORTS[n]}`), 'chaos-stream');
const pika = (mode: 'publish' | 'consume'): ChildProcess => pikaClient(mode, PIKA_QUEUE, [PORTS['a']!, PORTS['b']!], py);

/** Where one takeover's time went, from the killing to the first delivery (ms since the kill). */
interface Breakdown {
  lease_taken: number;
  expired_for: number;
  store_ready: number;
  loaded: number;
  listening: number;
  first_delivery_amqplib: number;
  first_delivery_pika: number | null;
}

/** The new active node's 'took the lease' and 'listening' lines after `since` (their ISO times). */
function takeoverOf(n: NodeProc, killedAt: number): Omit<Breakdown, 'first_delivery_amqplib' | 'first_delivery_pika'> | null {
  type Took = { time: string; expiredForMs: number };
  type Listening = { time: string; takeover: { storeReadyMs: number; loadedMs: number; listeningMs: number } };
  let took = null as Took | null;
  let listening = null as Listening | null;
  for (const line of n.out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const j = JSON.parse(line) as { msg?: string; time: string; role?: string };
    if (Date.parse(j.time) < killedAt) continue;
    if (j.msg === 'took the lease: this node is active') took = j as unknown as Took;
    else if (j.msg === 'listening' && j.role === 'active') listening = j as unknown as Listening;
  }
  if (took === null || listening === null) return null;
  const t = Date.parse(took.time) - killedAt;
  return { lease_taken: t, expired_for: took.expiredForMs, store_ready: t + listening.takeover.storeReadyMs, loaded: t + listening.takeover.loadedMs, listening: t + listening.takeover.listeningMs };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const failoverMs: number[] = [];
const breakdowns: Breakdown[] = [];
const pikas: ChildProcess[] = [];
try {
  startNode('a');
  await until('a active', () => isActive(nodes.get('a')!));
  startNode('b');
  await sleep(1000);
  void jsClients.publisher();
  void jsClients.consumer();
  void streamClients.publisher();
  void streamClients.consumer();
  pikas.push(pika('publish'), pika('consume'));
  await sleep(3000);
  for (let k = 0; k < KILLS; k++) {
    const victim = [...nodes.values()].find(isActive)!;
    const other = [...nodes.values()].find((n) => n !== victim)!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await until(`${other.name} active after kill ${k + 1}`, () => isActive(other));
    await until(`a delivery after kill ${k + 1}`, () => js.deliveredSince(killedAt));
    failoverMs.push(js.firstOnConnectionAt - killedAt);
    // pika's consumer too, given a little longer (its own reconnect loop).
    await until(`a pika delivery after kill ${k + 1}`, () => py.deliveredSince(killedAt), 10_000).catch(() => undefined);
    const b = takeoverOf(other, killedAt);
    if (b !== null) breakdowns.push({ ...b, first_delivery_amqplib: js.firstOnConnectionAt - killedAt, first_delivery_pika: py.deliveredSince(killedAt) ? py.firstOnConnectionAt - killedAt : null });
    startNode(victim.name);
    await sleep(2500);
  }
  // SIGSTOP past the lease, then SIGCONT: the old node must stop and write nothing.
  const paused = [...nodes.values()].find(isActive)!;
  const other = [...nodes.values()].find((n) => n !== paused)!;
  paused.child.kill('SIGSTOP');
  await until(`${other.name} active after SIGSTOP`, () => isActive(other));
  paused.child.kill('SIGCONT');
  await until(`${paused.name} to exit after SIGCONT`, () => paused.child.exitCode !== null, 15_000);
  const pausedExit = paused.child.exitCode;
  startNode(paused.name);
  await sleep(3000);
  jsClients.stop = true;
  streamClients.stop = true;
  // Publishers stop (pika's on its stdin closing); the consumers take what is left.
  pikas[0]!.stdin!.end();
  await settle([js, py, st], 60_000);
  const sorted = [...failoverMs].sort((x, y) => x - y);
  const part = (k: keyof Breakdown): number | null => {
    const xs = breakdowns.map((b) => b[k]).filter((x): x is number => x !== null);
    return xs.length === 0 ? null : median(xs);
  };
  const result = {
    date: new Date().toISOString(),
    kills: KILLS,
    lease_ms: LEASE_MS,
    amqplib: js.summary(),
    pika: py.summary(),
    stream_amqplib: st.summary(),
    paused_node_exit_code: pausedExit,
    failover_ms: failoverMs,
    failover_ms_min: sorted[0],
    failover_ms_median: median(failoverMs),
    failover_ms_max: sorted[sorted.length - 1],
    // Medians over the kills, ms since the kill -9 (expired_for: how late the expiry was noticed).
    breakdown_median: Object.fromEntries((['expired_for', 'lease_taken', 'store_ready', 'loaded', 'listening', 'first_delivery_amqplib', 'first_delivery_pika'] as const).map((k) => [k, part(k)])),
    breakdowns,
  };
  console.log(JSON.stringify(result));
  const bad = (t: Tally): number => t.lost + t.unexpected + t.duplicated + t.corrupted;
  const streamBad = bad(st) + st.reordered + st.offsetGaps + st.offsetBack;
  process.exitCode = bad(js) + bad(py) + streamBad === 0 && py.confirmed.size > 0 && st.confirmed.size > 0 ? 0 : 1;
} finally {
  jsClients.stop = true;
  streamClients.stop = true;
  for (const p of pikas) p.kill('SIGKILL');
  for (const n of nodes.values()) {
    n.child.kill('SIGCONT');
    n.child.kill('SIGKILL');
  }
  execFileSync(join(ROOT, 'conformance/postgres-temp.sh'), ['stop', pgDir]);
  setTimeout(() => process.exit(), 500);
}
