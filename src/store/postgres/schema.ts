// The PostgreSQL layout (schema `warren`), created and upgraded by warren at start. The same
// tables as the SQLite store (sqlite/schema.ts), plus `leases`: which node is active, with the
// epoch every write transaction checks (fencing, see lease.ts). Names a client chose are bytea,
// not text: AMQP short strings may hold NUL bytes, which a PostgreSQL text value cannot.

import type { ClientBase } from 'pg';

/** 1: first version; 2: warren.commits; 3: leases.tls_address; 4: warren.stream_chunks. A database from a newer warren is refused untouched. */
export const PG_SCHEMA_VERSION = 4;

/**
 * Each store writer's last committed batch id, written in the batch's own transaction: after a
 * connection lost during COMMIT, it tells whether that COMMIT happened (worker.ts).
 */
const COMMITS = 'CREATE TABLE warren.commits (writer text PRIMARY KEY, batch bigint NOT NULL, at timestamptz NOT NULL);';

/** The active node's advertised AMQPS address ('' when it has no TLS port): standbys forward their TLS port there. */
const LEASE_TLS = "ALTER TABLE warren.leases ADD COLUMN tls_address text NOT NULL DEFAULT '';";

/**
 * Streams' records (stream/pg-log.ts): a row per chunk, the records one batch appended to a
 * stream (or up to 1 MiB of them), laid out as in a segment file (stream/record.ts). `pos` is
 * the chunk's byte position in the stream's log, `segment` the first offset of the segment it
 * belongs to: retention deletes a segment's chunks at once (pos below the next segment's).
 */
const STREAM_CHUNKS = `
CREATE TABLE warren.stream_chunks (
  queue_id bigint NOT NULL, pos bigint NOT NULL, segment bigint NOT NULL,
  first_offset bigint NOT NULL, last_offset bigint NOT NULL, first_ts bigint NOT NULL, last_ts bigint NOT NULL,
  bytes integer NOT NULL, records bytea NOT NULL,
  PRIMARY KEY (queue_id, pos)
);
ALTER TABLE warren.stream_chunks ALTER COLUMN records SET STORAGE EXTERNAL;`;

/** Upgrades from each older version, in order: MIGRATIONS[v] goes from v to v + 1. */
const MIGRATIONS: Readonly<Record<number, string>> = { 1: COMMITS, 2: LEASE_TLS, 3: STREAM_CHUNKS };

