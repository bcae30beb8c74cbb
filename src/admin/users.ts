// What the API accepts for users: tags as RabbitMQ takes them (a comma-separated string or a
// list) and password hashes in RabbitMQ's format. Shared by PUT /api/users and definitions.

import { HASHING_ALGORITHM, HASHING_ALGORITHMS } from '../auth/access.js';
import { badRequest } from './http-error.js';

/** Tags as RabbitMQ takes them: a comma-separated string or a list. */
export function parseTags(tags: string | readonly string[] | undefined): string[] {
  if (tags === undefined) return [];
  const list = typeof tags === 'string' ? tags.split(',') : tags;
  return list.map((t) => t.trim()).filter((t) => t !== '');
}

/**
 * A stored hash must be in the format of one of RabbitMQ's hashing modules (base64 of 4 bytes
 * of salt and the digest; SHA-256 when no algorithm is named), or '' for "no password login".
 * Returns the algorithm.
 */
export function checkPasswordHash(hash: string, algorithm: string | undefined): string {
  const name = algorithm ?? HASHING_ALGORITHM;
  const known = HASHING_ALGORITHMS[name];
  if (known === undefined) {
    throw badRequest(`unsupported hashing_algorithm '${name}': warren takes ${Object.keys(HASHING_ALGORITHMS).join(', ')}`);
  }
  if (hash === '') return name;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(hash) || Buffer.from(hash, 'base64').length !== 4 + known.bytes) {
    throw badRequest(`password_hash is not a ${name} hash (base64 of 4 bytes of salt and ${known.bytes} of ${known.digest.toUpperCase().replace('SHA', 'SHA-')})`);
  }
  return name;
}
