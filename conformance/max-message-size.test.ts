// A message larger than the max message size (RabbitMQ's default, 128 MiB, on both brokers),
// published through amqplib: the channel is closed with 406 and RabbitMQ's exact text naming
// basic.publish, the rest of the body is discarded, and the same connection stays usable: a new
// channel publishes and reads a message. (RabbitMQ answers once the whole body has arrived,
// warren as soon as the content header declares the size; the client sees the same frames.)
import { describe, expect, it } from 'vitest';
import { toFailure, waitFor, withTimeout } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

const MAX = 128 * 1024 * 1024;

describe('max message size', () => {
  it('one byte over: 406 on that channel, the body is discarded, the connection carries on', async () => {
    const t = await shared.clients.connectTracked();
    const ch = await shared.clients.channel(t.model);
    ch.publish('', 'nowhere', Buffer.alloc(MAX + 1, 0x78));
    const state = shared.clients.channelState(ch);
    await withTimeout(state.whenClosed, 60_000, 'the channel to close');
    const f = toFailure(state.errors[0]);
    expect([f.code, f.replyText, f.classId, f.methodId]).toEqual([
      406,
      `PRECONDITION_FAILED - message size ${MAX + 1} is larger than configured max size ${MAX}`,
      60,
      40,
    ]);
    const ch2 = await shared.clients.channel(t.model);
    const { queue } = await ch2.assertQueue('', { exclusive: true });
    ch2.sendToQueue(queue, Buffer.from('after the big one'));
    const m = await waitFor(async () => (await ch2.get(queue, { noAck: true })) || null, 'the next message');
    expect(m.content.toString()).toBe('after the big one');
    expect(t.closed).toBe(false);
  }, 120_000);
});
