// Scenarios a, b, d and f with the raw-socket load generator amqp-blast (../shared/bench): one
// publisher, no-ack consumers, transient bodies flat out: 16 B (a-blast), 1 KiB (b-blast), 16 B
// fanned out to 10 queues with a consumer each (d-blast: deliveries counted over all queues),
// 64 KiB (f-blast) or 1 MiB (f-blast-1m).
// Reports deliveries and bytes per second, the broker's CPU and its RSS sampled each second
// (first, peak, last), so a backlog that grows during the run shows.

import { buildBlast, runBlast } from '../lib/blast.js';
import type { Recorder } from '../lib/report.js';
import type { Ctx, Scenario } from './context.js';

const MIB = 1024 * 1024;

function blastScenario(name: string, size: number, label: string, fanout = 1): Scenario {
  return {
    name,
    title: fanout > 1 ? `1 publisher -> ${fanout} queues, ${fanout} consumers, ${label} transient, no-ack, flat out (amqp-blast)` : `1p/1c ${label} transient, no-ack, flat out (amqp-blast)`,
    async run(ctx: Ctx, rec: Recorder): Promise<void> {
      const build = buildBlast();
      if (build.bin === null) {
        rec.skip(build.reason);
        return;
      }
      const port = Number(new URL(ctx.target.url).port || 5672);
      const r = await runBlast(build.bin, port, {
        size,
        seconds: ctx.sizes.duration,
        warmup: ctx.sizes.warmup,
        clientCpus: ctx.clientCpus,
        pids: ctx.target.pids(),
        fanout,
      });
      const rss = r.rssKb.filter((k) => k > 0);
      rec.add('recv_rate', 'delivered msg/s', r.consumedPerS, 'msg/s', 'hi');
      rec.add('recv_mib_s', 'delivered MiB/s', (r.consumedPerS * size) / MIB, 'MiB/s', 'hi');
      rec.add('send_rate', 'published msg/s', r.publishedPerS, 'msg/s', 'hi');
      rec.add('broker_cpu_pct', 'broker CPU (100 = one core)', r.brokerCpuPct, '%');
      rec.add('client_cpu_pct', 'client CPU', 100 * r.clientCpuShare, '%');
      rec.add('rss_first_mib', 'broker RSS after 1 s', rss.length ? rss[0]! / 1024 : null, 'MiB', 'lo');
      rec.add('rss_peak_mib', 'broker RSS peak', rss.length ? Math.max(...rss) / 1024 : null, 'MiB', 'lo');
      rec.add('rss_last_mib', 'broker RSS at the end', rss.length ? rss[rss.length - 1]! / 1024 : null, 'MiB', 'lo');
      rec.raw('rss_kb', r.rssKb);
    },
  };
}

export const aBlast = blastScenario('a-blast', 16, '16 B');
export const bBlast = blastScenario('b-blast', 1024, '1 KiB');
export const dBlast = blastScenario('d-blast', 16, '16 B', 10);
export const fBlast = blastScenario('f-blast', 64 * 1024, '64 KiB');
export const fBlast1m = blastScenario('f-blast-1m', MIB, '1 MiB');
