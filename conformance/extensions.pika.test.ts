// RabbitMQ extensions through pika (conformance/pika/extensions.py), amqplib on the other side where
// two clients have to agree. pika decodes field tables into Python types that keep the wire type
// (long for 'l', int for 'I', datetime for 'T', str for 'S'), so the x-death shape is checked here as
// a second client sees it.
//
// Deliberate differences from RabbitMQ 3.10 (warren's behaviour asserted only when not running
// against RabbitMQ):
//  1. An expired message behind an unexpired head is dropped when it expires (RabbitMQ: it counts in
//     message_count until it reaches the head). Neither delivers it.
//  2. x-delivery-limit works on classic queues (RabbitMQ: 406 for rabbit_classic_queue).
import { describe, expect, it } from 'vitest';
import { body, Inbox, PikaProcess, runPika, uid, waitForCount } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

type Ev = Record<string, unknown>;
interface Typed {
  type: string;
  value: unknown;
}

async function pika(cmd: string, ...args: string[]): Promise<Ev[]> {
  const r = await runPika(shared.broker.url, 'extensions', [cmd, ...args]);
  if (!r.events.some((e) => e['event'] === 'done')) {
    throw new Error(`pika ${cmd} did not finish: ${JSON.stringify(r.events)}\n${r.stderr}`);
  }
  return r.events;
}

function one(events: Ev[], name: string): Ev {
  const e = events.find((x) => x['event'] === name);
  if (!e) throw new Error(`no ${name} event in ${JSON.stringify(events)}`);
  return e;
}

/** The type skeleton of a typed value: { count: 'long', ... } for dicts, [..] for lists. */
function types(t: Typed): unknown {
  if (t.type === 'dict') return Object.fromEntries(Object.entries(t.value as Record<string, Typed>).map(([k, v]) => [k, types(v)]));
  if (t.type === 'list') return (t.value as Typed[]).map(types);
  return t.type;
}

function values(t: Typed): unknown {
  if (t.type === 'dict') return Object.fromEntries(Object.entries(t.value as Record<string, Typed>).map(([k, v]) => [k, values(v)]));
  if (t.type === 'list') return (t.value as Typed[]).map(values);
  return t.value;
}

/** An x-death entry's types as pika decodes RabbitMQ's: count a long, time a datetime, the rest str. */
function xDeathTypes(routingKeys: number, originalExpiration = false): Record<string, unknown> {
  return {
    count: 'long',
    reason: 'str',
    queue: 'str',
    time: 'datetime',
    exchange: 'str',
    'routing-keys': Array.from({ length: routingKeys }, () => 'str'),
    ...(originalExpiration ? { 'original-expiration': 'str' } : {}),
  };
}

