// A definitions document exported from RabbitMQ 3.10.8 (GET /api/definitions after
// rabbitmqadmin declared these objects), kept in fixtures/, with its real
// password hashes: guest/guest, alice/alice-pw, bob/bob-pw. Facts for import tests.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const RABBITMQ_EXPORT_PATH = join(import.meta.dirname, 'fixtures', 'rabbitmq-3.10.8-definitions.json');

export const RABBITMQ_EXPORT: Record<string, unknown> = JSON.parse(readFileSync(RABBITMQ_EXPORT_PATH, 'utf8')) as Record<string, unknown>;

type Json = Record<string, unknown>;

/** JSON with object keys sorted at every level, so equal content gives equal text. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Json)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The content that must survive an import and an export: users, vhosts, permissions, queues, exchanges, bindings (as sorted lists). */
export function normalizeDefinitions(d: Json): Json {
  const list = (k: string): Json[] => (d[k] as Json[] | undefined) ?? [];
  const sorted = (items: unknown[]): string[] => items.map(canonical).sort();
  return {
    users: sorted(list('users').map((u) => ({ name: u['name'], password_hash: u['password_hash'], hashing_algorithm: u['hashing_algorithm'], tags: u['tags'] }))),
    vhosts: list('vhosts').map((v) => v['name']).sort(),
    permissions: sorted(list('permissions')),
    queues: sorted(list('queues')),
    exchanges: sorted(list('exchanges')),
    bindings: sorted(list('bindings')),
  };
}
