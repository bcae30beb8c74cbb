// Access control that is part of route registration. Every route declares an access class in
// its config (`{ config: { access: 'vhost' } }`); an onRoute hook refuses, at registration, a
// route without a valid one, so a route that forgets auth cannot exist. The check runs in one
// onRequest hook on the route the router matched: it sees the path as routed (decoded, and
// normalised by normalisePath below), never the raw URL. The classes are RabbitMQ's
// rabbit_mgmt_util / rabbit_web_dispatch_access_control is_authorized_* checks:
//   public         no login (/metrics, as RabbitMQ's Prometheus plugin)
//   management     any user tagged management, policymaker, monitoring or administrator
//   monitoring     monitoring or administrator (is_authorized_monitor: nodes)
//   vhost          administrator, or a management user with permissions in the URL's vhost; a
//                  vhost that does not exist passes (the route then answers 404)
//   vhost-visible  as vhost, but monitoring users see every vhost (is_authorized_vhost_visible)
//   policymaker    administrator, or policymaker with permissions in the URL's vhost
//   administrator  administrator only
//   owner          the object's owner (connections, channels); else GET needs monitoring and
//                  DELETE administrator (is_authorized_user); `ownerOf` names the owner

import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import type { Broker } from '../broker.js';
import { authenticate, type ApiUser } from './auth.js';
import { notAuthorised } from './http-error.js';

export type AccessClass = 'public' | 'management' | 'monitoring' | 'vhost' | 'vhost-visible' | 'policymaker' | 'administrator' | 'owner';

export const ACCESS_CLASSES: readonly AccessClass[] = ['public', 'management', 'monitoring', 'vhost', 'vhost-visible', 'policymaker', 'administrator', 'owner'];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may use this route; required on every route (see route-access.ts). */
    access?: AccessClass;
    /** For `owner` routes: the user owning the object the URL names, or undefined when there is none (then 404). */
    ownerOf?: (req: FastifyRequest) => string | undefined;
  }
}

/** A registered route as the access walk test and the docs see it. */
export interface RouteEntry {
  readonly method: string;
  readonly url: string;
  readonly access: AccessClass;
}

const routeTables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route registered on `app` (each method separately, HEAD included), with its access class. */
export function registeredRoutes(app: FastifyInstance): readonly RouteEntry[] {
  return routeTables.get(app) ?? [];
}

function isAdmin(tags: readonly string[]): boolean {
  return tags.includes('administrator');
}
function isMonitor(tags: readonly string[]): boolean {
  return tags.includes('administrator') || tags.includes('monitoring');
}
function isPolicymaker(tags: readonly string[]): boolean {
  return tags.includes('administrator') || tags.includes('policymaker');
}

/** A route's access class, checked when it is registered; throws if it is missing or unknown. */
function checkRoute(route: RouteOptions): AccessClass {
  const methods = Array.isArray(route.method) ? route.method.join(',') : route.method;
  const access = route.config?.access;
  if (access === undefined || !ACCESS_CLASSES.includes(access)) {
    throw new Error(`management route ${methods} ${route.url} declares no access class (config.access: one of ${ACCESS_CLASSES.join(', ')})`);
  }
  if ((access === 'vhost' || access === 'vhost-visible' || access === 'policymaker') && !route.url.includes(':vhost')) {
    throw new Error(`management route ${methods} ${route.url} has access '${access}' but no :vhost parameter`);
  }
  if (access === 'owner' && typeof route.config?.ownerOf !== 'function') {
    throw new Error(`management route ${methods} ${route.url} has access 'owner' but no ownerOf`);
  }
  return access;
}

/** Installs the registration guard and the per-request check; call before registering any route. */
export function installRouteAccess(app: FastifyInstance, broker: Broker): void {
  const table: RouteEntry[] = [];
  routeTables.set(app, table);
  app.addHook('onRoute', (route) => {
    const access = checkRoute(route);
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) table.push({ method, url: route.url, access });
  });

  app.addHook('onRequest', async (req) => {
    const config = req.routeOptions.config;
    const access = config.access;
    if (access === undefined) {
      // Only the not-found handler has no class (every route was checked when registered).
      if (req.is404) return;
      throw new Error(`route ${req.method} ${req.routeOptions.url ?? '?'} has no access class`);
    }
    if (access === 'public') return;
    const user = authenticate(broker, req.headers.authorization, req.socket.remoteAddress ?? '');
    req.apiUser = user;
    authorise(broker, req, access, user);
  });
}

function vhostParam(req: FastifyRequest): string | undefined {
  const v = (req.params as Record<string, string | undefined> | undefined)?.['vhost'];
  return v;
}

/** Whether the user may use the vhost in the URL: yes when it does not exist (404 follows), as RabbitMQ. */
function matchesVhost(broker: Broker, req: FastifyRequest, user: ApiUser): boolean {
  const vhost = vhostParam(req);
  if (vhost === undefined || !broker.vhosts.has(vhost)) return true;
  return broker.access.canAccessVhost(user.name, vhost);
}

function authorise(broker: Broker, req: FastifyRequest, access: AccessClass, user: ApiUser): void {
  const tags = user.tags;
  switch (access) {
    case 'public':
    case 'management':
      return;
    case 'monitoring':
      if (!isMonitor(tags)) throw notAuthorised('Not monitor user');
      return;
    case 'administrator':
      if (!isAdmin(tags)) throw notAuthorised('Not administrator user');
      return;
    case 'vhost':
      if (!isAdmin(tags) && !matchesVhost(broker, req, user)) throw notAuthorised('User not authorised to access virtual host');
      return;
    case 'vhost-visible':
      if (!isMonitor(tags) && !matchesVhost(broker, req, user)) throw notAuthorised('User not authorised to access virtual host');
      return;
    case 'policymaker':
      if (!isAdmin(tags) && !(isPolicymaker(tags) && matchesVhost(broker, req, user))) throw notAuthorised('User not authorised to access object');
      return;
    case 'owner': {
      const owner = req.routeOptions.config.ownerOf!(req);
      if (owner === undefined || owner === user.name) return;
      const allowed = req.method === 'DELETE' ? isAdmin(tags) : isMonitor(tags);
      if (!allowed) throw notAuthorised('User not authorised to access object');
      return;
    }
  }
}

/**
 * The request path as RabbitMQ's router (cowboy) sees it: dot segments removed ('.', '..', also
 * percent-encoded), a final '/' dropped; everything else, empty segments and percent-encoding
 * included, left for the router (which decodes once, keeping %2F inside a segment).
 */
export function normalisePath(url: string): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const rest = q < 0 ? '' : url.slice(q);
  if (!path.startsWith('/')) return url;
  const segments = path.slice(1).split('/');
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  const out: string[] = [];
  let changed = segments.length !== path.slice(1).split('/').length;
  for (const s of segments) {
    const dots = s.length <= 6 ? s.replace(/%2e/gi, '.') : s;
    if (dots === '.') {
      changed = true;
    } else if (dots === '..') {
      out.pop();
      changed = true;
    } else {
      out.push(s);
    }
  }
  return changed ? `/${out.join('/')}${rest}` : url;
}

/** Route options naming only an access class: `app.get(url, access('management'), handler)`. */
export function access(cls: Exclude<AccessClass, 'owner'>): { config: { access: AccessClass } } {
  return { config: { access: cls } };
}
