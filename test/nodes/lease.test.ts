// The lease and fencing on PostgreSQL: one holder at a time, an expired lease is taken with a
// new epoch, the old holder can neither renew nor write (its store's transactions check the
// epoch and fail), and the new holder writes. Expiry is forced in the database, not waited for.

import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { Message } from '../../src/message.js';
import { LeaseClient } from '../../src/nodes/lease.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import { freshDatabase, postgresAvailable, stopPostgres } from '../../conformance/postgres.js';

afterAll(() => stopPostgres());

async function sql(url: string, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

describe.skipIf(!postgresAvailable)('lease and fencing', () => {
  it('one holder at a time; an expired lease is taken with the next epoch; the old holder can no longer renew', async () => {
    const url = await freshDatabase();
    const a = new LeaseClient(url, 'a', 60_000, silentLogger);
    const b = new LeaseClient(url, 'b', 60_000, silentLogger);
    await a.prepare();
    const fa = await a.tryAcquire('127.0.0.1:1', '127.0.0.1:2');
    expect(fa).toEqual({ scope: 'broker', holder: 'a', epoch: 1 });
    expect(await b.tryAcquire('127.0.0.1:3', '127.0.0.1:4')).toBeNull();
    expect(await a.renew(fa!)).toBe(true);
    expect(await b.holder()).toMatchObject({ holder: 'a', epoch: 1, address: '127.0.0.1:1', httpAddress: '127.0.0.1:2', tlsAddress: '', expired: false });
    await sql(url, "UPDATE warren.leases SET expires_at = now() - interval '1 second'");
    const fb = await b.tryAcquire('127.0.0.1:3', '127.0.0.1:4', '127.0.0.1:5');
    expect(fb).toEqual({ scope: 'broker', holder: 'b', epoch: 2 });
    expect(await a.holder()).toMatchObject({ holder: 'b', tlsAddress: '127.0.0.1:5' });
    expect(await a.renew(fa!)).toBe(false);
    await a.report('standby', '127.0.0.1:1', '', 1);
    await b.report('active', '127.0.0.1:3', '', 2);
    expect((await a.nodes()).map((n) => [n.name, n.role, n.epoch])).toEqual([
      ['a', 'standby', 1],
      ['b', 'active', 2],
    ]);
    await a.close();
    await b.close();
  });

  it('a store writing under a lost epoch writes nothing and reports it as fatal; the new holder writes', async () => {
    const url = await freshDatabase();
    const a = new LeaseClient(url, 'a', 60_000, silentLogger);
    await a.prepare();
    const fa = (await a.tryAcquire('h:1', 'h:2'))!;
    const fatal: string[] = [];
    const old = await PgStore.open(url, silentLogger, { fence: fa, fatal: (_e, what) => fatal.push(what) });
    old.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    await old.whenIdle();
    expect(fatal).toEqual([]);

    // b takes the expired lease; a's store does not know yet.
    await sql(url, "UPDATE warren.leases SET expires_at = now() - interval '1 second'");
    const b = new LeaseClient(url, 'b', 60_000, silentLogger);
    const fb = (await b.tryAcquire('h:3', 'h:4'))!;
    const m = Message.fromProperties('', 'q', { deliveryMode: 2 }, Buffer.from('late'));
    old.appendMessage({ vhost: '/', name: 'q', storeQueueId: 0 }, { seq: 1, size: m.size, storeId: 0, storeState: 0, storeMulti: false, priority: 0, expiresAt: 0, deliveryCount: 0 }, m);
    old.saveExchange({ vhost: '/', name: 'x', type: 'direct', autoDelete: false, internal: false, arguments: new Map() });
    await new Promise<void>((resolve) => {
      const wait = (): void => (fatal.length > 0 ? resolve() : void setTimeout(wait, 20));
      wait();
    });
    expect(fatal[0]).toMatch(/lost its lease/);
    expect((await sql(url, 'SELECT count(*)::int AS n FROM warren.messages')).rows[0]).toEqual({ n: 0 });
    expect((await sql(url, 'SELECT count(*)::int AS n FROM warren.exchanges')).rows[0]).toEqual({ n: 0 });

    const next = await PgStore.open(url, silentLogger, { fence: fb });
    expect(next.loadDefinitions().queues.map((q) => q.name)).toEqual(['q']);
    next.saveExchange({ vhost: '/', name: 'x', type: 'direct', autoDelete: false, internal: false, arguments: new Map() });
    await next.whenIdle();
    expect((await sql(url, 'SELECT count(*)::int AS n FROM warren.exchanges')).rows[0]).toEqual({ n: 1 });
    await next.close();
    await a.close();
    await b.close();
  });

  it('a schema of version 2 is upgraded in place: leases gains tls_address, stream_chunks is made (4), the lease row kept', async () => {
    const url = await freshDatabase();
    const a = new LeaseClient(url, 'a', 60_000, silentLogger);
    await a.prepare();
    await a.tryAcquire('h:1', 'h:2', 'h:3');
    await a.close();
    // As a version-2 warren left it.
    await sql(url, 'ALTER TABLE warren.leases DROP COLUMN tls_address; DROP TABLE warren.stream_chunks; UPDATE warren.schema_version SET version = 2');
    const b = new LeaseClient(url, 'b', 60_000, silentLogger);
    await b.prepare();
    expect((await sql(url, 'SELECT version FROM warren.schema_version')).rows).toEqual([{ version: 4 }]);
    expect((await sql(url, 'SELECT count(*)::int AS n FROM warren.stream_chunks')).rows).toEqual([{ n: 0 }]);
    expect(await b.holder()).toMatchObject({ holder: 'a', epoch: 1, address: 'h:1', tlsAddress: '' });
    await b.close();
  });

  it('a warm store (a standby\'s) reads nothing until activated, then sees what the active node wrote meanwhile', async () => {
    const url = await freshDatabase();
    const a = new LeaseClient(url, 'a', 60_000, silentLogger);
    await a.prepare();
    const warm = await PgStore.warm(url, silentLogger);
    const fa = (await a.tryAcquire('h:1', 'h:2'))!;
    const active = await PgStore.open(url, silentLogger, { fence: fa });
    active.saveQueue({ vhost: '/', name: 'written-while-warm', autoDelete: false, arguments: new Map() });
    await active.whenIdle();
    await active.close();
    await sql(url, "UPDATE warren.leases SET expires_at = now() - interval '1 second'");
    const b = new LeaseClient(url, 'b', 60_000, silentLogger);
    const fb = (await b.tryAcquire('h:3', 'h:4'))!;
    const store = await warm.activate(fb);
    expect(store.loadDefinitions().queues.map((q) => q.name)).toEqual(['written-while-warm']);
    // It writes under b's epoch (a queue id after the one a used).
    store.saveQueue({ vhost: '/', name: 'after', autoDelete: false, arguments: new Map() });
    await store.whenIdle();
    expect((await sql(url, 'SELECT id::int, encode(name, \'escape\') AS name FROM warren.queues ORDER BY id')).rows).toEqual([
      { id: 1, name: 'written-while-warm' },
      { id: 2, name: 'after' },
    ]);
    await store.close();
    await a.close();
    await b.close();
  });
});
