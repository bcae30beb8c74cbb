// /api/exchanges, /api/queues and /api/bindings: list, show, declare, delete, purge, bind and
// unbind. Declarations go through the same handlers (and permission checks) as the AMQP
// methods, acting as the HTTP user; answers are 201 Created / 204 No Content as RabbitMQ's.

import type { FastifyInstance } from 'fastify';
import { jsonToTable } from '../../codec/field-table.js';
import {
  EXCHANGE_BIND,
  EXCHANGE_DECLARE,
  EXCHANGE_DELETE,
  EXCHANGE_UNBIND,
  QUEUE_BIND,
  QUEUE_DECLARE,
  QUEUE_DELETE,
  QUEUE_PURGE,
  QUEUE_UNBIND,
} from '../../codec/methods.generated.js';
import { handleDefinitionMethod } from '../../connection/definition-methods.js';
import type { Queue } from '../../queue/queue.js';
import { bindingKey, type Binding, type Exchange } from '../../routing/exchange.js';
import type { VirtualHost } from '../../routing/vhost.js';
import {
  created,
  definitionContext,
  exchangeFromUrl,
  operableVhost,
  userOf,
  viewableVhost,
  visibleVhosts,
  type AdminContext,
} from '../context.js';
import {
  bindingJson,
  defaultBindingJson,
  exchangeJson,
  propertiesKey,
  queueConsumers,
  queueJson,
  queueOwner,
  vhostBindings,
  type Json,
} from '../format.js';
import { amqpToHttp, badRequest, notFound } from '../http-error.js';
import { applyListQuery, byVhostAndName, LIST_QUERY_SCHEMA, type ListQuery } from '../query.js';
import { listQueues } from '../queue-list.js';
import { access as only } from '../route-access.js';

interface VhostParams {
  vhost: string;
}
interface NameParams extends VhostParams {
  name: string;
}
interface BindingParams extends VhostParams {
  source: string;
  dtype: 'q' | 'e';
  destination: string;
  props?: string;
}

const ARGUMENTS = { type: ['object', 'null'] } as const;

const EXCHANGE_BODY = {
  type: 'object',
  properties: {
    type: { type: 'string', minLength: 1 },
    durable: { type: 'boolean' },
    auto_delete: { type: 'boolean' },
    internal: { type: 'boolean' },
    arguments: ARGUMENTS,
  },
} as const;

const QUEUE_BODY = {
  type: 'object',
  properties: {
    durable: { type: 'boolean' },
    auto_delete: { type: 'boolean' },
    arguments: ARGUMENTS,
  },
} as const;

const BINDING_BODY = {
  type: 'object',
  properties: { routing_key: { type: 'string' }, arguments: ARGUMENTS },
} as const;

const BINDING_PARAMS = {
  type: 'object',
  properties: { dtype: { type: 'string', enum: ['q', 'e'] } },
} as const;

interface ExchangeBody {
  type?: string;
  durable?: boolean;
  auto_delete?: boolean;
  internal?: boolean;
  arguments?: Record<string, unknown> | null;
}
interface QueueBody {
  durable?: boolean;
  auto_delete?: boolean;
  arguments?: Record<string, unknown> | null;
}
interface BindingBody {
  routing_key?: string;
  arguments?: Record<string, unknown> | null;
}

function allExchanges(v: VirtualHost): Exchange[] {
  return [v.defaultExchange, ...v.exchanges.values()];
}

function exchangeOr404(v: VirtualHost, urlName: string): Exchange {
  const x = v.getExchange(exchangeFromUrl(urlName));
  if (x === undefined) throw notFound();
  return x;
}

function queueOr404(v: VirtualHost, name: string): Queue {
  const q = v.getQueue(name);
  if (q === undefined) throw notFound();
  return q;
}

function list(items: Json[], query: ListQuery): unknown {
  return applyListQuery(items.sort(byVhostAndName), query);
}

