// RabbitMQ's definitions JSON (GET/POST /api/definitions): users with their password hashes,
// vhosts, permissions, queues, exchanges and bindings, so that an export from RabbitMQ
// imports into warren and warren's export imports into RabbitMQ. Import checks everything
// before it changes anything; a bad document is a 400 naming the item. Limits travel as
// RabbitMQ puts them: a user's in its "limits", a vhost's as a "vhost-limits" parameter.
// Policies travel in "policies", operator policies as "operator_policy" parameters, as in
// RabbitMQ's exports; they are checked like the API's and take effect on import. Other
// parameters and topic permissions are not features of warren: they are accepted and
// reported as ignored.

import type { Broker } from '../broker.js';
import { jsonToTable, tableToJson } from '../codec/field-table.js';
import { compilePattern, HASHING_ALGORITHM } from '../auth/access.js';
import { checkLimit, LimitError } from '../auth/limits.js';
import { EXCHANGE_TYPES } from '../routing/vhost.js';
import { VERSION } from '../version.js';
import { RABBITMQ_COMPAT_VERSION, type Json } from './format.js';
import { badRequest } from './http-error.js';
import { checkPasswordHash, parseTags } from './users.js';
import { HTTP_OWNER } from './context.js';
import { parsePolicy, PolicyError } from '../routing/policy-validation.js';
import type { PolicyKind, PolicyRecord } from '../store/store.js';
import { policyJson } from './routes/policies.js';

/** Everything, or (with `vhost`) one vhost's queues, exchanges and bindings without vhost fields. */
export function exportDefinitions(broker: Broker, vhost?: string): Json {
  const head = { rabbit_version: RABBITMQ_COMPAT_VERSION, rabbitmq_version: RABBITMQ_COMPAT_VERSION, product_name: 'warren', product_version: VERSION };
  const vhosts = [...broker.vhosts.values()].filter((v) => vhost === undefined || v.name === vhost);
  const withVhost = (o: Json, v: string): Json => (vhost === undefined ? { ...o, vhost: v } : o);
  const queues: Json[] = [];
  const exchanges: Json[] = [];
  const bindings: Json[] = [];
  for (const v of vhosts) {
    for (const q of v.queues.values()) {
      if (q.exclusiveOwner !== null) continue;
      queues.push(withVhost({ name: q.name, durable: q.durable, auto_delete: q.autoDelete, arguments: tableToJson(q.arguments) }, v.name));
    }
    for (const x of v.exchanges.values()) {
      if (x.name.startsWith('amq.')) continue;
      exchanges.push(withVhost({ name: x.name, type: x.type, durable: x.durable, auto_delete: x.autoDelete, internal: x.internal, arguments: tableToJson(x.arguments) }, v.name));
    }
    for (const b of v.allBindings()) {
      if (b.destination.kind === 'queue' && b.destination.exclusiveOwner !== null) continue;
      bindings.push(
        withVhost(
          { source: b.source.name, destination: b.destination.name, destination_type: b.destination.kind, routing_key: b.routingKey, arguments: tableToJson(b.arguments) },
          v.name,
        ),
      );
    }
  }
  // RabbitMQ puts "vhost" second in each item; keep its key order for diff-friendly exports.
  const order = (o: Json): Json => (vhost === undefined ? { name: o['name'], vhost: o['vhost'], ...o } : o);
  const orderBinding = (o: Json): Json => (vhost === undefined ? { source: o['source'], vhost: o['vhost'], ...o } : o);
  if (vhost !== undefined) {
    return {
      rabbit_version: RABBITMQ_COMPAT_VERSION,
      parameters: [...vhostLimitParameters(broker, [vhost]), ...operatorPolicyParameters(broker, [vhost])],
      policies: broker.policies.list('policy', [vhost]).map(policyJson),
      queues,
      exchanges,
      bindings,
    };
  }
  const info = (name: string) => broker.vhostInfo.get(name) ?? { description: '', tags: [] };
  const names = vhosts.map((v) => v.name).sort();
  const parameters = [...vhostLimitParameters(broker, names), ...operatorPolicyParameters(broker, names)];
  return {
    ...head,
    users: [...broker.access.users].map((u) => ({ name: u.name, password_hash: u.passwordHash, hashing_algorithm: u.hashingAlgorithm, tags: [...u.tags], limits: { ...broker.limits.of('user', u.name) } })),
    vhosts: vhosts.map((v) => ({ name: v.name, description: info(v.name).description, tags: [...info(v.name).tags], metadata: { description: info(v.name).description, tags: [...info(v.name).tags] } })),
    permissions: broker.access.permissions.map((p) => ({ user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read })),
    topic_permissions: [],
    parameters,
    global_parameters: [],
    policies: broker.policies.list('policy', names).map(policyJson),
    queues: queues.map(order),
    exchanges: exchanges.map(order),
    bindings: bindings.map(orderBinding),
  };
}

// ---- import ------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

/** Parameter components warren imports; others are reported as ignored. */
const OWN_PARAMETERS: ReadonlySet<unknown> = new Set(['vhost-limits', 'operator_policy']);

