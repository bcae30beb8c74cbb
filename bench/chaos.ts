// Chaos run for several nodes (npm run chaos): two warren nodes on one throwaway PostgreSQL
// (conformance/postgres-temp.sh), a publisher with confirms and a consumer with manual acks,
// both amqplib with a reconnect loop over the two nodes' addresses. The active node is killed
// with kill -9 ten times in a row (restarted as a standby each time), then paused with SIGSTOP
// past its lease and resumed. Then the counters of RabbitMQ's Jepsen checker: lost (confirmed,
// never delivered), unexpected (delivered, never published), duplicated (delivered again
// without the redelivered flag), corrupted (body does not match its digest); plus the time from
// each kill -9 to the first delivery afterwards. Prints one JSON line. Exit 1 if lost,
// unexpected, duplicated or corrupted is not 0.
//
//   npm run chaos            (builds first; about three minutes)

import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'dist/src/main.js');
const KILLS = Number(process.env['CHAOS_KILLS'] ?? 10);
const LEASE_MS = 2000;
const PORTS: Record<string, number> = { a: 5801, b: 5802 };
const QUEUE = 'chaos';

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

const published = new Set<number>();
const confirmed = new Set<number>();
const delivered = new Map<number, number>();
let duplicated = 0;
let unexpected = 0;
let corrupted = 0;
let redeliveredCopies = 0;
let lastDeliveryAt = 0;
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
          published.add(id);
          ch.sendToQueue(QUEUE, bodyFor(id), { persistent: true }, (err) => {
            if (!err) confirmed.add(id);
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
      const ch = await c.createChannel();
      ch.on('error', () => {});
      await ch.assertQueue(QUEUE, { durable: true });
      await ch.prefetch(50);
      await ch.consume(QUEUE, (m) => {
        if (m === null) return;
        lastDeliveryAt = Date.now();
        const text = m.content.toString();
        const id = Number(text.split('|')[0]);
        if (!Number.isInteger(id) || !bodyFor(id).equals(m.content)) corrupted++;
        else if (!published.has(id)) unexpected++;
        else {
          const seen = delivered.get(id) ?? 0;
          if (seen > 0) {
            if (m.fields.redelivered) redeliveredCopies++;
            else duplicated++;
          }
          delivered.set(id, seen + 1);
        }
        ch.ack(m);
      });
      await new Promise<void>((r) => c.once('close', () => r()));
    } catch {
      await sleep(100);
    }
  }
}

const failoverMs: number[] = [];
try {
  startNode('a');
  await until('a active', () => isActive(nodes.get('a')!));
  startNode('b');
  await sleep(1000);
  void publisher();
  void consumer();
  await sleep(3000);
  for (let k = 0; k < KILLS; k++) {
    const victim = [...nodes.values()].find(isActive)!;
    const other = [...nodes.values()].find((n) => n !== victim)!;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await until(`${other.name} active after kill ${k + 1}`, () => isActive(other));
    await until(`a delivery after kill ${k + 1}`, () => lastDeliveryAt > killedAt);
    failoverMs.push(lastDeliveryAt - killedAt);
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
  // Let the consumer take what is left.
  const settle = Date.now();
  while (Date.now() - settle < 60_000) {
    const before = lastDeliveryAt;
    await sleep(3000);
    if (lastDeliveryAt === before && [...confirmed].every((id) => delivered.has(id))) break;
  }
  const lost = [...confirmed].filter((id) => !delivered.has(id)).length;
  const sorted = [...failoverMs].sort((x, y) => x - y);
  const result = {
    date: new Date().toISOString(),
    kills: KILLS,
    lease_ms: LEASE_MS,
    published: published.size,
    confirmed: confirmed.size,
    delivered_distinct: delivered.size,
    lost,
    unexpected,
    duplicated,
    corrupted,
    redelivered_copies: redeliveredCopies,
    paused_node_exit_code: pausedExit,
    failover_ms: failoverMs,
    failover_ms_min: sorted[0],
    failover_ms_median: sorted[Math.floor(sorted.length / 2)],
    failover_ms_max: sorted[sorted.length - 1],
  };
  console.log(JSON.stringify(result));
  process.exitCode = lost + unexpected + duplicated + corrupted === 0 ? 0 : 1;
} finally {
  stop = true;
  for (const n of nodes.values()) {
    n.child.kill('SIGCONT');
    n.child.kill('SIGKILL');
  }
  execFileSync(join(ROOT, 'conformance/postgres-temp.sh'), ['stop', pgDir]);
  setTimeout(() => process.exit(), 500);
}