describe('dead-lettering seen by pika', () => {
  it('expired: x-death types and values, x-first-death-*, expiration removed, other properties kept', async () => {
    const q = uid('pk-dl');
    const ev = one(await pika('dead_letter_ttl', q, uid('pk-dlx'), uid('pk-dlq')), 'dead_lettered');
    expect(ev).toMatchObject({ body: 'expiring', routing_key: q, expiration: null, correlation_id: 'c1', redelivered: false });
    const headers = ev['headers'] as Typed;
    expect(types(headers)).toEqual({
      app: 'str',
      'x-death': [xDeathTypes(1, true)],
      'x-first-death-exchange': 'str',
      'x-first-death-queue': 'str',
      'x-first-death-reason': 'str',
    });
    const v = values(headers) as Record<string, unknown>;
    const death = (v['x-death'] as Array<Record<string, unknown>>)[0]!;
    expect(death).toEqual({
      count: 1,
      reason: 'expired',
      queue: q,
      time: death['time'],
      exchange: '',
      'routing-keys': [q],
      'original-expiration': '50',
    });
    // a datetime in UTC, to the second, close to now
    const t = Date.parse(`${String(death['time'])}Z`);
    expect(Math.abs(t - Date.now())).toBeLessThan(60_000);
    expect(v).toMatchObject({ app: 'kept', 'x-first-death-reason': 'expired', 'x-first-death-queue': q, 'x-first-death-exchange': '' });
  });

  it('quorum delivery limit: x-delivery-count is a long on redeliveries; dead-lettered with reason delivery_limit', async () => {
    const q = uid('pk-qq');
    const events = await pika('delivery_limit', q, uid('pk-dlx'), uid('pk-dlq'), 'quorum', '1');
    const deliveries = events.filter((e) => e['event'] === 'delivery');
    expect(deliveries.map((d) => [d['redelivered'], types(d['headers'] as Typed)])).toEqual([
      [false, { app: 'int' }],
      [true, { app: 'int', 'x-delivery-count': 'long' }],
    ]);
    expect(values(deliveries[1]!['headers'] as Typed)).toEqual({ app: 1, 'x-delivery-count': 1 });
    const dead = one(events, 'dead_lettered');
    const headers = dead['headers'] as Typed;
    expect(types(headers)).toEqual({
      app: 'int',
      'x-death': [xDeathTypes(1)],
      'x-first-death-exchange': 'str',
      'x-first-death-queue': 'str',
      'x-first-death-reason': 'str',
    });
    expect((values(headers) as Record<string, unknown>)['x-death']).toEqual([
      expect.objectContaining({ count: 1, reason: 'delivery_limit', queue: q, exchange: '', 'routing-keys': [q] }),
    ]);
  });

  it('x-delivery-limit on a classic queue (warren: as on quorum queues; RabbitMQ: 406)', async () => {
    const q = uid('pk-classic-dl');
    if (shared.broker.external) {
      const r = await runPika(shared.broker.url, 'extensions', ['delivery_limit', q, uid('pk-dlx'), uid('pk-dlq'), 'classic', '1']);
      expect(r.events).toContainEqual({
        event: 'channel_closed',
        code: 406,
        text: `PRECONDITION_FAILED - invalid arg 'x-delivery-limit' for queue '${q}' in vhost '/' of queue type rabbit_classic_queue`,
      });
      return;
    }
    const events = await pika('delivery_limit', q, uid('pk-dlx'), uid('pk-dlq'), 'classic', '1');
    expect(events.filter((e) => e['event'] === 'delivery').map((d) => values(d['headers'] as Typed))).toEqual([{ app: 1 }, { app: 1, 'x-delivery-count': 1 }]);
    const dead = one(events, 'dead_lettered');
    expect(types(dead['headers'] as Typed)).toMatchObject({ 'x-death': [xDeathTypes(1)] });
    expect((values(dead['headers'] as Typed) as Record<string, unknown>)['x-first-death-reason']).toBe('delivery_limit');
  });
});

describe('overflow with publisher confirms (pika raises NackError)', () => {
  it('reject-publish: the overflowing publishes are nacked', async () => {
    const events = await pika('overflow_confirms', uid('pk-rp'), 'reject-publish', '-');
    expect(events.filter((e) => ['confirmed', 'nacked', 'queue'].includes(e['event'] as string))).toEqual([
      { event: 'confirmed', body: 'one' },
      { event: 'nacked', body: 'two' },
      { event: 'nacked', body: 'three' },
      { event: 'queue', message_count: 1 },
    ]);
  });

  it('reject-publish-dlx: nacked and dead-lettered with reason maxlen', async () => {
    const q = uid('pk-rpdlx');
    const events = await pika('overflow_confirms', q, 'reject-publish-dlx', uid('pk-dlx'));
    expect(events.filter((e) => ['confirmed', 'nacked'].includes(e['event'] as string)).map((e) => [e['event'], e['body']])).toEqual([
      ['confirmed', 'one'],
      ['nacked', 'two'],
      ['nacked', 'three'],
    ]);
    const dead = events.filter((e) => e['event'] === 'dead_lettered');
    expect(dead.map((d) => d['body'])).toEqual(['two', 'three']);
    expect(types(dead[0]!['headers'] as Typed)).toMatchObject({ 'x-death': [xDeathTypes(1)] });
    expect((values(dead[0]!['headers'] as Typed) as Record<string, unknown>)['x-death']).toEqual([
      expect.objectContaining({ reason: 'maxlen', queue: q, count: 1 }),
    ]);
  });

  it('drop-head: every publish confirmed, the newest kept', async () => {
    const events = await pika('overflow_confirms', uid('pk-dh'), 'drop-head', '-');
    expect(events.filter((e) => ['confirmed', 'nacked', 'queue'].includes(e['event'] as string))).toEqual([
      { event: 'confirmed', body: 'one' },
      { event: 'confirmed', body: 'two' },
      { event: 'confirmed', body: 'three' },
      { event: 'queue', message_count: 1 },
    ]);
  });
});

describe('TTL through pika', () => {
  it('an expired message behind an unexpired head is not delivered (count differs: RabbitMQ 3, warren 2)', async () => {
    const events = await pika('deep_expiry', uid('pk-deep'));
    expect(one(events, 'count')['message_count']).toBe(shared.broker.external ? 3 : 2);
    expect(one(events, 'consumed')['bodies']).toEqual(['A', 'C']);
  });
});

