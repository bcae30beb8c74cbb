// The active node's lease, in the PostgreSQL store's `leases` table. One row per scope
// ('broker' today: the whole broker has one writer); whoever holds it with an unexpired
// expires_at is active. Taking an expired lease bumps its epoch; every write transaction of the
// store checks holder and epoch inside the transaction (postgres/apply.ts), so a node that lost
// the lease (paused, partitioned) can never write again. All times are the database's (now()),
// so the nodes' clocks do not matter. Each node also reports itself in `nodes` every second.

import pg from 'pg';
import type { Logger } from 'pino';
import type { Fence } from '../store/postgres/apply.js';
import { connectPrimary, isConnectionLoss, parsePgUrl, type PgTarget } from '../store/postgres/hosts.js';
import { migrate } from '../store/postgres/schema.js';

export const BROKER_SCOPE = 'broker';
/** The channel a node that gives its lease up notifies on (a standby LISTENs, so it need not wait for its next look). */
const RELEASED = 'warren_lease_released';

export interface LeaseHolder {
  readonly holder: string;
  readonly epoch: number;
  readonly address: string;
  readonly httpAddress: string;
  /** '' when the active node has no AMQPS port. */
  readonly tlsAddress: string;
  readonly ageMs: number;
  /** ms until it expires (negative: expired that long ago), by the database's clock. */
  readonly remainingMs: number;
  readonly expired: boolean;
}

export interface NodeRow {
  readonly name: string;
  readonly role: string;
  readonly address: string;
  readonly httpAddress: string;
  readonly epoch: number;
  /** How long ago the node last reported itself (ms). */
  readonly lagMs: number;
}

export class LeaseClient {
  readonly #target: PgTarget;
  readonly #name: string;
  readonly #leaseMs: number;
  readonly #log: Logger;
  #client: pg.Client | null = null;
  #onReleased: (() => void) | null = null;

  constructor(url: string, name: string, leaseMs: number, log: Logger) {
    this.#target = parsePgUrl(url);
    this.#name = name;
    this.#leaseMs = leaseMs;
    this.#log = log;
  }

  get name(): string {
    return this.#name;
  }