const SCHEMA = `
CREATE TABLE warren.schema_version (version integer NOT NULL);
CREATE TABLE warren.exchanges (
  vhost bytea NOT NULL, name bytea NOT NULL, type bytea NOT NULL,
  auto_delete boolean NOT NULL, internal boolean NOT NULL, arguments bytea NOT NULL,
  PRIMARY KEY (vhost, name)
);
CREATE TABLE warren.queues (
  id bigint PRIMARY KEY, vhost bytea NOT NULL, name bytea NOT NULL,
  auto_delete boolean NOT NULL, arguments bytea NOT NULL, UNIQUE (vhost, name)
);
CREATE TABLE warren.bindings (
  key bytea PRIMARY KEY, vhost bytea NOT NULL, source bytea NOT NULL, destination bytea NOT NULL,
  destination_kind text NOT NULL, routing_key bytea NOT NULL, arguments bytea NOT NULL
);
CREATE TABLE warren.users (name bytea PRIMARY KEY, password_hash text NOT NULL, hashing_algorithm text NOT NULL, tags text NOT NULL);
CREATE TABLE warren.vhosts (name bytea PRIMARY KEY, description bytea NOT NULL, tags text NOT NULL);
CREATE TABLE warren.permissions (
  user_name bytea NOT NULL, vhost bytea NOT NULL, configure bytea NOT NULL, write bytea NOT NULL, read bytea NOT NULL,
  PRIMARY KEY (user_name, vhost)
);
CREATE TABLE warren.limits (scope text NOT NULL, name bytea NOT NULL, value text NOT NULL, PRIMARY KEY (scope, name));
-- Policies and operator policies (kind 'policy' or 'operator'): value is their JSON.
CREATE TABLE warren.policies (kind text NOT NULL, vhost bytea NOT NULL, name bytea NOT NULL, value text NOT NULL, PRIMARY KEY (kind, vhost, name));
CREATE TABLE warren.stream_readers (
  vhost bytea NOT NULL, stream bytea NOT NULL, reader bytea NOT NULL, position bigint NOT NULL,
  PRIMARY KEY (vhost, stream, reader)
);
-- One row per stored message, however many queues hold it; refs counts those queues.
CREATE TABLE warren.messages (
  id bigint PRIMARY KEY, refs integer NOT NULL, exchange bytea NOT NULL, routing_key bytea NOT NULL,
  header bytea NOT NULL, body bytea NOT NULL
);
-- Bodies are stored as published: compressing them costs CPU on the hot path for little gain.
ALTER TABLE warren.messages ALTER COLUMN body SET STORAGE EXTERNAL;
-- A message's place in a queue (multi: the message is shared, deleting decrements refs).
CREATE TABLE warren.entries (
  queue_id bigint NOT NULL, seq bigint NOT NULL, msg_id bigint NOT NULL,
  delivered boolean NOT NULL, size integer NOT NULL, multi boolean NOT NULL,
  priority smallint NOT NULL, expires_at bigint NOT NULL, delivery_count integer NOT NULL,
  PRIMARY KEY (queue_id, seq)
);
-- Messages a delayed exchange holds until due_at; message is packed as in the SQLite store.
CREATE TABLE warren.delayed (
  id bigint PRIMARY KEY, vhost bytea NOT NULL, exchange bytea NOT NULL, due_at bigint NOT NULL, message bytea NOT NULL
);
CREATE INDEX delayed_due ON warren.delayed (vhost, exchange, due_at, id);
-- Who may write. One row per scope: 'broker' for the whole broker today; a per-queue lease
-- later is a row per queue ('queue:<vhost>/<name>') checked the same way (docs/architecture.md).
CREATE TABLE warren.leases (
  scope text PRIMARY KEY, holder text NOT NULL, epoch bigint NOT NULL,
  renewed_at timestamptz NOT NULL, expires_at timestamptz NOT NULL,
  address text NOT NULL, http_address text NOT NULL
);
-- Every node that has run, with what it last said of itself (status, API, metrics).
CREATE TABLE warren.nodes (
  name text PRIMARY KEY, role text NOT NULL, address text NOT NULL, http_address text NOT NULL,
  seen_at timestamptz NOT NULL, epoch bigint NOT NULL
);
`;

export class PgSchemaError extends Error {
  override readonly name = 'PgSchemaError';
}

/**
 * Creates the schema, or upgrades it, in one transaction under an advisory lock (two nodes
 * starting at once do it once). A schema from a newer warren is refused and left as it was.
 */
export async function migrate(client: ClientBase): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext('warren schema'))");
    const exists = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = 'warren'");
    if (exists.rowCount === 0) {
      await client.query('CREATE SCHEMA warren');
      await client.query(SCHEMA);
      await client.query(COMMITS);
      await client.query(LEASE_TLS);
      await client.query(STREAM_CHUNKS);
      await client.query('INSERT INTO warren.schema_version (version) VALUES ($1)', [PG_SCHEMA_VERSION]);
    } else {
      const v = await client.query<{ version: number }>('SELECT version FROM warren.schema_version');
      const version = v.rows[0]?.version ?? 0;
      if (version > PG_SCHEMA_VERSION) {
        throw new PgSchemaError(`the database's warren schema is version ${version}, written by a newer warren (this one understands up to ${PG_SCHEMA_VERSION}); run a newer warren on it`);
      }
      for (let from = version; from < PG_SCHEMA_VERSION; from++) await client.query(MIGRATIONS[from]!);
      if (version < PG_SCHEMA_VERSION) await client.query('UPDATE warren.schema_version SET version = $1', [PG_SCHEMA_VERSION]);
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw e;
  }
}
