// A store URL may list several PostgreSQL hosts, as libpq allows
// (postgres://u:p@h1:5432,h2:5433,[::1]:5434/db?target_session_attrs=read-write): a Patroni
// cluster's members. node-postgres connects to one host only, so connectPrimary tries them in
// turn and keeps the first that is the primary (pg_is_in_recovery() false and not read-only).
// Asking each server is what libpq's target_session_attrs=read-write does; it needs nothing
// but the servers themselves (no Patroni REST API to reach, configure or trust), and the answer
// comes from the server the writes will go to, so it cannot disagree with it.

import pg from 'pg';

export interface PgHost {
  readonly host: string;
  readonly port: number;
}

export interface PgTarget {
  /** The hosts in the order given. */
  readonly hosts: readonly PgHost[];
  /** One connection URL per host, in the same order (without target_session_attrs). */
  readonly urls: readonly string[];
  /** true unless target_session_attrs=any: the store writes, so by default only a primary will do. */
  readonly primaryOnly: boolean;
}

export class PgUrlError extends Error {
  override readonly name = 'PgUrlError';
}

/** Splits a (possibly multi-host) postgres:// URL into one URL per host. */
export function parsePgUrl(url: string): PgTarget {
  const m = /^(postgres(?:ql)?:\/\/)(?:([^@/]*)@)?([^/?#]*)(.*)$/.exec(url);
  if (m === null) throw new PgUrlError('not a postgres:// URL');
  const [, scheme, userinfo, hostList, rest] = m as unknown as [string, string, string | undefined, string, string];
  const hosts: PgHost[] = [];
  for (const part of hostList.split(',')) {
    const h = /^(\[[^\]]+\]|[^:[\]]*)(?::(\d{1,5}))?$/.exec(part);
    if (h === null || h[1] === '') throw new PgUrlError(`bad host "${part}" in the host list`);
    const port = h[2] === undefined ? 5432 : Number(h[2]);
    if (port < 1 || port > 65535) throw new PgUrlError(`bad port in "${part}"`);
    hosts.push({ host: h[1]!, port });
  }
  if (hosts.length > 64) throw new PgUrlError('more than 64 hosts in the host list');
  // target_session_attrs is libpq's, not node-postgres's: read here and left out of each URL.
  let primaryOnly = true;
  const q = rest.indexOf('?');
  let path = rest;
  if (q >= 0) {
    path = rest.slice(0, q);
    const params = new URLSearchParams(rest.slice(q + 1));
    const attrs = params.get('target_session_attrs');
    if (attrs !== null) {
      if (attrs === 'any') primaryOnly = false;
      else if (attrs !== 'read-write' && attrs !== 'primary') throw new PgUrlError(`target_session_attrs=${attrs} is not supported (read-write, primary or any)`);
      params.delete('target_session_attrs');
    }
    const left = params.toString();
    if (left !== '') path += `?${left}`;
  }
  const user = userinfo === undefined ? '' : `${userinfo}@`;
  return { hosts, urls: hosts.map((h) => `${scheme}${user}${h.host}:${h.port}${path}`), primaryOnly };
}

/** postgres://user:secret@h1,h2/db -> postgres://user@h1,h2/db (for logs and messages). */
export function redactPgUrl(url: string): string {
  const m = /^(postgres(?:ql)?:\/\/)(?:([^@/]*)@)?(.*)$/.exec(url);
  if (m === null) return 'postgres://(unparsable URL)';
  const user = m[2] === undefined ? '' : `${m[2].split(':')[0]}@`;
  return `${m[1]}${user}${m[3]}`;
}

/**
 * An error that says the connection (or the server behind it) is gone or is no longer the
 * primary, so the work should go to a fresh connection to the current primary: anything that is
 * not an error sent by the server (the socket died: ECONNRESET, EPIPE, "Connection terminated"),
 * and of the server's, class 08 (connection exception), 57P01-57P03 (shut down, crashed,
 * starting up) and 25006 (a read-only transaction: the server was demoted to a standby).
 */
export function isConnectionLoss(e: unknown): boolean {
  if (!(e instanceof pg.DatabaseError)) return true;
  const code = e.code ?? '';
  return code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '25006';
}

export interface ConnectOptions {
  readonly applicationName: string;
  /** Bound on connecting to one host (ms), so a dead host cannot hold up the others. */
  readonly connectTimeoutMs?: number;
  /**
   * Bound on each query's answer (ms; none by default). A partitioned network (a blackhole, not a
   * closed socket) would otherwise leave a query waiting for as long as TCP retransmits.
   */
  readonly queryTimeoutMs?: number;
  /** Called for each host tried and not kept, with why (logged by the caller). */
  readonly onSkip?: ((host: string, why: string) => void) | undefined;
}

export class NoPrimaryError extends Error {
  override readonly name = 'NoPrimaryError';
}

/**
 * Connects to each host in turn and returns the first connection to a primary (or to any
 * host with target_session_attrs=any); the others are closed. With one host this is a plain
 * connect plus one query. Throws NoPrimaryError, listing each host's reason, when none fits.
 */
export async function connectPrimary(target: PgTarget, options: ConnectOptions): Promise<pg.Client> {
  const reasons: string[] = [];
  for (let i = 0; i < target.urls.length; i++) {
    const where = `${target.hosts[i]!.host}:${target.hosts[i]!.port}`;
    const c = new pg.Client({
      connectionString: target.urls[i]!,
      application_name: options.applicationName,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      ...(options.queryTimeoutMs !== undefined ? { query_timeout: options.queryTimeoutMs } : {}),
    });
    // Until the caller installs its own: a connection that breaks must not crash the process.
    c.on('error', () => {});
    try {
      await c.connect();
      if (!target.primaryOnly) return c;
      const r = await c.query<{ recovery: boolean; ro: string }>("SELECT pg_is_in_recovery() AS recovery, current_setting('transaction_read_only') AS ro");
      const row = r.rows[0]!;
      if (!row.recovery && row.ro === 'off') return c;
      reasons.push(`${where}: ${row.recovery ? 'a standby (in recovery)' : 'read-only'}`);
    } catch (e) {
      reasons.push(`${where}: ${(e as Error).message}`);
    }
    options.onSkip?.(where, reasons[reasons.length - 1]!);
    c.end().catch(() => {});
  }
  throw new NoPrimaryError(target.hosts.length === 1 ? reasons[0]! : `no primary among ${target.hosts.length} hosts (${reasons.join('; ')})`);
}
