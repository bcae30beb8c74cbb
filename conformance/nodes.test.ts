// Several warren nodes on one PostgreSQL store (--node-name), with amqplib: a standby forwards
// AMQP and HTTP to the active node; a paused active node (SIGSTOP) loses its lease, a standby
// takes over, and once resumed (SIGCONT) the old node never writes again (fencing) and exits;
// after kill -9 of the active node a standby takes over and unacked deliveries come back
// redelivered. Skipped, saying so, without PostgreSQL (conformance/postgres.ts).

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel, type ConsumeMessage } from 'amqplib';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, postgresAvailable, stopPostgres } from './postgres.js';
import { makeTestPki, type TestPki } from './tls-certs.js';
import { listeningRecord } from './harness.js';
import { runWarren, startWarren, type WarrenProcess } from './warren-process.js';
import { connect, drain } from './drain.js';

const dirs: string[] = [];
const procs: WarrenProcess[] = [];
let pki: TestPki | null = null;
afterAll(async () => {
  pki?.cleanup();
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGCONT');
    } catch {
      // gone already
    }
    await p.kill('SIGKILL');
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  stopPostgres();
});

async function node(url: string, name: string, extra: string[] = []): Promise<WarrenProcess> {
  const d = mkdtempSync(join(tmpdir(), 'warren-node-'));
  dirs.push(d);
  const p = await startWarren(d, ['--store', url, '--node-name', name, '--lease', '2000', ...extra]);
  procs.push(p);
  return p;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${procs.map((p) => p.output()).join('\n----\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The node serves AMQP itself (its "listening" line as the active node). */
const active = (p: WarrenProcess): boolean => p.output().includes('"role":"active"');



const AUTH = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };

interface ApiNode {
  name: string;
  role: string;
  address: string;
  epoch: number;
  lease_age_ms: number | null;
  lag_ms: number;
}

async function apiNodes(p: WarrenProcess): Promise<ApiNode[]> {
  return (await (await fetch(`http://127.0.0.1:${p.httpPort}/api/warren/nodes`, { headers: AUTH })).json()) as ApiNode[];
}

async function metricLines(p: WarrenProcess): Promise<string[]> {
  return (await (await fetch(`http://127.0.0.1:${p.httpPort}/metrics`)).text()).split('\n').filter((l) => l.startsWith('warren_node_') || l.startsWith('warren_lease_'));
}

/** The AMQPS port of the node's first "listening" line (as standby, or as active when it started so). */
function tlsPortOf(p: WarrenProcess): number {
  return listeningRecord(p.output())['tlsPort'] as number;
}

describe.skipIf(!postgresAvailable)('nodes on one PostgreSQL store', () => {
  it('a standby forwards AMQPS byte for byte: TLS ends at the active node (its certificate), and after kill -9 the same address serves with the new one', async () => {
    pki = makeTestPki();
    const ca = [readFileSync(pki.ca)];
    const tlsArgs = (serial: number): string[] => {
      const c = pki!.server(`server-${serial}`, serial);
      return ['--tls-port', '0', '--tls-cert', c.cert, '--tls-key', c.key];
    };
    const url = await freshDatabase();
    const a = await node(url, 'a', tlsArgs(0xa1));
    await waitFor('a active', () => active(a));
    const b = await node(url, 'b', tlsArgs(0xb2));
    await waitFor('b standing by', () => b.output().includes('forwarding clients to the active node'));
    const bTls = tlsPortOf(b);
    expect(bTls).toBeGreaterThan(0);

    const viaTls = async (): Promise<{ c: ChannelModel; serial: string }> => {
      const c = await amqp.connect(`amqps://guest:guest@127.0.0.1:${bTls}`, { ca, servername: 'localhost' });
      c.on('error', () => {});
      const socket = (c as unknown as { connection: { stream: TLSSocket } }).connection.stream;
      return { c, serial: socket.getPeerCertificate().serialNumber };
    };
    // Through b's AMQPS port: a's certificate, a's broker.
    const first = await viaTls();
    expect(first.serial.toUpperCase()).toBe('A1');
    const ch = await first.c.createConfirmChannel();
    await ch.assertQueue('tls-forwarded', { durable: true });
    ch.sendToQueue('tls-forwarded', Buffer.from('over amqps via b'), { persistent: true });
    await ch.waitForConfirms();
    await first.c.close();
    const direct = await connect(a.url);
    expect((await drain(direct, 'tls-forwarded')).map((m) => m.body)).toEqual(['over amqps via b']);
    await direct.close();

    // a dies; b's same AMQPS address now serves with b's certificate.
    await a.kill('SIGKILL');
    await waitFor('b active', () => active(b), 30_000);
    const second = await viaTls();
    expect(second.serial.toUpperCase()).toBe('B2');
    const ch2 = await second.c.createChannel();
    // The queue declared over the forwarded AMQPS is there (the get's ack may not have been written before the kill).
    expect((await ch2.checkQueue('tls-forwarded')).queue).toBe('tls-forwarded');
    await second.c.close();
  }, 120_000);

  it('the API, /metrics and warren status show each node with role, epoch, lease age and lag, through any node', async () => {
    const url = await freshDatabase();
    const a = await node(url, 'a');
    await waitFor('a active', () => active(a));
    const b = await node(url, 'b');
    await waitFor('b standing by', () => b.output().includes('forwarding clients to the active node'));
    // b's HTTP port forwards to a: both addresses answer with a's view of the two nodes.
    for (const via of [a, b]) {
      await waitFor('both nodes listed', async () => (await apiNodes(via)).length === 2);
      const nodes = await apiNodes(via);
      expect(nodes.map((n) => [n.name, n.role, n.epoch, n.address])).toEqual([
        ['a', 'active', 1, `127.0.0.1:${a.port}`],
        ['b', 'standby', 1, `127.0.0.1:${b.port}`],
      ]);
      expect(nodes[0]!.lease_age_ms).toBeGreaterThanOrEqual(0);
      expect(nodes[1]!.lease_age_ms).toBeNull();
      for (const n of nodes) expect(n.lag_ms).toBeGreaterThanOrEqual(0);
    }
    // /metrics: refreshed with each renewal, so wait until it lists both.
    await waitFor('node metrics for both', async () => (await metricLines(b)).some((l) => l.startsWith('warren_node_active{node="b"')));
    const m = await metricLines(b);
    expect(m).toContain('warren_node_active{node="a",role="active"} 1');
    expect(m).toContain('warren_node_active{node="b",role="standby"} 0');
    expect(m).toContain('warren_node_epoch{node="a"} 1');
    expect(m).toContain('warren_node_epoch{node="b"} 1');
    expect(m.filter((l) => /^warren_node_lag_seconds\{node="[ab]"\} \d/.test(l))).toHaveLength(2);
    expect(m.filter((l) => /^warren_lease_age_seconds \d/.test(l))).toHaveLength(1);
    const st = await runWarren(['status', '--url', `http://127.0.0.1:${b.httpPort}`]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/^nodes\s+a active epoch 1 lease age \d+ ms lag \d+ ms; b standby epoch 1 lag \d+ ms$/m);

    // After kill -9 of a: b holds epoch 2, and a, silent for two lease periods, is gone.
    await a.kill('SIGKILL');
    await waitFor('b active', () => active(b), 30_000);
    await waitFor('a gone', async () => (await apiNodes(b)).find((n) => n.name === 'a')?.role === 'gone', 30_000);
    const after = await apiNodes(b);
    expect(after.map((n) => [n.name, n.role])).toEqual([
      ['a', 'gone'],
      ['b', 'active'],
    ]);
    expect(after[1]!.epoch).toBe(2);
    const st2 = await runWarren(['status', '--url', `http://127.0.0.1:${b.httpPort}`]);
    expect(st2.stdout).toMatch(/^nodes\s+a gone epoch 1 lag \d+ ms; b active epoch 2 lease age \d+ ms lag \d+ ms$/m);
  }, 120_000);

  it('a standby forwards AMQP and HTTP to the active node; a paused active node loses its lease and never writes again', async () => {
    const url = await freshDatabase();
    const a = await node(url, 'a');
    await waitFor('a active', () => active(a));
    const b = await node(url, 'b');
    await waitFor('b standing by', () => b.output().includes('forwarding clients to the active node'));

    // Through b's address: served by a.
    const viaB = await connect(b.url);
    const ch = await viaB.createConfirmChannel();
    await ch.assertQueue('fenced', { durable: true });
    for (let i = 0; i < 20; i++) ch.sendToQueue('fenced', Buffer.from(`before-${i}`), { persistent: true });
    await ch.waitForConfirms();
    await viaB.close();
    const res = await fetch(`http://127.0.0.1:${b.httpPort}/api/warren/nodes`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
    const nodes = (await res.json()) as { name: string; role: string; epoch: number }[];
    expect(nodes.map((n) => [n.name, n.role])).toEqual([
      ['a', 'active'],
      ['b', 'standby'],
    ]);
    expect(nodes[0]!.epoch).toBe(1);

    // A client of a's own address keeps publishing while a is paused: those bytes wait in a's socket.
    const direct = await connect(a.url);
    const dch = await direct.createConfirmChannel();
    dch.on('error', () => {});
    const lateConfirmed: string[] = [];
    process.kill(a.pid, 'SIGSTOP');
    for (let i = 0; i < 20; i++) {
      dch.sendToQueue('fenced', Buffer.from(`late-${i}`), { persistent: true }, (err) => {
        if (!err) lateConfirmed.push(`late-${i}`);
      });
    }
    await waitFor('b to take over', () => active(b), 30_000);
    const viaB2 = await connect(b.url);
    const ch2 = await viaB2.createConfirmChannel();
    for (let i = 0; i < 20; i++) ch2.sendToQueue('fenced', Buffer.from(`after-${i}`), { persistent: true });
    await ch2.waitForConfirms();

    process.kill(a.pid, 'SIGCONT');
    const exit = await Promise.race([a.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
    expect(exit, 'the resumed node must stop').not.toBeNull();
    expect(exit!.code).toBe(70);
    expect(a.output()).toMatch(/lost (its|their) lease|may have lost its lease/);

    const got = (await drain(viaB2, 'fenced')).map((m) => m.body);
    expect(lateConfirmed).toEqual([]);
    expect(got.filter((b) => b.startsWith('late-'))).toEqual([]);
    for (let i = 0; i < 20; i++) {
      expect(got).toContain(`before-${i}`);
      expect(got).toContain(`after-${i}`);
    }
    // The lease moved once: epoch 2, held by b.
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const lease = await c.query<{ holder: string; epoch: string }>("SELECT holder, epoch FROM warren.leases WHERE scope = 'broker'");
    await c.end();
    expect(lease.rows).toEqual([{ holder: 'b', epoch: '2' }]);
    await viaB2.close();
  }, 120_000);

  it('after kill -9 of the active node a standby takes over; unacked deliveries come back redelivered', async () => {
    const url = await freshDatabase();
    const a = await node(url, 'a');
    await waitFor('a active', () => active(a));
    const b = await node(url, 'b');
    await waitFor('b standing by', () => b.output().includes('forwarding clients to the active node'));
    const c = await connect(b.url);
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('failover', { durable: true });
    for (let i = 0; i < 10; i++) ch.sendToQueue('failover', Buffer.from(`m${i}`), { persistent: true });
    await ch.waitForConfirms();
    const consumer = await c.createChannel();
    await consumer.prefetch(3);
    const first: ConsumeMessage[] = [];
    await consumer.consume('failover', (m) => m && first.push(m), { noAck: false });
    await waitFor('three unacked deliveries', () => first.length === 3);
    // Delivered-marks go out with the next batch: wait for one more commit (a confirm).
    ch.sendToQueue('failover', Buffer.from('m10'), { persistent: true });
    await ch.waitForConfirms();

    const killedAt = Date.now();
    await a.kill('SIGKILL');
    // A reconnecting consumer on b's address.
    let firstDeliveryAt = 0;
    const seen: { body: string; redelivered: boolean }[] = [];
    for (;;) {
      try {
        const c2 = await connect(b.url);
        const ch3 = await c2.createChannel();
        await ch3.consume('failover', (m) => {
          if (m === null) return;
          if (firstDeliveryAt === 0) firstDeliveryAt = Date.now();
          seen.push({ body: m.content.toString(), redelivered: m.fields.redelivered });
          ch3.ack(m);
        });
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await waitFor('all eleven messages', () => seen.length === 11, 30_000);
    expect(seen.slice(0, 3)).toEqual([
      { body: 'm0', redelivered: true },
      { body: 'm1', redelivered: true },
      { body: 'm2', redelivered: true },
    ]);
    expect(seen.slice(3).map((m) => m.body)).toEqual(['m3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10']);
    // Reported, not asserted (timing does not decide a test): bench/ has the distribution.
    console.log(`first delivery ${firstDeliveryAt - killedAt} ms after kill -9 (lease 2000 ms)`);
    expect(active(b)).toBe(true);
  }, 120_000);
});
