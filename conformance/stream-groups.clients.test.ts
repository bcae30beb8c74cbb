// Super streams, named readers and consumer groups through pika and amqp091-go (amqplib in
// stream-groups.test.ts): pika declares a super stream and reads as a named reader across
// connections; a consumer group of two pika processes and one Go process shares 4 partitions,
// one member is killed with SIGKILL mid-stream, and every key's messages are still processed,
// in order, none skipped. Members follow basic.cancel (pika's on_cancel callback, Go's
// NotifyCancel) to stand by again for a partition taken from them. warren only: RabbitMQ 3.10
// has no consumer groups over AMQP 0-9-1.

import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFORMANCE_DIR, PikaProcess, runPika, runProcess, uid, waitFor } from './harness.js';
import { startWarren, type WarrenProcess } from './warren-process.js';

const GO_ENV = { GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOFLAGS: '', GOCACHE: path.join(os.tmpdir(), 'warren-conformance-gocache') };
const GO_BINARY = path.join(os.tmpdir(), `warren-conformance-streamgroup-${process.pid}`);

let w: WarrenProcess;
let dir: string;
const killers: (() => void)[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-groups-clients-'));
  w = await startWarren(dir);
  const build = await runProcess('go', ['build', '-o', GO_BINARY, path.join(CONFORMANCE_DIR, 'go', 'streamgroup', 'main.go')], { env: GO_ENV, timeoutMs: 120_000 });
  if (build.code !== 0) throw new Error(`go build failed: ${build.stderr}`);
}, 130_000);

afterAll(async () => {
  for (const k of killers) k();
  await w?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
  rmSync(GO_BINARY, { force: true });
});

