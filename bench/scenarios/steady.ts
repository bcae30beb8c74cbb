// Steady persistent load and the size of the data directory: N persistent messages go through
// a durable queue (publisher with confirms, consumer with prefetch 100 acking each message,
// both running at once) while the data directory is measured every 500 ms. Reports the rate,
// confirm and end-to-end latency, and the directory's largest and final size against what N
// bodies would take: the store must not grow without bound under a steady publish/ack load.

import { connect, consumeN, makeBody, publishConfirmed, qname } from '../lib/amqp.js';
import { cpuSeconds, RssSampler } from '../lib/proc.js';
import type { Recorder } from '../lib/report.js';
import { MiB, now, sleep, summarize } from '../lib/util.js';
import type { Ctx, Scenario } from './context.js';

export const steady: Scenario = {
  name: 'steady',
  title: 'steady persistent publish/consume/ack: rate, latency, data dir size after N messages',
  async run(ctx: Ctx, rec: Recorder) {
    const { target, sizes } = ctx;
    const n = sizes.n;
    const q = qname('steady');
    const base = makeBody(sizes.size);
    const body = (): Buffer => {
      const b = Buffer.allocUnsafe(base.length);
      base.copy(b);
      b.writeDoubleLE(now(), 0);
      return b;
    };
    const e2e = new Float64Array(n);
    let got = 0;
    const sampler = new RssSampler(() => target.pids()).start();
    let maxDb = 0;
    const timeline: [number, number, number][] = [];
    const t0 = now();
    let published = 0;
    const dbTimer = setInterval(() => {
      const s = target.dataSize();
      if (!s) return;
      if (s.bytes > maxDb) maxDb = s.bytes;
      timeline.push([Math.round(now() - t0), published, s.bytes]);
    }, 500);
    const conn = await connect(target.url);
    try {
      const pch = await conn.model.createConfirmChannel();
      await pch.assertQueue(q, { durable: true });
      await pch.purgeQueue(q);
      const cch = await conn.model.createChannel();
      const consumed = consumeN(cch, q, n, {
        prefetch: 100,
        onMessage: (m) => {
          if (got < n) e2e[got++] = now() - m.content.readDoubleLE(0);
        },
      });
      const start = now();
      const cpuStart = process.cpuUsage();
      const brokerCpu0 = target.pids().reduce((sum, p) => sum + cpuSeconds(p), 0);
      const pub = await publishConfirmed(pch, {
        routingKey: q,
        count: n,
        body,
        props: () => ({ persistent: true }),
        window: 100,
        onPublish: () => published++,
      });
      const cons = await consumed;
      const elapsed = now() - start;
      const cpu = process.cpuUsage(cpuStart);
      const brokerCpu = target.pids().reduce((sum, p) => sum + cpuSeconds(p), 0) - brokerCpu0;
      clearInterval(dbTimer);
      const c = summarize(pub.confirmMs);
      const l = summarize(e2e.subarray(0, got));
      rec.add('count', 'messages through (persistent, durable queue)', n, 'msg');
      rec.add('rate', 'end-to-end msg/s (confirm window 100, prefetch 100, ack each)', (cons.received / elapsed) * 1000, 'msg/s', 'hi');
      rec.add('confirm_p50_ms', 'confirm latency p50', c.p50, 'ms', 'lo');
      rec.add('confirm_p99_ms', 'confirm latency p99', c.p99, 'ms', 'lo');
      rec.add('e2e_p50_ms', 'end-to-end latency p50', l.p50, 'ms', 'lo');
      rec.add('e2e_p99_ms', 'end-to-end latency p99', l.p99, 'ms', 'lo');
      rec.add('broker_cpu_pct', 'broker CPU (100 = one core)', (brokerCpu / (elapsed / 1000)) * 100, '%');
      rec.add('client_cpu_pct', 'client CPU (Node publisher + consumer, one process)', ((cpu.user + cpu.system) / 1000 / elapsed) * 100, '%');
      if (cons.received !== n) rec.note(`received ${cons.received} of ${n}`);
      const end = target.dataSize();
      rec.add('db_max_mib', 'data dir, largest during the run', maxDb / MiB, 'MiB', 'lo');
      rec.add('db_end_mib', 'data dir right after', end ? end.bytes / MiB : null, 'MiB', 'lo');
      await sleep(ctx.quick ? 1000 : 5000);
      const idle = target.dataSize();
      rec.add('db_idle_mib', `data dir after ${ctx.quick ? 1 : 5} s idle`, idle ? idle.bytes / MiB : null, 'MiB', 'lo');
      rec.add('bodies_mib', `N x body size, for scale`, (n * sizes.size) / MiB, 'MiB');
      if (idle) rec.raw('db_files', idle.files);
      rec.add('rss_peak_mib', 'broker RSS peak', sampler.peakKb / 1024, 'MiB', 'lo');
      // The size over time: the first and last few samples and every 10th in between.
      rec.raw(
        'db_timeline_ms_published_bytes',
        timeline.filter((_, i) => i < 3 || i >= timeline.length - 3 || i % 10 === 0),
      );
      await cch.deleteQueue(q).catch(() => undefined);
    } finally {
      clearInterval(dbTimer);
      sampler.stop();
      await conn.close();
    }
  },
};
