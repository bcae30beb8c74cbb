// Per-message TTL expiry: N messages with mixed TTLs (uniform in [BENCH_TTL_MIN_MS,
// BENCH_TTL_MAX_MS], default 1-5 s, in random order so short ones sit behind long ones) into a
// queue without consumers. The queue depth is polled every 100 ms; from each message's send time
// and TTL we know how many should still be alive at each poll, so "overdue" counts messages
// whose TTL had passed but were still in the queue. Reports publish time, time until the queue
// is empty, how late the last expiry came, the largest overdue count, and broker RSS.

import { connect, makeBody, publishConfirmed, qname } from '../lib/amqp.js';
import { RssSampler } from '../lib/proc.js';
import type { Recorder } from '../lib/report.js';
import { envFlag, envInt, now, sleep } from '../lib/util.js';
import type { Ctx, Scenario } from './context.js';

/** Number of values <= x in an ascending array. */
function countLe(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export const ttl: Scenario = {
  name: 'ttl',
  title: 'expiry of N messages with mixed per-message TTLs, no consumer',
  async run(ctx: Ctx, rec: Recorder) {
    const { target, sizes } = ctx;
    const n = sizes.n;
    const minTtl = envInt('BENCH_TTL_MIN_MS', 1000);
    const maxTtl = envInt('BENCH_TTL_MAX_MS', 5000);
    const persistent = envFlag('BENCH_TTL_PERSISTENT');
    const q = qname('ttl');
    const ttls = new Uint32Array(n);
    for (let i = 0; i < n; i++) ttls[i] = minTtl + Math.floor(Math.random() * (maxTtl - minTtl + 1));
    const expirations = new Map<number, string>();
    const expiration = (t: number): string => {
      let s = expirations.get(t);
      if (s === undefined) expirations.set(t, (s = String(t)));
      return s;
    };
    const deadlines = new Float64Array(n);
    const body = makeBody(sizes.size);
    const sampler = new RssSampler(() => target.pids()).start();
    const conn = await connect(target.url);
    let polling = true;
    try {
      const ch = await conn.model.createConfirmChannel();
      await ch.assertQueue(q, { durable: persistent });
      await ch.purgeQueue(q);
      const pollCh = await conn.model.createChannel();
      const rssBefore = sampler.sample() / 1024;
      let sent = 0;
      const samples: [number, number, number][] = []; // [time, depth, sent]
      let maxDepth = 0;
      let emptyAt = -1;
      let publishDone = false;
      const poller = (async () => {
        while (polling) {
          const t = now();
          const sentThen = sent;
          const { messageCount } = await pollCh.checkQueue(q);
          samples.push([t, messageCount, sentThen]);
          if (messageCount > maxDepth) maxDepth = messageCount;
          if (publishDone && messageCount === 0) {
            emptyAt = now();
            return;
          }
          await sleep(100);
        }
      })();
      const t0 = now();
      const pub = await publishConfirmed(ch, {
        routingKey: q,
        count: n,
        body: () => body,
        props: (i) => ({ expiration: expiration(ttls[i]!), persistent }),
        window: Math.max(sizes.window, 1000),
        latency: false,
        onPublish: (i) => {
          deadlines[i] = now() + ttls[i]!;
          sent = i + 1;
        },
      });
      const lastConfirm = now();
      publishDone = true;
      rec.add('count', `messages (${sizes.size} B, ${persistent ? 'persistent, durable queue' : 'transient'}), TTL ${minTtl}-${maxTtl} ms`, n, 'msg');
      rec.add('publish_s', 'publish time (confirms)', pub.ms / 1000, 's', 'lo');
      rec.add('publish_rate', 'publish msg/s', (n / pub.ms) * 1000, 'msg/s', 'hi');
      const limit = maxTtl + 300_000;
      while (emptyAt < 0 && now() - lastConfirm < limit) await sleep(50);
      polling = false;
      await poller;
      const sortedDeadlines = Float64Array.from(deadlines).sort();
      const lastDeadline = sortedDeadlines[n - 1] ?? t0;
      let maxOverdue = 0;
      let overdueAt = 0;
      for (const [t, d, s] of samples) {
        const alive = s - countLe(sortedDeadlines, t);
        const overdue = d - Math.max(0, alive);
        if (overdue > maxOverdue) {
          maxOverdue = overdue;
          overdueAt = t;
        }
      }
      if (emptyAt < 0) {
        rec.note(`queue not empty ${Math.round(limit / 1000)} s after the last publish`);
        rec.add('empty_after_publish_s', 'queue empty, after the last confirm', null, 's', 'lo');
      } else {
        rec.add('all_expired_s', 'all expired, from the first publish', (emptyAt - t0) / 1000, 's', 'lo');
        rec.add('empty_after_publish_s', 'queue empty, after the last confirm', (emptyAt - lastConfirm) / 1000, 's', 'lo');
        rec.add('last_expiry_late_ms', 'queue empty, after the last TTL ran out (poll every 100 ms)', emptyAt - lastDeadline, 'ms', 'lo');
      }
      rec.add('max_depth', 'largest queue depth seen', maxDepth, 'msg');
      rec.add('max_overdue', 'largest count of messages past their TTL still queued', maxOverdue, 'msg', 'lo');
      rec.raw('max_overdue_at_s', (overdueAt - t0) / 1000);
      rec.add('rss_peak_mib', 'broker RSS peak', sampler.peakKb / 1024, 'MiB', 'lo');
      rec.add('rss_growth_peak_mib', 'broker RSS peak above start', sampler.peakKb / 1024 - rssBefore, 'MiB', 'lo');
      await sleep(ctx.quick ? 500 : 3000);
      rec.add('rss_after_mib', `broker RSS ${ctx.quick ? 0.5 : 3} s after`, sampler.sample() / 1024, 'MiB', 'lo');
      await pollCh.deleteQueue(q).catch(() => undefined);
    } finally {
      polling = false;
      sampler.stop();
      await conn.close();
    }
  },
};