describe('priorities and consumers through pika', () => {
  it('priority queue: backlog consumed highest first, priorities above the maximum count as the maximum', async () => {
    const ev = one(await pika('priorities', uid('pk-prio')), 'order');
    expect(ev).toEqual({ event: 'order', bodies: ['p200', 'p9', 'p9b', 'p5', 'p1', 'none'], priorities: [200, 9, 9, 5, 1, null] });
  });

  it('single active consumer: the second consumer gets nothing until the first cancels', async () => {
    const events = await pika('single_active', uid('pk-sac'));
    expect(one(events, 'phase1')).toEqual({ event: 'phase1', first: ['a0', 'a1', 'a2'], second: [] });
    expect(one(events, 'phase2')).toEqual({ event: 'phase2', first: ['a0', 'a1', 'a2'], second: ['b0', 'b1'] });
  });

  it('consumer priorities: x-priority 10 fills its prefetch before the default-priority consumer', async () => {
    const ev = one(await pika('consumer_priorities', uid('pk-cprio')), 'distribution');
    expect(ev).toEqual({ event: 'distribution', hi: ['m0', 'm1'], lo: ['m2', 'm3', 'm4'] });
  });
});

describe('exchanges through pika', () => {
  it('CC and BCC from pika, read by amqplib: all three queues get it, BCC stripped', async () => {
    const ch = await shared.clients.channel();
    const x = uid('pk-cc');
    await ch.assertExchange(x, 'direct', { durable: false });
    const qs: string[] = [];
    for (const k of ['main', 'cc', 'bcc']) {
      const q = (await ch.assertQueue('', { exclusive: true })).queue;
      await ch.bindQueue(q, x, k);
      qs.push(q);
    }
    await pika('cc_bcc', x, ...qs);
    for (const q of qs) {
      await waitForCount(ch, q, 1);
      const m = await ch.get(q, { noAck: true });
      expect(m && m.fields.routingKey).toBe('main');
      expect(m && m.properties.headers).toEqual({ CC: ['cc'], app: 'x' });
    }
    await ch.deleteExchange(x);
  });

  it('alternate exchange: a mandatory publish it catches is confirmed; one whose AE is missing comes back NO_ROUTE', async () => {
    const x = uid('pk-aex');
    const events = await pika('alternate_exchange', x, uid('pk-ae'), uid('pk-aeq'));
    expect(events.filter((e) => ['confirmed', 'returned'].includes(e['event'] as string))).toEqual([
      { event: 'confirmed', exchange: x },
      { event: 'returned', exchange: `${x}-lost`, count: 1, reply_code: 312, reply_text: 'NO_ROUTE' },
    ]);
    expect(one(events, 'caught')).toMatchObject({ body: x, exchange: x, routing_key: 'nobody' });
  });
});

describe('direct reply-to with pika', () => {
  it('pika requester, amqplib replier', async () => {
    const ch = await shared.clients.channel();
    const rpc = (await ch.assertQueue('', { exclusive: true })).queue;
    const seen: string[] = [];
    await ch.consume(
      rpc,
      (m) => {
        if (!m) return;
        seen.push(m.properties.replyTo as string);
        ch.sendToQueue(m.properties.replyTo as string, Buffer.from(`re:${body(m)}`), { correlationId: m.properties.correlationId });
      },
      { noAck: true },
    );
    const events = await pika('reply_to_client', rpc, 'hello');
    const sent = one(events, 'sent');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^amq\.rabbitmq\.reply-to\.\S+$/);
    expect(one(events, 'reply')).toEqual({
      event: 'reply',
      body: 're:hello',
      correlation_id: 'pika-1',
      exchange: '',
      routing_key: seen[0],
      consumer_tag: sent['consumer_tag'],
      redelivered: false,
    });
  });

  it('amqplib requester, pika replier', async () => {
    const rpc = uid('pk-rpc');
    const srv = new PikaProcess(shared.broker.url, 'extensions', ['reply_to_server', rpc]);
    try {
      await srv.waitForEvent((e) => e['event'] === 'ready', 'pika server ready');
      const ch = await shared.clients.channel();
      const replies = new Inbox();
      await ch.consume('amq.rabbitmq.reply-to', replies.push, { noAck: true });
      ch.sendToQueue(rpc, Buffer.from('ping'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'js-1' });
      const r = await replies.next();
      expect(body(r)).toBe('re:ping');
      expect(r!.properties.correlationId).toBe('js-1');
      const req = await srv.waitForEvent((e) => e['event'] === 'request', 'request seen by pika');
      expect(req['reply_to']).toMatch(/^amq\.rabbitmq\.reply-to\.\S+$/);
      expect(r!.fields.routingKey).toBe(req['reply_to']);
      expect(await srv.exited).toBe(0);
    } finally {
      srv.kill();
    }
  });

  it('misuse: ack mode and a second reply consumer are 406 on the channel', async () => {
    const events = await pika('reply_to_misuse');
    expect(events).toContainEqual({ event: 'channel_closed', code: 406, text: 'PRECONDITION_FAILED - reply consumer cannot acknowledge' });
    expect(events).toContainEqual({ event: 'channel_closed', code: 406, text: 'PRECONDITION_FAILED - reply consumer already set' });
    expect(events.filter((e) => e['event'] === 'consume_ok')).toHaveLength(1);
  });
});

