// The JSON shapes of RabbitMQ's management API (3.10), built from warren's objects: queues,
// exchanges, bindings, connections, channels, consumers, vhosts, users and permissions. Field
// names are RabbitMQ's; a field warren has no truthful value for is left out rather than faked.

import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Broker } from '../broker.js';
import { tableToJson } from '../codec/field-table.js';
import { fieldString } from '../codec/field-table.js';
import type { Channel, ChannelConsumer } from '../connection/channel.js';
import type { Connection } from '../connection/connection.js';
import type { Queue } from '../queue/queue.js';
import type { Binding, Exchange } from '../routing/exchange.js';
import type { VirtualHost } from '../routing/vhost.js';
import type { PermissionRecord, UserRecord } from '../store/store.js';
import type { StatsSampler } from './stats.js';
import { streamJson } from '../stream/info.js';

/** The node name the API reports, like RabbitMQ's rabbit@host. */
export const NODE_NAME = `warren@${hostname()}`;

/** The RabbitMQ release whose management API warren's follows; tools read rabbitmq_version to decide what to call. */
export const RABBITMQ_COMPAT_VERSION = '3.10.8';

export type Json = Record<string, unknown>;

/** Rough bytes a queue holds in memory: a fixed part, the ready bodies, and per-entry bookkeeping. An estimate. */
const QUEUE_BASE_BYTES = 2048;
const ENTRY_BYTES = 160;

export function details(rate: number): { rate: number } {
  return { rate };
}

// ---- queues ------------------------------------------------------------------------------

export function queueJson(q: Queue, stats: StatsSampler, owner: Connection | undefined): Json {
  const ready = q.messageCount;
  const unacked = q.unacked;
  const s = q.stats;
  const r = (k: Parameters<StatsSampler['queueRate']>[1]): { rate: number } => details(stats.queueRate(q, k));
  let exclusiveConsumer: string | null = null;
  for (const c of q.consumers) if (c.exclusive) exclusiveConsumer = c.tag;
  const out: Json = {
    name: q.name,
    vhost: q.vhost,
    durable: q.durable,
    auto_delete: q.autoDelete,
    exclusive: q.exclusiveOwner !== null,
    arguments: tableToJson(q.arguments),
    node: NODE_NAME,
    state: 'running',
    type: queueType(q),
    consumers: q.consumerCount,
    exclusive_consumer_tag: exclusiveConsumer,
    policy: q.policy,
    operator_policy: q.operatorPolicy,
    effective_policy_definition: { ...q.policyDefinition },
    memory: QUEUE_BASE_BYTES + q.readyBytes + (ready + unacked) * ENTRY_BYTES,
    messages: ready + unacked,
    messages_details: r('messages'),
    messages_ready: ready,
    messages_ready_details: r('messages_ready'),
    messages_unacknowledged: unacked,
    messages_unacknowledged_details: r('messages_unacknowledged'),
    message_bytes_ready: q.readyBytes,
    message_stats: {
      publish: s.published,
      publish_details: r('publish'),
      deliver_get: s.delivered,
      deliver_get_details: r('deliver_get'),
      ack: s.acked,
      ack_details: r('ack'),
      redeliver: s.redelivered,
      redeliver_details: r('redeliver'),
    },
  };
  const stream = streamJson(q);
  if (stream !== null) Object.assign(out, stream);
  if (owner !== undefined) out['owner_pid_details'] = { name: connectionName(owner), peer_host: owner.remoteAddress, peer_port: owner.remotePort };
  return out;
}

function queueType(q: Queue): string {
  return fieldString(q.arguments.get('x-queue-type')) ?? 'classic';
}

// ---- exchanges and bindings --------------------------------------------------------------

export function exchangeJson(x: Exchange): Json {
  const out: Json = {
    name: x.name,
    vhost: x.vhost,
    type: x.type,
    durable: x.durable,
    auto_delete: x.autoDelete,
    internal: x.internal,
    arguments: tableToJson(x.arguments),
  };
  // RabbitMQ shows the key only when a policy applies.
  if (x.policy !== null) out['policy'] = x.policy;
  return out;
}

/** rabbit_mgmt_format:quote_binding: RabbitMQ's quote_plus, with '~' escaped too (it separates the args hash). */
export function quoteBinding(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9._-]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The key that names a binding in URLs: "~" (no key, no args), the quoted key, or key~hash-of-args. */
export function propertiesKey(b: Binding): string {
  if (b.arguments.size === 0) return b.routingKey === '' ? '~' : quoteBinding(b.routingKey);
  const hash = createHash('sha256').update(b.key).digest().subarray(0, 4).toString('base64url');
  return `${quoteBinding(b.routingKey)}~${hash}`;
}

export function bindingJson(b: Binding): Json {
  return {
    source: b.source.name,
    vhost: b.source.vhost,
    destination: b.destination.name,
    destination_type: b.destination.kind,
    routing_key: b.routingKey,
    arguments: tableToJson(b.arguments),
    properties_key: propertiesKey(b),
  };
}

/** The default exchange's implicit binding to a queue, as RabbitMQ lists it. */
export function defaultBindingJson(q: Queue): Json {
  return {
    source: '',
    vhost: q.vhost,
    destination: q.name,
    destination_type: 'queue',
    routing_key: q.name,
    arguments: {},
    properties_key: quoteBinding(q.name) || '~',
  };
}

/** Every binding of a vhost: the default exchange's first, then the explicit ones. */
export function vhostBindings(v: VirtualHost): Json[] {
  const out: Json[] = [];
  for (const q of v.queues.values()) out.push(defaultBindingJson(q));
  for (const b of v.allBindings()) out.push(bindingJson(b));
  return out;
}

