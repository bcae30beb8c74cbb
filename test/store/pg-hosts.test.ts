// The PostgreSQL store over a host list: the URL parsing, the choice of the primary among a
// primary and its streaming standby (pg_basebackup), and a primary switch in the middle of a
// COMMIT: the node must not confirm a batch on the old primary's word. Two throwaway servers;
// skipped (with a message) without PostgreSQL's binaries.

import { afterEach, describe, expect, it } from 'vitest';
import { BIN, caughtUp, freePort, pgCtl, primaryAndStandby, sql, stopPairs, until } from '../../conformance/postgres-pair.js';
import { silentLogger } from '../../src/logger.js';
import { Message } from '../../src/message.js';
import { parsePgUrl, redactPgUrl } from '../../src/store/postgres/hosts.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import type { WriteRange } from '../../src/store/store.js';

describe('postgres:// host lists', () => {
  it('refuses a host list longer than 64 hosts (every host may be tried at each reconnect)', () => {
    const list = (n: number): string => Array.from({ length: n }, (_, i) => `h${i}:5432`).join(',');
    expect(parsePgUrl(`postgres://u:p@${list(64)}/db`).hosts).toHaveLength(64);
    expect(() => parsePgUrl(`postgres://u:p@${list(65)}/db`)).toThrow('more than 64 hosts in the host list');
  });

  it('splits a libpq-style host list into one URL per host', () => {
    const t = parsePgUrl('postgres://u:p%40ss@h1:5432,h2:5433,[::1]:5434,h4/db?target_session_attrs=read-write&sslmode=disable');
    expect(t.hosts).toEqual([
      { host: 'h1', port: 5432 },
      { host: 'h2', port: 5433 },
      { host: '[::1]', port: 5434 },
      { host: 'h4', port: 5432 },
    ]);
    expect(t.urls).toEqual([
      'postgres://u:p%40ss@h1:5432/db?sslmode=disable',
      'postgres://u:p%40ss@h2:5433/db?sslmode=disable',
      'postgres://u:p%40ss@[::1]:5434/db?sslmode=disable',
      'postgres://u:p%40ss@h4:5432/db?sslmode=disable',
    ]);
    expect(t.primaryOnly).toBe(true);
    expect(parsePgUrl('postgresql://h/db?target_session_attrs=any').primaryOnly).toBe(false);
    expect(() => parsePgUrl('postgres://u@h1:5432,,h2/db')).toThrow(/bad host/);
    expect(() => parsePgUrl('postgres://h1:99999/db')).toThrow(/bad port/);
    expect(() => parsePgUrl('postgres://h1/db?target_session_attrs=standby')).toThrow(/not supported/);
    expect(redactPgUrl('postgres://u:secret@h1:1,h2:2/db')).toBe('postgres://u@h1:1,h2:2/db');
  });
});

const Q = { vhost: '/', name: 'q', storeQueueId: 0 };
let seq = 0;

/** Stores one persistent message; resolves with whether its batch committed (confirm) or failed (nack). */
function publish(store: PgStore, body: string): Promise<'confirmed' | 'failed'> {
  const m = Message.fromProperties('', 'q', { deliveryMode: 2 }, Buffer.from(body));
  store.appendMessage(Q, { seq: ++seq, size: m.size, storeId: 0, storeState: 0, storeMulti: false, priority: 0, expiresAt: 0, deliveryCount: 0 }, m);
  const mine = store.writeSeq;
  return new Promise((resolve) => {
    store.onDurable((durable: number, failed: WriteRange | null) => {
      if (failed !== null && mine > failed.from && mine <= failed.to) resolve('failed');
      else if (durable >= mine) resolve('confirmed');
    });
  });
}

async function bodies(url: string): Promise<string[]> {
  return (await sql<{ body: Buffer }>(url, 'SELECT body FROM warren.messages ORDER BY id')).map((r) => r.body.toString());
}

/**
 * A COMMIT that cannot finish on the primary (synchronous_standby_names names nobody: it is
 * written there but waits, as it does while a synchronous standby is slow); the primary then
 * dies and the standby is promoted. `replicated` says whether the standby received it first.
 */
async function commitInDoubt(replicated: boolean): Promise<{ outcome: string; onNew: string[]; fatal: string[] }> {
  const [primary, standby] = await primaryAndStandby();
  const fatal: string[] = [];
  const store = await PgStore.open(`postgres://warren@127.0.0.1:${standby.port},127.0.0.1:${primary.port}/postgres`, silentLogger, { fatal: (_e, what) => fatal.push(what) });
  store.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
  expect(await publish(store, 'one')).toBe('confirmed');
  await caughtUp(primary, standby);
  if (!replicated) {
    // The standby stops receiving WAL: what the primary writes from now on is only there.
    await sql(standby.url, "ALTER SYSTEM SET primary_conninfo = ''");
    await sql(standby.url, 'SELECT pg_reload_conf()');
    await until('the standby to stop streaming', async () => (await sql(primary.url, 'SELECT 1 FROM pg_stat_replication')).length === 0);
  }
  await sql(primary.url, "ALTER SYSTEM SET synchronous_standby_names = 'nobody'");
  await sql(primary.url, 'SELECT pg_reload_conf()');
  const second = publish(store, 'two');
  await until('the COMMIT to wait for a synchronous standby', async () => (await sql(primary.url, "SELECT 1 FROM pg_stat_activity WHERE wait_event = 'SyncRep'")).length > 0);
  if (replicated) await caughtUp(primary, standby);
  pgCtl(primary, '-m', 'immediate', '-w', 'stop');
  pgCtl(standby, '-w', 'promote');
  const outcome = await second;
  const onNew = await bodies(standby.url);
  expect(await publish(store, 'three')).toBe('confirmed');
  await store.close();
  return { outcome, onNew, fatal };
}

afterEach(() => stopPairs());

describe.skipIf(BIN === null)('PostgreSQL store following the primary', () => {
  it('chooses the primary whatever the order of the host list, skipping a standby and a dead host', async () => {
    const [primary, standby] = await primaryAndStandby();
    const dead = await freePort();
    const store = await PgStore.open(`postgres://warren@127.0.0.1:${dead},127.0.0.1:${standby.port},127.0.0.1:${primary.port}/postgres?target_session_attrs=read-write`, silentLogger);
    store.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    expect(await publish(store, 'hello')).toBe('confirmed');
    expect(await bodies(primary.url)).toEqual(['hello']);
    expect((await sql<{ r: boolean }>(standby.url, 'SELECT pg_is_in_recovery() AS r'))[0]!.r).toBe(true);
    await store.close();
  }, 120_000);

  it('follows a switch: a COMMIT lost with the old primary and missing on the new one is applied again there, then confirmed', async () => {
    const r = await commitInDoubt(false);
    expect(r.outcome).toBe('confirmed');
    expect(r.onNew).toEqual(['one', 'two']);
    expect(r.fatal).toEqual([]);
  }, 120_000);

  it('follows a switch: a COMMIT lost with the old primary but present on the new one is confirmed, not applied twice', async () => {
    const r = await commitInDoubt(true);
    expect(r.outcome).toBe('confirmed');
    expect(r.onNew).toEqual(['one', 'two']);
    expect(r.fatal).toEqual([]);
  }, 120_000);
});