export function registerResourceRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const listSchema = { querystring: LIST_QUERY_SCHEMA };
  const qJson = (q: Queue): Json => queueJson(q, ctx.stats, queueOwner(ctx.broker, q));

  // ---- exchanges -------------------------------------------------------------------------

  app.get<{ Querystring: ListQuery }>('/api/exchanges', { schema: listSchema, config: { access: 'management' } }, (req) =>
    list(visibleVhosts(ctx, userOf(req)).flatMap((v) => allExchanges(v).map(exchangeJson)), req.query),
  );

  app.get<{ Params: VhostParams; Querystring: ListQuery }>('/api/exchanges/:vhost', { schema: listSchema, config: { access: 'vhost' } }, (req) =>
    list(allExchanges(viewableVhost(ctx, userOf(req), req.params.vhost)).map(exchangeJson), req.query),
  );

  app.get<{ Params: NameParams }>('/api/exchanges/:vhost/:name', only('vhost'), (req) =>
    exchangeJson(exchangeOr404(viewableVhost(ctx, userOf(req), req.params.vhost), req.params.name)),
  );

  app.put<{ Params: NameParams; Body: ExchangeBody }>('/api/exchanges/:vhost/:name', { schema: { body: EXCHANGE_BODY }, config: { access: 'vhost' } }, (req, reply) => {
    const user = userOf(req);
    const v = operableVhost(ctx, user, req.params.vhost);
    const name = exchangeFromUrl(req.params.name);
    const existed = v.exchanges.has(name);
    const b = req.body;
    amqpToHttp(() =>
      handleDefinitionMethod(definitionContext(ctx, user, v), {
        id: EXCHANGE_DECLARE,
        ticket: 0,
        exchange: name,
        type: b.type ?? 'direct',
        passive: false,
        durable: b.durable ?? false,
        autoDelete: b.auto_delete ?? false,
        internal: b.internal ?? false,
        nowait: false,
        arguments: jsonToTable(b.arguments),
      }),
    );
    return created(reply, existed);
  });

  app.delete<{ Params: NameParams; Querystring: { 'if-unused'?: boolean } }>(
    '/api/exchanges/:vhost/:name',
    { schema: { querystring: { type: 'object', properties: { 'if-unused': { type: 'boolean' } } } }, config: { access: 'vhost' } },
    (req, reply) => {
      const user = userOf(req);
      const v = operableVhost(ctx, user, req.params.vhost);
      const x = exchangeOr404(v, req.params.name);
      amqpToHttp(() =>
        handleDefinitionMethod(definitionContext(ctx, user, v), { id: EXCHANGE_DELETE, ticket: 0, exchange: x.name, ifUnused: req.query['if-unused'] ?? false, nowait: false }),
      );
      return reply.code(204).send();
    },
  );

  app.get<{ Params: NameParams & { direction: string }; Querystring: ListQuery }>(
    '/api/exchanges/:vhost/:name/bindings/:direction',
    { schema: { ...listSchema, params: { type: 'object', properties: { direction: { type: 'string', enum: ['source', 'destination'] } } } }, config: { access: 'vhost' } },
    (req) => {
      const v = viewableVhost(ctx, userOf(req), req.params.vhost);
      const x = exchangeOr404(v, req.params.name);
      let items: Json[];
      if (req.params.direction === 'source') {
        items = x.name === '' ? [...v.queues.values()].map(defaultBindingJson) : [...x.bindings.values()].map(bindingJson);
      } else {
        items = [...x.incoming].map(bindingJson);
      }
      return applyListQuery(items, req.query);
    },
  );

  // ---- queues ----------------------------------------------------------------------------

  app.get<{ Querystring: ListQuery }>('/api/queues', { schema: listSchema, config: { access: 'management' } }, (req) =>
    listQueues(visibleVhosts(ctx, userOf(req)).flatMap((v) => [...v.queues.values()]), req.query, ctx.stats, qJson),
  );

  app.get<{ Params: VhostParams; Querystring: ListQuery }>('/api/queues/:vhost', { schema: listSchema, config: { access: 'vhost' } }, (req) =>
    listQueues([...viewableVhost(ctx, userOf(req), req.params.vhost).queues.values()], req.query, ctx.stats, qJson),
  );

  app.get<{ Params: NameParams }>('/api/queues/:vhost/:name', only('vhost'), (req) => {
    const q = queueOr404(viewableVhost(ctx, userOf(req), req.params.vhost), req.params.name);
    return { ...qJson(q), consumer_details: queueConsumers(ctx.broker, q), incoming: [], deliveries: [] };
  });

  app.put<{ Params: NameParams; Body: QueueBody }>('/api/queues/:vhost/:name', { schema: { body: QUEUE_BODY }, config: { access: 'vhost' } }, (req, reply) => {
    const user = userOf(req);
    const v = operableVhost(ctx, user, req.params.vhost);
    const name = req.params.name;
    if (name === '') throw badRequest('queue name must not be empty');
    const existed = v.queues.has(name);
    const b = req.body;
    amqpToHttp(() =>
      handleDefinitionMethod(definitionContext(ctx, user, v), {
        id: QUEUE_DECLARE,
        ticket: 0,
        queue: name,
        passive: false,
        durable: b.durable ?? false,
        exclusive: false,
        autoDelete: b.auto_delete ?? false,
        nowait: false,
        arguments: jsonToTable(b.arguments),
      }),
    );
    return created(reply, existed);
  });

  app.delete<{ Params: NameParams; Querystring: { 'if-unused'?: boolean; 'if-empty'?: boolean } }>(
    '/api/queues/:vhost/:name',
    { schema: { querystring: { type: 'object', properties: { 'if-unused': { type: 'boolean' }, 'if-empty': { type: 'boolean' } } } }, config: { access: 'vhost' } },
    (req, reply) => {
      const user = userOf(req);
      const v = operableVhost(ctx, user, req.params.vhost);
      const q = queueOr404(v, req.params.name);
      amqpToHttp(() =>
        handleDefinitionMethod(definitionContext(ctx, user, v), {
          id: QUEUE_DELETE,
          ticket: 0,
          queue: q.name,
          ifUnused: req.query['if-unused'] ?? false,
          ifEmpty: req.query['if-empty'] ?? false,
          nowait: false,
        }),
      );
      return reply.code(204).send();
    },
  );

  app.delete<{ Params: NameParams }>('/api/queues/:vhost/:name/contents', only('vhost'), (req, reply) => {
    const user = userOf(req);
    const v = operableVhost(ctx, user, req.params.vhost);
    const q = queueOr404(v, req.params.name);
    amqpToHttp(() => handleDefinitionMethod(definitionContext(ctx, user, v), { id: QUEUE_PURGE, ticket: 0, queue: q.name, nowait: false }));
    return reply.code(204).send();
  });

  app.get<{ Params: NameParams; Querystring: ListQuery }>('/api/queues/:vhost/:name/bindings', { schema: listSchema, config: { access: 'vhost' } }, (req) => {
    const v = viewableVhost(ctx, userOf(req), req.params.vhost);
    const q = queueOr404(v, req.params.name);
    const items = [defaultBindingJson(q), ...v.allBindings().filter((b) => b.destination === q).map(bindingJson)];
    return applyListQuery(items, req.query);
  });

  // ---- bindings --------------------------------------------------------------------------

  app.get<{ Querystring: ListQuery }>('/api/bindings', { schema: listSchema, config: { access: 'management' } }, (req) =>
    applyListQuery(visibleVhosts(ctx, userOf(req)).flatMap(vhostBindings), req.query),
  );

  app.get<{ Params: VhostParams; Querystring: ListQuery }>('/api/bindings/:vhost', { schema: listSchema, config: { access: 'vhost' } }, (req) =>
    applyListQuery(vhostBindings(viewableVhost(ctx, userOf(req), req.params.vhost)), req.query),
  );

  /** The bindings from source to destination named in the URL (404 if either is missing). */
  const between = (v: VirtualHost, p: BindingParams): Binding[] => {
    const source = exchangeOr404(v, p.source);
    const dest = p.dtype === 'q' ? v.getQueue(p.destination) : v.getExchange(exchangeFromUrl(p.destination));
    if (dest === undefined) throw notFound();
    return [...source.bindings.values()].filter((b) => b.destination === dest);
  };

  const bindingRoute = '/api/bindings/:vhost/e/:source/:dtype/:destination';

  app.get<{ Params: BindingParams; Querystring: ListQuery }>(bindingRoute, { schema: { params: BINDING_PARAMS, querystring: LIST_QUERY_SCHEMA }, config: { access: 'vhost' } }, (req) => {
    const v = viewableVhost(ctx, userOf(req), req.params.vhost);
    return applyListQuery(between(v, req.params).map(bindingJson), req.query);
  });

  app.post<{ Params: BindingParams; Body: BindingBody }>(bindingRoute, { schema: { params: BINDING_PARAMS, body: BINDING_BODY }, config: { access: 'vhost' } }, (req, reply) => {
    const user = userOf(req);
    const p = req.params;
    const v = operableVhost(ctx, user, p.vhost);
    const routingKey = req.body.routing_key ?? '';
    const args = jsonToTable(req.body.arguments);
    const source = exchangeFromUrl(p.source);
    const dctx = definitionContext(ctx, user, v);
    amqpToHttp(() => {
      if (p.dtype === 'q') handleDefinitionMethod(dctx, { id: QUEUE_BIND, ticket: 0, queue: p.destination, exchange: source, routingKey, nowait: false, arguments: args });
      else handleDefinitionMethod(dctx, { id: EXCHANGE_BIND, ticket: 0, destination: exchangeFromUrl(p.destination), source, routingKey, nowait: false, arguments: args });
    });
    const dest = p.dtype === 'q' ? v.getQueue(p.destination) : v.getExchange(exchangeFromUrl(p.destination));
    const made = dest === undefined ? undefined : v.getExchange(source)?.bindings.get(bindingKey(dest, routingKey, args));
    const key = made ? propertiesKey(made) : '~';
    return reply.code(201).header('location', `${encodeURIComponent(p.destination)}/${encodeURIComponent(key)}`).send();
  });

  const oneBinding = (v: VirtualHost, p: BindingParams): Binding => {
    const b = between(v, p).find((x) => propertiesKey(x) === p.props);
    if (b === undefined) throw notFound();
    return b;
  };

  app.get<{ Params: BindingParams }>(`${bindingRoute}/:props`, { schema: { params: BINDING_PARAMS }, config: { access: 'vhost' } }, (req) =>
    bindingJson(oneBinding(viewableVhost(ctx, userOf(req), req.params.vhost), req.params)),
  );

  app.delete<{ Params: BindingParams }>(`${bindingRoute}/:props`, { schema: { params: BINDING_PARAMS }, config: { access: 'vhost' } }, (req, reply) => {
    const user = userOf(req);
    const v = operableVhost(ctx, user, req.params.vhost);
    const b = oneBinding(v, req.params);
    const dctx = definitionContext(ctx, user, v);
    amqpToHttp(() => {
      if (b.destination.kind === 'queue') {
        handleDefinitionMethod(dctx, { id: QUEUE_UNBIND, ticket: 0, queue: b.destination.name, exchange: b.source.name, routingKey: b.routingKey, arguments: b.arguments });
      } else {
        handleDefinitionMethod(dctx, { id: EXCHANGE_UNBIND, ticket: 0, destination: b.destination.name, source: b.source.name, routingKey: b.routingKey, nowait: false, arguments: b.arguments });
      }
    });
    return reply.code(204).send();
  });
}
