// Streams (x-queue-type: stream) through amqplib, written against RabbitMQ 3.10.8 first: the
// declare rules and argument checks, offsets (first, last, next, numeric, timestamp, interval),
// the x-stream-offset header, acks as credit only, independent consumers, and every misuse
// refusal with RabbitMQ's code and text. Run against RabbitMQ with WARREN_CONFORMANCE_URL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { failure, Inbox, sleep, sync, uid } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();
let ch: ConfirmChannel;
const created: string[] = [];

beforeAll(async () => {
  ch = await shared.clients.confirmChannel();
});

afterAll(async () => {
  try {
    const c = await shared.clients.channel();
    for (const q of created) await c.deleteQueue(q);
  } catch {
    // best effort: a long-lived RabbitMQ keeps what is left
  }
});

const STREAM = { 'x-queue-type': 'stream' };

async function stream(args: Record<string, unknown> = {}): Promise<string> {
  const q = uid('stream');
  await ch.assertQueue(q, { durable: true, arguments: { ...STREAM, ...args } });
  created.push(q);
  return q;
}

/** Publishes one message per confirm, so each is its own chunk in RabbitMQ. */
async function publish(q: string, bodies: string[], headers?: Record<string, unknown>): Promise<void> {
  for (const b of bodies) {
    ch.sendToQueue(q, Buffer.from(b), headers === undefined ? {} : { headers });
    await ch.waitForConfirms();
  }
}

async function consumer(q: string, args: Record<string, unknown>, prefetch = 10): Promise<{ c: Channel; inbox: Inbox; tag: string }> {
  const c = await shared.clients.channel();
  await c.prefetch(prefetch);
  const inbox = new Inbox();
  const { consumerTag } = await c.consume(q, inbox.push, { arguments: args });
  return { c, inbox, tag: consumerTag };
}

const offsetOf = (m: ConsumeMessage): number => Number(m.properties.headers?.['x-stream-offset']);
const bodies = (ms: ConsumeMessage[]): string[] => ms.map((m) => m.content.toString());

describe('declaring a stream', () => {
  it('declares a durable stream; declare-ok and a passive declare answer', async () => {
    const q = await stream({ 'x-max-age': '7D', 'x-max-length-bytes': 1_000_000, 'x-stream-max-segment-size-bytes': 100_000 });
    const ok = await ch.checkQueue(q);
    expect(ok.queue).toBe(q);
  });

  it.each([
    ['non-durable', { durable: false }, "invalid property 'non-durable'"],
    ['exclusive', { durable: true, exclusive: true }, "invalid property 'exclusive-owner'"],
    ['auto-delete', { durable: true, autoDelete: true }, "invalid property 'auto-delete'"],
  ])('refuses a %s stream (406)', async (_what, opts, text) => {
    const c = await shared.clients.channel();
    const q = uid('bad');
    const f = await failure(c.assertQueue(q, { ...opts, arguments: STREAM }));
    expect(f.code).toBe(406);
    expect(f.replyText).toBe(`PRECONDITION_FAILED - ${text} for queue '${q}' in vhost '/'`);
  });

  it('refuses a server-named stream', async () => {
    const c = await shared.clients.channel();
    const f = await failure(c.assertQueue('', { durable: true, arguments: STREAM }));
    expect(f.replyText).toBe('PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_stream_queue');
  });

  it.each(['x-max-length', 'x-message-ttl', 'x-expires', 'x-max-priority', 'x-overflow', 'x-single-active-consumer', 'x-delivery-limit', 'x-queue-mode'])(
    'refuses %s for a stream',
    async (arg) => {
      const values: Record<string, unknown> = { 'x-overflow': 'drop-head', 'x-single-active-consumer': true, 'x-queue-mode': 'lazy' };
      const c = await shared.clients.channel();
      const q = uid('bad');
      const f = await failure(c.assertQueue(q, { durable: true, arguments: { ...STREAM, [arg]: values[arg] ?? 10 } }));
      expect(f.code).toBe(406);
      expect(f.replyText).toBe(`PRECONDITION_FAILED - invalid arg '${arg}' for queue '${q}' in vhost '/' of queue type rabbit_stream_queue`);
    },
  );

  it.each([
    ['x-max-age', 5, '{unacceptable_type,byte}'],
    ['x-max-age', '1x', 'invalid_max_age'],
    ['x-max-age', '0s', 'invalid_max_age'],
    ['x-max-age', '1.5h', 'invalid_max_age'],
    ['x-max-length-bytes', -1, '{value_negative,-1}'],
    ['x-max-length-bytes', 'x', '"expected integer, got longstr"'],
    ['x-stream-max-segment-size-bytes', -5, '{value_negative,-5}'],
  ])('refuses %s = %j', async (arg, value, problem) => {
    const c = await shared.clients.channel();
    const q = uid('bad');
    const f = await failure(c.assertQueue(q, { durable: true, arguments: { ...STREAM, [arg]: value } }));
    expect(f.code).toBe(406);
    expect(f.replyText).toBe(`PRECONDITION_FAILED - invalid arg '${arg}' for queue '${q}' in vhost '/': ${problem}`);
  });

  it('an x-max-age without digits closes the connection with a bare 541, as RabbitMQ', async () => {
    const conn = await shared.clients.connectTracked();
    const c = await conn.model.createChannel();
    c.on('error', () => {});
    await failure(c.assertQueue(uid('bad'), { durable: true, arguments: { ...STREAM, 'x-max-age': 'h' } }));
    const err = await conn.whenClosed;
    expect(err?.message).toContain('541');
    expect(err?.message).toContain('"INTERNAL_ERROR"');
  });

  it('re-declaring with other arguments is refused (inequivalent arg)', async () => {
    const q = await stream();
    const c = await shared.clients.channel();
    const f = await failure(c.assertQueue(q, { durable: true, arguments: { ...STREAM, 'x-max-age': '1h' } }));
    expect(f.replyText).toBe(
      `PRECONDITION_FAILED - inequivalent arg 'x-max-age' for queue '${q}' in vhost '/': received the value '1h' of type 'longstr' but current is none`,
    );
  });
});

