// Two throwaway PostgreSQL servers, a primary and its streaming standby (pg_basebackup -R), on
// free loopback ports in temporary directories: for the tests of a store that follows the
// primary over a host list (test/store/pg-hosts.test.ts, conformance/pg-failover.test.ts).
// BIN is null when PostgreSQL's binaries are not installed; the tests then skip, saying so.

import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './rabbitmq-node.js';

export { freePort };

export function pgBin(): string | null {
  for (const d of ['/usr/lib/postgresql']) {
    if (!existsSync(d)) continue;
    const v = readdirSync(d).sort((a, b) => Number(b) - Number(a)).find((x) => existsSync(join(d, x, 'bin/initdb')));
    if (v !== undefined) return join(d, v, 'bin');
  }
  return null;
}
export const BIN = pgBin();
if (BIN === null) console.warn('PostgreSQL host-list tests SKIPPED: no PostgreSQL binaries found (apt-get install -y postgresql)');
const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];

function run(cmd: string, args: string[]): string {
  const all = [...asPostgres, cmd, ...args];
  return execFileSync(all[0]!, all.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface Server {
  readonly dir: string;
  readonly port: number;
  readonly url: string;
}

const started: Server[] = [];

/** pg_ctl without blocking the event loop (clients keep running meanwhile). */
export function pgCtlAsync(s: Server, ...args: string[]): Promise<void> {
  const all = [...asPostgres, join(BIN!, 'pg_ctl'), '-D', join(s.dir, 'data'), ...args];
  return new Promise((resolve, reject) => execFile(all[0]!, all.slice(1), (err) => (err ? reject(err) : resolve())));
}

export function pgCtl(s: Server, ...args: string[]): void {
  run(join(BIN!, 'pg_ctl'), ['-D', join(s.dir, 'data'), ...args]);
}

function startServer(s: Server): void {
  pgCtl(s, '-l', join(s.dir, 'log'), '-w', '-t', '60', '-o', `-p ${s.port} -k ${s.dir} -c listen_addresses=127.0.0.1`, 'start');
}

async function newDir(): Promise<{ dir: string; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'warren-pgh-'));
  chmodSync(dir, 0o755);
  if (asPostgres.length > 0) execFileSync('chown', ['postgres', dir]);
  return { dir, port: await freePort() };
}

/**
 * A primary and its streaming standby. `synchronous`: every COMMIT on the primary waits until
 * the standby has flushed it (synchronous_standby_names = '*'), as under Patroni's
 * synchronous_mode; without it, what the primary committed last may be missing after a promotion.
 */
export async function primaryAndStandby(synchronous = false): Promise<[Server, Server]> {
  const a = await newDir();
  run(join(BIN!, 'initdb'), ['-D', join(a.dir, 'data'), '-U', 'warren', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const primary = { ...a, url: `postgres://warren@127.0.0.1:${a.port}/postgres` };
  started.push(primary);
  startServer(primary);
  const b = await newDir();
  run(join(BIN!, 'pg_basebackup'), ['-h', '127.0.0.1', '-p', String(a.port), '-U', 'warren', '-D', join(b.dir, 'data'), '-R', '-X', 'stream', '--no-sync']);
  const standby = { ...b, url: `postgres://warren@127.0.0.1:${b.port}/postgres` };
  started.push(standby);
  startServer(standby);
  if (synchronous) {
    await sql(primary.url, "ALTER SYSTEM SET synchronous_standby_names = '*'");
    await sql(primary.url, 'SELECT pg_reload_conf()');
    await until('the standby to be synchronous', async () => (await sql(primary.url, "SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'")).length > 0);
  }
  return [primary, standby];
}

/** Stops (immediately) and removes every server started so far. */
export function stopPairs(): void {
  for (const s of started.splice(0)) {
    try {
      pgCtl(s, '-m', 'immediate', '-w', 'stop');
    } catch {
      // already stopped
    }
    rmSync(s.dir, { recursive: true, force: true });
  }
}

export async function sql<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text)).rows;
  } finally {
    await c.end();
  }
}

export async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Until the standby has replayed everything the primary has written so far. */
export async function caughtUp(primary: Server, standby: Server): Promise<void> {
  const lsn = (await sql<{ lsn: string }>(primary.url, 'SELECT pg_current_wal_lsn()::text AS lsn'))[0]!.lsn;
  await until('the standby to catch up', async () => (await sql<{ ok: boolean }>(standby.url, `SELECT pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn AS ok`))[0]!.ok);
}

