// Streams through pika (conformance/pika/streams.py), checked against RabbitMQ 3.10.8 where it
// has the feature: offsets and the x-stream-offset header as pika decodes it (a long), acks
// as credit, the misuse refusals; and filtering (x-stream-filter, x-stream-match-unfiltered),
// which RabbitMQ 3.10 does not have (it ignores the arguments and delivers everything;
// 3.13 filters by chunk with false positives; warren filters exactly).
import { afterAll, describe, expect, it } from 'vitest';
import { runPika, uid } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();
const created: string[] = [];

afterAll(async () => {
  const ch = await shared.clients.channel();
  for (const q of created) await ch.deleteQueue(q).catch(() => undefined);
});

type Ev = Record<string, unknown>;
const messages = (events: Ev[]): Ev[] => events.filter((e) => e['event'] === 'message');

async function streamWith(n: number, filters = ''): Promise<string> {
  const q = uid('pika-stream');
  created.push(q);
  const r = await runPika(shared.broker.url, 'streams', ['declare_publish', q, String(n), filters]);
  expect(r.events.at(-1)).toEqual({ event: 'done' });
  return q;
}

describe('streams through pika', () => {
  it('first, a numeric offset, last and a timestamp; x-stream-offset decodes as a long', async () => {
    const q = await streamWith(5);
    const first = messages((await runPika(shared.broker.url, 'streams', ['consume', q, 'first', '5'])).events);
    expect(first.map((m) => m['body'])).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(first.map((m) => m['offset'])).toEqual([0, 1, 2, 3, 4]);
    expect(first[0]).toMatchObject({ offset_type: 'long', redelivered: false });
    expect(messages((await runPika(shared.broker.url, 'streams', ['consume', q, '3', '2'])).events).map((m) => m['offset'])).toEqual([3, 4]);
    expect(messages((await runPika(shared.broker.url, 'streams', ['consume', q, 'last', '1'])).events).map((m) => m['offset'])).toEqual([4]);
    expect(messages((await runPika(shared.broker.url, 'streams', ['consume', q, 'ts:1577836800', '5'])).events)).toHaveLength(5);
  });

  it('an ack only returns credit', async () => {
    const q = await streamWith(6);
    const r = await runPika(shared.broker.url, 'streams', ['credit', q]);
    expect(r.events.find((e) => e['event'] === 'before_ack')).toEqual({ event: 'before_ack', offsets: [0, 1] });
    expect(r.events.find((e) => e['event'] === 'after_ack')).toEqual({ event: 'after_ack', offsets: [0, 1, 2, 3] });
  });

  it.each([
    ['get', 540, 'NOT_IMPLEMENTED - basic.get not supported by stream queues'],
    ['no_ack', 540, 'NOT_IMPLEMENTED - automatic acknowledgement not supported by stream queues'],
    ['nack', 540, 'NOT_IMPLEMENTED - basic.nack and basic.reject not supported by stream queues'],
    ['purge', 540, 'NOT_IMPLEMENTED - queue.purge not supported by stream queues'],
  ])('%s: closed with %i', async (what, code, text) => {
    const q = await streamWith(1);
    const r = await runPika(shared.broker.url, 'streams', ['misuse', q, what]);
    expect(r.events.at(-1)).toEqual({ event: 'connection_closed', code, text: `${text} queue '${q}' in vhost '/'` });
  });

  it('consume without a prefetch: 406', async () => {
    const q = await streamWith(1);
    const r = await runPika(shared.broker.url, 'streams', ['misuse', q, 'no_prefetch']);
    expect(r.events.at(-1)).toEqual({ event: 'channel_closed', code: 406, text: `PRECONDITION_FAILED - consumer prefetch count is not set for 'queue '${q}' in vhost '/''` });
  });

  it('filters: exactly the values asked for (RabbitMQ 3.10: no filtering)', async () => {
    const q = await streamWith(12, 'red,blue,-');
    const red = messages((await runPika(shared.broker.url, 'streams', ['consume', q, 'first', '12', '10', 'red'])).events).map((m) => m['body']);
    const both = messages((await runPika(shared.broker.url, 'streams', ['consume', q, 'first', '12', '10', 'red,blue', '1'])).events).map((m) => m['body']);
    if (shared.broker.external) {
      expect(red).toHaveLength(12);
      return;
    }
    expect(red).toEqual(['m0', 'm3', 'm6', 'm9']);
    expect(both).toHaveLength(12);
    const blueOrPlain = messages((await runPika(shared.broker.url, 'streams', ['consume', q, 'first', '8', '10', 'blue', '1'])).events).map((m) => m['body']);
    expect(blueOrPlain).toEqual(['m1', 'm2', 'm4', 'm5', 'm7', 'm8', 'm10', 'm11']);
  });
});
