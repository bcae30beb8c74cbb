// Is the broker's event loop free while the store commits? A probe connection does, every
// 10 ms, (1) a publish of a small transient message to its own queue, timed until the broker
// delivers it back to the probe's consumer, and (2) a passive queue.declare RPC; a second, raw
// connection negotiates a 1 s heartbeat and stays idle, and the gaps between the heartbeats
// the broker sends are timed. This runs twice: with the broker idle, then while another client
// publishes persistent 1 KiB messages with confirms as fast as the broker confirms them (and a
// consumer acks them), so the store commits batch after batch. The probe's own timer lateness
// is reported too: client-side delays show there, not as broker stalls. The probe runs in its
// own process at real-time priority on the client CPU, beside a flat-out load generator on the
// same CPU it otherwise measures its own wait for that CPU; and by default without a client
// library, in raw frames (BENCH_PROBE_PROC=raw|rt|plain|inline, see bench/lib/probe.ts): amqplib
// on Node added a tail of its own of 3-4 ms at p99 against an idle broker.

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connect, qname, type Conn } from '../lib/amqp.js';
import { HeartbeatProbe } from '../lib/heartbeat-probe.js';
import { BENCH_DIST } from '../lib/paths.js';
import { runPerf } from '../lib/perf.js';
import { PROBE_MODES, runProbe, type ProbeMode } from '../lib/probe.js';
import { canPin, cpuSeconds } from '../lib/proc.js';
import type { Recorder } from '../lib/report.js';
import { envInt, envStr, now, sleep, summarize, type Summary } from '../lib/util.js';
import type { Ctx, Scenario } from './context.js';

function addSummary(rec: Recorder, key: string, label: string, s: Summary): void {
  rec.add(`${key}_p50_ms`, `${label} p50`, s.p50, 'ms', 'lo');
  rec.add(`${key}_p99_ms`, `${label} p99`, s.p99, 'ms', 'lo');
  rec.add(`${key}_max_ms`, `${label} max`, s.max, 'ms', 'lo');
}

interface LoadHandle {
  readonly done: Promise<Record<string, unknown> | null>;
  readonly kind: string;
}

/** Starts the persistent publish load for about `seconds` (`rate` msg/s, 0 = flat out). */
function startLoad(ctx: Ctx, seconds: number, rate: number): LoadHandle | null {
  const size = String(ctx.sizes.size);
  if (ctx.perf.bin) {
    const args = envStr('BENCH_PROBE_LOAD', `-x 1 -y 1 -s ${size} -f -D -c 500 -q 200 -A 1`).split(/\s+/).filter(Boolean);
    if (rate > 0) args.push('-r', String(rate));
    const full = [...args, '--warmup', '0', '--duration', String(seconds)];
    return {
      kind: `amqp-perf ${args.join(' ')}`,
      done: runPerf(ctx.perf.bin, ctx.target.url, full, { brokerPids: ctx.target.pids(), clientCpus: ctx.clientCpus, label: 'probe-load' }).then((r) => r.result),
    };
  }
  if (rate > 0) return null;
  const js = join(BENCH_DIST, 'lib', 'loadgen.js');
  const argv = [js, ctx.target.url, qname('probe-load'), String(seconds), '500', size];
  const pin = canPin(ctx.clientCpus);
  const child = spawn(pin ? 'taskset' : process.execPath, pin ? ['-c', ctx.clientCpus, process.execPath, ...argv] : argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return {
    kind: 'node loadgen (persistent 1 KiB, confirms window 500, consumer prefetch 200)',
    done: new Promise((resolve) =>
      child.once('exit', () => {
        try {
          resolve(JSON.parse(out.trim().split('\n').pop() ?? 'null') as Record<string, unknown>);
        } catch {
          resolve(null);
        }
      }),
    ),
  };
}

export const responsiveness: Scenario = {
  name: 'responsiveness',
  title: 'event-loop responsiveness: 10 ms probes and heartbeats, idle vs heavy persistent publishing',
  async run(ctx: Ctx, rec: Recorder) {
    const { target } = ctx;
    const seconds = ctx.sizes.probeS;
    const everyMs = 10;
    const mode = envStr('BENCH_PROBE_PROC', 'raw') as ProbeMode;
    if (!PROBE_MODES.includes(mode)) throw new Error(`BENCH_PROBE_PROC: one of ${PROBE_MODES.join(', ')}, not ${String(mode)}`);
    const conn: Conn | null = mode === 'inline' ? await connect(target.url) : null;
    const hb = await HeartbeatProbe.open(target.url, 1);
    try {
      await sleep(1500);
      const pq = qname('probe');
      const cpu = (): number => target.pids().reduce((sum, p) => sum + cpuSeconds(p), 0);
      const pacedRate = envInt('BENCH_PROBE_PACED_RATE', 5000);
      const phases: [string, string, number][] = [
        ['idle', 'broker idle', -1],
        ['paced', `persistent load paced at ${pacedRate} msg/s`, pacedRate],
        ['load', 'persistent load flat out', 0],
      ];
      for (const [name, what, rate] of phases) {
        let load: LoadHandle | null = null;
        if (rate >= 0) {
          load = startLoad(ctx, seconds + 3, rate);
          if (!load) {
            rec.note(`${name} phase skipped: needs amqp-perf`);
            continue;
          }
          await sleep(1500);
        }
        const from = now();
        const c0 = cpu();
        const { samples: s, how } = await runProbe(mode, target.url, conn, pq, seconds * 1000, everyMs, ctx.clientCpus);
        const brokerCpu = (cpu() - c0) / ((now() - from) / 1000);
        const to = now();
        const loadResult = load ? await load.done : null;
        addSummary(rec, `${name}_deliver`, `${name}: probe publish->deliver`, summarize(s.deliver));
        addSummary(rec, `${name}_rpc`, `${name}: probe queue.declare RPC`, summarize(s.rpc));
        const gaps = summarize(hb.gaps(from, to));
        rec.add(`${name}_hb_gap_max_ms`, `${name}: longest gap between heartbeats (${gaps.n} gaps)`, gaps.max, 'ms', 'lo');
        rec.add(`${name}_client_late_p99_ms`, `${name}: probe timer lateness p99 (client side)`, summarize(s.late).p99, 'ms');
        if (s.lost) rec.add(`${name}_lost`, `${name}: probes not answered within 5 s`, s.lost, '', 'lo');
        if (Number.isFinite(brokerCpu)) rec.add(`${name}_broker_cpu_pct`, `${name}: broker CPU`, brokerCpu * 100, '%');
        rec.raw(`${name}_heartbeat_gaps`, gaps);
        if (loadResult) {
          const r = loadResult;
          const rateDone = typeof r['confirm_rate'] === 'number' ? r['confirm_rate'] : null;
          rec.add(`${name}_load_rate`, `${name}: load, persistent msg/s confirmed`, rateDone, 'msg/s', 'hi');
          const lat = r['lat_us'] as Record<string, number> | undefined;
          if (lat) rec.add(`${name}_load_e2e_p99_ms`, `${name}: load, end-to-end latency p99`, (lat['p99'] ?? NaN) / 1000, 'ms', 'lo');
          rec.raw(`${name}_load`, r);
        }
        if (load) rec.note(`${name} (${what}): ${load.kind}`);
        rec.note(`${name}: probe ran ${how}`);
      }
      rec.note(`probe every ${everyMs} ms for ${seconds} s per phase; heartbeat negotiated at 1 s on an idle raw connection`);
      if (hb.error) rec.note(`heartbeat probe connection: ${hb.error}`);
    } finally {
      hb.close();
      await conn?.close();
    }
  },
};
