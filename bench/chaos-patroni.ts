// Chaos run in the production shape (npm run chaos:patroni): on loopback, a 3-member etcd
// (Debian etcd-server), three PostgreSQL instances under Patroni (Debian patroni) with
// synchronous_mode, and two warren nodes whose --store lists the three PostgreSQL hosts (the
// store follows the primary, src/store/postgres/hosts.ts). A publisher with confirms and a
// consumer with manual acks run throughout, reconnecting over both nodes' addresses, in amqplib
// and in pika (bench/chaos-pika.py, Debian python3-pika), each pair on a queue of its own.
// The PostgreSQL primary's member is killed with kill -9 (its Patroni agent and its postmaster
// with its backends, as if the machine died) CHAOS_PG_KILLS times (default 2) mid-publish;
// Patroni promotes the synchronous standby and warren reconnects to it. Each killed member is
// restarted and rejoins as a replica before the next kill. Then the Jepsen checker's counters:
// lost (confirmed, never delivered), unexpected (delivered, never published), duplicated
// (delivered again without the redelivered flag), corrupted (body does not match its digest),
// per client library, and per kill the time to the new Patroni leader, the first confirm and
// the first delivery.
// Then, as a second phase, CHAOS_PG_SWITCHOVERS times (default 2) a planned switchover
// mid-publish (`patronictl switchover --force` to the synchronous standby): the old primary is
// demoted and restarted as a replica, warren's store follows the new primary; same counters, and
// per switchover the same times.
// Config files: bench/patroni/patroni.yml and bench/patroni/etcd.args (templates; every port
// is a free one picked at run time, every directory temporary). Prints one JSON line; exit 1
// if a counter is not 0.
//
//   apt-get install -y patroni etcd-server postgresql
//   npm run chaos:patroni            (builds first; about three minutes)
//
// The warren lease (CHAOS_LEASE_MS, default 45000) is longer than a Patroni failover here
// (ttl 20 s): the active node rides through the database's absence and its store reconnects.
// With a lease shorter than that, the active node stops when it cannot renew, and the other
// node takes over once PostgreSQL is back; the script restarts a node that stopped.

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AmqplibClients, pikaClient, settle, Tally } from './lib/jepsen.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'dist/src/main.js');
const TEMPLATES = join(ROOT, 'bench/patroni');
const PG_KILLS = Number(process.env['CHAOS_PG_KILLS'] ?? 2);
const PG_SWITCHOVERS = Number(process.env['CHAOS_PG_SWITCHOVERS'] ?? 2);
const LEASE_MS = Number(process.env['CHAOS_LEASE_MS'] ?? 45_000);
const QUEUE = 'chaos-patroni';
const PIKA_QUEUE = 'chaos-patroni-pika';
const MEMBERS = ['pg1', 'pg2', 'pg3'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (msg: string): void => console.error(`[${new Date().toISOString()}] ${msg}`);

function need(cmd: string, pkg: string): void {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
  } catch {
    console.error(`chaos:patroni needs ${cmd} (apt-get install -y ${pkg})`);
    process.exit(3);
  }
}
need('etcd', 'etcd-server');
need('patroni', 'patroni');
const pgBinDir = ((): string => {
  const base = '/usr/lib/postgresql';
  const v = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)).find((x) => existsSync(join(base, x, 'bin/initdb'))) : undefined;
  if (v === undefined) {
    console.error('chaos:patroni needs PostgreSQL (apt-get install -y postgresql)');
    process.exit(3);
  }
  return join(base, v, 'bin');
})();
// PostgreSQL (and so Patroni) refuses to run as root.
const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
    s.on('error', rej);
  });
}

function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_m, k: string) => {
    if (!(k in values)) throw new Error(`no value for {{${k}}}`);
    return String(values[k]);
  });
}

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 120_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`chaos:patroni: timed out waiting for ${what}`);
    await sleep(100);
  }
}

interface Proc {
  readonly name: string;
  child: ChildProcess;
  out: string;
}
const procs: Proc[] = [];

