// Handlers for the exchange.* and queue.* methods: each a short list of checks delegated to the
// vhost (which owns the rules), then the reply. They return the reply method, or null when the
// client asked for no-wait. Channel state they need (the last declared queue) comes in `ctx`.

import { randomBytes } from 'node:crypto';
import {
  EXCHANGE_BIND,
  EXCHANGE_BIND_OK,
  EXCHANGE_DECLARE,
  EXCHANGE_DECLARE_OK,
  EXCHANGE_DELETE,
  EXCHANGE_DELETE_OK,
  EXCHANGE_UNBIND,
  EXCHANGE_UNBIND_OK,
  QUEUE_BIND,
  QUEUE_BIND_OK,
  QUEUE_DECLARE,
  QUEUE_DECLARE_OK,
  QUEUE_DELETE,
  QUEUE_DELETE_OK,
  QUEUE_PURGE,
  QUEUE_PURGE_OK,
  QUEUE_UNBIND,
  QUEUE_UNBIND_OK,
  type Method,
} from '../codec/methods.generated.js';
import { ChannelError } from '../errors.js';
import type { VirtualHost } from '../routing/vhost.js';

export interface DefinitionContext {
  readonly vhost: VirtualHost;
  /** The connection, for exclusive queues. */
  readonly owner: object;
  /** Name of the queue most recently declared on the channel ('' if none). */
  lastQueue: string;
}

/** A name like RabbitMQ's server-generated ones: prefix, dash, 22 URL-safe characters. */
export function generatedName(prefix: string): string {
  return `${prefix}-${randomBytes(16).toString('base64url')}`;
}

/** Empty queue names mean the queue last declared on this channel. */
export function queueName(ctx: DefinitionContext, name: string): string {
  if (name !== '') return name;
  if (ctx.lastQueue === '') throw new ChannelError('NOT_FOUND', 'no previously declared queue');
  return ctx.lastQueue;
}

/** Handles an exchange.* or queue.* method; returns the reply, null for no-wait, undefined if not one of them. */
export function handleDefinitionMethod(ctx: DefinitionContext, m: Method): Method | null | undefined {
  const vhost = ctx.vhost;
  switch (m.id) {
    case EXCHANGE_DECLARE: {
      if (m.passive) {
        if (m.exchange === '') throw new ChannelError('ACCESS_REFUSED', 'operation not permitted on the default exchange');
        vhost.declareExchangePassive(m.exchange);
      } else {
        vhost.declareExchange({
          name: m.exchange,
          type: m.type,
          durable: m.durable,
          autoDelete: m.autoDelete,
          internal: m.internal,
          arguments: m.arguments,
        });
      }
      return m.nowait ? null : { id: EXCHANGE_DECLARE_OK };
    }
    case EXCHANGE_DELETE:
      vhost.deleteExchange(m.exchange, m.ifUnused);
      return m.nowait ? null : { id: EXCHANGE_DELETE_OK };
    case EXCHANGE_BIND:
      vhost.bindExchange(m.destination, m.source, m.routingKey, m.arguments);
      return m.nowait ? null : { id: EXCHANGE_BIND_OK };
    case EXCHANGE_UNBIND:
      vhost.unbindExchange(m.destination, m.source, m.routingKey, m.arguments);
      return m.nowait ? null : { id: EXCHANGE_UNBIND_OK };
    case QUEUE_DECLARE: {
      const q = m.passive
        ? vhost.declareQueuePassive(m.queue, ctx.owner)
        : vhost.declareQueue(
            { name: m.queue, durable: m.durable, exclusive: m.exclusive, autoDelete: m.autoDelete, arguments: m.arguments },
            ctx.owner,
            () => generatedName('amq.gen'),
          );
      ctx.lastQueue = q.name;
      return m.nowait ? null : { id: QUEUE_DECLARE_OK, queue: q.name, messageCount: q.messageCount, consumerCount: q.consumerCount };
    }
    case QUEUE_BIND: {
      const name = queueName(ctx, m.queue);
      const key = m.queue === '' && m.routingKey === '' ? name : m.routingKey;
      vhost.bindQueue(name, m.exchange, key, m.arguments, ctx.owner);
      return m.nowait ? null : { id: QUEUE_BIND_OK };
    }
    case QUEUE_UNBIND: {
      const name = queueName(ctx, m.queue);
      const key = m.queue === '' && m.routingKey === '' ? name : m.routingKey;
      vhost.unbindQueue(name, m.exchange, key, m.arguments, ctx.owner);
      return { id: QUEUE_UNBIND_OK };
    }
    case QUEUE_PURGE: {
      const n = vhost.purgeQueue(queueName(ctx, m.queue), ctx.owner);
      return m.nowait ? null : { id: QUEUE_PURGE_OK, messageCount: n };
    }
    case QUEUE_DELETE: {
      const n = vhost.deleteQueue(queueName(ctx, m.queue), ctx.owner, m.ifUnused, m.ifEmpty);
      return m.nowait ? null : { id: QUEUE_DELETE_OK, messageCount: n };
    }
    default:
      return undefined;
  }
}