describe('argument validation through pika (pika encodes ints as signedint, strings as longstr)', () => {
  /** Declares each [flags, arguments] case in one pika process; the outcome event of each. */
  async function declareAll(cases: Array<[string, Record<string, unknown>]>): Promise<Array<{ name: string; ev: Ev }>> {
    const named = cases.map(([flags, args]) => [uid('pk-arg'), flags, args] as const);
    const events = await pika('declare_many', JSON.stringify(named));
    const outcomes = events.filter((e) => e['event'] === 'declare_ok' || e['event'] === 'channel_closed');
    return named.map(([name], i) => {
      const ev = outcomes[i];
      if (!ev) throw new Error(`no outcome for case ${i}: ${JSON.stringify(events)}`);
      return { name, ev };
    });
  }
  const closed = (q: string, text: string): Ev => ({ event: 'channel_closed', queue: q, code: 406, text: `PRECONDITION_FAILED - ${text}` });

  it('406 texts for bad values, types and enums', async () => {
    const cases: Array<[string, Record<string, unknown>, (q: string) => string]> = [
      ['-', { 'x-expires': 0 }, (q) => `invalid arg 'x-expires' for queue '${q}' in vhost '/': {value_zero,0}`],
      ['-', { 'x-message-ttl': 'soon' }, (q) => `invalid arg 'x-message-ttl' for queue '${q}' in vhost '/': "expected integer, got longstr"`],
      ['-', { 'x-max-priority': 256 }, (q) => `invalid arg 'x-max-priority' for queue '${q}' in vhost '/': {max_value_exceeded,256}`],
      ['-', { 'x-dead-letter-exchange': 7 }, (q) => `invalid type 'signedint' for arg 'x-dead-letter-exchange' in queue '${q}' in vhost '/'`],
      ['-', { 'x-overflow': 'explode' }, (q) => `invalid arg 'x-overflow' for queue '${q}' in vhost '/': invalid_overflow`],
      ['-', { 'x-queue-mode': 'eager' }, (q) => `invalid arg 'x-queue-mode' for queue '${q}' in vhost '/': "unsupported queue mode 'eager'"`],
      ['-', { 'x-single-active-consumer': 1 }, (q) => `invalid arg 'x-single-active-consumer' for queue '${q}' in vhost '/': {unacceptable_type,signedint}`],
      ['-', { 'x-max-length': -3 }, (q) => `invalid arg 'x-max-length' for queue '${q}' in vhost '/': {value_negative,-3}`],
      ['-', { 'x-queue-type': 'quorum' }, (q) => `invalid property 'non-durable' for queue '${q}' in vhost '/'`],
      ['durable,exclusive', { 'x-queue-type': 'quorum' }, (q) => `invalid property 'exclusive-owner' for queue '${q}' in vhost '/'`],
      ['durable', { 'x-queue-type': 'quorum', 'x-max-priority': 3 }, (q) => `invalid arg 'x-max-priority' for queue '${q}' in vhost '/' of queue type rabbit_quorum_queue`],
    ];
    const outcomes = await declareAll(cases.map(([flags, args]) => [flags, args]));
    expect(outcomes.map((o) => o.ev)).toEqual(outcomes.map((o, i) => closed(o.name, cases[i]![2](o.name))));
  });

  it('accepted: lazy mode, quorum with a delivery limit, a large TTL as a long', async () => {
    const outcomes = await declareAll([
      ['-', { 'x-queue-mode': 'lazy' }],
      ['durable', { 'x-queue-type': 'quorum', 'x-delivery-limit': 3 }],
      ['-', { 'x-message-ttl': 86_400_000_000 }],
    ]);
    expect(outcomes.map((o) => o.ev)).toEqual(outcomes.map((o) => ({ event: 'declare_ok', queue: o.name, message_count: 0 })));
  });

  it('x-queue-type stream declares a stream', async () => {
    const [{ name, ev }] = (await declareAll([['durable', { 'x-queue-type': 'stream' }]])) as [{ name: string; ev: Ev }];
    expect(ev).toEqual({ event: 'declare_ok', queue: name, message_count: 0 });
  });
});