function list(doc: Obj, key: string): Obj[] {
  const v = doc[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw badRequest(`definitions: "${key}" must be a list`);
  return v.map((item: unknown, i) => {
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw badRequest(`definitions: ${key}[${i}] must be an object`);
    return item as Obj;
  });
}

function str(o: Obj, key: string, where: string, fallback?: string): string {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string') throw badRequest(`definitions: ${where}: "${key}" must be a string`);
  return v;
}

function bool(o: Obj, key: string, where: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined) return fallback;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw badRequest(`definitions: ${where}: "${key}" must be true or false`);
}

function args(o: Obj, where: string): ReturnType<typeof jsonToTable> {
  const v = o['arguments'];
  if (v === undefined || v === null) return new Map();
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(`definitions: ${where}: "arguments" must be an object`);
  return jsonToTable(v as Obj);
}

export interface ImportReport {
  readonly ignored: readonly string[];
}

/**
 * Imports a definitions document (into `vhost` only, when given: items then need no vhost
 * field). Validates it whole first; then applies vhosts, users, permissions, exchanges,
 * queues and bindings in that order.
 */
export function importDefinitions(broker: Broker, doc: unknown, vhost?: string): ImportReport {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw badRequest('definitions must be a JSON object');
  const d = doc as Obj;
  const ignored: string[] = [];
  for (const k of ['parameters', 'global_parameters', 'policies', 'topic_permissions']) {
    if (k === 'policies') continue;
    const n = list(d, k).filter((p) => !(k === 'global_parameters' && p['name'] === 'internal_cluster_id') && !(k === 'parameters' && OWN_PARAMETERS.has(p['component']))).length;
    if (n > 0) ignored.push(`${n} ${k.replace('_', ' ')}`);
  }
  const vhostOf = (o: Obj, where: string): string => (vhost !== undefined ? vhost : str(o, 'vhost', where));

  // Check everything first.
  const vhosts = vhost !== undefined ? [] : list(d, 'vhosts').map((v, i) => ({ name: str(v, 'name', `vhosts[${i}]`), description: str(v, 'description', `vhosts[${i}]`, ''), tags: tagsOf(v) }));
  const known = new Set([...broker.vhosts.keys(), ...vhosts.map((v) => v.name)]);
  const needVhost = (name: string, where: string): string => {
    if (!known.has(name)) throw badRequest(`definitions: ${where}: no vhost '${name}' (neither in the document nor in warren)`);
    return name;
  };
  const users =
    vhost !== undefined
      ? []
      : list(d, 'users').map((u, i) => {
          const where = `users[${i}]`;
          const name = str(u, 'name', where);
          const hash = str(u, 'password_hash', where, '');
          const algorithm = u['hashing_algorithm'] === undefined ? HASHING_ALGORITHM : str(u, 'hashing_algorithm', where);
          let hashingAlgorithm: string;
          try {
            hashingAlgorithm = checkPasswordHash(hash, algorithm);
          } catch (e) {
            throw badRequest(`definitions: ${where} ('${name}'): ${(e as Error).message}`);
          }
          const limits = u['limits'] === undefined || u['limits'] === null ? null : limitsOf('user', u['limits'], `${where} ('${name}')`);
          return { name, hash, hashingAlgorithm, tags: tagsOf(u), limits };
        });
  const userNames = new Set([...broker.access.users.map((u) => u.name), ...users.map((u) => u.name)]);
  const permissions =
    vhost !== undefined
      ? []
      : list(d, 'permissions').map((p, i) => {
          const where = `permissions[${i}]`;
          const rec = { user: str(p, 'user', where), vhost: needVhost(str(p, 'vhost', where), where), configure: str(p, 'configure', where), write: str(p, 'write', where), read: str(p, 'read', where) };
          if (!userNames.has(rec.user)) throw badRequest(`definitions: ${where}: no user '${rec.user}'`);
          for (const k of ['configure', 'write', 'read'] as const) {
            try {
              compilePattern(rec[k]);
            } catch {
              throw badRequest(`definitions: ${where}: invalid regular expression for ${k}: ${JSON.stringify(rec[k])}`);
            }
          }
          return rec;
        });
  const vhostLimits = list(d, 'parameters').flatMap((p, i) => {
    if (p['component'] !== 'vhost-limits') return [];
    const where = `parameters[${i}]`;
    return [{ vhost: needVhost(vhostOf(p, where), where), limits: limitsOf('vhost', p['value'], where) }];
  });
  const policyOf = (kind: PolicyKind, o: Obj, body: unknown, where: string): PolicyRecord => {
    const name = str(o, 'name', where);
    try {
      return parsePolicy(kind, needVhost(vhostOf(o, where), where), name, body);
    } catch (e) {
      if (e instanceof PolicyError) throw badRequest(`definitions: ${where} ('${name}'): ${e.message}`);
      throw e;
    }
  };
  const policies = [
    ...list(d, 'policies').map((p, i) => policyOf('policy', p, p, `policies[${i}]`)),
    ...list(d, 'parameters').flatMap((p, i) => (p['component'] === 'operator_policy' ? [policyOf('operator', p, p['value'], `parameters[${i}]`)] : [])),
  ];
  const exchanges = list(d, 'exchanges').map((x, i) => {
    const where = `exchanges[${i}]`;
    const type = str(x, 'type', where);
    if (!EXCHANGE_TYPES.has(type)) throw badRequest(`definitions: ${where}: unknown exchange type '${type}'`);
    return {
      vhost: needVhost(vhostOf(x, where), where),
      name: str(x, 'name', where),
      type,
      durable: bool(x, 'durable', where, true),
      autoDelete: bool(x, 'auto_delete', where, false),
      internal: bool(x, 'internal', where, false),
      arguments: args(x, where),
    };
  });
  const queues = list(d, 'queues').map((q, i) => {
    const where = `queues[${i}]`;
    return {
      vhost: needVhost(vhostOf(q, where), where),
      name: str(q, 'name', where),
      durable: bool(q, 'durable', where, true),
      autoDelete: bool(q, 'auto_delete', where, false),
      arguments: args(q, where),
    };
  });
  const bindings = list(d, 'bindings').map((b, i) => {
    const where = `bindings[${i}]`;
    const kind = str(b, 'destination_type', where);
    if (kind !== 'queue' && kind !== 'exchange') throw badRequest(`definitions: ${where}: destination_type must be "queue" or "exchange"`);
    return {
      vhost: needVhost(vhostOf(b, where), where),
      source: str(b, 'source', where),
      destination: str(b, 'destination', where),
      kind,
      routingKey: str(b, 'routing_key', where, ''),
      arguments: args(b, where),
    };
  });

  // Then apply. Declaration errors (e.g. an existing queue declared differently) still stop the import.
  for (const v of vhosts) broker.addVhost(v.name, v.description, v.tags);
  for (const u of users) {
    broker.access.putUser(u.name, { passwordHash: u.hash, hashingAlgorithm: u.hashingAlgorithm }, u.tags);
    if (u.limits !== null) broker.limits.replace('user', u.name, u.limits);
  }
  for (const p of permissions) broker.access.setPermissions(p);
  // Limits before queues: an import cannot declare past its vhost's max-queues.
  for (const l of vhostLimits) broker.limits.replace('vhost', l.vhost, l.limits);
  for (const p of policies) {
    try {
      broker.policies.put(p);
    } catch (e) {
      if (e instanceof PolicyError) throw badRequest(`definitions: policy '${p.name}' in vhost '${p.vhost}': ${e.message}`);
      throw e;
    }
  }
  const at = (name: string) => broker.vhost(name)!;
  for (const x of exchanges) {
    if (x.name === '' || x.name.startsWith('amq.')) continue;
    at(x.vhost).declareExchange(x);
  }
  for (const q of queues) at(q.vhost).declareQueue({ ...q, exclusive: false }, HTTP_OWNER);
  for (const b of bindings) {
    const v = at(b.vhost);
    if (b.kind === 'queue') v.bindQueue(b.destination, b.source, b.routingKey, b.arguments, HTTP_OWNER);
    else v.bindExchange(b.destination, b.source, b.routingKey, b.arguments);
  }
  return { ignored };
}

