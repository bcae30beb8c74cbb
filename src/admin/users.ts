// What the API accepts for users: tags as RabbitMQ takes them (a comma-separated string or a
// list) and password hashes in RabbitMQ's format. Shared by PUT /api/users and definitions.

import { HASHING_ALGORITHM } from '../auth/access.js';
import { badRequest } from './http-error.js';

/** Tags as RabbitMQ takes them: a comma-separated string or a list. */
export function parseTags(tags: string | readonly string[] | undefined): string[] {
  if (tags === undefined) return [];
  const list = typeof tags === 'string' ? tags.split(',') : tags;
  return list.map((t) => t.trim()).filter((t) => t !== '');
}

/** A stored hash must be RabbitMQ's salted SHA-256 (36 bytes in base64), or '' for "no password login". */
export function checkPasswordHash(hash: string, algorithm: string | undefined): void {
  if (algorithm !== undefined && algorithm !== HASHING_ALGORITHM) {
    throw badRequest(`unsupported hashing_algorithm '${algorithm}': warren stores ${HASHING_ALGORITHM} hashes only`);
  }
  if (hash === '') return;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(hash) || Buffer.from(hash, 'base64').length !== 36) {
    throw badRequest(`password_hash is not a ${HASHING_ALGORITHM} hash (base64 of 4 bytes of salt and 32 of SHA-256)`);
  }
}
