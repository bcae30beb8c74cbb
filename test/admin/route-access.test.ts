// Walks EVERY route the management server registered (read from the fastify instance, not a
// hand list) as every kind of caller — no credentials, wrong credentials, a user without tags,
// management, policymaker, monitoring and administrator users — through many spellings of each
// path: percent-encoded letters (%61pi), %2F and %2f, trailing slash, dot segments, double
// slashes. Each answer must be what RabbitMQ 3.10's is_authorized_* checks give (401 with
// their reason, or let through to the route), and never a 5xx. Requests go over a real socket
// with node:http, which (unlike fetch or inject) sends the path byte for byte.

import { request, Agent } from 'node:http';
import type { ChannelModel } from 'amqplib';
import { fastify } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelName, connectionName } from '../../src/admin/format.js';
import { installRouteAccess, normalisePath, registeredRoutes, type AccessClass, type RouteEntry } from '../../src/admin/route-access.js';
import { adminBroker, type AdminTestBroker } from './helpers.js';

/**
 * The access class RabbitMQ's management plugin gives each route (its rabbit_mgmt_wm_*
 * is_authorized/2, checked against a live 3.10.8). A route added to warren must be added here
 * too, so a reviewer decides its class against RabbitMQ's.
 */
const RABBITMQ_CLASSES: Record<string, AccessClass> = {
  // The web console's page and static files, public as RabbitMQ's UI files are (the API calls they make are not).
  'GET /': 'public',
  'GET /console/:file': 'public',
  'GET /metrics': 'public',
  'GET /metrics/per-object': 'public',
  'GET /api/overview': 'management',
  'GET /api/cluster-name': 'management',
  'GET /api/nodes': 'monitoring',
  'GET /api/nodes/:name': 'monitoring',
  // warren's own: its nodes on one PostgreSQL store, in the class of /api/nodes.
  'GET /api/warren/nodes': 'monitoring',
  'GET /api/health/checks/alarms': 'management',
  'GET /api/health/checks/virtual-hosts': 'management',
  'GET /api/aliveness-test/:vhost': 'vhost',
  'GET /api/definitions': 'administrator',
  'GET /api/definitions/:vhost': 'administrator',
  'POST /api/definitions': 'administrator',
  'POST /api/definitions/:vhost': 'administrator',
  'GET /api/whoami': 'management',
  'GET /api/users': 'administrator',
  'GET /api/users/:name': 'administrator',
  'PUT /api/users/:name': 'administrator',
  'DELETE /api/users/:name': 'administrator',
  'GET /api/users/:name/permissions': 'administrator',
  'GET /api/vhosts': 'management',
  'GET /api/vhosts/:name': 'administrator',
  'PUT /api/vhosts/:name': 'administrator',
  'DELETE /api/vhosts/:name': 'administrator',
  'GET /api/vhosts/:name/permissions': 'administrator',
  'GET /api/permissions': 'administrator',
  'GET /api/permissions/:vhost/:user': 'administrator',
  'PUT /api/permissions/:vhost/:user': 'administrator',
  'DELETE /api/permissions/:vhost/:user': 'administrator',
  'GET /api/exchanges': 'management',
  'GET /api/exchanges/:vhost': 'vhost',
  'GET /api/exchanges/:vhost/:name': 'vhost',
  'PUT /api/exchanges/:vhost/:name': 'vhost',
  'DELETE /api/exchanges/:vhost/:name': 'vhost',
  'GET /api/exchanges/:vhost/:name/bindings/:direction': 'vhost',
  'POST /api/exchanges/:vhost/:name/publish': 'vhost',
  'GET /api/queues': 'management',
  'GET /api/queues/:vhost': 'vhost',
  'GET /api/queues/:vhost/:name': 'vhost',
  'PUT /api/queues/:vhost/:name': 'vhost',
  'DELETE /api/queues/:vhost/:name': 'vhost',
  'DELETE /api/queues/:vhost/:name/contents': 'vhost',
  'GET /api/queues/:vhost/:name/bindings': 'vhost',
  'POST /api/queues/:vhost/:name/get': 'vhost',
  // warren's own (peek, redrive, move), in the class of the route above.
  'GET /api/queues/:vhost/:name/messages': 'vhost',
  'POST /api/queues/:vhost/:name/redrive': 'vhost',
  'POST /api/queues/:vhost/:name/move': 'vhost',
  'GET /api/bindings': 'management',
  'GET /api/bindings/:vhost': 'vhost',
  'GET /api/bindings/:vhost/e/:source/:dtype/:destination': 'vhost',
  'POST /api/bindings/:vhost/e/:source/:dtype/:destination': 'vhost',
  'GET /api/bindings/:vhost/e/:source/:dtype/:destination/:props': 'vhost',
  'DELETE /api/bindings/:vhost/e/:source/:dtype/:destination/:props': 'vhost',
  'GET /api/connections': 'management',
  'GET /api/connections/:name': 'owner',
  'DELETE /api/connections/:name': 'owner',
  'GET /api/connections/:name/channels': 'owner',
  'GET /api/vhosts/:vhost/connections': 'vhost',
  'GET /api/channels': 'management',
  'GET /api/channels/:name': 'owner',
  'GET /api/vhosts/:vhost/channels': 'vhost',
  'GET /api/consumers': 'management',
  'GET /api/consumers/:vhost': 'management',
  'GET /api/vhost-limits': 'management',
  'GET /api/vhost-limits/:vhost': 'vhost-visible',
  'PUT /api/vhost-limits/:vhost/:name': 'administrator',
  'DELETE /api/vhost-limits/:vhost/:name': 'administrator',
  // RabbitMQ 3.10.8 lets any management user read user limits; later releases (rabbit_mgmt_wm_user_limits)
  // ask for administrator. warren asks for monitoring: they name other users.
  'GET /api/user-limits': 'monitoring',
  'GET /api/user-limits/:user': 'monitoring',
  'PUT /api/user-limits/:user/:name': 'administrator',
  'DELETE /api/user-limits/:user/:name': 'administrator',
  // rabbit_mgmt_wm_policies / _policy / _operator_policies / _operator_policy (3.10.8, tried with
  // management, policymaker and administrator users).
  'GET /api/policies': 'management',
  'GET /api/policies/:vhost': 'vhost',
  'GET /api/policies/:vhost/:name': 'policymaker',
  'PUT /api/policies/:vhost/:name': 'policymaker',
  'DELETE /api/policies/:vhost/:name': 'policymaker',
  'GET /api/operator-policies': 'management',
  'GET /api/operator-policies/:vhost': 'vhost',
  'GET /api/operator-policies/:vhost/:name': 'administrator',
  'PUT /api/operator-policies/:vhost/:name': 'administrator',
  'DELETE /api/operator-policies/:vhost/:name': 'administrator',
  // warren's own (RabbitMQ has no named readers, super streams or groups over 0-9-1): reading as
  // its queue and exchange lists (vhost-visible, as /api/vhost-limits/:vhost), changing as
  // queue and exchange declarations (vhost).
  'GET /api/stream-readers/:vhost/:stream': 'vhost-visible',
  'PUT /api/stream-readers/:vhost/:stream/:reader': 'vhost',
  'DELETE /api/stream-readers/:vhost/:stream/:reader': 'vhost',
  'GET /api/super-streams/:vhost': 'vhost-visible',
  'POST /api/super-streams/:vhost/:name/partitions': 'vhost',
  'DELETE /api/super-streams/:vhost/:name': 'vhost',
  'GET /api/consumer-groups/:vhost': 'vhost-visible',
};

