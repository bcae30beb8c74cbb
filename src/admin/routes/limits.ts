// /api/vhost-limits and /api/user-limits, as RabbitMQ 3.10's management API has them:
// GET lists [{vhost|user, value: {limit: n}}], PUT .../{name} with {"value": n} sets one limit
// (204), DELETE clears it (204, also when it was not set). Bodies and texts of refusals are
// RabbitMQ's. Only administrators change limits; user limits are shown to monitoring and
// administrator users only (RabbitMQ shows them to every management user).

import type { FastifyInstance } from 'fastify';
import { checkLimit, LimitError } from '../../auth/limits.js';
import type { LimitScope } from '../../store/store.js';
import { requireAdministrator, seesEverything } from '../auth.js';
import { userOf, viewableVhost, visibleVhosts, type AdminContext } from '../context.js';
import type { Json } from '../format.js';
import { badRequest, HttpError, notAuthorised, notFound } from '../http-error.js';
import { access } from '../route-access.js';

interface LimitBody {
  value?: unknown;
}

/** The value of PUT's body, checked as RabbitMQ does (its texts differ a little between scopes). */
function limitValue(scope: LimitScope, name: string, body: unknown): number {
  if (typeof body !== 'object' || body === null || !('value' in body)) throw badRequest('[{key_missing,value}]');
  try {
    return checkLimit(scope, name, (body as LimitBody).value);
  } catch (e) {
    if (!(e instanceof LimitError)) throw e;
    throw badRequest(scope === 'vhost' ? `Validation failed\n\n${e.message}\n` : e.message);
  }
}

export function registerLimitRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { broker } = ctx;
  const limits = broker.limits;
  const vhostRows = (names: readonly string[]): Json[] =>
    names.flatMap((name) => {
      const value = limits.of('vhost', name);
      return Object.keys(value).length === 0 ? [] : [{ vhost: name, value: { ...value } }];
    });
  const userRows = (names: readonly string[]): Json[] =>
    names.flatMap((name) => {
      const value = limits.of('user', name);
      return Object.keys(value).length === 0 ? [] : [{ user: name, value: { ...value } }];
    });
  const requireMonitoring = (req: Parameters<typeof userOf>[0]): void => {
    if (!seesEverything(userOf(req))) throw notAuthorised('Not monitor user');
  };

  // ---- vhost limits ----------------------------------------------------------------------

  app.get('/api/vhost-limits', access('management'), (req) => vhostRows(visibleVhosts(ctx, userOf(req)).map((v) => v.name).sort()));

  app.get<{ Params: { vhost: string } }>('/api/vhost-limits/:vhost', access('vhost-visible'), (req) => vhostRows([viewableVhost(ctx, userOf(req), req.params.vhost).name]));

  app.put<{ Params: { vhost: string; name: string } }>('/api/vhost-limits/:vhost/:name', access('administrator'), (req, reply) => {
    requireAdministrator(userOf(req));
    const { vhost, name } = req.params;
    if (!broker.vhosts.has(vhost)) throw new HttpError(404, 'not_found', 'vhost_not_found');
    const value = limitValue('vhost', name, req.body);
    limits.set('vhost', vhost, name, value);
    ctx.log.info({ vhost, limit: name, value, by: userOf(req).name }, 'vhost limit set');
    return reply.code(204).send();
  });

  app.delete<{ Params: { vhost: string; name: string } }>('/api/vhost-limits/:vhost/:name', access('administrator'), (req, reply) => {
    requireAdministrator(userOf(req));
    const { vhost, name } = req.params;
    if (!broker.vhosts.has(vhost)) throw notFound();
    limits.clear('vhost', vhost, name);
    ctx.log.info({ vhost, limit: name, by: userOf(req).name }, 'vhost limit cleared');
    return reply.code(204).send();
  });

  // ---- user limits -----------------------------------------------------------------------

  app.get('/api/user-limits', access('monitoring'), (req) => {
    requireMonitoring(req);
    return userRows(broker.access.users.map((u) => u.name).sort());
  });

  app.get<{ Params: { user: string } }>('/api/user-limits/:user', access('monitoring'), (req) => {
    requireMonitoring(req);
    if (broker.access.user(req.params.user) === undefined) throw notFound();
    return userRows([req.params.user]);
  });

  app.put<{ Params: { user: string; name: string } }>('/api/user-limits/:user/:name', access('administrator'), (req, reply) => {
    requireAdministrator(userOf(req));
    const { user, name } = req.params;
    if (broker.access.user(user) === undefined) throw badRequest(['no_such_user', user]);
    const value = limitValue('user', name, req.body);
    limits.set('user', user, name, value);
    ctx.log.info({ user, limit: name, value, by: userOf(req).name }, 'user limit set');
    return reply.code(204).send();
  });

  app.delete<{ Params: { user: string; name: string } }>('/api/user-limits/:user/:name', access('administrator'), (req, reply) => {
    requireAdministrator(userOf(req));
    const { user, name } = req.params;
    if (broker.access.user(user) === undefined) throw notFound();
    limits.clear('user', user, name);
    ctx.log.info({ user, limit: name, by: userOf(req).name }, 'user limit cleared');
    return reply.code(204).send();
  });
}