/** RabbitMQ's form of a vhost's limits in definitions: a "vhost-limits" parameter named "limits". */
function vhostLimitParameters(broker: Broker, vhosts: readonly string[]): Json[] {
  return vhosts.flatMap((name) => {
    const value = broker.limits.of('vhost', name);
    return Object.keys(value).length === 0 ? [] : [{ value: { ...value }, vhost: name, component: 'vhost-limits', name: 'limits' }];
  });
}

/** RabbitMQ's form of an operator policy in definitions: an "operator_policy" parameter. */
function operatorPolicyParameters(broker: Broker, vhosts: readonly string[]): Json[] {
  return broker.policies
    .list('operator', vhosts)
    .map((r) => ({ value: { pattern: r.pattern, definition: { ...r.definition }, priority: r.priority, 'apply-to': r.applyTo }, vhost: r.vhost, component: 'operator_policy', name: r.name }));
}

/** A limits object ({"max-connections": 10, ...}) checked as RabbitMQ checks it. */
function limitsOf(scope: 'vhost' | 'user', v: unknown, where: string): Record<string, number> {
  // RabbitMQ exports a vhost whose limits were all cleared with "value": [].
  if (Array.isArray(v) && v.length === 0) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest(`definitions: ${where}: limits must be an object, e.g. {"max-connections": 10}`);
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(v as Obj)) {
    try {
      out[name] = checkLimit(scope, name, value);
    } catch (e) {
      if (e instanceof LimitError) throw badRequest(`definitions: ${where}: ${e.message}`);
      throw e;
    }
  }
  return out;
}

function tagsOf(o: Obj): string[] {
  const t = o['tags'];
  if (t === undefined || t === null) return [];
  if (typeof t === 'string') return parseTags(t);
  if (Array.isArray(t) && t.every((x) => typeof x === 'string')) return parseTags(t as string[]);
  throw badRequest(`definitions: "tags" must be a list of strings or a comma-separated string, got ${JSON.stringify(t)}`);
}
