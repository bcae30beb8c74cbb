// Users, virtual hosts and permissions, as RabbitMQ models them: passwords kept as salted
// SHA-256 hashes in RabbitMQ's format (SHA-512 and MD5 ones imported from RabbitMQ are kept too) (so definitions exported from RabbitMQ import here and
// back), per-vhost configure/write/read regular expressions, and the rule that `guest` may log
// in only from loopback. Persisted through the Store; the broker consults it on every login
// and on every operation that needs a permission.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PermissionRecord, Store, UserRecord } from '../store/store.js';
import { compileLinear, type LinearRegex } from '../util/linear-regex.js';

/** What warren hashes new passwords with (RabbitMQ's default). */
export const HASHING_ALGORITHM = 'rabbit_password_hashing_sha256';

/**
 * RabbitMQ's password hashing modules and their digests: a hash is base64(salt(4) ++
 * digest(salt ++ password)). Hashes made by any of them (a RabbitMQ configured with
 * `password_hashing_module = rabbit_password_hashing_sha512`, or users from before 3.6 with md5)
 * are kept as they are and checked with their own digest, so users move in with their passwords.
 */
export const HASHING_ALGORITHMS: Readonly<Record<string, { readonly digest: string; readonly bytes: number }>> = {
  rabbit_password_hashing_sha256: { digest: 'sha256', bytes: 32 },
  rabbit_password_hashing_sha512: { digest: 'sha512', bytes: 64 },
  rabbit_password_hashing_md5: { digest: 'md5', bytes: 16 },
};

export type PermissionKind = 'configure' | 'write' | 'read';

interface CompiledPermission {
  readonly record: PermissionRecord;
  readonly configure: LinearRegex;
  readonly write: LinearRegex;
  readonly read: LinearRegex;
}

