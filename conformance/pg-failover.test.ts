// A PostgreSQL primary switch under a running warren, through amqplib: warren's --store lists a
// synchronous standby and its primary (a COMMIT returns once the standby has it, as under
// Patroni's synchronous_mode; with an asynchronous standby a promotion may lose the last
// commits). A publisher with confirms keeps publishing while the primary is stopped
// (immediate: as if killed) and the standby promoted. warren finds the new primary, commits
// there what was waiting, and carries on on the same AMQP connection: every confirmed message
// is then consumed exactly once, and nothing unpublished appears. Skipped, saying so, without
// PostgreSQL's binaries (conformance/postgres-pair.ts).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type GetMessage } from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, caughtUp, pgCtlAsync, primaryAndStandby, stopPairs } from './postgres-pair.js';
import { startWarren, type WarrenProcess } from './warren-process.js';

const dirs: string[] = [];
const procs: WarrenProcess[] = [];
afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  stopPairs();
});

describe.skipIf(BIN === null)('warren on a PostgreSQL primary that fails over', () => {
  it('follows the promoted standby: confirmed messages are all there once, none invented', async () => {
    const [primary, standby] = await primaryAndStandby(true);
    const d = mkdtempSync(join(tmpdir(), 'warren-pgf-'));
    dirs.push(d);
    const w = await startWarren(d, ['--store', `postgres://warren@127.0.0.1:${standby.port},127.0.0.1:${primary.port}/postgres?target_session_attrs=read-write`]);
    procs.push(w);
    const conn = await amqp.connect(w.url);
    conn.on('error', () => {});
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('q', { durable: true });
    const confirmed: string[] = [];
    const nacked: string[] = [];
    const publish = (i: number): Promise<void> =>
      new Promise((resolve) => {
        const body = `m${i}`;
        ch.publish('', 'q', Buffer.from(body), { persistent: true }, (err) => {
          (err ? nacked : confirmed).push(body);
          resolve();
        });
      });
    const before: Promise<void>[] = [];
    for (let i = 0; i < 200; i++) before.push(publish(i));
    await Promise.all(before);
    await caughtUp(primary, standby);
    // Publishes go on, one after another, while the primary goes away and the standby is promoted.
    let next = 200;
    let switching = true;
    const publisher = (async () => {
      while (switching || next < 400) await publish(next++);
    })();
    await new Promise((r) => setTimeout(r, 200));
    await pgCtlAsync(primary, '-m', 'immediate', '-w', 'stop');
    await new Promise((r) => setTimeout(r, 500));
    await pgCtlAsync(standby, '-w', 'promote');
    switching = false;
    const during = [publisher];
    await Promise.all(during);
    expect(nacked).toEqual([]);
    expect(confirmed).toHaveLength(next);
    // The switch did happen under warren's writes, and it found the new primary.
    expect(w.output()).toContain('connection lost during a batch');
    expect(w.output()).toContain(`connected to the primary 127.0.0.1:${standby.port}`);

    // Consumed after a kill -9 and a restart, so what counts is what the new primary holds.
    await conn.close().catch(() => {});
    await w.kill('SIGKILL');
    const again = await startWarren(d, ['--store', `postgres://warren@127.0.0.1:${primary.port},127.0.0.1:${standby.port}/postgres`]);
    procs.push(again);
    const c2 = await amqp.connect(again.url);
    const ch2 = await c2.createChannel();
    const got: string[] = [];
    for (;;) {
      const m = (await ch2.get('q', { noAck: true })) as GetMessage | false;
      if (m === false) break;
      got.push(m.content.toString());
    }
    await c2.close();
    expect(got.sort()).toEqual([...confirmed].sort());
  }, 180_000);
});
