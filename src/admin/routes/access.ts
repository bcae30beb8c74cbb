// /api/whoami, /api/users, /api/vhosts and /api/permissions. Users, vhosts and permissions
// change through AccessControl and the Broker, which store them; only administrators may change
// or list users and permissions. A vhost created here gives its creator full permissions on
// it, as RabbitMQ does.

import type { FastifyInstance } from 'fastify';
import { compilePattern } from '../../auth/access.js';
import type { PermissionRecord } from '../../store/store.js';
import { requireAdministrator } from '../auth.js';
import { access as only } from '../route-access.js';
import { created, userOf, viewableVhost, visibleVhosts, type AdminContext } from '../context.js';
import { permissionJson, userJson, vhostJson } from '../format.js';
import { badRequest, notFound } from '../http-error.js';
import { checkPasswordHash, parseTags } from '../users.js';
import { applyListQuery, LIST_QUERY_SCHEMA, type ListQuery } from '../query.js';

const TAGS = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } as const;

const USER_BODY = {
  type: 'object',
  required: ['tags'],
  properties: {
    password: { type: 'string' },
    password_hash: { type: 'string' },
    hashing_algorithm: { type: 'string' },
    tags: TAGS,
  },
} as const;

const VHOST_BODY = {
  type: 'object',
  properties: { description: { type: 'string' }, tags: TAGS, tracing: { type: 'boolean' } },
} as const;

const PERMISSION_BODY = {
  type: 'object',
  required: ['configure', 'write', 'read'],
  properties: { configure: { type: 'string' }, write: { type: 'string' }, read: { type: 'string' } },
} as const;

interface UserBody {
  password?: string;
  password_hash?: string;
  hashing_algorithm?: string;
  tags: string | string[];
}

interface VhostBody {
  description?: string;
  tags?: string | string[];
}

interface PermissionBody {
  configure: string;
  write: string;
  read: string;
}

