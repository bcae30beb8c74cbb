// More of the stream behaviours through pika (conformance/pika/streams.py), beside
// streams.pika.test.ts, so that each one has a pika test as well as an amqplib one; checked
// against RabbitMQ 3.10.8 with WARREN_CONFORMANCE_URL: the declaration rules and their texts,
// global qos refused, publishing through fanout and topic exchanges, `next` and no offset,
// an interval, two consumers reading independently, retention by size and by age; and (warren
// only, it kills the broker) every confirmed message back after kill -9.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPika, uid } from './harness.js';
import { useBroker } from './shared-broker.js';
import { startWarren } from './warren-process.js';

const shared = useBroker();
const created: string[] = [];

afterAll(async () => {
  const ch = await shared.clients.channel();
  for (const q of created) await ch.deleteQueue(q).catch(() => undefined);
});

type Ev = Record<string, unknown>;
const messages = (events: Ev[]): Ev[] => events.filter((e) => e['event'] === 'message');
const STREAM = { 'x-queue-type': 'stream' };

function name(prefix: string): string {
  const q = uid(prefix);
  created.push(q);
  return q;
}

describe('declaring a stream through pika', () => {
  it('declares one with x-max-age, x-max-length-bytes and x-stream-max-segment-size-bytes', async () => {
    const q = name('pika-decl');
    const r = await runPika(shared.broker.url, 'streams', ['declare', q, JSON.stringify({ arguments: { ...STREAM, 'x-max-age': '7D', 'x-max-length-bytes': 1_000_000, 'x-stream-max-segment-size-bytes': 100_000 } })]);
    expect(r.events[0]).toEqual({ event: 'declare_ok', queue: q });
  });

  it.each([
    ['non-durable', { durable: false }, "invalid property 'non-durable'"],
    ['exclusive', { exclusive: true }, "invalid property 'exclusive-owner'"],
    ['auto-delete', { auto_delete: true }, "invalid property 'auto-delete'"],
    ['x-max-length', { arguments: { 'x-max-length': 10 } }, "invalid arg 'x-max-length'"],
    ['x-message-ttl', { arguments: { 'x-message-ttl': 1000 } }, "invalid arg 'x-message-ttl'"],
    ['a bad x-max-age', { arguments: { 'x-max-age': '1x' } }, "invalid arg 'x-max-age'"],
  ])('refuses %s with 406 and RabbitMQ\'s text', async (what, opts, text) => {
    const q = name('pika-bad');
    const o = opts as { arguments?: Record<string, unknown> };
    const r = await runPika(shared.broker.url, 'streams', ['declare', q, JSON.stringify({ ...opts, arguments: { ...STREAM, ...(o.arguments ?? {}) } })]);
    const ev = r.events.at(-1)!;
    expect(ev['event']).toBe('channel_closed');
    expect(ev['code']).toBe(406);
    const full: Record<string, string> = {
      'x-max-length': `PRECONDITION_FAILED - ${text} for queue '${q}' in vhost '/' of queue type rabbit_stream_queue`,
      'x-message-ttl': `PRECONDITION_FAILED - ${text} for queue '${q}' in vhost '/' of queue type rabbit_stream_queue`,
      'a bad x-max-age': `PRECONDITION_FAILED - ${text} for queue '${q}' in vhost '/': invalid_max_age`,
    };
    expect(ev['text']).toBe(full[what] ?? `PRECONDITION_FAILED - ${text} for queue '${q}' in vhost '/'`);
  });

  it('global qos besides the consumer prefetch: 540', async () => {
    const q = name('pika-qos');
    await runPika(shared.broker.url, 'streams', ['declare_publish', q, '1']);
    const r = await runPika(shared.broker.url, 'streams', ['misuse', q, 'global_qos']);
    expect(r.events.at(-1)).toEqual({ event: 'connection_closed', code: 540, text: `NOT_IMPLEMENTED - queue '${q}' in vhost '/' does not support global qos` });
  });
});