interface Caller {
  readonly label: string;
  readonly user: string | null;
  readonly password: string;
  readonly tags: readonly string[];
  /** Has permissions in vhost '/'. */
  readonly inRoot: boolean;
  readonly exists: boolean;
}

const CALLERS: readonly Caller[] = [
  { label: 'no credentials', user: null, password: '', tags: [], inRoot: false, exists: false },
  { label: 'wrong password', user: 'adm', password: 'wrong', tags: [], inRoot: false, exists: false },
  { label: 'unknown user', user: 'nobody', password: 'p', tags: [], inRoot: false, exists: false },
  { label: 'no tags', user: 'notags', password: 'p', tags: [], inRoot: true, exists: true },
  { label: 'management', user: 'mgmt', password: 'p', tags: ['management'], inRoot: true, exists: true },
  { label: 'policymaker', user: 'pol', password: 'p', tags: ['policymaker'], inRoot: true, exists: true },
  { label: 'monitoring', user: 'mon', password: 'p', tags: ['monitoring'], inRoot: false, exists: true },
  { label: 'administrator', user: 'adm', password: 'p', tags: ['administrator'], inRoot: true, exists: true },
];

/** What RabbitMQ answers: 401 with a reason (login or access), or "let through" to the route. */
type Expected = { status: 401; reason: string } | 'through';