// ---- connections, channels, consumers ----------------------------------------------------

export function connectionName(c: Connection): string {
  return `${hostPort(c.remoteAddress, c.remotePort)} -> ${hostPort(c.localAddress, c.localPort)}`;
}

function hostPort(host: string, port: number): string {
  const h = host.startsWith('::ffff:') ? host.slice(7) : host;
  return h.includes(':') ? `[${h}]:${port}` : `${h}:${port}`;
}

function plainHost(host: string): string {
  return host.startsWith('::ffff:') ? host.slice(7) : host;
}

export function channelName(c: Connection, ch: Channel): string {
  return `${connectionName(c)} (${ch.id})`;
}

export function connectionJson(c: Connection, stats: StatsSampler): Json {
  return {
    name: connectionName(c),
    node: NODE_NAME,
    type: 'network',
    state: c.isOpen ? (c.inFlow || c.outputFull ? 'flow' : 'running') : 'closing',
    user: c.username,
    vhost: c.vhostName,
    protocol: 'AMQP 0-9-1',
    host: plainHost(c.localAddress),
    port: c.localPort,
    peer_host: plainHost(c.remoteAddress),
    peer_port: c.remotePort,
    ssl: c.overTls,
    channels: c.channels.size,
    channel_max: c.channelMax,
    frame_max: c.frameMax,
    timeout: c.heartbeat,
    connected_at: c.connectedAt,
    client_properties: tableToJson(c.clientProperties),
    recv_oct: c.stats.recvOct,
    recv_oct_details: details(stats.connectionRate(c, 'recv_oct')),
    send_oct: c.stats.sendOct,
    send_oct_details: details(stats.connectionRate(c, 'send_oct')),
    // Bytes of output the client has not taken yet (RabbitMQ: the socket's send queue).
    send_pend: c.pendingOutput,
  };
}

function channelDetails(c: Connection, ch: Channel): Json {
  return {
    name: channelName(c, ch),
    number: ch.id,
    connection_name: connectionName(c),
    peer_host: plainHost(c.remoteAddress),
    peer_port: c.remotePort,
    user: c.username,
    node: NODE_NAME,
  };
}

export function channelJson(c: Connection, ch: Channel, stats: StatsSampler): Json {
  return {
    name: channelName(c, ch),
    number: ch.id,
    node: NODE_NAME,
    state: ch.isOpen ? 'running' : 'closing',
    user: c.username,
    vhost: c.vhostName,
    connection_details: { name: connectionName(c), peer_host: plainHost(c.remoteAddress), peer_port: c.remotePort },
    consumer_count: ch.consumers.size,
    messages_unacknowledged: ch.unacked.size,
    prefetch_count: ch.prefetchCount,
    global_prefetch_count: ch.globalPrefetch,
    confirm: ch.inConfirmMode,
    transactional: ch.inTransaction,
    message_stats: {
      publish: ch.stats.published,
      publish_details: details(stats.channelRate(ch, 'publish')),
      deliver_get: ch.stats.delivered,
      deliver_get_details: details(stats.channelRate(ch, 'deliver_get')),
      ack: ch.stats.acked,
      ack_details: details(stats.channelRate(ch, 'ack')),
    },
  };
}

export function consumerJson(c: Connection, ch: Channel, k: ChannelConsumer): Json {
  return {
    consumer_tag: k.tag,
    queue: { name: k.queue.name, vhost: k.queue.vhost },
    channel_details: channelDetails(c, ch),
    ack_required: !k.noAck,
    exclusive: k.exclusive,
    prefetch_count: k.prefetch,
    arguments: tableToJson(k.arguments),
    active: true,
    activity_status: 'up',
  };
}

/** Consumers of one queue, with their channels (RabbitMQ's consumer_details of GET /api/queues/v/q). */
export function queueConsumers(broker: Broker, q: Queue): Json[] {
  const out: Json[] = [];
  for (const c of broker.connections) {
    for (const ch of c.channels.values()) {
      for (const k of ch.consumers.values()) if (k.queue === q) out.push(consumerJson(c, ch, k));
    }
  }
  return out;
}

/** The connection that declared an exclusive queue, while it is open. */
export function queueOwner(broker: Broker, q: Queue): Connection | undefined {
  const o = q.exclusiveOwner;
  return o !== null && broker.connections.has(o as Connection) ? (o as Connection) : undefined;
}

// ---- vhosts, users, permissions ----------------------------------------------------------

export function vhostJson(broker: Broker, v: VirtualHost): Json {
  const info = broker.vhostInfo.get(v.name) ?? { description: '', tags: [] };
  let ready = 0;
  let unacked = 0;
  for (const q of v.queues.values()) {
    ready += q.messageCount;
    unacked += q.unacked;
  }
  let recv = 0;
  let send = 0;
  for (const c of broker.connections) {
    if (c.vhostName !== v.name) continue;
    recv += c.stats.recvOct;
    send += c.stats.sendOct;
  }
  return {
    name: v.name,
    description: info.description,
    tags: [...info.tags],
    metadata: { description: info.description, tags: [...info.tags] },
    tracing: false,
    cluster_state: { [NODE_NAME]: 'running' },
    messages: ready + unacked,
    messages_ready: ready,
    messages_unacknowledged: unacked,
    recv_oct: recv,
    send_oct: send,
  };
}

/** A user as RabbitMQ shows it, with its limits (max-connections, max-channels). */
export function userJson(u: UserRecord, limits: Readonly<Record<string, number>> = {}): Json {
  return { name: u.name, password_hash: u.passwordHash, hashing_algorithm: u.hashingAlgorithm, tags: [...u.tags], limits: { ...limits } };
}

export function permissionJson(p: PermissionRecord): Json {
  return { user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read };
}
