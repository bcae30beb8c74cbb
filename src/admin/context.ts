// What every route of the management API shares: the broker, the stats sampler, the HTTP
// API's own counters, the listeners to report, and small helpers that look objects up or say
// 404 / 401 the way RabbitMQ does.

import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Broker } from '../broker.js';
import type { DefinitionContext } from '../connection/definition-methods.js';
import { ChannelError } from '../errors.js';
import type { VirtualHost } from '../routing/vhost.js';
import { mayView, requireVhostAccess, type ApiUser } from './auth.js';
import { notAuthorised, notFound } from './http-error.js';
import type { HttpCounters, StatsSampler } from './stats.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated user (set for every /api route). */
    apiUser: ApiUser;
  }
}

export interface Listener {
  /** RabbitMQ's names: 'amqp/ssl' for AMQPS, 'https' for the API over TLS. */
  readonly protocol: 'amqp' | 'amqp/ssl' | 'http' | 'https';
  readonly ip_address: string;
  readonly port: number;
}

export interface AdminContext {
  readonly broker: Broker;
  readonly stats: StatsSampler;
  readonly http: HttpCounters;
  readonly log: Logger;
  /** The AMQP and HTTP listeners, for /api/overview. */
  listeners(): Listener[];
}

/** Stands for "the management API" where the model wants an owner (exclusive queues). */
export const HTTP_OWNER: object = Object.freeze({ owner: 'management API' });

export function userOf(req: FastifyRequest): ApiUser {
  return req.apiUser;
}

/** The vhost named in a URL, if it exists and the user may see it; else 404 (or 401 as RabbitMQ says it). */
export function viewableVhost(ctx: AdminContext, user: ApiUser, name: string): VirtualHost {
  const v = ctx.broker.vhost(name);
  if (v === undefined) throw notFound();
  if (!mayView(ctx.broker, user, name)) throw notAuthorised('User not authorised to access virtual host');
  return v;
}

/** The vhost for an operation: it must exist and the user must have permissions in it. */
export function operableVhost(ctx: AdminContext, user: ApiUser, name: string): VirtualHost {
  const v = ctx.broker.vhost(name);
  if (v === undefined) throw notFound();
  requireVhostAccess(ctx.broker, user, name);
  return v;
}

/** The context the AMQP method handlers take, acting as `user` (same permission checks and texts as a client's). */
export function definitionContext(ctx: AdminContext, user: ApiUser, v: VirtualHost): DefinitionContext {
  return {
    vhost: v,
    owner: HTTP_OWNER,
    lastQueue: '',
    checkPermission: (kind, resource, name) => {
      const n = resource === 'exchange' && name === '' ? 'amq.default' : name;
      if (!ctx.broker.permits(user.name, v.name, kind, n)) {
        throw new ChannelError('ACCESS_REFUSED', `access to ${resource} '${n}' in vhost '${v.name}' refused for user '${user.name}'`);
      }
    },
  };
}

/** The exchange name of a URL: RabbitMQ writes the default exchange as amq.default there. */
export function exchangeFromUrl(name: string): string {
  return name === 'amq.default' ? '' : name;
}

/** The vhosts the user may look at. */
export function visibleVhosts(ctx: AdminContext, user: ApiUser): VirtualHost[] {
  return [...ctx.broker.vhosts.values()].filter((v) => mayView(ctx.broker, user, v.name));
}

/** 201 Created for a new object, 204 No Content when it was there already (RabbitMQ's answers to PUT). */
export function created(reply: FastifyReply, existed: boolean): FastifyReply {
  return reply.code(existed ? 204 : 201).send();
}