function expected(access: AccessClass, method: string, c: Caller): Expected {
  if (access === 'public') return 'through';
  if (!c.exists) return { status: 401, reason: 'Login failed' };
  const has = (t: string) => c.tags.includes(t);
  const admin = has('administrator');
  const monitor = admin || has('monitoring');
  if (!(admin || monitor || has('management') || has('policymaker'))) return { status: 401, reason: 'Not management user' };
  switch (access) {
    case 'management':
      return 'through';
    case 'monitoring':
      return monitor ? 'through' : { status: 401, reason: 'Not monitor user' };
    case 'administrator':
      return admin ? 'through' : { status: 401, reason: 'Not administrator user' };
    case 'vhost':
      return admin || c.inRoot ? 'through' : { status: 401, reason: 'User not authorised to access virtual host' };
    case 'vhost-visible':
      return monitor || c.inRoot ? 'through' : { status: 401, reason: 'User not authorised to access virtual host' };
    case 'policymaker':
      return admin || (has('policymaker') && c.inRoot) ? 'through' : { status: 401, reason: 'User not authorised to access object' };
    case 'owner': {
      // The objects walked belong to guest, none of the callers.
      const ok = method === 'DELETE' ? admin : monitor;
      return ok ? 'through' : { status: 401, reason: 'User not authorised to access object' };
    }
  }
}

let t: AdminTestBroker;
let guest: ChannelModel | null = null;
let port: number;
const agent = new Agent({ keepAlive: true, maxSockets: 4 });

beforeAll(async () => {
  t = await adminBroker();
  port = Number(new URL(t.running.httpUrl!).port);
  for (const c of CALLERS) {
    if (!c.exists) continue;
    expect((await t.api.put(`/users/${c.user}`, { password: c.password, tags: c.tags.join(',') })).status).toBe(201);
    if (c.inRoot) await t.api.put(`/permissions/%2F/${c.user}`, { configure: '.*', write: '.*', read: '.*' });
  }
});

afterAll(async () => {
  agent.destroy();
  await t.close();
});