function run(name: string, cmd: string[], logFile: string): Proc {
  const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { name, child, out: '' };
  const keep = (d: Buffer): void => {
    p.out += d.toString();
    if (p.out.length > 4_000_000) p.out = p.out.slice(-2_000_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  child.on('exit', () => writeFileSync(logFile, p.out));
  procs.push(p);
  return p;
}
const alive = (p: Proc): boolean => p.child.exitCode === null && p.child.signalCode === null;

const work = mkdtempSync(join(tmpdir(), 'warren-chaos-patroni-'));
chmodSync(work, 0o755);

// ---- etcd -------------------------------------------------------------------------------------
const etcd = await Promise.all(['e1', 'e2', 'e3'].map(async (name) => ({ name, client: await freePort(), peer: await freePort() })));
const initialCluster = etcd.map((e) => `${e.name}=http://127.0.0.1:${e.peer}`).join(',');
const etcdArgs = readFileSync(join(TEMPLATES, 'etcd.args'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '' && !l.startsWith('#'));
function startEtcd(e: (typeof etcd)[number]): Proc {
  const args = etcdArgs.map((a) => fill(a, { NAME: e.name, DIR: join(work, e.name), CLIENT_PORT: e.client, PEER_PORT: e.peer, INITIAL_CLUSTER: initialCluster }));
  return run(e.name, ['etcd', ...args], join(work, `${e.name}.log`));
}

// ---- Patroni + PostgreSQL ---------------------------------------------------------------------
interface Member {
  readonly name: string;
  readonly dir: string;
  readonly pgPort: number;
  readonly restPort: number;
  proc: Proc | null;
}
const members: Member[] = [];
const patroniTemplate = readFileSync(join(TEMPLATES, 'patroni.yml'), 'utf8');
for (const name of MEMBERS) {
  const dir = join(work, name);
  mkdirSync(dir);
  if (asPostgres.length > 0) execFileSync('chown', ['postgres', dir]);
  const m: Member = { name, dir, pgPort: await freePort(), restPort: await freePort(), proc: null };
  writeFileSync(
    join(dir, 'patroni.yml'),
    fill(patroniTemplate, { NAME: name, DIR: dir, PG_PORT: m.pgPort, REST_PORT: m.restPort, BIN_DIR: pgBinDir, ETCD_HOSTS: etcd.map((e) => `127.0.0.1:${e.client}`).join(',') }),
  );
  members.push(m);
}
function startMember(m: Member): void {
  m.proc = run(m.name, [...asPostgres, 'patroni', join(m.dir, 'patroni.yml')], join(m.dir, 'patroni.log'));
}

interface ClusterMember {
  name: string;
  role: string;
  state: string;
}
async function cluster(): Promise<ClusterMember[]> {
  for (const m of members) {
    if (m.proc === null || !alive(m.proc)) continue;
    try {
      const r = await fetch(`http://127.0.0.1:${m.restPort}/cluster`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return ((await r.json()) as { members: ClusterMember[] }).members;
    } catch {
      // this member's REST API is not up (yet); ask another
    }
  }
  return [];
}
const leaderOf = (c: ClusterMember[]): string | null => c.find((m) => m.role === 'leader' && m.state === 'running')?.name ?? null;
const syncStandbyOf = (c: ClusterMember[]): string | null => c.find((m) => m.role === 'sync_standby' && (m.state === 'running' || m.state === 'streaming'))?.name ?? null;
const hasSyncStandby = (c: ClusterMember[]): boolean => c.some((m) => m.role === 'sync_standby' && (m.state === 'running' || m.state === 'streaming'));

/** kill -9 of a member's Patroni agent, its postmaster and the postmaster's children: the machine dies. */
function killMember(m: Member): void {
  const pids: number[] = [];
  const pidFile = join(m.dir, 'data/postmaster.pid');
  if (existsSync(pidFile)) {
    const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (postmaster > 0) {
      pids.push(postmaster);
      for (const p of readdirSync('/proc')) {
        if (!/^\d+$/.test(p)) continue;
        try {
          const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
          if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) pids.push(Number(p));
        } catch {
          // gone already
        }
      }
    }
  }
  // Patroni runs under runuser: its own pid is runuser's child (found before runuser dies).
  if (m.proc !== null && m.proc.child.pid !== undefined) {
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === m.proc.child.pid) pids.push(Number(p));
      } catch {
        // gone already
      }
    }
  }
  if (m.proc !== null) m.proc.child.kill('SIGKILL');
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

// ---- warren nodes -----------------------------------------------------------------------------
const warrenPorts: Record<string, number> = { a: await freePort(), b: await freePort() };
const storeUrl = `postgres://postgres@${members.map((m) => `127.0.0.1:${m.pgPort}`).join(',')}/postgres?target_session_attrs=read-write`;
const nodes = new Map<string, Proc>();
function startNode(name: string): Proc {
  const p = run(
    `warren-${name}`,
    [process.execPath, MAIN, 'start', '--host', '127.0.0.1', '--port', String(warrenPorts[name]), '--http-port', 'off', '--data-dir', 'none', '--store', storeUrl, '--node-name', name, '--lease', String(LEASE_MS)],
    join(work, `warren-${name}.log`),
  );
  nodes.set(name, p);
  return p;
}
const isActive = (p: Proc): boolean => alive(p) && p.out.includes('"role":"active"');
const nodeExits: { node: string; code: number | null }[] = [];

// ---- clients (the Jepsen checker's bookkeeping, bench/lib/jepsen.ts) ------------------------
const js = new Tally();
const py = new Tally();
const jsClients = new AmqplibClients(js, () => ['a', 'b'].map((n) => `amqp://guest:guest@127.0.0.1:${warrenPorts[n]}`), QUEUE);
const pikas: ChildProcess[] = [];
let stop = false;

/** A warren node that stopped (it lost its lease, or could not learn a commit's outcome) is started again. */
async function keepNodesUp(): Promise<void> {
  while (!stop) {
    for (const [name, p] of nodes) {
      if (!alive(p)) {
        nodeExits.push({ node: name, code: p.child.exitCode });
        log(`warren node ${name} exited (${p.child.exitCode ?? p.child.signalCode}); starting it again`);
        startNode(name);
      }
    }
    await sleep(500);
  }
}

// ---- the run ----------------------------------------------------------------------------------
interface PerClient {
  amqplib: number | null;
  pika: number | null;
}
const kills: { member: string; new_leader: string; leader_ms: number; first_confirm_ms: PerClient; first_delivery_ms: PerClient }[] = [];
const switchovers: typeof kills = [];

/** Waits for an amqplib (and, given 15 s more at most, a pika) confirm and delivery after `since`; their times after `t0`. */
async function recovered(t0: number, since: number, what: string): Promise<{ first_confirm_ms: PerClient; first_delivery_ms: PerClient }> {
  await until(`an amqplib confirm and delivery after ${what}`, () => js.lastConfirmAt > since && js.lastDeliveryAt > since);
  await until(`a pika confirm and delivery after ${what}`, () => py.lastConfirmAt > since && py.lastDeliveryAt > since, 15_000).catch(() => undefined);
  const after = (t: number): number | null => (t > since ? t - t0 : null);
  return { first_confirm_ms: { amqplib: after(js.lastConfirmAt), pika: after(py.lastConfirmAt) }, first_delivery_ms: { amqplib: after(js.lastDeliveryAt), pika: after(py.lastDeliveryAt) } };
}
let exitCode = 1;
try {
  log(`work directory ${work}`);
  for (const e of etcd) startEtcd(e);
  for (const m of members) startMember(m);
  await until('a Patroni leader and a synchronous standby', async () => {
    const c = await cluster();
    return leaderOf(c) !== null && hasSyncStandby(c) && c.filter((m) => m.state === 'running' || m.state === 'streaming').length === MEMBERS.length;
  }, 180_000);
  log(`cluster up: ${JSON.stringify(await cluster())}`);
  startNode('a');
  await until('warren a active', () => isActive(nodes.get('a')!), 60_000);
  startNode('b');
  await sleep(1000);
  void keepNodesUp();
  void jsClients.publisher();
  void jsClients.consumer();
  pikas.push(pikaClient('publish', PIKA_QUEUE, [warrenPorts['a']!, warrenPorts['b']!], py), pikaClient('consume', PIKA_QUEUE, [warrenPorts['a']!, warrenPorts['b']!], py));
  await sleep(5000);
  for (let k = 0; k < PG_KILLS; k++) {
    const before = await cluster();
    const leader = leaderOf(before)!;
    const victim = members.find((m) => m.name === leader)!;
    log(`kill -9 of the PostgreSQL primary ${leader} (Patroni and postmaster); confirmed so far ${js.confirmed.size} (amqplib), ${py.confirmed.size} (pika)`);
    const killedAt = Date.now();
    killMember(victim);
    let newLeader = '';
    await until(`a new Patroni leader after kill ${k + 1}`, async () => {
      const l = leaderOf(await cluster());
      if (l === null || l === leader) return false;
      newLeader = l;
      return true;
    });
    const leaderMs = Date.now() - killedAt;
    const since = killedAt + leaderMs;
    await until(`an amqplib confirm and delivery after kill ${k + 1}`, () => js.lastConfirmAt > since && js.lastDeliveryAt > since);
    // pika too, given a little longer (its own reconnect loop).
    await until(`a pika confirm and delivery after kill ${k + 1}`, () => py.lastConfirmAt > since && py.lastDeliveryAt > since, 15_000).catch(() => undefined);
    const after = (t: number): number | null => (t > since ? t - killedAt : null);
    const entry = {
      member: leader,
      new_leader: newLeader,
      leader_ms: leaderMs,
      first_confirm_ms: { amqplib: after(js.lastConfirmAt), pika: after(py.lastConfirmAt) },
      first_delivery_ms: { amqplib: after(js.lastDeliveryAt), pika: after(py.lastDeliveryAt) },
    };
    kills.push(entry);
    log(`recovered: ${JSON.stringify(entry)}`);
    startMember(victim);
    await until(`${victim.name} back and a synchronous standby`, async () => {
      const c = await cluster();
      return hasSyncStandby(c) && c.filter((m) => m.state === 'running' || m.state === 'streaming').length === MEMBERS.length;
    }, 180_000);
    await sleep(5000);
  }
  // Second phase: planned switchovers (patronictl) mid-publish.
  for (let k = 0; k < PG_SWITCHOVERS; k++) {
    const before = await cluster();
    const leader = leaderOf(before)!;
    const candidate = syncStandbyOf(before)!;
    log(`switchover ${k + 1}: ${leader} -> ${candidate} (patronictl switchover --force); confirmed so far ${js.confirmed.size} (amqplib), ${py.confirmed.size} (pika)`);
    const startedAt = Date.now();
    const ctl = spawn('patronictl', ['-c', join(members.find((m) => m.name === leader)!.dir, 'patroni.yml'), 'switchover', '--force', '--leader', leader, '--candidate', candidate], { stdio: ['ignore', 'pipe', 'pipe'] });
    let ctlOut = '';
    ctl.stdout!.on('data', (d: Buffer) => (ctlOut += d.toString()));
    ctl.stderr!.on('data', (d: Buffer) => (ctlOut += d.toString()));
    const ctlExit = new Promise<number | null>((r) => ctl.once('exit', (code) => r(code)));
    let newLeader = '';
    await until(`the new Patroni leader after switchover ${k + 1}`, async () => {
      const l = leaderOf(await cluster());
      if (l === null || l === leader) return false;
      newLeader = l;
      return true;
    });
    const leaderMs = Date.now() - startedAt;
    log(`patronictl: exit ${await ctlExit}: ${ctlOut.trim().split('\n').slice(-3).join(' | ')}`);
    const entry = { member: leader, new_leader: newLeader, leader_ms: leaderMs, ...(await recovered(startedAt, startedAt + leaderMs, `switchover ${k + 1}`)) };
    switchovers.push(entry);
    log(`switched over: ${JSON.stringify(entry)}`);
    await until(`${leader} back as a replica and a synchronous standby`, async () => {
      const c = await cluster();
      return hasSyncStandby(c) && c.filter((m) => m.state === 'running' || m.state === 'streaming').length === MEMBERS.length;
    }, 180_000);
    await sleep(5000);
  }
  stop = true;
  jsClients.stop = true;
  pikas[0]!.stdin!.end();
  // The consumers take what is left.
  await settle([js, py], 90_000);
  // What the warren nodes' stores did (their logs; every run of a node counted).
  const logs = procs.filter((p) => p.name.startsWith('warren-')).map((p) => p.out).join('');
  const count = (text: string): number => logs.split(text).length - 1;
  const result = {
    date: new Date().toISOString(),
    load_average_1m: Number(loadavg()[0]!.toFixed(1)),
    pg_kills: PG_KILLS,
    lease_ms: LEASE_MS,
    amqplib: js.summary(),
    pika: py.summary(),
    warren_node_exits: nodeExits,
    store_batches_waiting_for_a_primary: count('connection lost during a batch'),
    store_batches_committed_after_reconnecting: count('committed after reconnecting'),
    store_batches_found_committed_before_the_loss: count('had committed before the connection was lost'),
    kills,
    switchovers,
  };
  console.log(JSON.stringify(result));
  const bad = (t: Tally): number => t.lost + t.unexpected + t.duplicated + t.corrupted;
  exitCode = bad(js) + bad(py) === 0 && py.confirmed.size > 0 ? 0 : 1;
} catch (e) {
  console.error((e as Error).message);
  console.error(`logs kept in ${work}`);
  for (const p of procs) writeFileSync(join(work, `${p.name}.last.log`), p.out);
  exitCode = 2;
} finally {
  stop = true;
  jsClients.stop = true;
  for (const p of pikas) p.kill('SIGKILL');
  for (const p of nodes.values()) p.child.kill('SIGKILL');
  for (const m of members) killMember(m);
  for (const p of procs) if (alive(p)) p.child.kill('SIGKILL');
  await sleep(500);
  if (exitCode !== 2) rmSync(work, { recursive: true, force: true });
  process.exit(exitCode);
}
