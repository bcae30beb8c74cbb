// The kill -9 check every store must pass, shared by the SQLite and PostgreSQL suites: publish
// persistent messages with confirms (a fanout to two durable queues, and every third message
// straight to one of them), kill -9 the broker at a random moment, restart it, and check that
// every confirmed message is back undamaged, nothing was invented, and nothing acked in an
// earlier round comes back. Several rounds in a row on the same store.

import { createHash } from 'node:crypto';
import type { ConfirmChannel } from 'amqplib';
import { expect } from 'vitest';
import type { WarrenProcess } from './warren-process.js';
import { connect, drain } from './drain.js';

/** The body published for message `id`: the id plus a digest of it, so damage is detectable. */
export function bodyFor(id: string): string {
  return `${id}|${createHash('sha256').update(id).digest('hex')}|${'x'.repeat(200)}`;
}

/** The id of a body, after checking it is exactly what was published for that id. */
export function checkBody(body: string): string {
  const id = body.split('|')[0]!;
  expect(body).toBe(bodyFor(id));
  return id;
}

export interface KillRounds {
  /** Starts the broker on the same store each time. */
  start(): Promise<WarrenProcess>;
  rounds: number;
  /** Names of the queues and exchange: `<prefix>-a`, `<prefix>-b`, `<prefix>-fan`. */
  prefix: string;
  /** The shortest time to publish before the kill; a random 0-900 ms is added. */
  minRunMs: number;
}

export async function killWhilePublishing(o: KillRounds): Promise<void> {
  const [qa, qb, fanout] = [`${o.prefix}-a`, `${o.prefix}-b`, `${o.prefix}-fan`];
  const everPublished = new Set<string>();
  const acked = new Set<string>(); // consumed and acked in an earlier round: must never come back
  for (let round = 1; round <= o.rounds; round++) {
    let broker = await o.start();
    const c = await connect(broker.url);
    const ch: ConfirmChannel = await c.createConfirmChannel();
    ch.on('error', () => {});
    await ch.assertQueue(qa, { durable: true });
    await ch.assertQueue(qb, { durable: true });
    await ch.assertExchange(fanout, 'fanout', { durable: true });
    await ch.bindQueue(qa, fanout, '');
    await ch.bindQueue(qb, fanout, '');
    const confirmedA = new Set<string>();
    const confirmedB = new Set<string>();
    let stop = false;
    // Outstanding confirms never settle once the broker is gone; stop waiting when the connection drops.
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
          if (fan) ch.publish(fanout, '', Buffer.from(bodyFor(id)), { persistent: true }, done);
          else ch.sendToQueue(qa, Buffer.from(bodyFor(id)), { persistent: true }, done);
        } catch {
          return;
        }
        if (i % 50 === 49) await Promise.race([ch.waitForConfirms().catch(() => undefined), dropped]);
      }
    })();
    // Let it run for a random moment, then pull the plug.
    await new Promise((r) => setTimeout(r, o.minRunMs + Math.floor(Math.random() * 900)));
    await broker.kill('SIGKILL');
    stop = true;
    await publishing;
    expect(confirmedA.size).toBeGreaterThan(0);

    broker = await o.start();
    const c2 = await connect(broker.url);
    const idsA = new Set((await drain(c2, qa)).map((m) => checkBody(m.body)));
    const idsB = new Set((await drain(c2, qb)).map((m) => checkBody(m.body)));
    for (const id of confirmedA) expect(idsA.has(id), `confirmed ${id} missing from ${qa}`).toBe(true);
    for (const id of confirmedB) expect(idsB.has(id), `confirmed ${id} missing from ${qb}`).toBe(true);
    for (const id of [...idsA, ...idsB]) {
      expect(everPublished.has(id), `${id} was never published`).toBe(true);
      expect(acked.has(id), `${id} was acked in an earlier round and came back`).toBe(false);
    }
    for (const id of idsB) expect(id.endsWith('-fan'), `${id} reached ${qb} without going through the fanout`).toBe(true);
    for (const id of [...idsA, ...idsB]) acked.add(id);
    await c2.close();
    await broker.kill('SIGTERM');
  }
}
