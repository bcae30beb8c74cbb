// The PostgreSQL store end to end, with amqplib against the built broker (`--store postgres://`):
// kill -9 while publishing with confirms loses no confirmed message and invents none; a backlog
// longer than the in-memory window and delivered-but-unacked messages come back after kill -9.
// Skipped, saying so, when no PostgreSQL is available (conformance/postgres.ts).

import type { GetMessage } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabase, postgresAvailable, stopPostgres } from './postgres.js';
import type { WarrenProcess } from './warren-process.js';
import { warrenFixture } from './warren-fixture.js';
import { connect, drain } from './drain.js';
import { killWhilePublishing } from './kill9-publishing.js';

// Registered first, so it runs after the fixture's brokers are killed (vitest runs afterAll hooks last-in, first-out).
afterAll(() => stopPostgres());
const warren = warrenFixture('pg');

/** The data directory is unused with --store postgres://; it is given so nothing lands in ./data. */
function start(url: string): Promise<WarrenProcess> {
  return warren.start(warren.tempDir(), ['--store', url]);
}

describe.skipIf(!postgresAvailable)('PostgreSQL store: kill -9 while publishing persistent messages with confirms', () => {
  it('keeps every confirmed message and invents none, over several kills in a row', async () => {
    const url = await freshDatabase();
    await killWhilePublishing({ start: () => start(url), rounds: 3, prefix: 'pg', minRunMs: 500 });
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