describe('publishing and consuming through pika', () => {
  it.each([['fanout'], ['topic']])('a %s exchange appends to the stream (confirmed)', async (xtype) => {
    const q = name('pika-via');
    const r = await runPika(shared.broker.url, 'streams', ['via_exchange', q, uid('x'), xtype, '5']);
    expect(r.events).toContainEqual({ event: 'published', n: 5 });
    const got = messages((await runPika(shared.broker.url, 'streams', ['consume', q, 'first', '5'])).events);
    expect(got.map((m) => [m['body'], m['offset']])).toEqual([0, 1, 2, 3, 4].map((i) => [`x${i}`, i]));
  });

  it.each([['next'], ['none']])('x-stream-offset %s: only what is published after the consume', async (mode) => {
    const q = name('pika-next');
    await runPika(shared.broker.url, 'streams', ['declare_publish', q, '4']);
    const r = await runPika(shared.broker.url, 'streams', ['after', q, mode, '3']);
    expect(r.events.find((e) => e['event'] === 'got')).toEqual({ event: 'got', bodies: ['new0', 'new1', 'new2'] });
  });

  it('an interval ("1h"): the messages of the last hour', async () => {
    const q = name('pika-1h');
    await runPika(shared.broker.url, 'streams', ['declare_publish', q, '3']);
    const got = messages((await runPika(shared.broker.url, 'streams', ['consume', q, '1h', '3'])).events);
    expect(got.map((m) => m['offset'])).toEqual([0, 1, 2]);
  });

  it('two consumers read the same stream independently, each in order, at their own pace', async () => {
    const q = name('pika-two');
    await runPika(shared.broker.url, 'streams', ['declare_publish', q, '40']);
    const r = await runPika(shared.broker.url, 'streams', ['two_readers', q, '40']);
    const all = [...Array(40).keys()];
    expect(r.events.find((e) => e['event'] === 'got')).toEqual({ event: 'got', slow: all, fast: all });
  });

  it('retention by x-max-length-bytes removes the oldest segments; reading from first starts at the oldest left', async () => {
    const q = name('pika-retention');
    await runPika(shared.broker.url, 'streams', ['fill', q, '400', '500', JSON.stringify({ 'x-max-length-bytes': 20_000, 'x-stream-max-segment-size-bytes': 5_000 })], 60_000);
    const got = messages((await runPika(shared.broker.url, 'streams', ['consume', q, 'first', '400', '100'], 60_000)).events);
    const seqs = got.map((m) => Number(String(m['body']).split(':')[0]));
    const offsets = got.map((m) => Number(m['offset']));
    expect(seqs[0]).toBeGreaterThan(0); // the first messages are gone
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i)); // the rest, in order
    expect(seqs.at(-1)).toBe(399);
    // What is kept is about the limit (whole segments), far from the 200 KB published.
    expect(seqs.length * 500).toBeLessThan(40_000);
    // warren numbers messages only; RabbitMQ 3.10.8 also gives an offset to the tracking
    // snapshot at the start of each segment, so its offsets skip one per segment.
    if (shared.broker.external) expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    else expect(offsets).toEqual(seqs);
  });

  it('retention by x-max-age removes the segments older than the age; reading from first starts at the oldest left', async () => {
    const q = name('pika-age');
    // 10 old messages, a pause past the 1 s age, 10 new ones (500 bytes, segments of 2,000: 3 to
    // a segment in both brokers); the new ones roll segments, and retention goes at each roll.
    const r = await runPika(shared.broker.url, 'streams', ['aged', q, '1s', '2000', '10', '500', '1.5'], 60_000);
    expect(r.events).toContainEqual({ event: 'published', n: 20 });
    const got = messages((await runPika(shared.broker.url, 'streams', ['consume', q, 'first', '20'], 60_000)).events);
    // old<i> is message i, new<i> message 10 + i.
    const seqs = got.map((m) => { const [, kind, i] = /^(old|new)(\d+):/.exec(String(m['body']))!; return (kind === 'new' ? 10 : 0) + Number(i); });
    // Whole segments go: the old messages in segments of their own are gone (those sharing the
    // segment of new0 may stay). The newest segment always stays; what is left comes in order.
    // (Time only removes more: a consumer reading later than a second after the new messages
    // may find fewer of them in warren, which also checks age on a timer.)
    expect(seqs[0]).toBeGreaterThanOrEqual(7);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    expect(seqs.at(-1)).toBe(19);
    const offsets = got.map((m) => Number(m['offset']));
    if (shared.broker.external) expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    else expect(offsets).toEqual(seqs);
  });
});

describe.skipIf(process.env['WARREN_CONFORMANCE_URL'] !== undefined)('a stream written through pika survives kill -9', () => {
  it('every confirmed message comes back at its offset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-pika-stream-'));
    try {
      let w = await startWarren(dir, ['--http-port', 'off']);
      const q = uid('pika-kill');
      const p = await runPika(w.url, 'streams', ['fill', q, '500', '300']);
      expect(p.events).toContainEqual({ event: 'published', n: 500 });
      await w.kill('SIGKILL');
      w = await startWarren(dir, ['--http-port', 'off']);
      const got = messages((await runPika(w.url, 'streams', ['consume', q, 'first', '500', '100'])).events);
      expect(got.map((m) => Number(m['offset']))).toEqual([...Array(500).keys()]);
      expect(got.map((m) => Number(String(m['body']).split(':')[0]))).toEqual([...Array(500).keys()]);
      await w.kill('SIGKILL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
