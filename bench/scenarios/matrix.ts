// Scenarios (a)-(j) of the shared matrix (../shared/bench/README.md), one amqp-perf run each,
// with the same flags as run-matrix.sh. `throughput` in the runner means a, b and c.

import type { Recorder } from '../lib/report.js';
import { runPerf } from '../lib/perf.js';
import type { Ctx, Scenario } from './context.js';

type Json = Record<string, unknown>;

const num = (o: Json, path: string): number | null => {
  let v: unknown = o;
  for (const k of path.split('.')) v = v && typeof v === 'object' ? (v as Json)[k] : undefined;
  return typeof v === 'number' ? v : null;
};

const ms = (o: Json, path: string): number | null => {
  const v = num(o, path);
  return v === null ? null : v / 1000;
};

const mib = (kb: number | null): number | null => (kb === null ? null : kb / 1024);

interface MatrixDef {
  readonly title: string;
  args(ctx: Ctx): string[];
  record(rec: Recorder, o: Json): void;
}

function throughputCommon(rec: Recorder, o: Json): void {
  rec.add('recv_rate', 'recv msg/s', num(o, 'recv_rate'), 'msg/s', 'hi');
  rec.add('send_rate', 'send msg/s', num(o, 'send_rate'), 'msg/s', 'hi');
}

function cpuAndRss(rec: Recorder, o: Json): void {
  rec.add('broker_cpu_pct', 'broker CPU (100 = one core)', num(o, 'broker_cpu_pct'), '%');
  rec.add('client_cpu_pct', 'client CPU', num(o, 'client_cpu_pct'), '%');
  rec.add('rss_peak_mib', 'broker RSS peak', mib(num(o, 'broker_rss_kb.peak')), 'MiB', 'lo');
}

