// Reads the stored definitions (exchanges, queues, bindings, users, vhosts, permissions,
// limits, policies) at start-up. Kept apart from sqlite-store.ts, which is about writing.

import type Database from 'better-sqlite3';
import type { Definitions, PermissionRecord, PolicyRecord, ReaderOffsetRecord } from '../store.js';
import { decodeTable } from '../ops.js';

export function readDefinitions(db: Database.Database): Definitions {
  const exchanges = (
    db.prepare('SELECT vhost, name, type, auto_delete, internal, arguments FROM exchanges').all() as {
      vhost: string;
      name: string;
      type: string;
      auto_delete: number;
      internal: number;
      arguments: Buffer;
    }[]
  ).map((r) => ({ vhost: r.vhost, name: r.name, type: r.type, autoDelete: r.auto_delete !== 0, internal: r.internal !== 0, arguments: decodeTable(r.arguments) }));
  const queues = (
    db.prepare('SELECT vhost, name, auto_delete, arguments FROM queues ORDER BY id').all() as {
      vhost: string;
      name: string;
      auto_delete: number;
      arguments: Buffer;
    }[]
  ).map((r) => ({ vhost: r.vhost, name: r.name, autoDelete: r.auto_delete !== 0, arguments: decodeTable(r.arguments) }));
  const bindings = (
    db.prepare('SELECT vhost, source, destination, destination_kind, routing_key, arguments FROM bindings').all() as {
      vhost: string;
      source: string;
      destination: string;
      destination_kind: string;
      routing_key: string;
      arguments: Buffer;
    }[]
  ).map((r) => ({
    vhost: r.vhost,
    source: r.source,
    destination: r.destination,
    destinationKind: r.destination_kind === 'exchange' ? ('exchange' as const) : ('queue' as const),
    routingKey: r.routing_key,
    arguments: decodeTable(r.arguments),
  }));
  const users = (
    db.prepare('SELECT name, password_hash, hashing_algorithm, tags FROM users').all() as {
      name: string;
      password_hash: string;
      hashing_algorithm: string;
      tags: string;
    }[]
  ).map((r) => ({ name: r.name, passwordHash: r.password_hash, hashingAlgorithm: r.hashing_algorithm, tags: JSON.parse(r.tags) as string[] }));
  const vhosts = (db.prepare('SELECT name, description, tags FROM vhosts').all() as { name: string; description: string; tags: string }[]).map(
    (r) => ({ name: r.name, description: r.description, tags: JSON.parse(r.tags) as string[] }),
  );
  const permissions = db.prepare('SELECT user, vhost, configure, write, read FROM permissions').all() as PermissionRecord[];
  const limits = (db.prepare('SELECT scope, name, value FROM limits').all() as { scope: string; name: string; value: string }[]).map((r) => ({
    scope: r.scope === 'user' ? ('user' as const) : ('vhost' as const),
    name: r.name,
    limits: JSON.parse(r.value) as Record<string, number>,
  }));
  const policies = (db.prepare('SELECT kind, vhost, name, value FROM policies').all() as { kind: string; vhost: string; name: string; value: string }[]).map((r): PolicyRecord => {
    const v = JSON.parse(r.value) as { pattern: string; 'apply-to': PolicyRecord['applyTo']; priority: number; definition: Record<string, unknown> };
    return { kind: r.kind === 'operator' ? 'operator' : 'policy', vhost: r.vhost, name: r.name, pattern: v.pattern, applyTo: v['apply-to'], priority: v.priority, definition: v.definition };
  });
  return { exchanges, queues, bindings, users, vhosts, permissions, limits, policies };
}

/** Stream readers' committed offsets (schema 3). */
export function readReaderOffsets(db: Database.Database): ReaderOffsetRecord[] {
  return (db.prepare('SELECT vhost, stream, reader, offset FROM stream_readers').all() as { vhost: string; stream: string; reader: string; offset: number }[]).map((r) => ({
    vhost: r.vhost,
    stream: r.stream,
    reader: r.reader,
    offset: r.offset,
  }));
}
