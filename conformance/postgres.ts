// A PostgreSQL for the PostgreSQL store's tests (unit and conformance): WARREN_TEST_POSTGRES (the URL of a
// running server) or, when PostgreSQL's binaries are installed, a throwaway one started by
// conformance/postgres-temp.sh for this test file. Each test gets a database of its own.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const script = join(dirname(fileURLToPath(import.meta.url)), 'postgres-temp.sh');

function binariesInstalled(): boolean {
  if (existsSync('/usr/local/bin/initdb') || existsSync('/usr/bin/initdb')) return true;
  try {
    return readdirSync('/usr/lib/postgresql').some((v) => existsSync(join('/usr/lib/postgresql', v, 'bin/initdb')));
  } catch {
    return false;
  }
}

/** Whether the PostgreSQL tests can run; when not, says why once. */
export const postgresAvailable: boolean = (() => {
  if (process.env['WARREN_TEST_POSTGRES']) return true;
  if (binariesInstalled()) return true;
  console.warn('PostgreSQL store tests SKIPPED: no PostgreSQL binaries found (apt-get install -y postgresql) and WARREN_TEST_POSTGRES is not set');
  return false;
})();

let server: { url: string; dir: string | null } | null = null;

function serverUrl(): string {
  if (server === null) {
    const given = process.env['WARREN_TEST_POSTGRES'];
    if (given) server = { url: given, dir: null };
    else {
      const [url, dir] = execFileSync(script, ['start'], { encoding: 'utf8' }).trim().split(' ');
      server = { url: url!, dir: dir! };
    }
  }
  return server.url;
}

/** A new, empty database on the test server; its URL. */
export async function freshDatabase(): Promise<string> {
  const base = serverUrl();
  const name = `warren_test_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e9).toString(36)}`;
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Stops the server this file started (none when WARREN_TEST_POSTGRES was given). */
export function stopPostgres(): void {
  if (server?.dir) execFileSync(script, ['stop', server.dir]);
  server = null;
}