  async #c(): Promise<pg.Client> {
    if (this.#client !== null) return this.#client;
    // The primary, when the URL lists several hosts (a Patroni cluster): the lease is written there.
    // Bounded, connecting and each answer: across a partition (a blackhole) neither fails by
    // itself for minutes, and a standby must keep looking, an active node keep deciding.
    const c = await connectPrimary(this.#target, {
      applicationName: `warren lease ${this.#name}`,
      connectTimeoutMs: Math.min(5000, this.#leaseMs),
      queryTimeoutMs: this.#leaseMs,
    });
    c.on('error', (err) => {
      this.#log.warn({ err: err.message }, 'lease connection lost; reconnecting');
      if (this.#client === c) this.#client = null;
    });
    // A takeover waits for a write transaction of the old holder (it holds the row FOR SHARE);
    // bounded, so a standby's poll never hangs: it tries again next time.
    await c.query("SET lock_timeout = '1s'");
    await c.query("SET statement_timeout = '5s'");
    if (this.#onReleased !== null) await this.#listen(c);
    this.#client = c;
    return c;
  }

  async #query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    const c = await this.#c();
    try {
      return await c.query<R>(text, values);
    } catch (e) {
      if (isConnectionLoss(e)) {
        if (this.#client === c) this.#client = null;
        c.end().catch(() => {});
      }
      throw e;
    }
  }

  /** Creates or upgrades the schema (the store does the same; whichever runs first does it). */
  async prepare(): Promise<void> {
    await migrate(await this.#c());
  }

  /** Takes the lease if it is free or expired; the new epoch, or null when another node holds it. */
  async tryAcquire(address: string, httpAddress: string, tlsAddress = ''): Promise<Fence | null> {
    const r = await this.#query<{ epoch: number }>(
      'INSERT INTO warren.leases AS l (scope, holder, epoch, renewed_at, expires_at, address, http_address, tls_address) ' +
        "VALUES ($1, $2, 1, now(), now() + $3 * interval '1 millisecond', $4, $5, $6) " +
        "ON CONFLICT (scope) DO UPDATE SET holder = $2, epoch = l.epoch + 1, renewed_at = now(), expires_at = now() + $3 * interval '1 millisecond', " +
        'address = $4, http_address = $5, tls_address = $6 WHERE l.expires_at < now() RETURNING epoch::float8 AS epoch',
      [BROKER_SCOPE, this.#name, this.#leaseMs, address, httpAddress, tlsAddress],
    );
    const row = r.rows[0];
    return row === undefined ? null : { scope: BROKER_SCOPE, holder: this.#name, epoch: row.epoch };
  }

  /** Extends the lease; false when it is no longer ours (another node took it). */
  async renew(fence: Fence): Promise<boolean> {
    const r = await this.#query(
      "UPDATE warren.leases SET renewed_at = now(), expires_at = now() + $4 * interval '1 millisecond' WHERE scope = $1 AND holder = $2 AND epoch = $3",
      [fence.scope, fence.holder, fence.epoch, this.#leaseMs],
    );
    return r.rowCount === 1;
  }

  /**
   * Gives the lease up (a planned stop): it expires now, so a standby takes it at its next look
   * instead of after a whole lease. Only once this node has stopped writing: the next holder
   * fences whatever it still sends.
   */
  async release(fence: Fence): Promise<boolean> {
    const r = await this.#query(
      "WITH u AS (UPDATE warren.leases SET expires_at = now() - interval '1 millisecond' WHERE scope = $1 AND holder = $2 AND epoch = $3 RETURNING scope) " +
        `SELECT pg_notify('${RELEASED}', scope) FROM u`,
      [fence.scope, fence.holder, fence.epoch],
    );
    return r.rowCount === 1;
  }

  /** Calls `wake` whenever a node gives the lease up. */
  async onReleased(wake: () => void): Promise<void> {
    this.#onReleased = wake;
    if (this.#client !== null) await this.#listen(this.#client);
  }

  async #listen(c: pg.Client): Promise<void> {
    c.on('notification', (n) => {
      if (n.channel === RELEASED) this.#onReleased?.();
    });
    await c.query(`LISTEN ${RELEASED}`);
  }

  /** Who holds the lease (null: nobody ever did). */
  async holder(): Promise<LeaseHolder | null> {
    const r = await this.#query<{ holder: string; epoch: number; address: string; http_address: string; tls_address: string; age_ms: number; remaining_ms: number; expired: boolean }>(
      'SELECT holder, epoch::float8 AS epoch, address, http_address, tls_address, (extract(epoch FROM now() - renewed_at) * 1000)::float8 AS age_ms, ' +
        '(extract(epoch FROM expires_at - now()) * 1000)::float8 AS remaining_ms, expires_at < now() AS expired ' +
        'FROM warren.leases WHERE scope = $1',
      [BROKER_SCOPE],
    );
    const row = r.rows[0];
    return row === undefined ? null : { holder: row.holder, epoch: row.epoch, address: row.address, httpAddress: row.http_address, tlsAddress: row.tls_address, ageMs: row.age_ms, remainingMs: row.remaining_ms, expired: row.expired };
  }

  /** Reports this node in `nodes`. */
  async report(role: string, address: string, httpAddress: string, epoch: number): Promise<void> {
    await this.#query(
      'INSERT INTO warren.nodes VALUES ($1, $2, $3, $4, now(), $5) ON CONFLICT (name) DO UPDATE SET role = $2, address = $3, http_address = $4, seen_at = now(), epoch = $5',
      [this.#name, role, address, httpAddress, epoch],
    );
  }

  async nodes(): Promise<NodeRow[]> {
    const r = await this.#query<{ name: string; role: string; address: string; http_address: string; epoch: number; lag_ms: number }>(
      'SELECT name, role, address, http_address, epoch::float8 AS epoch, (extract(epoch FROM now() - seen_at) * 1000)::float8 AS lag_ms FROM warren.nodes ORDER BY name',
      [],
    );
    return r.rows.map((n) => ({ name: n.name, role: n.role, address: n.address, httpAddress: n.http_address, epoch: n.epoch, lagMs: n.lag_ms }));
  }

  async close(): Promise<void> {
    const c = this.#client;
    this.#client = null;
    await c?.end().catch(() => {});
  }
}
