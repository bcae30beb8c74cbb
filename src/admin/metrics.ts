// GET /metrics and /metrics/per-object in the Prometheus text format (0.0.4), with the metric
// names of RabbitMQ's prometheus plugin: /metrics sums over objects as the plugin does by
// default, /metrics/per-object labels queue metrics with {vhost, queue}. Only metrics warren
// has a true value for are written.

import { readdirSync } from 'node:fs';
import { statfsSync } from 'node:fs';
import type { Broker } from '../broker.js';
import { StreamQueue } from '../stream/stream-queue.js';
import { VERSION } from '../version.js';
import { takeEventLoopDelay } from './event-loop.js';
import { NODE_NAME, RABBITMQ_COMPAT_VERSION } from './format.js';
import { globalTotals, type HttpCounters } from './stats.js';
import { streamFigures, type StreamFigures } from '../stream/info.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Readonly<Record<string, string>>;

interface Sample {
  readonly labels: Labels;
  readonly value: number;
}

/** Writes metric families: # TYPE, # HELP, then one line per sample. */
class Exposition {
  #out: string[] = [];

  family(name: string, type: 'gauge' | 'counter' | 'untyped', help: string, samples: readonly Sample[]): void {
    this.#out.push(`# TYPE ${name} ${type}`, `# HELP ${name} ${help}`);
    for (const s of samples) this.#out.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }

  one(name: string, type: 'gauge' | 'counter' | 'untyped', help: string, value: number, labels: Labels = {}): void {
    this.family(name, type, help, [{ labels, value }]);
  }

  toString(): string {
    return this.#out.join('\n') + '\n';
  }
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Open file descriptors of this process (Linux); undefined elsewhere. */
function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

interface QueueFigures {
  readonly labels: Labels;
  readonly ready: number;
  readonly unacked: number;
  readonly readyBytes: number;
  readonly consumers: number;
  readonly published: number;
}

/** The whole exposition; `perObject` labels queue metrics instead of summing them. */
export function renderMetrics(broker: Broker, http: HttpCounters, perObject: boolean): string {
  const e = new Exposition();
  const queues: QueueFigures[] = [];
  for (const v of broker.vhosts.values()) {
    for (const q of v.queues.values()) {
      queues.push({ labels: { vhost: v.name, queue: q.name }, ready: q.messageCount, unacked: q.unacked, readyBytes: q.readyBytes, consumers: q.consumerCount, published: q.stats.published });
    }
  }
  let connections = 0;
  let channels = 0;
  let consumers = 0;
  let recv = 0;
  let send = 0;
  let pendingOutput = 0;
  let contentHeld = 0;
  for (const c of broker.connections) {
    recv += c.stats.recvOct;
    send += c.stats.sendOct;
    pendingOutput += c.pendingOutput;
    contentHeld += c.contentHeld;
    if (c.vhostName === '') continue;
    connections++;
    channels += c.channels.size;
    for (const ch of c.channels.values()) consumers += ch.consumers.size;
  }
  const g = globalTotals(broker, http);

  e.one('rabbitmq_connections_opened_total', 'counter', 'Total number of connections opened', g.connectionsOpened);
  e.one('rabbitmq_connections_closed_total', 'counter', 'Total number of connections closed or terminated', g.connectionsClosed);
  e.one('rabbitmq_channels_opened_total', 'counter', 'Total number of channels opened', g.channelsOpened);
  e.one('rabbitmq_channels_closed_total', 'counter', 'Total number of channels closed', g.channelsClosed);
  const mem = process.memoryUsage();
  e.one('rabbitmq_process_resident_memory_bytes', 'gauge', 'Memory used in bytes', mem.rss);
  // warren's own: where that memory is, so that a leak or a sizing question can be told apart.
  e.one('warren_process_heap_used_bytes', 'gauge', 'JavaScript heap in use', mem.heapUsed);
  e.one('warren_process_heap_total_bytes', 'gauge', 'JavaScript heap reserved, young generation included', mem.heapTotal);
  e.one('warren_process_external_bytes', 'gauge', 'Buffers outside the JavaScript heap (message bodies, socket input and output)', mem.external);
  const fds = openFds();
  if (fds !== undefined) e.one('rabbitmq_process_open_fds', 'gauge', 'Open file descriptors', fds);
  try {
    const s = statfsSync(broker.config.dataDir ?? '.');
    e.one('rabbitmq_disk_space_available_bytes', 'gauge', 'Disk space available in bytes', s.bavail * s.bsize);
  } catch {
    // no figure for a data directory we cannot stat
  }

  e.one('rabbitmq_alarms_free_disk_space_watermark', 'untyped', 'is 1 if free disk space watermark alarm is in effect', broker.alarms.has('disk') ? 1 : 0);
  e.one('rabbitmq_alarms_memory_used_watermark', 'untyped', 'is 1 if VM memory watermark alarm is in effect', broker.alarms.has('memory') ? 1 : 0);

  const queueFamily = (name: string, type: 'gauge' | 'counter', help: string, pick: (q: QueueFigures) => number): void => {
    if (perObject) e.family(name, type, help, queues.map((q) => ({ labels: q.labels, value: pick(q) })));
    else e.one(name, type, help, queues.reduce((n, q) => n + pick(q), 0));
  };
  queueFamily('rabbitmq_queue_messages_ready', 'gauge', 'Messages ready to be delivered to consumers', (q) => q.ready);
  queueFamily('rabbitmq_queue_messages_unacked', 'gauge', 'Messages delivered to consumers but not yet acknowledged', (q) => q.unacked);
  queueFamily('rabbitmq_queue_messages', 'gauge', 'Sum of ready and unacknowledged messages - total queue depth', (q) => q.ready + q.unacked);
  queueFamily('rabbitmq_queue_messages_ready_bytes', 'gauge', 'Size in bytes of ready messages', (q) => q.readyBytes);
  queueFamily('rabbitmq_queue_consumers', 'gauge', 'Consumers on a queue', (q) => q.consumers);
  queueFamily('rabbitmq_queue_messages_published_total', 'counter', 'Total number of messages published to queues', (q) => q.published);

  const b = broker.store.batchStats;
  if (b !== undefined) {
    // The store's group commit: batches per second against messages per second says how many
    // messages share one fsync; commit time per batch is the wait a confirm sees for its own.
    e.one('warren_store_batches_total', 'counter', 'Store batches committed (one transaction and fsync each)', b.batches);
    e.one('warren_store_messages_written_total', 'counter', 'Messages written to the store', b.messagesWritten);
    e.one('warren_store_inserts_cancelled_total', 'counter', 'Queue entries acknowledged before their insert went out (never written)', b.insertsCancelled);
    e.one('warren_store_batches_empty_total', 'counter', 'Batches whose every write was cancelled by an ack: durable without a commit', b.batchesEmpty);
    e.one('warren_store_holds_total', 'counter', 'Batches of delivered inserts held for their acks (--store-ack-wait)', b.holds);
    e.one('warren_store_holds_expired_total', 'counter', 'Held batches sent because --store-ack-wait ran out before every ack came', b.holdsExpired);
    e.one('warren_store_writes_acked_early_total', 'counter', 'Held writes made durable before their hold ended, their entries acked first (confirms sent at once)', b.writesAckedEarly);
    e.one('warren_store_commit_seconds_total', 'counter', 'Time from handing each batch to the store writer until its reply', b.commitSeconds);
    e.one('warren_store_writer_seconds_total', 'counter', "The store writer's own time per batch (transaction and fsync), summed", b.writerSeconds);
  }

  streamFamilies(e, broker);
  if (broker.nodes !== null) {
    // Several nodes (--node-name): as this node last read them (refreshed every second).
    const nodes = broker.nodes.lastView();
    e.family('warren_node_active', 'gauge', 'is 1 for the node holding the lease (the active one)', nodes.map((n) => ({ labels: { node: n.name, role: n.role }, value: n.role === 'active' ? 1 : 0 })));
    e.family('warren_node_epoch', 'gauge', 'Lease epoch the node last reported', nodes.map((n) => ({ labels: { node: n.name }, value: n.epoch })));
    e.family('warren_node_lag_seconds', 'gauge', 'Seconds since the node last reported itself', nodes.map((n) => ({ labels: { node: n.name }, value: n.lagMs / 1000 })));
    e.one('warren_lease_age_seconds', 'gauge', 'Seconds since the active node last renewed its lease', Math.max(0, (nodes.find((n) => n.role === 'active')?.leaseAgeMs ?? 0) / 1000));
  }

  e.one('rabbitmq_connection_incoming_bytes_total', 'counter', 'Total number of bytes received on a connection', recv);
  e.one('rabbitmq_connection_outgoing_bytes_total', 'counter', 'Total number of bytes sent on a connection', send);
  e.one('rabbitmq_connections', 'gauge', 'Connections currently open', connections);
  // warren's own: what clients make the broker hold (bounded per connection by maxConnectionBuffer).
  e.one('warren_connection_pending_output_bytes', 'gauge', 'Output not yet taken by clients, summed over connections', pendingOutput);
  e.one('warren_connection_incoming_content_bytes', 'gauge', 'Bodies of messages still arriving, summed over connections', contentHeld);
  e.one('rabbitmq_channels', 'gauge', 'Channels currently open', channels);
  e.one('rabbitmq_consumers', 'gauge', 'Consumers currently connected', consumers);
  e.one('rabbitmq_queues', 'gauge', 'Queues available', queues.length);
  e.one('rabbitmq_build_info', 'untyped', 'RabbitMQ & Erlang/OTP version info', 1, {
    rabbitmq_version: RABBITMQ_COMPAT_VERSION,
    product: 'warren',
    product_version: VERSION,
    nodejs_version: process.version,
  });
  e.one('rabbitmq_identity_info', 'untyped', 'RabbitMQ node & cluster identity info', 1, { rabbitmq_node: NODE_NAME, rabbitmq_cluster: NODE_NAME });

  const amqp = { protocol: 'amqp091' };
  const lag = takeEventLoopDelay();
  if (lag !== null) {
    const since = 'since the previous scrape, seconds';
    e.one('nodejs_eventloop_lag_min_seconds', 'gauge', `The minimum recorded event loop delay ${since}`, lag.minSeconds);
    e.one('nodejs_eventloop_lag_max_seconds', 'gauge', `The maximum recorded event loop delay ${since}`, lag.maxSeconds);
    e.one('nodejs_eventloop_lag_mean_seconds', 'gauge', `The mean of the recorded event loop delays ${since}`, lag.meanSeconds);
    e.one('nodejs_eventloop_lag_p50_seconds', 'gauge', `The 50th percentile of the recorded event loop delays ${since}`, lag.p50Seconds);
    e.one('nodejs_eventloop_lag_p90_seconds', 'gauge', `The 90th percentile of the recorded event loop delays ${since}`, lag.p90Seconds);
    e.one('nodejs_eventloop_lag_p99_seconds', 'gauge', `The 99th percentile of the recorded event loop delays ${since}`, lag.p99Seconds);
  }

  // warren's own: named stream readers (labelled always: one sample per reader).
  const committed: Sample[] = [];
  const lags: Sample[] = [];
  for (const r of broker.coordinator.readers.all()) {
    const labels = { vhost: r.vhost, stream: r.stream, reader: r.name };
    const q = broker.vhosts.get(r.vhost)?.getQueue(r.stream);
    const log = q instanceof StreamQueue ? q.log : null;
    committed.push({ labels, value: r.committed });
    lags.push({ labels, value: log === null ? 0 : Math.max(0, log.nextOffset - Math.max(r.committed, log.firstOffset)) });
  }
  e.family('warren_stream_reader_committed_offset', 'gauge', 'Next offset a named stream reader resumes at: every delivery below it was acknowledged', committed);
  e.family('warren_stream_reader_lag', 'gauge', 'Messages in the stream at or after a named reader\'s committed offset', lags);

  e.one('rabbitmq_global_consumers', 'gauge', 'Current number of consumers', consumers);
  e.one('rabbitmq_global_messages_received_total', 'counter', 'Total number of messages received from publishers', g.published, amqp);
  e.one('rabbitmq_global_messages_delivered_total', 'counter', 'Total number of messages delivered to consumers', g.delivered, amqp);
  e.one('rabbitmq_global_messages_acknowledged_total', 'counter', 'Total number of messages acknowledged by consumers', g.acked, amqp);
  return e.toString();
}

/** Streams' sizes, always one sample per stream (offsets and timestamps do not add up). */
function streamFamilies(e: Exposition, broker: Broker): void {
  const streams: { labels: { vhost: string; queue: string }; f: StreamFigures }[] = [];
  for (const v of broker.vhosts.values()) {
    for (const q of v.queues.values()) {
      const f = streamFigures(q);
      if (f !== null) streams.push({ labels: { vhost: v.name, queue: q.name }, f });
    }
  }
  const family = (name: string, help: string, pick: (f: StreamFigures) => number): void =>
    e.family(name, 'gauge', help, streams.map((s) => ({ labels: s.labels, value: pick(s.f) })));
  family('warren_stream_messages', 'Messages kept in a stream', (f) => f.messages);
  family('warren_stream_bytes', 'Bytes of a stream on disk (records and their framing)', (f) => f.bytes);
  family('warren_stream_segments', 'Segment files of a stream', (f) => f.segments);
  family('warren_stream_first_offset', 'Offset of the oldest message kept', (f) => f.firstOffset);
  family('warren_stream_last_offset', 'Offset of the newest message (-1: none yet)', (f) => f.lastOffset);
  family('warren_stream_committed_offset', 'Messages below this offset are durable and readable', (f) => f.committedOffset);
  family('warren_stream_first_timestamp_seconds', 'Append time of the oldest message kept (0: empty)', (f) => f.firstTimestamp / 1000);
}
