// /api/connections, /api/channels and /api/consumers: who is connected and what they do.
// Monitoring and administrator users see everything; other users see their own connections.
// DELETE /api/connections/{name} closes one with 320 CONNECTION_FORCED, as RabbitMQ does.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Channel } from '../../connection/channel.js';
import type { Connection } from '../../connection/connection.js';
import { ConnectionError } from '../../errors.js';
import { mayView, seesEverything, type ApiUser } from '../auth.js';
import { userOf, viewableVhost, type AdminContext } from '../context.js';
import { channelJson, channelName, connectionJson, connectionName, consumerJson, type Json } from '../format.js';
import { notFound } from '../http-error.js';
import { applyListQuery, LIST_QUERY_SCHEMA, type ListQuery } from '../query.js';

function visibleConnections(ctx: AdminContext, user: ApiUser, vhost?: string): Connection[] {
  const all = seesEverything(user);
  return [...ctx.broker.connections].filter(
    (c) => c.vhostName !== '' && (all || c.username === user.name) && (vhost === undefined || c.vhostName === vhost),
  );
}

function channelsOf(conns: Connection[]): [Connection, Channel][] {
  return conns.flatMap((c) => [...c.channels.values()].map((ch): [Connection, Channel] => [c, ch]));
}

export function registerConnectionRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const listSchema = { querystring: LIST_QUERY_SCHEMA };
  const connJson = (c: Connection): Json => connectionJson(c, ctx.stats);
  const chJson = ([c, ch]: [Connection, Channel]): Json => channelJson(c, ch, ctx.stats);
  /** Who owns the connection or channel a URL names (the route's access class decides on it). */
  const ownerOf = (req: FastifyRequest): string | undefined => {
    const name = (req.params as { name: string }).name;
    for (const c of ctx.broker.connections) {
      if (c.vhostName === '') continue;
      if (connectionName(c) === name) return c.username;
      for (const ch of c.channels.values()) if (channelName(c, ch) === name) return c.username;
    }
    return undefined;
  };
  const findConnection = (user: ApiUser, name: string): Connection => {
    const c = visibleConnections(ctx, user).find((x) => connectionName(x) === name);
    if (c === undefined) throw notFound();
    return c;
  };

  app.get<{ Querystring: ListQuery }>('/api/connections', { schema: listSchema, config: { access: 'management' } }, (req) =>
    applyListQuery(visibleConnections(ctx, userOf(req)).map(connJson), req.query),
  );

  app.get<{ Params: { vhost: string }; Querystring: ListQuery }>('/api/vhosts/:vhost/connections', { schema: listSchema, config: { access: 'vhost' } }, (req) => {
    viewableVhost(ctx, userOf(req), req.params.vhost);
    return applyListQuery(visibleConnections(ctx, userOf(req), req.params.vhost).map(connJson), req.query);
  });

  app.get<{ Params: { name: string } }>('/api/connections/:name', { config: { access: 'owner', ownerOf } }, (req) => connJson(findConnection(userOf(req), req.params.name)));

  app.delete<{ Params: { name: string } }>('/api/connections/:name', { config: { access: 'owner', ownerOf } }, (req, reply) => {
    const c = findConnection(userOf(req), req.params.name);
    const reason = req.headers['x-reason'];
    const text = typeof reason === 'string' && reason !== '' ? reason : 'Closed via management plugin';
    ctx.log.info({ conn: c.id, user: userOf(req).name }, 'closing connection on request of the HTTP API');
    c.closeWithError(new ConnectionError('CONNECTION_FORCED', text));
    return reply.code(204).send();
  });

  app.get<{ Params: { name: string }; Querystring: ListQuery }>('/api/connections/:name/channels', { schema: listSchema, config: { access: 'owner', ownerOf } }, (req) =>
    applyListQuery(channelsOf([findConnection(userOf(req), req.params.name)]).map(chJson), req.query),
  );

  app.get<{ Querystring: ListQuery }>('/api/channels', { schema: listSchema, config: { access: 'management' } }, (req) =>
    applyListQuery(channelsOf(visibleConnections(ctx, userOf(req))).map(chJson), req.query),
  );

  app.get<{ Params: { vhost: string }; Querystring: ListQuery }>('/api/vhosts/:vhost/channels', { schema: listSchema, config: { access: 'vhost' } }, (req) => {
    viewableVhost(ctx, userOf(req), req.params.vhost);
    return applyListQuery(channelsOf(visibleConnections(ctx, userOf(req), req.params.vhost)).map(chJson), req.query);
  });

  app.get<{ Params: { name: string } }>('/api/channels/:name', { config: { access: 'owner', ownerOf } }, (req) => {
    const found = channelsOf(visibleConnections(ctx, userOf(req))).find(([c, ch]) => channelName(c, ch) === req.params.name);
    if (found === undefined) throw notFound();
    return chJson(found);
  });

  const consumers = (user: ApiUser, vhost?: string): Json[] => {
    const out: Json[] = [];
    for (const c of ctx.broker.connections) {
      if (c.vhostName === '' || (vhost !== undefined && c.vhostName !== vhost) || !mayView(ctx.broker, user, c.vhostName)) continue;
      for (const ch of c.channels.values()) for (const k of ch.consumers.values()) out.push(consumerJson(c, ch, k));
    }
    return out;
  };

  app.get<{ Querystring: ListQuery }>('/api/consumers', { schema: listSchema, config: { access: 'management' } }, (req) => applyListQuery(consumers(userOf(req)), req.query));

  // Any management user, as RabbitMQ's: the list holds only the consumers of vhosts the user may see.
  app.get<{ Params: { vhost: string }; Querystring: ListQuery }>('/api/consumers/:vhost', { schema: listSchema, config: { access: 'management' } }, (req) => {
    if (!ctx.broker.vhosts.has(req.params.vhost)) throw notFound();
    return applyListQuery(consumers(userOf(req), req.params.vhost), req.query);
  });
}
