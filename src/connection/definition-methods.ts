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
import type { PermissionKind } from '../auth/access.js';
import { fieldString } from '../codec/field-table.js';
import { SuperStreamExchange } from '../routing/super-stream.js';
import { checkQueueName, type VirtualHost } from '../routing/vhost.js';

/** Prefix of direct reply-to addresses (see channel.ts). */
const REPLY_PREFIX = 'amq.rabbitmq.reply-to.';

export interface DefinitionContext {
  readonly vhost: VirtualHost;
  /** The connection, for exclusive queues. */
  readonly owner: object;
  /** Name of the queue most recently declared on the channel ('' if none). */
  lastQueue: string;
  /** Throws 403 unless the user may do `kind` on the named queue or exchange. */
  checkPermission(kind: PermissionKind, resource: 'queue' | 'exchange', name: string): void;
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
        if (m.exchange !== '') ctx.checkPermission('configure', 'exchange', m.exchange);
        const ae = fieldString(m.arguments.get('alternate-exchange'));
        if (ae !== undefined && m.exchange !== '' && vhost.getExchange(m.exchange) === undefined) {
          ctx.checkPermission('read', 'exchange', m.exchange);
          ctx.checkPermission('write', 'exchange', ae);
        }
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
      if (m.exchange !== '' && !m.exchange.startsWith('amq.')) ctx.checkPermission('configure', 'exchange', m.exchange);
      // A super stream's partition streams are deleted with it: that takes configure on them too.
      for (const q of superStreamPartitions(vhost, m.exchange)) ctx.checkPermission('configure', 'queue', q);
      vhost.deleteExchange(m.exchange, m.ifUnused);
      return m.nowait ? null : { id: EXCHANGE_DELETE_OK };
    case EXCHANGE_BIND:
    case EXCHANGE_UNBIND: {
      if (m.destination !== '' && m.source !== '') {
        ctx.checkPermission('write', 'exchange', m.destination);
        ctx.checkPermission('read', 'exchange', m.source);
      }
      if (m.id === EXCHANGE_BIND) {
        vhost.bindExchange(m.destination, m.source, m.routingKey, m.arguments);
        return m.nowait ? null : { id: EXCHANGE_BIND_OK };
      }
      vhost.unbindExchange(m.destination, m.source, m.routingKey, m.arguments);
      return m.nowait ? null : { id: EXCHANGE_UNBIND_OK };
    }
    case QUEUE_DECLARE: {
      let q;
      if (m.passive) {
        // A live direct reply-to address answers as a queue with its one consumer.
        if (m.queue === REPLY_PREFIX.slice(0, -1) || (m.queue.startsWith(REPLY_PREFIX) && vhost.replyConsumers.has(m.queue.slice(REPLY_PREFIX.length)))) {
          return m.nowait ? null : { id: QUEUE_DECLARE_OK, queue: m.queue, messageCount: 0, consumerCount: 1 };
        }
        q = vhost.declareQueuePassive(m.queue, ctx.owner);
      } else {
        const serverNamed = m.queue === '';
        const name = serverNamed ? generatedName('amq.gen') : m.queue;
        if (!serverNamed) checkQueueName(name);
        ctx.checkPermission('configure', 'queue', name);
        const dlx = m.arguments.get('x-dead-letter-exchange');
        if (dlx?.type === 'S' && vhost.getQueue(name) === undefined) {
          ctx.checkPermission('read', 'queue', name);
          ctx.checkPermission('write', 'exchange', fieldString(dlx)!);
        }
        q = vhost.declareQueue(
          { name, durable: m.durable, exclusive: m.exclusive, autoDelete: m.autoDelete, arguments: m.arguments },
          ctx.owner,
          serverNamed,
        );
      }
      ctx.lastQueue = q.name;
      return m.nowait ? null : { id: QUEUE_DECLARE_OK, queue: q.name, messageCount: q.messageCount, consumerCount: q.consumerCount };
    }
    case QUEUE_BIND:
    case QUEUE_UNBIND: {
      const name = queueName(ctx, m.queue);
      const key = m.queue === '' && m.routingKey === '' ? name : m.routingKey;
      ctx.checkPermission('write', 'queue', name);
      if (m.exchange !== '') ctx.checkPermission('read', 'exchange', m.exchange);
      if (m.id === QUEUE_BIND) {
        vhost.bindQueue(name, m.exchange, key, m.arguments, ctx.owner);
        return m.nowait ? null : { id: QUEUE_BIND_OK };
      }
      vhost.unbindQueue(name, m.exchange, key, m.arguments, ctx.owner);
      return { id: QUEUE_UNBIND_OK };
    }
    case QUEUE_PURGE: {
      const name = queueName(ctx, m.queue);
      ctx.checkPermission('read', 'queue', name);
      const n = vhost.purgeQueue(name, ctx.owner);
      return m.nowait ? null : { id: QUEUE_PURGE_OK, messageCount: n };
    }
    case QUEUE_DELETE: {
      const name = queueName(ctx, m.queue);
      ctx.checkPermission('configure', 'queue', name);
      const n = vhost.deleteQueue(name, ctx.owner, m.ifUnused, m.ifEmpty);
      return m.nowait ? null : { id: QUEUE_DELETE_OK, messageCount: n };
    }
    default:
      return undefined;
  }
}

function superStreamPartitions(vhost: VirtualHost, exchange: string): string[] {
  const x = vhost.exchanges.get(exchange);
  return x instanceof SuperStreamExchange ? x.ownPartitions() : [];
}
