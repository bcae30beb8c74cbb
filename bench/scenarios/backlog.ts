// Durable backlog: N persistent messages into a durable queue with publisher confirms (no
// consumer), drained with prefetch 100 and an ack per message; then N again, the broker killed
// with N stored, started again: time until it listens and until a client gets the first
// message, and the drain of the recovered backlog. Broker RSS is sampled throughout (VmRSS every
// 100 ms; VmHWM of a fresh warren process); the data directory is measured between phases.

import { connect, consumeN, depth, makeBody, publishConfirmed, qname, type Conn } from '../lib/amqp.js';
import { procStatus, RssSampler } from '../lib/proc.js';
import type { Recorder } from '../lib/report.js';
import { MiB, now, sleep, summarize } from '../lib/util.js';
import type { Ctx, Scenario } from './context.js';

/** Connects, retrying while a restarted broker is still getting ready. */
async function connectRetry(url: string, timeoutMs: number): Promise<{ conn: Conn; attempts: number }> {
  const deadline = now() + timeoutMs;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      return { conn: await connect(url), attempts };
    } catch (e) {
      if (now() > deadline) throw e;
      await sleep(20);
    }
  }
}

function hwmMiB(ctx: Ctx): number | null {
  if (!ctx.target.freshProcess) return null;
  let kb = 0;
  for (const p of ctx.target.pids()) kb += procStatus(p)?.hwmKb ?? 0;
  return kb ? kb / 1024 : null;
}

function dbMiB(ctx: Ctx): number | null {
  const s = ctx.target.dataSize();
  return s ? s.bytes / MiB : null;
}

export const backlog: Scenario = {
  name: 'backlog',
  title: 'persistent backlog with confirms: publish, drain, restart with the backlog stored',
  async run(ctx: Ctx, rec: Recorder) {
    const { target, sizes } = ctx;
    const n = sizes.n;
    const q = qname('backlog');
    const body = makeBody(sizes.size);
    const props = { persistent: true };
    const sampler = new RssSampler(() => target.pids()).start();
    let conn = await connect(target.url);
    try {
      const ch = await conn.model.createConfirmChannel();
      await ch.assertQueue(q, { durable: true });
      await ch.purgeQueue(q);
      await sleep(500);
      const rssBefore = sampler.sample() / 1024;
      rec.add('count', 'messages (persistent, durable queue)', n, 'msg');
      rec.add('size', 'body size', sizes.size, 'B');

      // 1. publish the backlog
      const cpu0 = process.cpuUsage();
      const pub = await publishConfirmed(ch, { routingKey: q, count: n, body: () => body, props: () => props, window: sizes.window });
      const c = summarize(pub.confirmMs);
      rec.add('publish_s', 'publish time', pub.ms / 1000, 's', 'lo');
      rec.add('publish_rate', 'publish msg/s (confirmed)', (n / pub.ms) * 1000, 'msg/s', 'hi');
      rec.add('confirm_p50_ms', `confirm latency p50 (window ${sizes.window})`, c.p50, 'ms', 'lo');
      rec.add('confirm_p99_ms', 'confirm latency p99', c.p99, 'ms', 'lo');
      if (pub.nacked) rec.add('nacked', 'nacked', pub.nacked, 'msg', 'lo');
      const cpu1 = process.cpuUsage(cpu0);
      rec.add('publish_client_cpu_pct', 'client CPU while publishing (Node)', ((cpu1.user + cpu1.system) / 1000 / pub.ms) * 100, '%');
      const d1 = await depth(ch, q);
      if (d1 !== n) rec.note(`queue depth after publishing was ${d1}, expected ${n}`);
      const rssPub = sampler.sample() / 1024;
      rec.add('rss_growth_mib', 'RSS growth with the backlog', rssPub - rssBefore, 'MiB', 'lo');
      rec.add('rss_peak_publish_mib', 'RSS peak while publishing', sampler.phasePeakKb() / 1024, 'MiB', 'lo');
      rec.add('db_backlog_mib', 'data dir with the backlog stored', dbMiB(ctx), 'MiB');

      // 2. drain it
      const cch = await conn.model.createChannel();
      const drain = await consumeN(cch, q, n, { prefetch: 100 });
      rec.add('drain_s', 'drain time (prefetch 100, ack each)', drain.ms / 1000, 's', 'lo');
      rec.add('drain_rate', 'drain msg/s', (n / drain.ms) * 1000, 'msg/s', 'hi');
      rec.add('rss_peak_drain_mib', 'RSS peak while draining', sampler.phasePeakKb() / 1024, 'MiB', 'lo');
      await sleep(ctx.quick ? 500 : 2000);
      rec.add('db_after_drain_mib', 'data dir after the drain', dbMiB(ctx), 'MiB');
      const hwm1 = hwmMiB(ctx);
      if (hwm1 !== null) rec.add('vmhwm_mib', 'broker peak RSS (VmHWM) publish+drain', hwm1, 'MiB', 'lo');

      // 3. restart with the backlog stored
      if (!target.canRestart) {
        rec.note('restart not measured: the broker cannot be restarted by the runner (give --ctl for RabbitMQ)');
      } else {
        const pub2 = await publishConfirmed(ch, { routingKey: q, count: n, body: () => body, props: () => props, window: sizes.window });
        rec.add('publish2_rate', 'publish msg/s, 2nd backlog', (n / pub2.ms) * 1000, 'msg/s', 'hi');
        await conn.close();
        sampler.phasePeakKb();
        rec.add('db_stored_mib', `data dir with ${n} stored`, dbMiB(ctx), 'MiB');
        const t = await target.restart(ctx.restartSignal);
        rec.add('restart_signal', 'broker stopped with', ctx.restartSignal, '');
        rec.add('restart_listen_ms', 'start to listening', t.upMs, 'ms', 'lo');
        const c2 = await connectRetry(target.url, 600_000);
        conn = c2.conn;
        const ch2 = await conn.model.createChannel();
        const consumeStart = now();
        const drain2 = await consumeN(ch2, q, n, { prefetch: 100 });
        rec.add('restart_first_msg_ms', 'start to first message delivered', consumeStart + drain2.firstMs - t.spawnedAt, 'ms', 'lo');
        rec.add('restart_drain_rate', 'drain msg/s after restart', (n / drain2.ms) * 1000, 'msg/s', 'hi');
        rec.add('recovered', 'messages recovered and delivered', drain2.received, 'msg', 'hi');
        rec.add('rss_peak_restart_mib', 'RSS peak after restart (incl. drain)', sampler.phasePeakKb() / 1024, 'MiB', 'lo');
        const hwm2 = hwmMiB(ctx);
        if (hwm2 !== null) rec.add('vmhwm_restart_mib', 'restarted broker peak RSS (VmHWM)', hwm2, 'MiB', 'lo');
        await sleep(ctx.quick ? 500 : 2000);
        rec.add('db_after_drain2_mib', 'data dir after draining the recovered backlog', dbMiB(ctx), 'MiB');
      }
      rec.add('rss_peak_mib', 'broker RSS peak (sampled, whole scenario)', sampler.peakKb / 1024, 'MiB', 'lo');
      const x = await conn.model.createChannel();
      await x.deleteQueue(q).catch(() => undefined);
    } finally {
      sampler.stop();
      await conn.close();
    }
  },
};
