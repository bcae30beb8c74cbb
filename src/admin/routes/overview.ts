// /api/overview, /api/nodes, /api/cluster-name, the health checks (/api/health/checks/alarms,
// /api/aliveness-test/{vhost}) and /api/definitions (export and import).

import { statfsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { Message } from '../../message.js';
import { EXCHANGE_TYPES } from '../../routing/vhost.js';
import { VERSION } from '../../version.js';
import { requireAdministrator } from '../auth.js';
import { access } from '../route-access.js';
import { HTTP_OWNER, operableVhost, userOf, type AdminContext } from '../context.js';
import { exportDefinitions, importDefinitions } from '../definitions.js';
import { details, NODE_NAME, RABBITMQ_COMPAT_VERSION, type Json } from '../format.js';
import { amqpToHttp, notFound } from '../http-error.js';
import { SAMPLES_QUERY_SCHEMA, samplesOf, type SampleKey, type SamplesQuery } from '../samples.js';
import { globalTotals, queueTotals } from '../stats.js';

const EXCHANGE_TYPE_DESCRIPTIONS: Record<string, string> = {
  direct: 'AMQP direct exchange, as per the AMQP specification',
  fanout: 'AMQP fanout exchange, as per the AMQP specification',
  headers: 'AMQP headers exchange, as per the AMQP specification',
  topic: 'AMQP topic exchange, as per the AMQP specification',
};

function exchangeTypes(): Json[] {
  return [...EXCHANGE_TYPES.keys()].sort().map((name) => ({ name, description: EXCHANGE_TYPE_DESCRIPTIONS[name] ?? name, enabled: true }));
}

export function registerOverviewRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { broker, stats } = ctx;

  app.get<{ Querystring: SamplesQuery }>('/api/overview', { schema: { querystring: SAMPLES_QUERY_SCHEMA }, config: { access: 'management' } }, (req) => {
    const g = globalTotals(broker, ctx.http);
    const t = queueTotals(broker);
    const q = req.query;
    const now = Date.now();
    const history = q.msg_rates_age !== undefined || q.lengths_age !== undefined ? stats.history() : [];
    // A *_details object, with samples when the query asks for them (as RabbitMQ's).
    const rate = (key: SampleKey): Json => {
      const d: Json = details(stats.globalRate(key));
      if (q.msg_rates_age !== undefined) Object.assign(d, samplesOf(history, key, q.msg_rates_age, q.msg_rates_incr ?? 5, now, 'count'));
      return d;
    };
    const depth = (key: SampleKey): Json => {
      const d: Json = details(stats.globalRate(key));
      if (q.lengths_age !== undefined) Object.assign(d, samplesOf(history, key, q.lengths_age, q.lengths_incr ?? 5, now, 'depth'));
      return d;
    };
    let channels = 0;
    let connections = 0;
    for (const c of broker.connections) {
      if (c.vhostName === '') continue;
      connections++;
      channels += c.channels.size;
    }
    return {
      management_version: RABBITMQ_COMPAT_VERSION,
      rates_mode: 'basic',
      exchange_types: exchangeTypes(),
      product_version: VERSION,
      product_name: 'warren',
      rabbitmq_version: RABBITMQ_COMPAT_VERSION,
      cluster_name: NODE_NAME,
      node_version: process.version,
      disable_stats: false,
      enable_queue_totals: true,
      message_stats: {
        publish: g.published,
        publish_details: rate('publish'),
        deliver_get: g.delivered,
        deliver_get_details: rate('deliver_get'),
        ack: g.acked,
        ack_details: rate('ack'),
      },
      churn_rates: {
        connection_created: g.connectionsOpened,
        connection_closed: g.connectionsClosed,
        channel_created: g.channelsOpened,
        channel_closed: g.channelsClosed,
      },
      queue_totals: {
        messages: t.ready + t.unacked,
        messages_details: depth('messages'),
        messages_ready: t.ready,
        messages_ready_details: depth('messages_ready'),
        messages_unacknowledged: t.unacked,
        messages_unacknowledged_details: depth('messages_unacknowledged'),
      },
      object_totals: { channels, connections, consumers: t.consumers, exchanges: t.exchanges, queues: t.queues },
      statistics_db_event_queue: 0,
      node: NODE_NAME,
      listeners: ctx.listeners().map((l) => ({ node: NODE_NAME, ...l })),
    };
  });

  app.get('/api/cluster-name', access('management'), () => ({ name: NODE_NAME }));

  const node = (): Json => {
    const mem = process.memoryUsage();
    const wm = broker.config.memoryHighWatermark;
    let diskFree: number | undefined;
    try {
      const s = statfsSync(broker.config.dataDir ?? '.');
      diskFree = s.bavail * s.bsize;
    } catch {
      diskFree = undefined;
    }
    return {
      name: NODE_NAME,
      type: 'disc',
      running: true,
      os_pid: String(process.pid),
      uptime: Date.now() - broker.startedAt,
      processors: cpus().length,
      mem_used: mem.rss,
      mem_limit: Math.round(wm <= 1 ? wm * totalmem() : wm),
      mem_alarm: broker.alarms.has('memory'),
      disk_free_limit: broker.config.diskFreeLimit,
      disk_free_alarm: broker.alarms.has('disk'),
      ...(diskFree === undefined ? {} : { disk_free: diskFree }),
      sockets_used: broker.connections.size,
      partitions: [],
      rates_mode: 'basic',
      exchange_types: exchangeTypes(),
      enabled_plugins: [],
      being_drained: false,
    };
  };

  app.get('/api/nodes', access('monitoring'), () => [node()]);
  // warren's nodes on one PostgreSQL store: name, role (active, standby, gone), epoch, lease
  // age and lag (ms since the node last reported itself). A single node: just this one.
  app.get('/api/warren/nodes', access('monitoring'), async () => {
    if (broker.nodes === null) return [{ name: NODE_NAME, role: 'single', address: null, epoch: 0, lease_age_ms: null, lag_ms: 0 }];
    return (await broker.nodes.view()).map((n) => ({ name: n.name, role: n.role, address: n.address, epoch: n.epoch, lease_age_ms: n.leaseAgeMs < 0 ? null : n.leaseAgeMs, lag_ms: n.lagMs }));
  });
  app.get<{ Params: { name: string } }>('/api/nodes/:name', access('monitoring'), (req) => {
    if (req.params.name !== NODE_NAME) throw notFound();
    return node();
  });

  // ---- health ----------------------------------------------------------------------------

  /** 503 while a memory or disk alarm blocks publishers, with RabbitMQ's body. */
  app.get('/api/health/checks/alarms', access('management'), (_req, reply) => {
    if (broker.alarms.size === 0) return { status: 'ok' };
    const alarms = [...broker.alarms].map((resource) => ({ node: NODE_NAME, resource }));
    return reply.code(503).send({ status: 'failed', reason: 'There are alarms in effect in the cluster', alarms });
  });
  app.get('/api/health/checks/virtual-hosts', access('management'), () => ({ status: 'ok' }));

  /** RabbitMQ's aliveness test: declare "aliveness-test" in the vhost, publish to it, get it back. */
  app.get<{ Params: { vhost: string } }>('/api/aliveness-test/:vhost', access('vhost'), (req, reply) => {
    const v = operableVhost(ctx, userOf(req), req.params.vhost);
    const body = Buffer.from('test_message');
    const ok = amqpToHttp(() => {
      const q = v.declareQueue({ name: 'aliveness-test', durable: false, exclusive: false, autoDelete: false, arguments: new Map() }, HTTP_OWNER);
      q.enqueue(Message.fromProperties('', q.name, {}, body));
      const e = q.shift();
      if (e === undefined) return false;
      q.settle(e, false);
      return e.msg?.body.equals(body) ?? false;
    });
    if (!ok) return reply.code(503).send({ status: 'failed', reason: 'the test message did not come back' });
    return { status: 'ok' };
  });

  // ---- definitions -----------------------------------------------------------------------

  app.get('/api/definitions', access('administrator'), (req) => {
    requireAdministrator(userOf(req));
    return exportDefinitions(broker);
  });

  app.get<{ Params: { vhost: string } }>('/api/definitions/:vhost', access('administrator'), (req) => {
    requireAdministrator(userOf(req));
    if (!broker.vhosts.has(req.params.vhost)) throw notFound();
    return exportDefinitions(broker, req.params.vhost);
  });

  const doImport = (doc: unknown, by: string, vhost?: string): void => {
    const report = amqpToHttp(() => importDefinitions(broker, doc, vhost));
    ctx.log.info({ by, vhost, ignored: report.ignored }, 'definitions imported');
    if (report.ignored.length > 0) ctx.log.warn({ ignored: report.ignored }, 'definitions: warren has no parameters, policies or topic permissions; these were not imported');
  };

  app.post('/api/definitions', access('administrator'), (req, reply) => {
    requireAdministrator(userOf(req));
    doImport(req.body, userOf(req).name);
    return reply.code(204).send();
  });

  app.post<{ Params: { vhost: string } }>('/api/definitions/:vhost', access('administrator'), (req, reply) => {
    requireAdministrator(userOf(req));
    if (!broker.vhosts.has(req.params.vhost)) throw notFound();
    doImport(req.body, userOf(req).name, req.params.vhost);
    return reply.code(204).send();
  });
}