const DEFS: Record<string, MatrixDef> = {
  a: {
    title: '1p/1c 16 B transient, autoack (amqp-perf)',
    args: () => ['-x', '1', '-y', '1', '-s', '16', '-a'],
    record: (rec, o) => {
      throughputCommon(rec, o);
      rec.add('recv_per_cpu_s', 'recv per broker CPU-s', num(o, 'recv_per_broker_cpu_s'), 'msg', 'hi');
      cpuAndRss(rec, o);
    },
  },
  b: {
    title: '1p/1c 1 KiB transient, autoack (amqp-perf)',
    args: () => ['-x', '1', '-y', '1', '-s', '1024', '-a'],
    record: (rec, o) => {
      throughputCommon(rec, o);
      rec.add('recv_per_cpu_s', 'recv per broker CPU-s', num(o, 'recv_per_broker_cpu_s'), 'msg', 'hi');
      cpuAndRss(rec, o);
    },
  },
  c: {
    title: '1p/1c 1 KiB persistent, durable queue, confirms <=100 in flight, prefetch 100, ack each (amqp-perf)',
    args: () => ['-x', '1', '-y', '1', '-s', '1024', '-f', '-D', '-c', '100', '-q', '100', '-A', '1'],
    record: (rec, o) => {
      rec.add('recv_rate', 'end-to-end msg/s (recv)', num(o, 'recv_rate'), 'msg/s', 'hi');
      rec.add('confirm_rate', 'publish msg/s (confirmed)', num(o, 'confirm_rate'), 'msg/s', 'hi');
      rec.add('lat_p50_ms', 'end-to-end latency p50', ms(o, 'lat_us.p50'), 'ms', 'lo');
      rec.add('lat_p99_ms', 'end-to-end latency p99', ms(o, 'lat_us.p99'), 'ms', 'lo');
      rec.add('nacked', 'nacked', num(o, 'nacked'), '', 'lo');
      cpuAndRss(rec, o);
      rec.note('amqp-perf measures end-to-end latency (publish to delivery), not confirm latency; the Node-driven "backlog" and "steady" scenarios report confirm latency p50/p99.');
    },
  },
  d: {
    title: 'fan-out 1p -> 10 queues, 10 consumers, 1 KiB autoack (amqp-perf)',
    args: () => ['-x', '1', '-y', '10', '-Q', '10', '--fanout', '-s', '1024', '-a'],
    record: (rec, o) => {
      rec.add('recv_rate', 'deliveries/s (all queues)', num(o, 'recv_rate'), 'msg/s', 'hi');
      rec.add('send_rate', 'send msg/s', num(o, 'send_rate'), 'msg/s', 'hi');
      cpuAndRss(rec, o);
    },
  },
  e: {
    title: '10p/10c over 10 queues, 1 KiB autoack (amqp-perf)',
    args: () => ['-x', '10', '-y', '10', '-Q', '10', '-s', '1024', '-a'],
    record: (rec, o) => {
      throughputCommon(rec, o);
      cpuAndRss(rec, o);
    },
  },
  f: {
    title: '1p/1c 64 KiB transient, autoack (amqp-perf)',
    args: () => ['-x', '1', '-y', '1', '-s', '65536', '-a'],
    record: (rec, o) => {
      throughputCommon(rec, o);
      const r = num(o, 'recv_rate');
      rec.add('recv_mib_s', 'recv MiB/s', r === null ? null : (r * 65536) / 1048576, 'MiB/s', 'hi');
      cpuAndRss(rec, o);
    },
  },
  g: {
    title: '1p/1c 1 KiB autoack at 1000 msg/s: latency (amqp-perf)',
    args: () => ['-x', '1', '-y', '1', '-s', '1024', '-a', '-r', '1000'],
    record: (rec, o) => {
      rec.add('lat_p50_ms', 'latency p50', ms(o, 'lat_us.p50'), 'ms', 'lo');
      rec.add('lat_p95_ms', 'latency p95', ms(o, 'lat_us.p95'), 'ms', 'lo');
      rec.add('lat_p99_ms', 'latency p99', ms(o, 'lat_us.p99'), 'ms', 'lo');
      rec.add('lat_max_ms', 'latency max', ms(o, 'lat_us.max'), 'ms', 'lo');
      rec.add('recv_rate', 'recv msg/s (target 1000)', num(o, 'recv_rate'), 'msg/s');
      cpuAndRss(rec, o);
    },
  },
  h: {
    title: 'backlog of persistent 1 KiB, confirms, then drain with prefetch 100 and acks (amqp-perf --mode backlog)',
    args: (ctx) => ['--mode', 'backlog', '-n', String(ctx.sizes.hN), '-s', '1024', '-f', '-D', '-c', '100', '-q', '100', '-A', '1'],
    record: (rec, o) => {
      rec.add('count', 'messages', num(o, 'count'), 'msg');
      rec.add('publish_rate', 'publish msg/s (confirmed)', num(o, 'publish_rate'), 'msg/s', 'hi');
      rec.add('publish_s', 'publish time', num(o, 'publish_s'), 's', 'lo');
      rec.add('drain_rate', 'drain msg/s', num(o, 'drain_rate'), 'msg/s', 'hi');
      rec.add('drain_s', 'drain time', num(o, 'drain_s'), 's', 'lo');
      rec.add('rss_peak_mib', 'broker RSS peak', mib(num(o, 'broker_rss_kb.peak')), 'MiB', 'lo');
      const b = num(o, 'broker_rss_kb.before');
      const a = num(o, 'broker_rss_kb.after_publish');
      rec.add('rss_growth_mib', 'RSS growth with backlog', a !== null && b !== null ? (a - b) / 1024 : null, 'MiB', 'lo');
    },
  },
  i: {
    title: 'declare + bind queues, then delete them (amqp-perf --mode queues)',
    args: (ctx) => ['--mode', 'queues', '-n', String(ctx.sizes.iN)],
    record: (rec, o) => {
      rec.add('declare_rate', 'queue.declare/s', num(o, 'declare_rate'), '/s', 'hi');
      rec.add('bind_rate', 'queue.bind/s', num(o, 'bind_rate'), '/s', 'hi');
      rec.add('delete_rate', 'queue.delete/s', num(o, 'delete_rate'), '/s', 'hi');
      rec.add('rss_per_queue_kb', 'RSS per queue', num(o, 'rss_per_queue_kb'), 'KiB', 'lo');
    },
  },
  j: {
    title: 'idle connections, one channel each (amqp-perf --mode connections)',
    args: (ctx) => ['--mode', 'connections', '-n', String(ctx.sizes.jN), '--hold', ctx.quick ? '1' : '5', '--connect-timeout', '5000', '--settle-max', ctx.quick ? '3' : '20'],
    record: (rec, o) => {
      rec.add('opened', 'connections opened', num(o, 'opened'), '', 'hi');
      rec.add('open_rate', 'open conn/s', num(o, 'open_rate'), '/s', 'hi');
      rec.add('rss_per_conn_kb', 'RSS per connection', num(o, 'rss_per_conn_kb'), 'KiB', 'lo');
      rec.add('rss_per_conn_kb_fit', 'RSS per connection (fit over steps)', num(o, 'rss_per_conn_kb_fit'), 'KiB', 'lo');
    },
  },
};

export const MATRIX_IDS = Object.keys(DEFS);

export function matrixScenario(id: string): Scenario {
  const def = DEFS[id];
  if (!def) throw new Error(`unknown matrix scenario ${id}`);
  return {
    name: id,
    title: def.title,
    async run(ctx, rec) {
      if (!ctx.perf.bin) {
        rec.skip(ctx.perf.reason);
        return;
      }
      const args = [...def.args(ctx), '--warmup', String(ctx.sizes.warmup), '--duration', String(ctx.sizes.duration)];
      rec.raw('amqp_perf_args', args.join(' '));
      const r = await runPerf(ctx.perf.bin, ctx.target.url, args, { brokerPids: ctx.target.pids(), clientCpus: ctx.clientCpus, label: id });
      if (r.result) {
        def.record(rec, r.result);
        rec.raw('amqp_perf', r.result);
      }
      if (!r.ok) throw new Error(r.error);
    },
  };
}
