// What `warren migrate` takes from RabbitMQ's definitions export (GET /api/definitions) and
// hands to warren's import (POST /api/definitions): the document as RabbitMQ wrote it, narrowed
// to the vhosts asked for, without the objects warren cannot hold (exchange types it lacks,
// and the bindings that lead to them), each named in the report; streams are declared but
// their messages are not moved. Policies and
// everything else pass through unchanged for warren's importer to apply or report. The user
// the migration logs into warren as is left as warren has it, so the migration does not lock
// itself out halfway. Sizes and counts are bounded before anything is parsed or sent on.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { MAX_DEFINITION_OBJECTS } from './limits.js';

type Obj = Record<string, unknown>;

export interface SkippedObject {
  readonly kind: string;
  readonly vhost: string | null;
  readonly name: string;
  readonly reason: string;
}

export interface PreparedDefinitions {
  /** The document to POST to warren. */
  readonly doc: Obj;
  /** Queues whose messages are to be moved, in the document's order. */
  readonly queues: readonly { vhost: string; name: string; arguments: Obj }[];
  readonly skipped: readonly SkippedObject[];
  readonly counts: Readonly<Record<string, number>>;
}

export interface PrepareOptions {
  /** Only these vhosts (empty: all). */
  readonly vhosts: readonly string[];
  /** Exchange types warren knows (from its /api/overview). */
  readonly exchangeTypes: ReadonlySet<string>;
  /** The user the migration logs into warren as: kept as warren has it. */
  readonly warrenUser: string;
}

function list(doc: Obj, key: string): Obj[] {
  const v = doc[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`RabbitMQ's definitions: "${key}" is not a list`);
  return v.filter((x): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x));
}

const text = (o: Obj, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');

/** Narrows RabbitMQ's export to what warren is to import; throws on a document past the bounds. */
export function prepareDefinitions(raw: unknown, o: PrepareOptions): PreparedDefinitions {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error("RabbitMQ's definitions are not a JSON object");
  const d = raw as Obj;
  let total = 0;
  for (const v of Object.values(d)) if (Array.isArray(v)) total += v.length;
  if (total > MAX_DEFINITION_OBJECTS) throw new Error(`RabbitMQ's definitions hold ${total} objects, more than the ${MAX_DEFINITION_OBJECTS} warren migrate takes`);
  const skipped: SkippedObject[] = [];
  const all = o.vhosts.length === 0;
  const wanted = (vhost: unknown): boolean => all || (typeof vhost === 'string' && o.vhosts.includes(vhost));
  const vhosts = list(d, 'vhosts').filter((v) => wanted(v['name']));
  if (!all) {
    const have = new Set(vhosts.map((v) => text(v, 'name')));
    const missing = o.vhosts.filter((v) => !have.has(v));
    if (missing.length > 0) throw new Error(`RabbitMQ has no vhost ${missing.map((v) => `'${v}'`).join(', ')}`);
  }
  const users = list(d, 'users').filter((u) => {
    if (u['name'] !== o.warrenUser) return true;
    skipped.push({ kind: 'user', vhost: null, name: o.warrenUser, reason: 'the migration logs into warren as this user; kept as warren has it' });
    return false;
  });
  const permissions = list(d, 'permissions').filter((p) => wanted(p['vhost']));
  const topicPermissions = list(d, 'topic_permissions').filter((p) => wanted(p['vhost']));
  const parameters = list(d, 'parameters').filter((p) => wanted(p['vhost']));
  const policies = list(d, 'policies').filter((p) => wanted(p['vhost']));
  const operatorPolicies = list(d, 'operator_policies').filter((p) => wanted(p['vhost']));

  const gone = new Set<string>();
  const id = (kind: string, vhost: string, name: string): string => `${kind}\u0000${vhost}\u0000${name}`;
  const queues = list(d, 'queues').filter((q) => wanted(q['vhost']));
  // A stream is declared in warren, but its messages are a log every consumer reads from an
  // offset, not something to take with basic.get and ack: they are not copied.
  const isStream = (q: Obj): boolean => typeof q['arguments'] === 'object' && q['arguments'] !== null && (q['arguments'] as Obj)['x-queue-type'] === 'stream';
  for (const q of queues) {
    if (isStream(q)) skipped.push({ kind: 'messages of stream', vhost: text(q, 'vhost'), name: text(q, 'name'), reason: 'a stream is declared in warren, its log is not copied' });
  }
  const exchanges = list(d, 'exchanges').filter((x) => {
    if (!wanted(x['vhost'])) return false;
    if (!o.exchangeTypes.has(text(x, 'type'))) {
      skipped.push({ kind: 'exchange', vhost: text(x, 'vhost'), name: text(x, 'name'), reason: `type '${text(x, 'type')}' is not one warren has` });
      gone.add(id('exchange', text(x, 'vhost'), text(x, 'name')));
      return false;
    }
    return true;
  });
  const bindings = list(d, 'bindings').filter((b) => {
    if (!wanted(b['vhost'])) return false;
    const v = text(b, 'vhost');
    const destKind = text(b, 'destination_type') === 'queue' ? 'queue' : 'exchange';
    if (gone.has(id('exchange', v, text(b, 'source'))) || gone.has(id(destKind, v, text(b, 'destination')))) {
      skipped.push({ kind: 'binding', vhost: v, name: `${text(b, 'source')} -> ${text(b, 'destination')} (${text(b, 'routing_key')})`, reason: 'its source or destination is not migrated' });
      return false;
    }
    return true;
  });
  const doc: Obj = {
    ...d,
    users,
    vhosts,
    permissions,
    topic_permissions: topicPermissions,
    parameters,
    policies,
    queues,
    exchanges,
    bindings,
  };
  if (d['operator_policies'] !== undefined) doc['operator_policies'] = operatorPolicies;
  return {
    doc,
    queues: queues.filter((q) => !isStream(q)).map((q) => ({ vhost: text(q, 'vhost'), name: text(q, 'name'), arguments: (q['arguments'] ?? {}) as Obj })),
    skipped,
    counts: { users: users.length, vhosts: vhosts.length, permissions: permissions.length, policies: policies.length, queues: queues.length, exchanges: exchanges.length, bindings: bindings.length },
  };
}

/** GET of a JSON document with basic auth, refused past `maxBytes` (a RabbitMQ answer is not trusted to be small). */
export function fetchJson(url: string, user: string, password: string, maxBytes: number, timeoutMs = 60_000): Promise<unknown> {
  const request = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` }, agent: false, timeout: timeoutMs }, (res: IncomingMessage) => {
      const declared = Number(res.headers['content-length'] ?? 0);
      if (declared > maxBytes) {
        res.destroy();
        reject(new Error(`${url} answers with ${declared} bytes, more than the limit of ${maxBytes} (--max-definitions-bytes)`));
        return;
      }
      const chunks: Buffer[] = [];
      let got = 0;
      res.on('data', (c: Buffer) => {
        got += c.length;
        if (got > maxBytes) {
          res.destroy();
          reject(new Error(`${url} answers with more than ${maxBytes} bytes (--max-definitions-bytes)`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode === 401) return reject(new Error(`${url}: login refused (401); give RabbitMQ's management user in --from-api or --from-amqp`));
        if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode ?? '?'} ${body.slice(0, 200)}`));
        try {
          resolve(JSON.parse(body));
        } catch {
          reject(new Error(`${url} did not answer with JSON`));
        }
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${url} did not answer within ${timeoutMs / 1000} s`)));
    req.on('error', (e) => reject(new Error(`cannot reach RabbitMQ's HTTP API at ${url}: ${e.message}`)));
    req.end();
  });
}
