// POST /api/exchanges/{vhost}/{name}/publish and POST /api/queues/{vhost}/{name}/get: publish
// a message and take messages as an operator would, with the permission checks, size limit and
// user_id rule of AMQP's basic.publish and basic.get. `get` leaves messages in the queue
// (redelivered) with the requeue ack modes, as RabbitMQ's does.

import type { FastifyInstance } from 'fastify';
import { ChannelError } from '../../errors.js';
import { Message } from '../../message.js';
import type { Queue, QueueEntry } from '../../queue/queue.js';
import { definitionContext, exchangeFromUrl, HTTP_OWNER, operableVhost, userOf, type AdminContext } from '../context.js';
import { amqpToHttp } from '../http-error.js';
import { payloadFromJson, payloadJson, propertiesFromJson, propertiesToJson } from '../properties.js';

interface NameParams {
  vhost: string;
  name: string;
}

interface PublishBody {
  routing_key: string;
  payload: string;
  payload_encoding: string;
  properties: Record<string, unknown>;
}

interface GetBody {
  count: number;
  ackmode: 'ack_requeue_true' | 'ack_requeue_false' | 'reject_requeue_true' | 'reject_requeue_false';
  encoding: 'auto' | 'base64';
  truncate?: number;
}

const PUBLISH_BODY = {
  type: 'object',
  required: ['routing_key', 'payload', 'payload_encoding', 'properties'],
  properties: {
    routing_key: { type: 'string' },
    payload: { type: 'string' },
    payload_encoding: { type: 'string', enum: ['string', 'base64'] },
    properties: { type: 'object' },
  },
} as const;

const GET_BODY = {
  type: 'object',
  required: ['count', 'ackmode', 'encoding'],
  properties: {
    count: { type: 'integer', minimum: 1 },
    ackmode: { type: 'string', enum: ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'] },
    encoding: { type: 'string', enum: ['auto', 'base64'] },
    truncate: { type: 'integer', minimum: 0 },
  },
} as const;

export function registerMessageRoutes(app: FastifyInstance, ctx: AdminContext): void {
  app.post<{ Params: NameParams; Body: PublishBody }>('/api/exchanges/:vhost/:name/publish', { schema: { body: PUBLISH_BODY }, config: { access: 'vhost' } }, (req) => {
    const user = userOf(req);
    const v = operableVhost(ctx, user, req.params.vhost);
    const name = exchangeFromUrl(req.params.name);
    const b = req.body;
    const properties = propertiesFromJson(b.properties);
    const body = payloadFromJson(b.payload, b.payload_encoding);
    const targets = new Set<Queue>();
    amqpToHttp(() => {
      definitionContext(ctx, user, v).checkPermission('write', 'exchange', name);
      const x = v.exchangeForPublish(name);
      if (x.internal) throw new ChannelError('ACCESS_REFUSED', `cannot publish to internal exchange '${x.name}' in vhost '${v.name}'`);
      const max = ctx.broker.config.maxMessageSize;
      if (body.length > max) throw new ChannelError('PRECONDITION_FAILED', `message size ${body.length} is larger than configured max size ${max}`);
      if (properties.userId !== undefined && properties.userId !== user.name) {
        throw new ChannelError('PRECONDITION_FAILED', `user_id property set to '${properties.userId}' but authenticated user was '${user.name}'`);
      }
      const msg = Message.fromProperties(name, b.routing_key, properties, body);
      v.route(x, msg, targets);
      for (const q of targets) q.enqueue(msg);
    });
    ctx.http.published++;
    return { routed: targets.size > 0 };
  });

  app.post<{ Params: NameParams; Body: GetBody }>('/api/queues/:vhost/:name/get', { schema: { body: GET_BODY }, config: { access: 'vhost' } }, (req) => {
    const user = userOf(req);
    const v = operableVhost(ctx, user, req.params.vhost);
    const { count, ackmode, encoding, truncate } = req.body;
    const q = amqpToHttp(() => {
      definitionContext(ctx, user, v).checkPermission('read', 'queue', req.params.name);
      return v.queueForUse(req.params.name, HTTP_OWNER);
    });
    const requeue = ackmode === 'ack_requeue_true' || ackmode === 'reject_requeue_true';
    const taken: QueueEntry[] = [];
    const out: unknown[] = [];
    for (let i = 0; i < count; i++) {
      const e = q.shift();
      if (e === undefined) break;
      const msg = e.msg!;
      const p = payloadJson(msg.body, encoding, truncate);
      const props = propertiesToJson(msg.properties);
      out.push({
        payload_bytes: p.payload_bytes,
        redelivered: e.redelivered,
        exchange: msg.exchange,
        routing_key: msg.routingKey,
        message_count: q.messageCount,
        // RabbitMQ writes no properties as [] (an empty Erlang proplist); rabbitmqadmin shows that column.
        properties: Object.keys(props).length === 0 ? [] : props,
        payload: p.payload,
        payload_encoding: p.payload_encoding,
      });
      q.markUnacked(e);
      if (requeue) taken.push(e);
      else if (ackmode === 'reject_requeue_false') q.reject(e);
      else q.settle(e, true);
    }
    if (taken.length > 0) q.requeue(taken);
    ctx.http.delivered += out.length;
    if (ackmode === 'ack_requeue_false') ctx.http.acked += out.length;
    return out;
  });
}