/** A Go member: its JSON events as they arrive. */
class GoMember {
  readonly events: Record<string, unknown>[] = [];
  readonly child: ChildProcess;
  #pending = '';
  constructor(url: string, x: string, partitions: number, group: string) {
    this.child = spawn(GO_BINARY, [url, x, String(partitions), group], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.#pending += d.toString();
      let nl: number;
      while ((nl = this.#pending.indexOf('\n')) >= 0) {
        const line = this.#pending.slice(0, nl);
        this.#pending = this.#pending.slice(nl + 1);
        if (line.startsWith('{')) this.events.push(JSON.parse(line) as Record<string, unknown>);
      }
    });
    killers.push(() => this.kill());
  }
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

async function groupRow(x: string, g: string): Promise<{ members: number; partitions: { state: string }[] } | undefined> {
  const res = await fetch(`http://127.0.0.1:${w.httpPort}/api/consumer-groups/%2F`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  const rows = (await res.json()) as { super_stream: string; name: string; members: number; partitions: { state: string }[] }[];
  return rows.find((r) => r.super_stream === x && r.name === g);
}

interface Processed {
  member: string;
  key: string;
  seq: number;
}

/**
 * Per key: each member processed the key's messages in increasing order, each member that took
 * over started at or before the first message the previous ones had not processed, and all of
 * 0..per-1 were processed (at-least-once: repeats allowed, gaps not).
 */
function checkKeys(log: readonly Processed[], keys: number, per: number, killed: string): void {
  for (let k = 0; k < keys; k++) {
    const key = `key-${k}`;
    const runs = new Map<string, number[]>();
    for (const p of log) if (p.key === key) (runs.get(p.member) ?? runs.set(p.member, []).get(p.member)!).push(p.seq);
    let done = 0;
    // A key moved at most once, from the killed member to another: its run comes first.
    const order = [...runs.keys()].sort((a, b) => (a === killed ? -1 : b === killed ? 1 : 0));
    expect(order.length, `${key} processed by at most two members`).toBeLessThanOrEqual(2);
    for (const member of order) {
      const seqs = runs.get(member)!;
      expect(seqs, `${key} by ${member} in order`).toEqual([...seqs].sort((a, b) => a - b));
      expect(new Set(seqs).size, `${key} by ${member} without repeats`).toBe(seqs.length);
      expect(seqs[0]!, `${key}: ${member} took over without a gap`).toBeLessThanOrEqual(done);
      done = Math.max(done, seqs.at(-1)! + 1);
    }
    expect(done, `${key} processed to the end`).toBe(per);
  }
}

describe('pika', () => {
  it('declares a super stream (its partitions are there) and reads as a named reader across connections', async () => {
    const x = uid('pika');
    const d = await runPika(w.url, 'stream_groups', ['declare', x, '3']);
    expect(d.events).toEqual([0, 1, 2].map((i) => ({ event: 'partition', name: `${x}-${i}` })));
    const p = await runPika(w.url, 'stream_groups', ['publish', x, '6', '5']);
    expect(p.events).toEqual([{ event: 'published', count: 30 }]);
    // Find a partition with messages, read part of it, then the rest on a new connection.
    const conn = await amqp.connect(w.url);
    const ch = await conn.createChannel();
    let stream = '';
    let n = 0;
    for (let i = 0; i < 3 && n < 4; i++) {
      stream = `${x}-${i}`;
      n = (await ch.checkQueue(stream)).messageCount;
    }
    await conn.close();
    expect(n).toBeGreaterThanOrEqual(4);
    const first = await runPika(w.url, 'stream_groups', ['read', stream, 'pr', '2', 'first']);
    expect(first.events.filter((e) => e.event === 'delivery').map((e) => e.offset)).toEqual([0, 1]);
    const rest = await runPika(w.url, 'stream_groups', ['read', stream, 'pr', String(n - 2)]);
    expect(rest.events.filter((e) => e.event === 'delivery').map((e) => e.offset)).toEqual(Array.from({ length: n - 2 }, (_, i) => i + 2));
  }, 60_000);
});

describe('a consumer group of pika and Go processes', () => {
  it('spreads 4 partitions over 3 processes; after one is killed (SIGKILL) every key is still processed in order, none skipped', async () => {
    const x = uid('mixed');
    const conn = await amqp.connect(w.url);
    const pub = await conn.createConfirmChannel();
    await pub.assertExchange(x, 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': 4 } });
    const pikaA = new PikaProcess(w.url, 'stream_groups', ['member', x, '4', 'g']);
    killers.push(() => pikaA.kill());
    await pikaA.waitForEvent((e) => e.event === 'ready', 'pika A ready');
    const go = new GoMember(w.url, x, 4, 'g');
    await waitFor(() => go.events.find((e) => e.event === 'ready'), 'go ready');
    const pikaB = new PikaProcess(w.url, 'stream_groups', ['member', x, '4', 'g']);
    killers.push(() => pikaB.kill());
    await pikaB.waitForEvent((e) => e.event === 'ready', 'pika B ready');
    await waitFor(async () => {
      const row = await groupRow(x, 'g');
      return row?.members === 3 && row.partitions.length === 4 && row.partitions.every((p) => p.state === 'active') ? true : undefined;
    }, 'group settled');
    // The members that lost partitions while the others joined heard basic.cancel.
    expect(pikaA.events.filter((e) => e.event === 'cancelled').length).toBeGreaterThan(0);

    const keys = 16;
    const per = 40;
    const round = async (from: number, to: number): Promise<void> => {
      for (let seq = from; seq < to; seq++) for (let k = 0; k < keys; k++) pub.publish(x, `key-${k}`, Buffer.from(JSON.stringify({ key: `key-${k}`, seq })));
      await pub.waitForConfirms();
    };
    const log = (): Processed[] => [
      ...pikaA.events.filter((e) => e.event === 'processed').map((e) => ({ member: 'pikaA', key: e.key as string, seq: e.seq as number })),
      ...pikaB.events.filter((e) => e.event === 'processed').map((e) => ({ member: 'pikaB', key: e.key as string, seq: e.seq as number })),
      ...go.events.filter((e) => e.event === 'processed').map((e) => ({ member: 'go', key: e.key as string, seq: e.seq as number })),
    ];
    await round(0, 20);
    await waitFor(() => (new Set(log().map((p) => `${p.key}/${p.seq}`)).size >= keys * 20 ? true : undefined), 'first half processed', 20_000);
    const before = log();
    const victim = before.some((p) => p.member === 'go') ? 'go' : 'pikaB';
    expect(before.some((p) => p.member === victim), 'the killed member was processing').toBe(true);
    if (victim === 'go') go.kill();
    else pikaB.kill();
    await round(20, per);
    await waitFor(() => (new Set(log().map((p) => `${p.key}/${p.seq}`)).size === keys * per ? true : undefined), 'every message processed', 30_000);
    checkKeys(log(), keys, per, victim);
    const row = (await groupRow(x, 'g'))!;
    expect(row.members).toBe(2);
    await conn.close();
  }, 90_000);
});