export function registerAccessRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { broker } = ctx;
  const access = broker.access;
  const listSchema = { querystring: LIST_QUERY_SCHEMA };
  const sortedUsers = () => [...access.users].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  /** Permissions by user, then vhost (a stable order for people and diffs). */
  const permissions = (keep: (p: PermissionRecord) => boolean) =>
    access.permissions
      .filter(keep)
      .sort((a, b) => (a.user === b.user ? (a.vhost < b.vhost ? -1 : 1) : a.user < b.user ? -1 : 1))
      .map(permissionJson);

  app.get('/api/whoami', only('management'), (req) => {
    const u = userOf(req);
    return { name: u.name, tags: [...u.tags] };
  });

  // ---- users -----------------------------------------------------------------------------

  app.get<{ Querystring: ListQuery }>('/api/users', { schema: listSchema, config: { access: 'administrator' } }, (req) => {
    requireAdministrator(userOf(req));
    return applyListQuery(sortedUsers().map((u) => userJson(u, broker.limits.of('user', u.name))), req.query);
  });

  app.get<{ Params: { name: string } }>('/api/users/:name', only('administrator'), (req) => {
    requireAdministrator(userOf(req));
    const u = access.user(req.params.name);
    if (u === undefined) throw notFound();
    return userJson(u, broker.limits.of('user', u.name));
  });

  app.put<{ Params: { name: string }; Body: UserBody }>('/api/users/:name', { schema: { body: USER_BODY }, config: { access: 'administrator' } }, (req, reply) => {
    requireAdministrator(userOf(req));
    const name = req.params.name;
    if (name === '') throw badRequest('user name must not be empty');
    const b = req.body;
    const existed = access.user(name) !== undefined;
    const tags = parseTags(b.tags);
    if (b.password !== undefined) {
      access.putUser(name, { password: b.password }, tags);
    } else {
      const hash = b.password_hash ?? '';
      const hashingAlgorithm = checkPasswordHash(hash, b.hashing_algorithm);
      access.putUser(name, { passwordHash: hash, hashingAlgorithm }, tags);
    }
    ctx.log.info({ user: name, tags, by: userOf(req).name }, existed ? 'user updated' : 'user created');
    return created(reply, existed);
  });

  app.delete<{ Params: { name: string } }>('/api/users/:name', only('administrator'), (req, reply) => {
    requireAdministrator(userOf(req));
    if (!access.deleteUser(req.params.name)) throw notFound();
    ctx.log.info({ user: req.params.name, by: userOf(req).name }, 'user deleted');
    return reply.code(204).send();
  });

  app.get<{ Params: { name: string }; Querystring: ListQuery }>('/api/users/:name/permissions', { schema: listSchema, config: { access: 'administrator' } }, (req) => {
    requireAdministrator(userOf(req));
    if (access.user(req.params.name) === undefined) throw notFound();
    return applyListQuery(permissions((p) => p.user === req.params.name), req.query);
  });

  // ---- vhosts ----------------------------------------------------------------------------

  app.get<{ Querystring: ListQuery }>('/api/vhosts', { schema: listSchema, config: { access: 'management' } }, (req) =>
    applyListQuery(visibleVhosts(ctx, userOf(req)).map((v) => vhostJson(broker, v)).sort((a, b) => (String(a['name']) < String(b['name']) ? -1 : 1)), req.query),
  );

  app.get<{ Params: { name: string } }>('/api/vhosts/:name', only('administrator'), (req) => vhostJson(broker, viewableVhost(ctx, userOf(req), req.params.name)));

  app.put<{ Params: { name: string }; Body: VhostBody }>('/api/vhosts/:name', { schema: { body: VHOST_BODY }, config: { access: 'administrator' } }, (req, reply) => {
    const user = userOf(req);
    requireAdministrator(user);
    const name = req.params.name;
    if (name === '') throw badRequest('vhost name must not be empty');
    const existed = broker.vhosts.has(name);
    broker.addVhost(name, req.body.description ?? '', parseTags(req.body.tags));
    if (!existed) {
      access.setPermissions({ user: user.name, vhost: name, configure: '.*', write: '.*', read: '.*' });
      ctx.log.info({ vhost: name, by: user.name }, 'vhost created');
    }
    return created(reply, existed);
  });

  app.delete<{ Params: { name: string } }>('/api/vhosts/:name', only('administrator'), (req, reply) => {
    requireAdministrator(userOf(req));
    if (!broker.deleteVhost(req.params.name)) throw notFound();
    ctx.log.info({ vhost: req.params.name, by: userOf(req).name }, 'vhost deleted');
    return reply.code(204).send();
  });

  app.get<{ Params: { name: string }; Querystring: ListQuery }>('/api/vhosts/:name/permissions', { schema: listSchema, config: { access: 'administrator' } }, (req) => {
    requireAdministrator(userOf(req));
    if (!broker.vhosts.has(req.params.name)) throw notFound();
    return applyListQuery(permissions((p) => p.vhost === req.params.name), req.query);
  });

  // ---- permissions -----------------------------------------------------------------------

  app.get<{ Querystring: ListQuery }>('/api/permissions', { schema: listSchema, config: { access: 'administrator' } }, (req) => {
    requireAdministrator(userOf(req));
    return applyListQuery(permissions(() => true), req.query);
  });

  app.get<{ Params: { vhost: string; user: string } }>('/api/permissions/:vhost/:user', only('administrator'), (req) => {
    requireAdministrator(userOf(req));
    const p = access.permission(req.params.user, req.params.vhost);
    if (p === undefined) throw notFound();
    return permissionJson(p);
  });

  app.put<{ Params: { vhost: string; user: string }; Body: PermissionBody }>('/api/permissions/:vhost/:user', { schema: { body: PERMISSION_BODY }, config: { access: 'administrator' } }, (req, reply) => {
    requireAdministrator(userOf(req));
    const { vhost, user } = req.params;
    if (!broker.vhosts.has(vhost) || access.user(user) === undefined) throw badRequest('vhost_or_user_not_found');
    const { configure, write, read } = req.body;
    for (const [kind, pattern] of [['configure', configure], ['write', write], ['read', read]] as const) {
      try {
        compilePattern(pattern);
      } catch (e) {
        throw badRequest(`invalid regular expression for ${kind}: ${JSON.stringify(pattern)} (${(e as Error).message})`);
      }
    }
    const existed = access.permission(user, vhost) !== undefined;
    access.setPermissions({ user, vhost, configure, write, read });
    ctx.log.info({ user, vhost, configure, write, read, by: userOf(req).name }, 'permissions set');
    return created(reply, existed);
  });

  app.delete<{ Params: { vhost: string; user: string } }>('/api/permissions/:vhost/:user', only('administrator'), (req, reply) => {
    requireAdministrator(userOf(req));
    if (!access.clearPermissions(req.params.user, req.params.vhost)) throw notFound();
    ctx.log.info({ user: req.params.user, vhost: req.params.vhost, by: userOf(req).name }, 'permissions cleared');
    return reply.code(204).send();
  });
}
