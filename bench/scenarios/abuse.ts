// A broker under abuse (issue 9): four attackers at once, in a process of their own
// (bench/abuse-attackers.ts) — a mandatory-unroutable flood that never reads, a consumer
// without prefetch that never reads (on a queue with a backlog), 1,000 sockets stalled in the
// handshake, and queue.declare with arguments nested 10,000 tables deep — beside one
// well-behaved publisher/consumer pair (amqplib, confirms with a window, 1 KiB messages).
// Reported: the broker's RSS above its idle RSS (peak while attacked; goal under 64 MiB) and
// the pair's rate under attack as a share of its rate alone (goal at least 50 %).

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connect, qname, type Conn } from '../lib/amqp.js';
import { BENCH_DIST } from '../lib/paths.js';
import { canPin, RssSampler } from '../lib/proc.js';
import type { Recorder } from '../lib/report.js';
import { envInt, log, MiB, now, sleep } from '../lib/util.js';
import type { Ctx, Scenario } from './context.js';

const BODY = Buffer.alloc(1024, 0x67);

/** Publishes with confirms (at most `window` unconfirmed) and consumes, until stop(); counts deliveries. */
async function goodPair(url: string, window: number): Promise<{ delivered(): number; stop(): Promise<void> }> {
  const pub: Conn = await connect(url);
  const sub: Conn = await connect(url);
  const q = qname('abuse-good');
  const sc = await sub.model.createChannel();
  await sc.assertQueue(q, { durable: false, autoDelete: true });
  await sc.prefetch(200);
  let delivered = 0;
  await sc.consume(q, (m) => {
    if (!m) return;
    delivered++;
    sc.ack(m);
  });
  const pc = await pub.model.createConfirmChannel();
  let inFlight = 0;
  let stopped = false;
  let wake: (() => void) | null = null;
  const loop = (async () => {
    while (!stopped) {
      if (inFlight >= window) {
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      inFlight++;
      pc.sendToQueue(q, BODY, {}, () => {
        inFlight--;
        const w = wake;
        wake = null;
        w?.();
      });
      if (inFlight % 50 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  return {
    delivered: () => delivered,
    stop: async () => {
      stopped = true;
      wake?.();
      await loop;
      await pc.waitForConfirms().catch(() => undefined);
      await sc.deleteQueue(q).catch(() => undefined);
      await pub.close();
      await sub.close();
    },
  };
}

/** Deliveries per second over `seconds`, after `warmup` seconds. */
async function rateOver(pair: { delivered(): number }, warmup: number, seconds: number): Promise<number> {
  await sleep(warmup * 1000);
  const n0 = pair.delivered();
  const t0 = now();
  await sleep(seconds * 1000);
  return ((pair.delivered() - n0) * 1000) / (now() - t0);
}

export const abuse: Scenario = {
  name: 'abuse',
  title: 'four attackers (unread mandatory flood, unread prefetch-0 consumer, 1,000 stalled handshakes, 10k-deep tables) beside a publisher/consumer pair',
  async run(ctx: Ctx, rec: Recorder): Promise<void> {
    const seconds = envInt('BENCH_ABUSE_S', ctx.quick ? 8 : 20);
    const alone = envInt('BENCH_ABUSE_ALONE_S', ctx.quick ? 4 : 8);
    const stalled = envInt('BENCH_ABUSE_STALLED', 1000);
    const depth = envInt('BENCH_ABUSE_DEPTH', 10_000);
    const backlog = envInt('BENCH_ABUSE_BACKLOG', 10_000);
    const window = envInt('BENCH_WINDOW', 100);
    const url = ctx.target.url;
    const u = new URL(url);

    const rss = new RssSampler(() => ctx.target.pids(), 100).start();
    await sleep(1000);
    const idleKb = rss.sample();
    rec.add('idle_rss', 'broker RSS idle', idleKb / 1024, 'MiB');

    // The greedy consumer's queue, with a backlog of 1 KiB messages.
    const setup = await connect(url);
    const sink = qname('abuse-sink');
    const sch = await setup.model.createConfirmChannel();
    await sch.assertQueue(sink, { durable: false, autoDelete: false });
    for (let i = 0; i < backlog; i++) sch.sendToQueue(sink, BODY);
    await sch.waitForConfirms();
    const setupKb = rss.sample();
    rec.add('backlog_rss', `broker RSS with the ${backlog} x 1 KiB backlog`, setupKb / 1024, 'MiB');

    // The pair alone.
    const pair = await goodPair(url, window);
    const rateAlone = await rateOver(pair, 2, alone);
    rec.add('rate_alone', 'good pair alone', rateAlone, 'msg/s', 'hi');
    const aloneKb = rss.phasePeakKb();
    rec.add('alone_rss', 'broker RSS peak with the pair alone', aloneKb / 1024, 'MiB');

    // The attack.
    log(`abuse: attackers for ${seconds} s (${stalled} stalled sockets, tables ${depth} deep)`);
    const script = join(BENCH_DIST, 'abuse-attackers.js');
    const argv = [script, u.hostname, u.port || '5672', String(seconds), sink, String(stalled), String(depth)];
    const pin = canPin(ctx.clientCpus);
    const child = spawn(pin ? 'taskset' : process.execPath, pin ? ['-c', ctx.clientCpus, process.execPath, ...argv] : argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const rateAttacked = await rateOver(pair, 3, Math.max(1, seconds - 5));
    const peakKb = rss.phasePeakKb();
    await exited;
    const endKb = rss.sample();
    await pair.stop();
    rss.stop();
    await sch.deleteQueue(sink).catch(() => undefined);
    await setup.close();

    rec.add('rate_attacked', 'good pair under attack', rateAttacked, 'msg/s', 'hi');
    rec.add('rate_share', 'share of its rate alone (goal >= 50 %)', rateAlone > 0 ? (100 * rateAttacked) / rateAlone : null, '%', 'hi');
    rec.add('peak_rss', 'broker RSS peak under attack', peakKb / 1024, 'MiB', 'lo');
    rec.add('peak_above_idle', 'peak above idle (goal < 64 MiB)', (peakKb - idleKb) / 1024, 'MiB', 'lo');
    rec.add('peak_above_backlog', 'peak above idle + backlog', (peakKb - setupKb) / 1024, 'MiB', 'lo');
    rec.add('peak_above_alone', 'peak above the pair alone (the attack)', (peakKb - aloneKb) / 1024, 'MiB', 'lo');
    rec.add('end_rss', 'broker RSS when the attack ended', endKb / 1024, 'MiB');
    let counts: Record<string, unknown> = {};
    try {
      counts = JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
    } catch {
      rec.note(`attackers printed no result: ${err.slice(0, 300)}`);
    }
    rec.raw('attackers', counts);
    if (typeof counts['floodBytesWritten'] === 'number') rec.add('flood_written', 'flood: bytes the attacker wrote', (counts['floodBytesWritten'] as number) / MiB, 'MiB');
    if (typeof counts['stalledDropped'] === 'number') rec.add('stalled_dropped', 'stalled sockets dropped by the broker', counts['stalledDropped'] as number);
    if (typeof counts['nestedAttempts'] === 'number') rec.add('nested_attempts', 'nested-table declares sent', counts['nestedAttempts'] as number);
    rec.note(`nested-table outcomes: ${JSON.stringify(counts['nestedOutcomes'] ?? {})}; attacker socket errors: ${JSON.stringify(counts['errors'] ?? {})}`);
  },
};