/** A guest connection with a channel, opened again if an administrator's DELETE closed it. */
async function guestObjects(): Promise<{ connection: string; channel: string }> {
  const find = () => [...t.running.broker.connections].find((c) => c.username === 'guest' && c.vhostName !== '' && c.channels.size > 0);
  let c = find();
  if (c === undefined) {
    guest = await t.connect();
    await guest.createChannel();
    for (let i = 0; i < 200 && (c = find()) === undefined; i++) await new Promise((r) => setTimeout(r, 5));
  }
  if (c === undefined) throw new Error('guest connection did not appear');
  return { connection: connectionName(c), channel: channelName(c, c.channels.values().next().value!) };
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

function send(method: string, path: string, c: Caller): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (c.user !== null) headers['authorization'] = `Basic ${Buffer.from(`${c.user}:${c.password}`).toString('base64')}`;
  const body = method === 'PUT' || method === 'POST' ? '{}' : undefined;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The route's URL with its parameters filled in (percent-encoded), for the objects the walk uses. */
async function fill(r: RouteEntry): Promise<string> {
  const owned = r.access === 'owner' ? await guestObjects() : null;
  const values: Record<string, string> = {
    vhost: '/',
    name: owned ? (r.url.startsWith('/api/channels') ? owned.channel : owned.connection) : 'walk-nosuch',
    user: 'walk-nosuch',
    source: 'amq.direct',
    dtype: 'q',
    destination: 'walk-nosuch',
    props: '~',
    direction: 'source',
    file: 'app.js',
    stream: 'walk-nosuch',
    reader: 'walk-nosuch',
  };
  return r.url.replace(/:([a-z]+)/g, (_m, p: string) => {
    const v = values[p];
    if (v === undefined) throw new Error(`the walk has no value for :${p} in ${r.url}; add one`);
    return encodeURIComponent(v);
  });
}

const hex = (ch: string) => `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** Spellings RabbitMQ routes like the path itself (first) and ones it answers 404 to (second). */
function spellings(path: string): { same: string[]; notFound: string[] } {
  // The console's page: the root has no segment to respell.
  if (path === '/') return { same: ['/', '/.', '/zz/..', '/%2e'], notFound: ['/zz'] };
  const segs = path.slice(1).split('/');
  const first = segs[0]!;
  const rest = segs.slice(1).join('/');
  const tail = rest === '' ? '' : `/${rest}`;
  const last = segs[segs.length - 1]!;
  const encodedLast = last.replace(/[a-z]/g, hex);
  const same = [
    path,
    `/${hex(first[0]!)}${first.slice(1)}${tail}`,
    `/${segs.slice(0, -1).concat(encodedLast).join('/')}`,
    `${path}/`,
    `/${first}/.${tail}`,
    `/${first}/zz/..${tail}`,
    `/${first}/%2e${tail}`,
    `/${first}/zz/%2E%2E${tail}`,
  ];
  if (path.includes('%2F')) same.push(path.replace(/%2F/g, '%2f'));
  const notFound = [`/${path}`];
  if (rest !== '') notFound.push(`/${first}/${tail}`);
  return { same, notFound };
}

describe('every registered route, every caller, every spelling', () => {
  it('has an access class RabbitMQ gives the same route (HEAD as its GET)', () => {
    const routes = registeredRoutes(t.running.admin!.app);
    expect(routes.length).toBeGreaterThan(50);
    for (const r of routes) {
      const key = `${r.method === 'HEAD' ? 'GET' : r.method} ${r.url}`;
      expect(RABBITMQ_CLASSES[key], `${key} is not in RABBITMQ_CLASSES`).toBeDefined();
      expect(r.access, key).toBe(RABBITMQ_CLASSES[key]);
    }
  });

  it('answers each as RabbitMQ would, and never with a 5xx', async () => {
    const routes = registeredRoutes(t.running.admin!.app);
    let requests = 0;
    for (const r of routes) {
      const head = r.method === 'HEAD';
      for (const c of CALLERS) {
        const count = spellings(await fill(r)).same.length;
        // HEAD answers as its GET does; two spellings are enough for it.
        for (let i = 0; i < (head ? 2 : count); i++) {
          // Filled again each time: an administrator's DELETE may have closed guest's connection.
          const spelled = spellings(await fill(r)).same[i]!;
          const where = `${r.method} ${spelled} as ${c.label}`;
          const a = await send(r.method, spelled, c);
          requests++;
          expect(a.status, `${where}: ${a.body}`).toBeLessThan(500);
          const want = expected(r.access, r.method, c);
          if (want === 'through') {
            expect([401, 403], `${where}: ${a.body}`).not.toContain(a.status);
          } else {
            expect(a.status, `${where}: ${a.body}`).toBe(401);
            if (!head) expect(JSON.parse(a.body)['reason'], where).toBe(want.reason);
            if (want.reason === 'Login failed') expect(a.headers['www-authenticate'], where).toBe('Basic realm="RabbitMQ Management"');
          }
        }
        for (const spelled of head ? [] : spellings(await fill(r)).notFound) {
          const a = await send(r.method, spelled, c);
          requests++;
          expect(a.status, `${r.method} ${spelled} as ${c.label}: ${a.body}`).toBe(404);
        }
      }
    }
    expect(requests).toBeGreaterThan(3000);
  }, 180_000);
});

describe('route registration', () => {
  it('refuses a route that declares no access class, or a vhost class without :vhost', async () => {
    for (const register of [
      (app: ReturnType<typeof fastify>) => app.get('/api/forgot', () => 'x'),
      (app: ReturnType<typeof fastify>) => app.get('/api/forgot', { config: { access: 'vhost' } }, () => 'x'),
      (app: ReturnType<typeof fastify>) => app.get('/api/forgot/:name', { config: { access: 'owner' } }, () => 'x'),
    ]) {
      const app = fastify();
      installRouteAccess(app, t.running.broker);
      let refused = false;
      try {
        register(app);
        await app.ready();
      } catch (e) {
        refused = /access/.test((e as Error).message);
      }
      await app.close();
      expect(refused).toBe(true);
    }
  });
});

describe('normalisePath', () => {
  it('removes dot segments (also percent-encoded) and one final slash, as cowboy does; keeps the rest', () => {
    expect(normalisePath('/api/./overview')).toBe('/api/overview');
    expect(normalisePath('/api/x/../overview?a=1')).toBe('/api/overview?a=1');
    expect(normalisePath('/api/%2e%2E/api/overview')).toBe('/api/overview');
    expect(normalisePath('/../../api/overview')).toBe('/api/overview');
    expect(normalisePath('/api/overview/')).toBe('/api/overview');
    expect(normalisePath('/api/queues//')).toBe('/api/queues/');
    expect(normalisePath('//api/overview')).toBe('//api/overview');
    expect(normalisePath('/%61pi/queues/%2F/q')).toBe('/%61pi/queues/%2F/q');
    expect(normalisePath('/api/queues/%2F/...')).toBe('/api/queues/%2F/...');
    expect(normalisePath('*')).toBe('*');
  });
});
