// Message rates: the sampler turns counters into per-second rates between its last two
// samples. Driven with explicit sample times, so nothing here depends on the clock.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminBroker, until, type AdminTestBroker } from './helpers.js';

let t: AdminTestBroker;
beforeEach(async () => {
  // A long interval: only the samples this test takes count.
  t = await adminBroker({ statsInterval: 3600 });
});
afterEach(async () => {
  await t.close();
});

type Json = Record<string, unknown>;

describe('rates', () => {
  it('gives publish/deliver/ack rates per queue, per channel and overall', async () => {
    const stats = t.running.admin!.stats;
    const base = Date.now() + 10_000;
    const c = await t.connect();
    const ch = await c.createChannel();
    await ch.assertQueue('q');
    stats.sample(base);
    for (let i = 0; i < 10; i++) ch.sendToQueue('q', Buffer.from('x'));
    for (let i = 0; i < 4; i++) {
      const m = await ch.get('q');
      if (m) ch.ack(m);
    }
    await ch.checkQueue('q');
    stats.sample(base + 2000);

    const q = (await t.api.get('/queues/%2F/q')).json as { message_stats: Json } & Json;
    expect(q.message_stats).toMatchObject({ publish: 10, publish_details: { rate: 5 }, deliver_get: 4, deliver_get_details: { rate: 2 }, ack: 4, ack_details: { rate: 2 } });
    expect(q['messages_details']).toEqual({ rate: 3 });
    const channel = ((await t.api.get('/channels')).json as Json[])[0]!;
    expect(channel['message_stats']).toMatchObject({ publish_details: { rate: 5 }, deliver_get_details: { rate: 2 }, ack_details: { rate: 2 } });
    const overview = (await t.api.get('/overview')).json as Json;
    expect(overview['message_stats']).toMatchObject({ publish: 10, publish_details: { rate: 5 }, ack: 4, ack_details: { rate: 2 } });
    expect(overview['queue_totals']).toMatchObject({ messages: 6, messages_ready: 6, messages_unacknowledged: 0, messages_details: { rate: 3 } });

    // Nothing happens in the next interval: the rates go back to 0.
    stats.sample(base + 4000);
    const later = (await t.api.get('/queues/%2F/q')).json as { message_stats: Json };
    expect(later.message_stats).toMatchObject({ publish_details: { rate: 0 }, ack_details: { rate: 0 } });
  });

  it('reports 0 before there are two samples', async () => {
    await t.api.put('/queues/%2F/fresh', {});
    await until(async () => (await t.api.get('/queues/%2F/fresh')).status === 200, 'the queue');
    const q = (await t.api.get('/queues/%2F/fresh')).json as { message_stats: Json };
    expect(q.message_stats).toMatchObject({ publish: 0, publish_details: { rate: 0 } });
  });
});
