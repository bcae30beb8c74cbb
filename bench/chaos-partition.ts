// Chaos run for network partitions and planned switchovers between warren nodes (npm run
// chaos:partition; `npm run chaos` runs it after bench/chaos.ts): two nodes on one throwaway
// PostgreSQL (conformance/postgres-temp.sh), with a TCP proxy (conformance/tcp-proxy.ts) on each
// node's link to PostgreSQL and on the link from the other node to it (each node advertises
// 127.0.0.2, where its proxy listens; clients dial 127.0.0.1 directly). A cut blackholes the
// link: nothing passes, nobody is told. The same clients as bench/chaos.ts (bench/lib/jepsen.ts:
// amqplib with a reconnect loop over both nodes' addresses, and pika) publish with confirms and
// consume with manual acks throughout. Three phases:
//   1. CHAOS_PG_CUTS (5) times, the active node's link to PostgreSQL is cut mid-publish; it must
//      stop (exit 70) and the other node take over; then the link heals and the old node,
//      restarted as by a service manager, rejoins as a standby.
//   2. CHAOS_LINK_CUTS (3) times, the link from the standby to the active node is cut for 5 s:
//      the standby must drop the clients it forwards (they reconnect) and forward again after.
//      A further amqplib pair per cut, on a queue of its own, starts on the standby's address so
//      that some clients are forwarded when the link goes.
//   3. CHAOS_SWITCHOVERS (3) times, SIGTERM of the active node: it hands its lease over and the
//      standby takes over without waiting for the lease to expire.
// A node that exits is started again after 500 ms (a service manager's restart). Prints one JSON
// line: the Jepsen checker's counters per client library (lost, unexpected, duplicated,
// corrupted) and, per cut or switchover (ms after it), when the old node exited, when the new
// one was active, its first confirm, and the first delivery on a consumer connection opened
// after the cut. Exit 1 if a counter is not 0.
//
//   npm run chaos:partition            (builds first; about three minutes)

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TcpProxy } from '../conformance/tcp-proxy.js';
import { AmqplibClients, pikaClient, settle, Tally } from './lib/jepsen.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'dist/src/main.js');
const PG_CUTS = Number(process.env['CHAOS_PG_CUTS'] ?? 5);
const LINK_CUTS = Number(process.env['CHAOS_LINK_CUTS'] ?? 3);
const SWITCHOVERS = Number(process.env['CHAOS_SWITCHOVERS'] ?? 3);
const LEASE_MS = Number(process.env['CHAOS_LEASE_MS'] ?? 2000);
const QUEUE = 'chaos-partition';
const PIKA_QUEUE = 'chaos-partition-pika';
const NAMES = ['a', 'b'] as const;
type Name = (typeof NAMES)[number];

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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (msg: string): void => console.error(`[${new Date().toISOString()}] ${msg}`);

async function until(what: string, f: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`chaos:partition: timed out waiting for ${what}`);
    await sleep(10);
  }
}

const [pgUrl, pgDir] = execFileSync(join(ROOT, 'conformance/postgres-temp.sh'), ['start'], { encoding: 'utf8' }).trim().split(' ') as [string, string];
const pg = new URL(pgUrl);

interface NodeProc {
  readonly name: Name;
  child: ChildProcess;
  out: string;
  startedAt: number;
}
const ports = {} as Record<Name, number>;
const pgLinks = {} as Record<Name, TcpProxy>;
const nodeLinks = {} as Record<Name, TcpProxy>;
for (const n of NAMES) {
  ports[n] = await freePort();
  pgLinks[n] = await TcpProxy.start({ host: pg.hostname, port: Number(pg.port) });
  // The other node reaches this one at 127.0.0.2 (its advertised host), through this proxy.
  nodeLinks[n] = await TcpProxy.start({ host: '127.0.0.1', port: ports[n] }, '127.0.0.2', ports[n]);
}

