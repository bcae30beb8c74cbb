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
// Counters per client library. Prints one JSON line. Exit 1 if lost,
// unexpected, duplicated or corrupted is not 0.
//
//   npm run chaos            (builds first; about three minutes)

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';

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
const bodyFor = (id: number): Buffer => Buffer.from(`${id}|${createHash('sha256').update(String(id)).digest('hex')}`);

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

/** The Jepsen checker's counters for one client library's publisher and consumer. */
class Tally {
  readonly published = new Set<number>();
  readonly confirmed = new Set<number>();
  readonly delivered = new Map<number, number>();
  duplicated = 0;
  unexpected = 0;
  corrupted = 0;
  redeliveredCopies = 0;
  lastDeliveryAt = 0;
  /** When the consumer's current connection was opened: a delivery counts as the new node's only after a kill. */
  connectedAt = 0;
  lastDeliveryConnectedAt = 0;
  /** The first delivery on the current connection (the new node's first, after a kill). */
  firstOnConnectionAt = 0;
  /**
   * Deliveries of ids not yet known as published: pika's publisher and consumer report through
   * two pipes, so a delivery's line can be read before its publish line. Judged at the end.
   */
  readonly early: [number, boolean][] = [];

  deliver(content: Buffer, redelivered: boolean): void {
    this.lastDeliveryAt = Date.now();
    if (this.lastDeliveryConnectedAt !== this.connectedAt) this.firstOnConnectionAt = this.lastDeliveryAt;
    this.lastDeliveryConnectedAt = this.connectedAt;
    const id = Number(content.toString('latin1').split('|')[0]);
    if (!Number.isInteger(id) || !bodyFor(id).equals(content)) this.corrupted++;
    else if (!this.published.has(id)) this.early.push([id, redelivered]);
    else this.count(id, redelivered);
  }

  /** The first delivery after `t` on a connection opened after `t` (so from a node that was alive then). */
  deliveredSince(t: number): boolean {
    return this.lastDeliveryConnectedAt > t;
  }

  #judgeEarly(): void {
    for (const [id, redelivered] of this.early.splice(0)) {
      if (this.published.has(id)) this.count(id, redelivered);
      else this.unexpected++;
    }
  }

  count(id: number, redelivered: boolean): void {
    const seen = this.delivered.get(id) ?? 0;
    if (seen > 0) {
      if (redelivered) this.redeliveredCopies++;
      else this.duplicated++;
    }
    this.delivered.set(id, seen + 1);
  }

  get lost(): number {
    this.#judgeEarly();
    return [...this.confirmed].filter((id) => !this.delivered.has(id)).length;
  }

  get settled(): boolean {
    this.#judgeEarly();
    return [...this.confirmed].every((id) => this.delivered.has(id));
  }

  summary(): Record<string, number> {
    this.#judgeEarly();
    return {
      published: this.published.size,
      confirmed: this.confirmed.size,
      delivered_distinct: this.delivered.size,
      lost: this.lost,
      unexpected: this.unexpected,
      duplicated: this.duplicated,
      corrupted: this.corrupted,
      redelivered_copies: this.redeliveredCopies,
    };
  }
}
const js = new Tally();
const py = new Tally();
let stop = false;
let addr = 0;

async function connectAny(): Promise<amqp.ChannelModel> {
  for (;;) {
    const name = addr++ % 2 === 0 ? 'a' : 'b';
    try {
      const c = await amqp.connect(`amqp://guest:guest@127.0.0.1:${PORTS[name]}`, { noDelay: true });
      c.on('error', () => {});
      return c;
    } catch {
      await sleep(100);
    }
  }
}

async function publisher(): Promise<void> {
  let next = 1;
  while (!stop) {
    try {
      const c = await connectAny();
      const ch = await c.createConfirmChannel();
      ch.on('error', () => {});
      await ch.assertQueue(QUEUE, { durable: true });
      const closed = new Promise<void>((r) => c.once('close', () => r()));
      let open = true;
      void closed.then(() => (open = false));
      while (!stop && open) {
        for (let i = 0; i < 20 && open; i++) {
          const id = next++;
          js.published.add(id);
          ch.sendToQueue(QUEUE, bodyFor(id), { persistent: true }, (err) => {
            if (!err) js.confirmed.add(id);
          });
        }
        await Promise.race([ch.waitForConfirms().catch(() => undefined), closed]);
      }
      if (open) await c.close().catch(() => undefined);
    } catch {
      await sleep(100);
    }
  }
}

async function consumer(): Promise<void> {
  while (!stop) {
    try {
      const c = await connectAny();
      js.connectedAt = Date.now();
      const ch = await c.createChannel();
      ch.on('error', () => {});
      await ch.assertQueue(QUEUE, { durable: true });
      await ch.prefetch(50);
      await ch.consume(QUEUE, (m) => {
        if (m === null) return;
        js.deliver(m.content, m.fields.redelivered);
        ch.ack(m);
      });
      await new Promise<void>((r) => c.once('close', () => r()));
    } catch {
      await sleep(100);
    }
  }
}

/** pika's publisher or consumer (bench/chaos-pika.py), its report lines fed to the pika tally. */
function pika(mode: 'publish' | 'consume'): ChildProcess {
  const child = spawn('/usr/bin/python3', [join(ROOT, 'bench/chaos-pika.py'), mode, PIKA_QUEUE, String(PORTS['a']), String(PORTS['b'])], { stdio: ['pipe', 'pipe', 'inherit'] });
  let rest = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (rest + d.toString('latin1')).split('\n');
    rest = lines.pop()!;
    for (const l of lines) {
      if (l.startsWith('P ')) py.published.add(Number(l.slice(2)));
      else if (l.startsWith('C ')) py.confirmed.add(Number(l.slice(2)));
      else if (l === 'K') py.connectedAt = Date.now();
      else if (l.startsWith('D ')) py.deliver(Buffer.from(l.slice(4), 'latin1'), l[2] === '1');
    }
  });
  return child;
}

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
  void publisher();
  void consumer();
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
  stop = true;
  // Publishers stop (pika's on its stdin closing); the consumers take what is left.
  pikas[0]!.stdin!.end();
  const settle = Date.now();
  while (Date.now() - settle < 60_000) {
    const before = js.lastDeliveryAt + py.lastDeliveryAt;
    await sleep(3000);
    if (js.lastDeliveryAt + py.lastDeliveryAt === before && js.settled && py.settled) break;
  }
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
  process.exitCode = bad(js) + bad(py) === 0 && py.confirmed.size > 0 ? 0 : 1;
} finally {
  stop = true;
  for (const p of pikas) p.kill('SIGKILL');
  for (const n of nodes.values()) {
    n.child.kill('SIGCONT');
    n.child.kill('SIGKILL');
  }
  execFileSync(join(ROOT, 'conformance/postgres-temp.sh'), ['stop', pgDir]);
  setTimeout(() => process.exit(), 500);
}
