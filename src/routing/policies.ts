// Policies and operator policies of one vhost, and how they reach its queues and exchanges.
// Each object gets at most one policy and one operator policy: of those whose apply-to takes
// its kind and whose pattern (RE2, linear time) matches its name, the highest priority (ties:
// the first name in byte order; RabbitMQ leaves ties unspecified). They are matched when an
// object is declared or restored and again for every object of the vhost when a policy
// changes, never per message; queues then run on settings computed once (policy-settings.ts).

import type { Queue } from '../queue/queue.js';
import { effectiveDefinition, settingsWithPolicy } from '../queue/policy-settings.js';
import type { PolicyKind, PolicyRecord, Store } from '../store/store.js';
import { compileLinear, type LinearRegex } from '../util/linear-regex.js';
import { fieldString } from '../codec/field-table.js';
import type { Exchange } from './exchange.js';
import { PolicyError } from './policy-validation.js';
import type { StreamQueue } from '../stream/stream-queue.js';

interface Compiled {
  readonly record: PolicyRecord;
  readonly re: LinearRegex;
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Policies of each kind per vhost (RabbitMQ has no cap): every policy change matches every
 * pattern against every queue and exchange name of the vhost, so their number is bounded.
 */
export const MAX_POLICIES = 1000;

export class PolicySet {
  readonly #byKind: Record<PolicyKind, Map<string, Compiled>> = { policy: new Map(), operator: new Map() };
  /** Matching order: priority high to low, then name. Rebuilt on change. */
  #ordered: Record<PolicyKind, Compiled[]> = { policy: [], operator: [] };

  /** Adds or replaces a policy (its pattern was checked when it was set). */
  set(r: PolicyRecord): void {
    this.#byKind[r.kind].set(r.name, { record: r, re: compileLinear(r.pattern) });
    this.#sort(r.kind);
  }

  /** Removes a policy; false when there was none of that name. */
  delete(kind: PolicyKind, name: string): boolean {
    if (!this.#byKind[kind].delete(name)) return false;
    this.#sort(kind);
    return true;
  }

  get(kind: PolicyKind, name: string): PolicyRecord | undefined {
    return this.#byKind[kind].get(name)?.record;
  }

  /** The policies of one kind, by name. */
  list(kind: PolicyKind): PolicyRecord[] {
    return [...this.#byKind[kind].values()].map((c) => c.record).sort((a, b) => byName(a.name, b.name));
  }

  count(kind: PolicyKind): number {
    return this.#byKind[kind].size;
  }

  get size(): number {
    return this.#byKind.policy.size + this.#byKind.operator.size;
  }

  /** The policy of `kind` that applies to a queue or exchange named `name`, or null. */
  match(kind: PolicyKind, target: 'queues' | 'exchanges', name: string): PolicyRecord | null {
    for (const c of this.#ordered[kind]) {
      const to = c.record.applyTo;
      if ((to === 'all' || to === target) && c.re.test(name)) return c.record;
    }
    return null;
  }

  /** Applies the matching policies to a queue: its settings, policy names and effective definition. */
  applyToQueue(q: Queue): void {
    const p = this.size === 0 ? null : this.match('policy', 'queues', q.name);
    const o = this.size === 0 ? null : this.match('operator', 'queues', q.name);
    if (p === null && o === null && q.policy === null && q.operatorPolicy === null) return;
    q.policy = p?.name ?? null;
    q.operatorPolicy = o?.name ?? null;
    q.policyDefinition = effectiveDefinition(p?.definition ?? null, o?.definition ?? null);
    // A stream's settings are its retention: max-length-bytes and max-age, the lower of argument and policy.
    if (q.baseSettings.queueType === 'stream') (q as StreamQueue).applyRetentionPolicy(q.policyDefinition);
    else q.applySettings(settingsWithPolicy(q.baseSettings, q.arguments, q.policyDefinition));
  }

  /** Applies the matching policy to an exchange: its alternate exchange when no argument names one. */
  applyToExchange(x: Exchange): void {
    if (x.name === '') return; // the default exchange takes no policy
    const p = this.size === 0 ? null : this.match('policy', 'exchanges', x.name);
    if (p === null && x.policy === null) return;
    x.policy = p?.name ?? null;
    const arg = x.arguments.get('alternate-exchange');
    const fromArg = arg !== undefined && arg.type === 'S' ? fieldString(arg)! : null;
    const fromPolicy = p?.definition['alternate-exchange'];
    x.alternate = fromArg ?? (typeof fromPolicy === 'string' ? fromPolicy : null);
  }

  #sort(kind: PolicyKind): void {
    this.#ordered[kind] = [...this.#byKind[kind].values()].sort((a, b) => b.record.priority - a.record.priority || byName(a.record.name, b.record.name));
  }
}

/** What Policies needs of a vhost (VirtualHost is one): its policy set, and a way to re-apply it. */
export interface PolicyHolder {
  readonly policies: PolicySet;
  applyPolicies(): void;
}

/** The broker's policies over all vhosts: kept in each vhost's PolicySet and in the store. */
export class Policies {
  readonly #store: Store;
  readonly #vhosts: ReadonlyMap<string, PolicyHolder>;

  constructor(store: Store, vhosts: ReadonlyMap<string, PolicyHolder>) {
    this.#store = store;
    this.#vhosts = vhosts;
  }

  /** Puts stored policies back into their vhosts at start (before queues and exchanges are restored). */
  restore(records: readonly PolicyRecord[]): void {
    for (const r of records) this.#vhosts.get(r.vhost)?.policies.set(r);
    for (const v of this.#vhosts.values()) if (v.policies.size > 0) v.applyPolicies();
  }

  /**
   * Sets a policy (validated by parsePolicy) in an existing vhost and applies it at once; true
   * when it is new. PolicyError past MAX_POLICIES of a kind in the vhost.
   */
  put(r: PolicyRecord): boolean {
    const v = this.#vhosts.get(r.vhost);
    if (v === undefined) throw new Error(`no vhost '${r.vhost}'`);
    const created = v.policies.get(r.kind, r.name) === undefined;
    if (created && v.policies.count(r.kind) >= MAX_POLICIES) {
      throw new PolicyError([`too many ${r.kind === 'policy' ? 'policies' : 'operator policies'} in vhost '${r.vhost}' (at most ${MAX_POLICIES})`]);
    }
    v.policies.set(r);
    this.#store.savePolicy(r);
    v.applyPolicies();
    return created;
  }

  /** Clears a policy; false when there was none. */
  delete(kind: PolicyKind, vhost: string, name: string): boolean {
    const v = this.#vhosts.get(vhost);
    if (v === undefined || !v.policies.delete(kind, name)) return false;
    this.#store.deletePolicy(kind, vhost, name);
    v.applyPolicies();
    return true;
  }

  get(kind: PolicyKind, vhost: string, name: string): PolicyRecord | undefined {
    return this.#vhosts.get(vhost)?.policies.get(kind, name);
  }

  /** Policies of one kind in the named vhosts (every vhost when omitted), by vhost then name. */
  list(kind: PolicyKind, vhosts?: readonly string[]): PolicyRecord[] {
    const names = vhosts ?? [...this.#vhosts.keys()].sort(byName);
    return names.flatMap((n) => this.#vhosts.get(n)?.policies.list(kind) ?? []);
  }

  /** A vhost is being deleted: its policies leave the store with it. */
  forgetVhost(name: string): void {
    const v = this.#vhosts.get(name);
    if (v === undefined) return;
    for (const kind of ['policy', 'operator'] as const) for (const r of v.policies.list(kind)) this.#store.deletePolicy(kind, name, r.name);
  }
}