describe('consuming with x-stream-offset', () => {
  let q: string;
  beforeAll(async () => {
    q = await stream();
    await publish(q, ['m0', 'm1', 'm2', 'm3', 'm4'], { h: 'v' });
  });

  it('first: every message, in order, each with its x-stream-offset header', async () => {
    const { inbox } = await consumer(q, { 'x-stream-offset': 'first' });
    const got = await inbox.take(5);
    expect(bodies(got)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(got.map(offsetOf)).toEqual([0, 1, 2, 3, 4]);
    expect(got[0]!.properties.headers?.['h']).toBe('v');
    expect(got[0]!.fields.redelivered).toBe(false);
    expect(got[0]!.fields.routingKey).toBe(q);
  });

  it('last: the last message, then what follows', async () => {
    const { inbox } = await consumer(q, { 'x-stream-offset': 'last' });
    expect(bodies(await inbox.take(1))).toEqual(['m4']);
  });

  it('a numeric offset starts there; a negative one at the first; one past the end waits for it', async () => {
    const a = await consumer(q, { 'x-stream-offset': 3 });
    expect((await a.inbox.take(2)).map(offsetOf)).toEqual([3, 4]);
    const b = await consumer(q, { 'x-stream-offset': -1 });
    expect((await b.inbox.take(5)).map(offsetOf)).toEqual([0, 1, 2, 3, 4]);
  });

  it('next (and no x-stream-offset): only messages published after the consume', async () => {
    const n = await consumer(q, { 'x-stream-offset': 'next' });
    const d = await consumer(q, {});
    await sleep(100);
    expect(n.inbox.count + d.inbox.count).toBe(0);
    await publish(q, ['m5']);
    expect(bodies(await n.inbox.take(1))).toEqual(['m5']);
    expect(offsetOf((await d.inbox.take(1))[0]!)).toBe(5);
  });

  it('a timestamp before the first message: everything; one in the future: nothing yet', async () => {
    const past = await consumer(q, { 'x-stream-offset': { '!': 'timestamp', value: Math.floor(Date.UTC(2020, 0, 1) / 1000) } });
    expect((await past.inbox.take(5)).map(offsetOf)).toEqual([0, 1, 2, 3, 4]);
    const future = await consumer(q, { 'x-stream-offset': { '!': 'timestamp', value: Math.floor(Date.UTC(2030, 0, 1) / 1000) } });
    await sleep(100);
    await sync(future.c);
    expect(future.inbox.count).toBe(0);
  });

  it('an interval ("1h") reads the messages of the last hour', async () => {
    const { inbox } = await consumer(q, { 'x-stream-offset': '1h' });
    expect((await inbox.take(5)).map(offsetOf)).toEqual([0, 1, 2, 3, 4]);
  });

  it('an ack only returns credit: nothing is removed, and each consumer reads at its own pace', async () => {
    const slow = await consumer(q, { 'x-stream-offset': 'first' }, 2);
    const fast = await consumer(q, { 'x-stream-offset': 'first' }, 100);
    const f = await fast.inbox.take(6);
    expect(f.map(offsetOf)).toEqual([0, 1, 2, 3, 4, 5]);
    const s = await slow.inbox.take(2);
    await sleep(100);
    expect(slow.inbox.count).toBe(2); // prefetch 2, nothing acked
    slow.c.ack(s[1]!, true);
    expect((await slow.inbox.take(2)).map(offsetOf)).toEqual([2, 3]);
    for (const m of f) fast.c.ack(m);
    await sync(fast.c);
    const again = await consumer(q, { 'x-stream-offset': 'first' });
    expect((await again.inbox.take(6)).map(offsetOf)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});

describe('misuse refused with RabbitMQ codes and texts', () => {
  let q: string;
  beforeAll(async () => {
    q = await stream();
    await publish(q, ['a']);
  });
  const what = (): string => `queue '${q}' in vhost '/'`;

  it('basic.get: 540, connection closed', async () => {
    const conn = await shared.clients.connectTracked();
    const c = await conn.model.createChannel();
    c.on('error', () => {});
    await failure(c.get(q));
    const err = await conn.whenClosed;
    expect(err?.message).toContain(`540 (NOT-IMPLEMENTED) with message "NOT_IMPLEMENTED - basic.get not supported by stream queues ${what()}"`);
  });

  it('consume without prefetch: 406', async () => {
    const c = await shared.clients.channel();
    const f = await failure(c.consume(q, () => {}, { arguments: { 'x-stream-offset': 'first' } }));
    expect(f.code).toBe(406);
    expect(f.replyText).toBe(`PRECONDITION_FAILED - consumer prefetch count is not set for '${what()}'`);
  });

  it('no-ack consume with a prefetch: 540, connection closed', async () => {
    const conn = await shared.clients.connectTracked();
    const c = await conn.model.createChannel();
    c.on('error', () => {});
    await c.prefetch(10);
    await failure(c.consume(q, () => {}, { noAck: true }));
    const err = await conn.whenClosed;
    expect(err?.message).toContain(`NOT_IMPLEMENTED - automatic acknowledgement not supported by stream queues ${what()}`);
  });

  it('global qos besides the consumer prefetch: 540', async () => {
    const conn = await shared.clients.connectTracked();
    const c = await conn.model.createChannel();
    c.on('error', () => {});
    await c.prefetch(10);
    await c.prefetch(10, true);
    await failure(c.consume(q, () => {}));
    const err = await conn.whenClosed;
    expect(err?.message).toContain(`NOT_IMPLEMENTED - ${what()} does not support global qos`);
  });

  it('basic.nack and basic.reject: 540', async () => {
    for (const settle of ['nack', 'reject'] as const) {
      const conn = await shared.clients.connectTracked();
      const c = await conn.model.createChannel();
      c.on('error', () => {});
      await c.prefetch(10);
      const inbox = new Inbox();
      await c.consume(q, inbox.push, { arguments: { 'x-stream-offset': 'first' } });
      const [m] = await inbox.take(1);
      if (settle === 'nack') c.nack(m!, false, true);
      else c.reject(m!, false);
      const err = await conn.whenClosed;
      expect(err?.message).toContain(`NOT_IMPLEMENTED - basic.nack and basic.reject not supported by stream queues ${what()}`);
    }
  });

  it('queue.purge: 540', async () => {
    const conn = await shared.clients.connectTracked();
    const c = await conn.model.createChannel();
    c.on('error', () => {});
    await failure(c.purgeQueue(q));
    const err = await conn.whenClosed;
    expect(err?.message).toContain(`NOT_IMPLEMENTED - queue.purge not supported by stream queues ${what()}`);
  });

  it('x-priority on the consumer: 406', async () => {
    const c = await shared.clients.channel();
    await c.prefetch(10);
    const f = await failure(c.consume(q, () => {}, { arguments: { 'x-priority': 3 } }));
    expect(f.replyText).toBe(`PRECONDITION_FAILED - invalid arg 'x-priority' for ${what()} of queue type rabbit_stream_queue`);
  });

  it.each(['1x', '0s'])('an invalid interval %j: 406 naming it', async (v) => {
    const c = await shared.clients.channel();
    await c.prefetch(10);
    const f = await failure(c.consume(q, () => {}, { arguments: { 'x-stream-offset': v } }));
    expect(f.replyText).toBe(`PRECONDITION_FAILED - invalid arg 'x-stream-offset' for ${what()}: {invalid_stream_offset_arg,{longstr,<<"${v}">>}}`);
  });

  it.each(['bogus', 'FIRST', ''])('an offset string %j without digits: a bare 541, as RabbitMQ', async (v) => {
    const conn = await shared.clients.connectTracked();
    const c = await conn.model.createChannel();
    c.on('error', () => {});
    await c.prefetch(10);
    await failure(c.consume(q, () => {}, { arguments: { 'x-stream-offset': v } }));
    const err = await conn.whenClosed;
    expect(err?.message).toContain('541');
  });
});

describe('publishing through exchanges', () => {
  it('a fanout and a topic exchange append to the stream', async () => {
    const q = await stream();
    const fx = uid('fx');
    await ch.assertExchange(fx, 'fanout', { durable: false, autoDelete: true });
    await ch.bindQueue(q, fx, '');
    ch.publish(fx, 'k1', Buffer.from('via-fanout'));
    ch.publish('amq.topic', 'nobody', Buffer.from('unrouted'));
    await ch.waitForConfirms();
    const { inbox } = await consumer(q, { 'x-stream-offset': 'first' });
    const [m] = await inbox.take(1);
    expect(m!.content.toString()).toBe('via-fanout');
    expect(m!.fields.exchange).toBe(fx);
    expect(m!.fields.routingKey).toBe('k1');
    await ch.deleteExchange(fx);
  });
});

describe('filtering (RabbitMQ 3.10.8 has none: it ignores the arguments and delivers everything)', () => {
  it('x-stream-filter with a string or a list, and x-stream-match-unfiltered: exactly those messages', async () => {
    const q = await stream();
    const values = ['red', 'blue', null, 'red', 'green', null];
    for (const [i, v] of values.entries()) {
      ch.sendToQueue(q, Buffer.from(`m${i}`), v === null ? {} : { headers: { 'x-stream-filter-value': v } });
    }
    await ch.waitForConfirms();
    const all = await consumer(q, { 'x-stream-offset': 'first' });
    expect(bodies(await all.inbox.take(6))).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    const red = await consumer(q, { 'x-stream-offset': 'first', 'x-stream-filter': 'red' });
    const list = await consumer(q, { 'x-stream-offset': 'first', 'x-stream-filter': ['blue', 'green'], 'x-stream-match-unfiltered': true });
    if (shared.broker.external) {
      expect(bodies(await red.inbox.take(6))).toHaveLength(6);
      return;
    }
    expect(bodies(await red.inbox.take(2))).toEqual(['m0', 'm3']);
    expect(bodies(await list.inbox.take(4))).toEqual(['m1', 'm2', 'm4', 'm5']);
    await sleep(100);
    expect(red.inbox.count).toBe(2);
    expect(list.inbox.count).toBe(4);
    // Offsets are the stream's: the filter skips, it does not renumber.
    expect(red.inbox.items.map((m) => offsetOf(m!))).toEqual([0, 3]);
  });

  it.skipIf(!!process.env['WARREN_CONFORMANCE_URL'])('a filter of the wrong type: 406 naming it', async () => {
    const q = await stream();
    const c = await shared.clients.channel();
    await c.prefetch(10);
    const f = await failure(c.consume(q, () => {}, { arguments: { 'x-stream-filter': 5 } }));
    expect(f.replyText).toBe(`PRECONDITION_FAILED - invalid arg 'x-stream-filter' for queue '${q}' in vhost '/': {unacceptable_type,byte}`);
  });
});
