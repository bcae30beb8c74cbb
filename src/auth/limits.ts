// Limits as RabbitMQ names them: per vhost `max-connections` and `max-queues`, per user
// `max-connections` and `max-channels`. Kept in memory for the checks on connection.open,
// channel.open and queue.declare, and in the Store so they survive restarts. A negative value
// is stored as given and means "no limit", as in RabbitMQ; 0 refuses everything.
// Validation texts are RabbitMQ 3.10's (management API and definitions import).

import type { LimitScope, LimitsRecord, Store } from '../store/store.js';
import { erlangJson } from '../util/erlang-json.js';

export const VHOST_LIMITS: readonly string[] = ['max-connections', 'max-queues'];
export const USER_LIMITS: readonly string[] = ['max-connections', 'max-channels'];

export function limitNames(scope: LimitScope): readonly string[] {
  return scope === 'vhost' ? VHOST_LIMITS : USER_LIMITS;
}

/** A bad limit name or value; the message is RabbitMQ's text for it. */
export class LimitError extends Error {
  override readonly name = 'LimitError';
}

/**
 * Checks one limit: its name must be one of the scope's and its value a whole number (JSON
 * numbers only; RabbitMQ's management API and definitions refuse "10" and 2.5 alike).
 */
export function checkLimit(scope: LimitScope, name: string, value: unknown): number {
  if (!limitNames(scope).includes(name)) {
    throw new LimitError(`Unrecognised terms [{<<"${name}">>,${erlangJson(value)}}] in ${scope === 'vhost' ? 'limits' : 'user-limits'}`);
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new LimitError(`${name} should be a number, actually was ${erlangJson(value)}`);
  return value;
}

function key(scope: LimitScope, name: string): string {
  return `${scope}\u0000${name}`;
}

export class Limits {
  readonly #store: Store;
  readonly #all = new Map<string, Readonly<Record<string, number>>>();

  constructor(store: Store, records: readonly LimitsRecord[]) {
    this.#store = store;
    for (const r of records) this.#all.set(key(r.scope, r.name), r.limits);
  }

  /** The limits set on a vhost or user (an empty object when none). */
  of(scope: LimitScope, name: string): Readonly<Record<string, number>> {
    return this.#all.get(key(scope, name)) ?? {};
  }

  /** Every vhost or user with limits, by name. */
  list(scope: LimitScope): { name: string; limits: Readonly<Record<string, number>> }[] {
    const out: { name: string; limits: Readonly<Record<string, number>> }[] = [];
    for (const [k, limits] of this.#all) {
      const [s, name] = k.split('\u0000') as [string, string];
      if (s === scope) out.push({ name, limits });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The limit in force, or null when there is none (unset or negative). */
  limit(scope: LimitScope, name: string, limit: string): number | null {
    const v = this.#all.get(key(scope, name))?.[limit];
    return v === undefined || v < 0 ? null : v;
  }

  /** Sets one limit (validated with checkLimit first). */
  set(scope: LimitScope, name: string, limit: string, value: number): void {
    this.replace(scope, name, { ...this.of(scope, name), [limit]: value });
  }

  /** Clears one limit; clearing one that is not set is fine (RabbitMQ answers 204 too). */
  clear(scope: LimitScope, name: string, limit: string): void {
    const current = this.of(scope, name);
    if (!(limit in current)) return;
    const rest = { ...current };
    delete rest[limit];
    this.replace(scope, name, rest);
  }

  /** Replaces every limit of a vhost or user (definitions import); `{}` forgets them. */
  replace(scope: LimitScope, name: string, limits: Readonly<Record<string, number>>): void {
    if (Object.keys(limits).length === 0) {
      if (!this.#all.delete(key(scope, name))) return;
    } else {
      this.#all.set(key(scope, name), limits);
    }
    this.#store.saveLimits({ scope, name, limits });
  }
}
