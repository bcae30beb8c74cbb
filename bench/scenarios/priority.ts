// Priority queue (x-max-priority 10) with priorities 0-9 mixed at random, 1 producer and 1
// consumer (prefetch 100, ack each).
//  1. ordering: a backlog is published first (confirms), then consumed: every delivery after
//     the first prefetch window must have a priority no higher than the one before it.
//  2. under load: the producer publishes as fast as the socket takes it while the consumer
//     runs, so a backlog builds up; throughput, and end-to-end latency per priority — higher
//     priorities should overtake (lower latency) whenever messages wait.

import { connect, consumeN, makeBody, publishConfirmed, publishFast, qname } from '../lib/amqp.js';
import { RssSampler } from '../lib/proc.js';
import type { Recorder } from '../lib/report.js';
import { now, summarize } from '../lib/util.js';
import type { Ctx, Scenario } from './context.js';

const LEVELS = 10;

export const priority: Scenario = {
  name: 'priority',
  title: 'priority queue (x-max-priority 10) under load: order and overtaking',
  async run(ctx: Ctx, rec: Recorder) {
    const { target, sizes } = ctx;
    const n = sizes.priorityN;
    const q = qname('priority');
    const base = makeBody(sizes.size);
    const prios = new Uint8Array(n);
    for (let i = 0; i < n; i++) prios[i] = Math.floor(Math.random() * LEVELS);
    const props = Array.from({ length: LEVELS }, (_, p) => ({ priority: p }));
    const body = (i: number): Buffer => {
      const b = Buffer.allocUnsafe(base.length);
      base.copy(b);
      b.writeDoubleLE(now(), 0);
      b.writeUInt8(prios[i]!, 8);
      return b;
    };
    const sampler = new RssSampler(() => target.pids()).start();
    const conn = await connect(target.url);
    try {
      const pch = await conn.model.createConfirmChannel();
      await pch.deleteQueue(q).catch(() => undefined);
      await pch.assertQueue(q, { durable: false, arguments: { 'x-max-priority': LEVELS } });
      rec.add('count', `messages per phase (${sizes.size} B transient, priorities 0-9)`, n, 'msg');

      // 1. ordering of a standing backlog
      await publishConfirmed(pch, { routingKey: q, count: n, body, props: (i) => props[prios[i]!]!, window: Math.max(sizes.window, 1000), latency: false });
      const cch = await conn.model.createChannel();
      const order = new Uint8Array(n);
      let k = 0;
      const drain = await consumeN(cch, q, n, { prefetch: 100, onMessage: (m) => (order[k++] = m.content.readUInt8(8)) });
      let inversions = 0;
      for (let i = 101; i < k; i++) if (order[i]! > order[i - 1]!) inversions++;
      rec.add('backlog_drain_rate', 'ordering: drain msg/s of the backlog', (drain.received / drain.ms) * 1000, 'msg/s', 'hi');
      rec.add('order_violations', 'ordering: deliveries with a higher priority than the one before (after the first 100)', inversions, '', 'lo');

      // 2. producer and consumer at once
      const lat: number[][] = Array.from({ length: LEVELS }, () => []);
      const pch2 = await conn.model.createChannel();
      let got = 0;
      const t0 = now();
      const consumed = consumeN(cch, q, n, {
        prefetch: 100,
        onMessage: (m) => {
          got++;
          lat[m.content.readUInt8(8)]!.push(now() - m.content.readDoubleLE(0));
        },
      });
      const pub = await publishFast(pch2, { routingKey: q, count: n, body, props: (i) => props[prios[i]!]! });
      const cons = await consumed;
      const ms = now() - t0;
      rec.add('send_rate', 'under load: send msg/s (no confirms)', (n / pub.ms) * 1000, 'msg/s', 'hi');
      rec.add('recv_rate', 'under load: recv msg/s (prefetch 100, ack each)', (cons.received / ms) * 1000, 'msg/s', 'hi');
      const byPrio = lat.map((l) => summarize(l));
      for (const p of [9, 5, 0]) {
        const s = byPrio[p]!;
        rec.add(`lat_p${p}_p50_ms`, `under load: priority ${p} latency p50`, s.p50, 'ms');
        rec.add(`lat_p${p}_p99_ms`, `under load: priority ${p} latency p99`, s.p99, 'ms');
      }
      const hi = byPrio[9]!.mean;
      const lo = byPrio[0]!.mean;
      rec.add('overtake_factor', 'under load: mean latency priority 0 / priority 9', lo / hi, 'x', 'hi');
      rec.raw('latency_by_priority', byPrio);
      rec.add('rss_peak_mib', 'broker RSS peak', sampler.peakKb / 1024, 'MiB', 'lo');
      if (got !== n) rec.note(`received ${got} of ${n} under load`);
      await cch.deleteQueue(q).catch(() => undefined);
    } finally {
      sampler.stop();
      await conn.close();
    }
  },
};