/** RabbitMQ's password hash: base64(salt(4) ++ digest(salt ++ password)), SHA-256 unless named. */
export function hashPassword(password: string, salt: Buffer = randomBytes(4), algorithm: string = HASHING_ALGORITHM): string {
  const digest = createHash(HASHING_ALGORITHMS[algorithm]?.digest ?? 'sha256')
    .update(Buffer.concat([salt, Buffer.from(password, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

export function verifyPassword(password: string, hash: string, algorithm: string = HASHING_ALGORITHM): boolean {
  const known = HASHING_ALGORITHMS[algorithm];
  if (known === undefined) return false;
  const raw = Buffer.from(hash, 'base64');
  if (raw.length !== 4 + known.bytes) return false;
  const expected = Buffer.from(hashPassword(password, raw.subarray(0, 4), algorithm), 'base64');
  return timingSafeEqual(raw, expected);
}

const NOTHING: LinearRegex = { source: '', test: () => false };

/**
 * Throws PatternError (with the engine's reason) for a pattern it cannot compile.
 * A permission pattern as RabbitMQ applies it: anchored nowhere, so '^' and '$' mean what they
 * say. '' matches nothing. Compiled for a linear-time engine: patterns are set by users of the
 * HTTP API and checked on AMQP operations, so none may stall the broker.
 */
export function compilePattern(pattern: string): LinearRegex {
  if (pattern === '') return NOTHING;
  return compileLinear(pattern);
}

export interface AccessEvents {
  /** A user was deleted or lost access to a vhost: its connections there must go. */
  accessRevoked?(user: string, vhost: string | null): void;
}

export class AccessControl {
  readonly #store: Store;
  readonly #users = new Map<string, UserRecord>();
  readonly #permissions = new Map<string, Map<string, CompiledPermission>>();
  /** Users that may log in only from loopback (RabbitMQ's loopback_users). */
  readonly loopbackUsers: ReadonlySet<string>;
  readonly #events: AccessEvents;
  /** Incremented on every permission change, so cached checks know to look again. */
  epoch = 0;
  /**
   * Stored permissions whose patterns the linear engine refuses (backreferences or lookaround,
   * kept by an older warren): they grant nothing until set again. The broker logs them at start.
   */
  readonly unusablePermissions: { record: PermissionRecord; error: string }[] = [];

  constructor(store: Store, users: readonly UserRecord[], permissions: readonly PermissionRecord[], loopbackUsers: readonly string[], events: AccessEvents = {}) {
    this.#store = store;
    this.loopbackUsers = new Set(loopbackUsers);
    this.#events = events;
    for (const u of users) this.#users.set(u.name, u);
    for (const p of permissions) {
      try {
        this.#setCompiled(p);
      } catch (e) {
        this.unusablePermissions.push({ record: p, error: (e as Error).message });
        this.#setCompiled({ ...p, configure: '', write: '', read: '' }, p);
      }
    }
  }

  // ---- users -----------------------------------------------------------------------------

  get users(): readonly UserRecord[] {
    return [...this.#users.values()];
  }

  user(name: string): UserRecord | undefined {
    return this.#users.get(name);
  }

  /** Adds or replaces a user; give a password (hashed here) or a ready hash (SHA-256 unless its algorithm is named). */
  putUser(name: string, credentials: { password: string } | { passwordHash: string; hashingAlgorithm?: string }, tags: readonly string[]): UserRecord {
    const passwordHash = 'password' in credentials ? hashPassword(credentials.password) : credentials.passwordHash;
    const hashingAlgorithm = 'password' in credentials ? HASHING_ALGORITHM : (credentials.hashingAlgorithm ?? HASHING_ALGORITHM);
    const record: UserRecord = { name, passwordHash, hashingAlgorithm, tags: [...tags] };
    this.#users.set(name, record);
    this.#store.saveUser(record);
    return record;
  }

  setPassword(name: string, password: string): boolean {
    const u = this.#users.get(name);
    if (!u) return false;
    this.putUser(name, { password }, u.tags);
    return true;
  }

  deleteUser(name: string): boolean {
    if (!this.#users.delete(name)) return false;
    this.#store.deleteUser(name);
    for (const p of this.#permissions.get(name)?.values() ?? []) this.#store.deletePermission(p.record.user, p.record.vhost);
    this.#permissions.delete(name);
    this.epoch++;
    this.#events.accessRevoked?.(name, null);
    return true;
  }

  /** True when the user exists and the password is right (and the user has one). */
  checkPassword(name: string, password: string): boolean {
    const u = this.#users.get(name);
    if (!u || u.passwordHash === '') return false;
    return verifyPassword(password, u.passwordHash, u.hashingAlgorithm);
  }

  // ---- permissions -----------------------------------------------------------------------

  get permissions(): readonly PermissionRecord[] {
    const out: PermissionRecord[] = [];
    for (const byVhost of this.#permissions.values()) for (const p of byVhost.values()) out.push(p.record);
    return out;
  }

  permission(user: string, vhost: string): PermissionRecord | undefined {
    return this.#permissions.get(user)?.get(vhost)?.record;
  }

  setPermissions(record: PermissionRecord): void {
    this.#setCompiled(record);
    this.epoch++;
    this.#store.savePermission(record);
  }

  clearPermissions(user: string, vhost: string): boolean {
    const byVhost = this.#permissions.get(user);
    if (!byVhost?.delete(vhost)) return false;
    this.epoch++;
    this.#store.deletePermission(user, vhost);
    this.#events.accessRevoked?.(user, vhost);
    return true;
  }

  /** Drops every permission on a vhost that is being deleted. */
  forgetVhost(vhost: string): void {
    for (const [user, byVhost] of this.#permissions) {
      if (byVhost.delete(vhost)) this.#store.deletePermission(user, vhost);
    }
    this.epoch++;
  }

  canAccessVhost(user: string, vhost: string): boolean {
    return this.#permissions.get(user)?.has(vhost) ?? false;
  }

  /** Whether `user` may do `kind` on the resource named `name` in `vhost`. */
  permits(user: string, vhost: string, kind: PermissionKind, name: string): boolean {
    const p = this.#permissions.get(user)?.get(vhost);
    return p !== undefined && p[kind].test(name);
  }

  /** `shown` is the record as listed (the stored one, when `record` is its deny-all stand-in). */
  #setCompiled(record: PermissionRecord, shown: PermissionRecord = record): void {
    const compiled: CompiledPermission = {
      record: shown,
      configure: compilePattern(record.configure),
      write: compilePattern(record.write),
      read: compilePattern(record.read),
    };
    let byVhost = this.#permissions.get(record.user);
    if (!byVhost) {
      byVhost = new Map();
      this.#permissions.set(record.user, byVhost);
    }
    byVhost.set(record.vhost, compiled);
  }
}