const nodes = new Map<Name, NodeProc>();
const exits: { node: Name; code: number | null; at_ms: number }[] = [];
const t0 = Date.now();
function startNode(name: Name): NodeProc {
  const store = new URL(pgUrl);
  store.port = String(pgLinks[name].port);
  const child = spawn(
    process.execPath,
    [MAIN, 'start', '--host', '127.0.0.1', '--advertise-host', '127.0.0.2', '--port', String(ports[name]), '--http-port', 'off', '--data-dir', 'none', '--store', store.toString(), '--node-name', name, '--lease', String(LEASE_MS)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const n: NodeProc = { name, child, out: '', startedAt: Date.now() };
  const keep = (d: Buffer): void => {
    n.out += d.toString();
    if (n.out.length > 4_000_000) n.out = n.out.slice(-2_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  nodes.set(name, n);
  return n;
}
const alive = (n: NodeProc): boolean => n.child.exitCode === null && n.child.signalCode === null;
const isActive = (n: NodeProc): boolean => alive(n) && n.out.includes('"role":"active"');
const isStandby = (n: NodeProc): boolean => alive(n) && n.out.includes('forwarding clients to the active node') && !n.out.includes('"role":"active"');
const activeNode = (): NodeProc | undefined => [...nodes.values()].find(isActive);

let stopping = false;
/** A service manager: a node that exited is started again after 500 ms. */
async function supervise(): Promise<void> {
  while (!stopping) {
    for (const [name, n] of nodes) {
      if (!alive(n)) {
        exits.push({ node: name, code: n.child.exitCode, at_ms: Date.now() - t0 });
        await sleep(500);
        if (!stopping) startNode(name);
      }
    }
    await sleep(50);
  }
}

const js = new Tally();
const py = new Tally();
const jsClients = new AmqplibClients(js, () => NAMES.map((n) => `amqp://guest:guest@127.0.0.1:${ports[n]}`), QUEUE);
const pikas: ChildProcess[] = [];
const fwdTallies: Tally[] = [];
const fwdClients: AmqplibClients[] = [];

interface Event {
  kind: 'pg-cut' | 'link-cut' | 'switchover';
  node: Name;
  /** ms after the cut (or SIGTERM): */
  old_node_exited_ms: number | null;
  new_active_ms: number | null;
  first_confirm_ms: { amqplib: number | null; pika: number | null };
  first_delivery_ms: { amqplib: number | null; pika: number | null };
  /** From the nodes' logs (ms after the cut or SIGTERM): the old node gave its lease up (switchovers), the new one took it, and it listened. */
  lease_given_up_ms?: number | null;
  lease_taken_ms?: number | null;
  listening_ms?: number | null;
  /** Link cuts: the clients forwarded by the cut-off standby, from the cut to their first delivery on a new connection. */
  forwarded_reconnected_ms?: number | null;
}
const events: Event[] = [];

/**
 * After a cut or SIGTERM at `t`, once the new active node is there at `activeAt`: the first
 * delivery on a consumer connection opened after `t` (so from a node alive then) and the first
 * confirm after `activeAt`, per library (pika given 15 s more at most), in ms after `t`.
 */
async function firsts(t: number, activeAt: number, what: string, newConnection = true): Promise<Pick<Event, 'first_confirm_ms' | 'first_delivery_ms'>> {
  // A link cut leaves the active node as it was: any delivery after the cut counts there.
  const delivered = (x: Tally): boolean => (newConnection ? x.deliveredSince(t) : x.lastDeliveryAt > t);
  const at = (x: Tally): number => (newConnection ? x.firstOnConnectionAt : x.lastDeliveryAt);
  await until(`an amqplib confirm and delivery after ${what}`, () => js.lastConfirmAt > activeAt && delivered(js));
  const jsFirst = { confirm: js.lastConfirmAt, delivery: at(js) };
  await until(`a pika confirm and delivery after ${what}`, () => py.lastConfirmAt > activeAt && delivered(py), 15_000).catch(() => undefined);
  return {
    first_confirm_ms: { amqplib: jsFirst.confirm - t, pika: py.lastConfirmAt > activeAt ? py.lastConfirmAt - t : null },
    first_delivery_ms: { amqplib: jsFirst.delivery - t, pika: delivered(py) ? at(py) - t : null },
  };
}

/** The time of the first log line of `n` saying `msg` at or after `t`, in ms after `t`. */
function logged(n: NodeProc, msg: string, t: number, extra?: string): number | null {
  for (const line of n.out.split('\n')) {
    if (!line.startsWith('{') || !line.includes(`"msg":"${msg}`) || (extra !== undefined && !line.includes(extra))) continue;
    const at = Date.parse((JSON.parse(line) as { time: string }).time);
    if (at >= t) return at - t;
  }
  return null;
}
const fromLogs = (old: NodeProc, next: NodeProc, t: number): Pick<Event, 'lease_given_up_ms' | 'lease_taken_ms' | 'listening_ms'> => ({
  lease_given_up_ms: logged(old, 'gave the lease up', t),
  lease_taken_ms: logged(next, 'took the lease', t),
  listening_ms: logged(next, 'listening', t, '"role":"active"'),
});

function exitedSince(name: Name, t: number): number | null {
  const e = exits.find((x) => x.node === name && x.at_ms + t0 >= t);
  return e === undefined ? null : e.at_ms + t0 - t;
}

let exitCode = 1;
try {
  startNode('a');
  await until('a active', () => isActive(nodes.get('a')!));
  startNode('b');
  await until('b standing by', () => isStandby(nodes.get('b')!));
  void supervise();
  void jsClients.publisher();
  void jsClients.consumer();
  pikas.push(pikaClient('publish', PIKA_QUEUE, [ports.a, ports.b], py), pikaClient('consume', PIKA_QUEUE, [ports.a, ports.b], py));
  await sleep(3000);

  // 1. The active node cut off from PostgreSQL.
  for (let k = 0; k < PG_CUTS; k++) {
    const victim = activeNode()!;
    const other = nodes.get(victim.name === 'a' ? 'b' : 'a')!;
    log(`cut ${k + 1}: ${victim.name}'s link to PostgreSQL; confirmed so far ${js.confirmed.size} (amqplib), ${py.confirmed.size} (pika)`);
    const cutAt = Date.now();
    pgLinks[victim.name].cut();
    await until(`${other.name} active after cut ${k + 1}`, () => isActive(nodes.get(other.name)!));
    const newActive = Date.now() - cutAt;
    const f = await firsts(cutAt, cutAt + newActive, `cut ${k + 1}`);
    await until(`${victim.name} to stop after cut ${k + 1}`, () => exitedSince(victim.name, cutAt) !== null);
    events.push({ kind: 'pg-cut', node: victim.name, old_node_exited_ms: exitedSince(victim.name, cutAt), new_active_ms: newActive, ...f, ...fromLogs(victim, nodes.get(other.name)!, cutAt) });
    log(`cut ${k + 1}: ${JSON.stringify(events[events.length - 1])}`);
    await sleep(1000);
    pgLinks[victim.name].heal();
    await until(`${victim.name} back as a standby after cut ${k + 1}`, () => isStandby(nodes.get(victim.name)!));
    await sleep(2000);
  }

  // 2. The standby cut off from the active node (the forwarding path). The main clients may be on
  // either address; a further amqplib pair, on a queue of its own, starts on the standby's
  // address (then the active node's: its list's next), so some clients are forwarded at each cut.
  for (let k = 0; k < LINK_CUTS; k++) {
    const act = activeNode()!;
    const standby = nodes.get(act.name === 'a' ? 'b' : 'a')!;
    const tally = new Tally();
    fwdTallies.push(tally);
    // One instance each: an instance's publisher and consumer take turns on its address list.
    const urls = (): string[] => [standby, act].map((n) => `amqp://guest:guest@127.0.0.1:${ports[n.name]}`);
    const fwdPub = new AmqplibClients(tally, urls, `${QUEUE}-fwd-${k + 1}`);
    const fwdCons = new AmqplibClients(tally, urls, `${QUEUE}-fwd-${k + 1}`);
    fwdClients.push(fwdPub, fwdCons);
    void fwdPub.publisher();
    void fwdCons.consumer();
    await until(`the forwarded clients to confirm and deliver before link cut ${k + 1}`, () => tally.confirmed.size > 100 && tally.delivered.size > 100);
    const answered = standby.out.split('the active node answers again').length;
    log(`link cut ${k + 1}: from ${standby.name} to ${act.name}`);
    const cutAt = Date.now();
    nodeLinks[act.name].cut();
    const f = await firsts(cutAt, cutAt, `link cut ${k + 1}`, false);
    await until(`the forwarded consumer back after link cut ${k + 1}`, () => tally.deliveredSince(cutAt));
    const back = tally.firstOnConnectionAt - cutAt;
    await sleep(Math.max(0, cutAt + 5000 - Date.now()));
    nodeLinks[act.name].heal();
    fwdPub.stop = true;
    fwdCons.stop = true;
    events.push({ kind: 'link-cut', node: act.name, old_node_exited_ms: exitedSince(act.name, cutAt), new_active_ms: null, ...f, forwarded_reconnected_ms: back });
    log(`link cut ${k + 1}: ${JSON.stringify(events[events.length - 1])}`);
    await until(`${standby.name} forwarding again after link cut ${k + 1}`, () => standby.out.split('the active node answers again').length > answered, 15_000);
    await sleep(2000);
  }

  // 3. Planned switchovers: SIGTERM of the active node.
  for (let k = 0; k < SWITCHOVERS; k++) {
    const victim = activeNode()!;
    const other = nodes.get(victim.name === 'a' ? 'b' : 'a')!;
    await until(`${other.name} standing by before switchover ${k + 1}`, () => isStandby(other));
    log(`switchover ${k + 1}: SIGTERM of ${victim.name}`);
    const termAt = Date.now();
    victim.child.kill('SIGTERM');
    await until(`${other.name} active after switchover ${k + 1}`, () => isActive(nodes.get(other.name)!));
    const newActive = Date.now() - termAt;
    const f = await firsts(termAt, termAt + newActive, `switchover ${k + 1}`);
    await until(`${victim.name} to stop after switchover ${k + 1}`, () => exitedSince(victim.name, termAt) !== null);
    events.push({ kind: 'switchover', node: victim.name, old_node_exited_ms: exitedSince(victim.name, termAt), new_active_ms: newActive, ...f, ...fromLogs(victim, nodes.get(other.name)!, termAt) });
    log(`switchover ${k + 1}: ${JSON.stringify(events[events.length - 1])}`);
    await until(`${victim.name} back as a standby after switchover ${k + 1}`, () => isStandby(nodes.get(victim.name)!));
    await sleep(2000);
  }

  jsClients.stop = true;
  pikas[0]!.stdin!.end();
  await settle([js, py, ...fwdTallies], 60_000);
  const fwdSum: Record<string, number> = {};
  for (const t of fwdTallies) for (const [k, v] of Object.entries(t.summary())) fwdSum[k] = (fwdSum[k] ?? 0) + v;
  const result = {
    date: new Date().toISOString(),
    load_average_1m: Number(loadavg()[0]!.toFixed(1)),
    lease_ms: LEASE_MS,
    amqplib: js.summary(),
    pika: py.summary(),
    amqplib_forwarded: fwdSum,
    node_exits: exits,
    events,
  };
  console.log(JSON.stringify(result));
  const bad = (t: Tally): number => t.lost + t.unexpected + t.duplicated + t.corrupted;
  exitCode = [js, py, ...fwdTallies].reduce((n, t) => n + bad(t), 0) === 0 && py.confirmed.size > 0 ? 0 : 1;
} catch (e) {
  console.error((e as Error).message);
  for (const n of nodes.values()) console.error(`---- ${n.name}\n${n.out.slice(-20_000)}`);
  exitCode = 2;
} finally {
  stopping = true;
  jsClients.stop = true;
  for (const c of fwdClients) c.stop = true;
  for (const p of pikas) p.kill('SIGKILL');
  for (const n of nodes.values()) n.child.kill('SIGKILL');
  for (const x of [...Object.values(pgLinks), ...Object.values(nodeLinks)]) x.destroyAll();
  execFileSync(join(ROOT, 'conformance/postgres-temp.sh'), ['stop', pgDir]);
  setTimeout(() => process.exit(exitCode), 500);
}
