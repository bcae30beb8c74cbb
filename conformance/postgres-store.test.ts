// The PostgreSQL store end to end, with amqplib against the built broker (`--store postgres://`):
// kill -9 while publishing with confirms loses no confirmed message and invents none; a backlog
// longer than the in-memory window and delivered-but-unacked messages come back after kill -9.
// Skipped, saying so, when no PostgreSQL is available (conformance/postgres.ts).

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfirmChannel, GetMessage } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, postgresAvailable, stopPostgres } from './postgres.js';
import { startWarren, type WarrenProcess } from './warren-process.js';
import { connect, drain } from './drain.js';

const dirs: string[] = [];
const procs: WarrenProcess[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  stopPostgres();
});

async function start(url: string): Promise<WarrenProcess> {
  // The data directory is unused with --store postgres://; it is given so nothing lands in ./data.
  const d = mkdtempSync(join(tmpdir(), 'warren-pg-'));
  dirs.push(d);
  const p = await startWarren(d, ['--store', url]);
  procs.push(p);
  return p;
}



function bodyFor(id: string): string {
  return `${id}|${createHash('sha256').update(id).digest('hex')}|${'x'.repeat(200)}`;
}

function checkBody(body: string): string {
  const id = body.split('|')[0]!;
  expect(body).toBe(bodyFor(id));
  return id;
}

describe.skipIf(!postgresAvailable)('PostgreSQL store: kill -9 while publishing persistent messages with confirms', () => {
  it('keeps every confirmed message and invents none, over several kills in a row', async () => {
    const url = await freshDatabase();
    const everPublished = new Set<string>();
    const acked = new Set<string>();
    for (let round = 1; round <= 3; round++) {
      let broker = await start(url);
      const c = await connect(broker.url);
      const ch: ConfirmChannel = await c.createConfirmChannel();
      ch.on('error', () => {});
      await ch.assertQueue('pg-a', { durable: true });
      await ch.assertQueue('pg-b', { durable: true });
      await ch.assertExchange('pg-fan', 'fanout', { durable: true });
      await ch.bindQueue('pg-a', 'pg-fan', '');
      await ch.bindQueue('pg-b', 'pg-fan', '');
      const confirmedA = new Set<string>();
      const confirmedB = new Set<string>();
      let stop = false;
      const dropped = new Promise<void>((resolve) => c.once('close', () => resolve()));
      const publishing = (async () => {
        for (let i = 0; !stop; i++) {
          const fan = i % 3 !== 0;
          const id = `r${round}-${i}-${fan ? 'fan' : 'a'}`;
          everPublished.add(id);
          const done = (err: unknown): void => {
            if (err) return;
            confirmedA.add(id);
            if (fan) confirmedB.add(id);
          };
          try {
            if (fan) ch.publish('pg-fan', '', Buffer.from(bodyFor(id)), { persistent: true }, done);
            else ch.sendToQueue('pg-a', Buffer.from(bodyFor(id)), { persistent: true }, done);
          } catch {
            return;
          }
          if (i % 50 === 49) await Promise.race([ch.waitForConfirms().catch(() => undefined), dropped]);
        }
      })();
      await new Promise((r) => setTimeout(r, 500 + Math.floor(Math.random() * 900)));
      await broker.kill('SIGKILL');
      stop = true;
      await publishing;
      expect(confirmedA.size).toBeGreaterThan(0);

      broker = await start(url);
      const c2 = await connect(broker.url);
      const idsA = new Set((await drain(c2, 'pg-a')).map((m) => checkBody(m.body)));
      const idsB = new Set((await drain(c2, 'pg-b')).map((m) => checkBody(m.body)));
      for (const id of confirmedA) expect(idsA.has(id), `confirmed ${id} missing from pg-a`).toBe(true);
      for (const id of confirmedB) expect(idsB.has(id), `confirmed ${id} missing from pg-b`).toBe(true);
      for (const id of [...idsA, ...idsB]) {
        expect(everPublished.has(id), `${id} was never published`).toBe(true);
        expect(acked.has(id), `${id} was acked in an earlier round and came back`).toBe(false);
      }
      for (const id of idsB) expect(id.endsWith('-fan')).toBe(true);
      for (const id of [...idsA, ...idsB]) acked.add(id);
      await c2.close();
      await broker.kill('SIGTERM');
    }
  }, 180_000);
});

describe.skipIf(!postgresAvailable)('PostgreSQL store: restart after kill -9', () => {
  it('a backlog longer than the in-memory window comes back whole and in order; unacked deliveries come back redelivered', async () => {
    const url = await freshDatabase();
    let broker = await start(url);
    let c = await connect(broker.url);
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('pg-backlog', { durable: true });
    await ch.assertQueue('pg-unacked', { durable: true });
    const n = 6000;
    for (let i = 0; i < n; i++) ch.sendToQueue('pg-backlog', Buffer.from(`m${i}`), { persistent: true });
    for (let i = 0; i < 5; i++) ch.sendToQueue('pg-unacked', Buffer.from(`u${i}`), { persistent: true });
    await ch.waitForConfirms();
    // Take two of pg-unacked without acking them, and ack a third.
    const consumer = await c.createChannel();
    const a = (await consumer.get('pg-unacked', { noAck: false })) as GetMessage;
    const b = (await consumer.get('pg-unacked', { noAck: false })) as GetMessage;
    const acked = (await consumer.get('pg-unacked', { noAck: false })) as GetMessage;
    consumer.ack(acked);
    expect([a.content.toString(), b.content.toString(), acked.content.toString()]).toEqual(['u0', 'u1', 'u2']);
    // The ack is durable once a later confirm is (one batch after the other).
    await ch.assertQueue('pg-sync', { durable: true });
    ch.sendToQueue('pg-sync', Buffer.from('s'), { persistent: true });
    await ch.waitForConfirms();
    await broker.kill('SIGKILL');

    broker = await start(url);
    c = await connect(broker.url);
    const back = await drain(c, 'pg-backlog');
    expect(back.length).toBe(n);
    expect(back.every((m, i) => m.body === `m${i}` && !m.redelivered)).toBe(true);
    const unacked = await drain(c, 'pg-unacked');
    expect(unacked).toEqual([
      { body: 'u0', redelivered: true },
      { body: 'u1', redelivered: true },
      { body: 'u3', redelivered: false },
      { body: 'u4', redelivered: false },
    ]);
    await c.close();
    await broker.kill('SIGTERM');
  }, 120_000);
});
