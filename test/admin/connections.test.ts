// Connections, channels and consumers as the management API lists them (RabbitMQ's names:
// "peer -> local", "(channel number)"), what a non-monitoring user sees, and closing a
// connection from the API (320 CONNECTION_FORCED - Closed via management plugin).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminBroker, amqpUrl, until, type AdminTestBroker } from './helpers.js';

let t: AdminTestBroker;
beforeEach(async () => {
  t = await adminBroker();
});
afterEach(async () => {
  await t.close();
});

type Json = Record<string, unknown>;

describe('connections, channels, consumers', () => {
  it('lists an amqplib connection with its channel and consumer', async () => {
    const c = await t.connect();
    const ch = await c.createChannel();
    await ch.assertQueue('jobs');
    await ch.prefetch(5);
    await ch.consume('jobs', () => undefined, { consumerTag: 'job-worker' });
    ch.sendToQueue('jobs', Buffer.from('x'));
    await until(async () => ((await t.api.get('/channels')).json as Json[])[0]?.['messages_unacknowledged'] === 1, 'the delivery');

    const conns = (await t.api.get('/connections')).json as Json[];
    expect(conns).toHaveLength(1);
    const conn = conns[0]!;
    const name = conn['name'] as string;
    expect(name).toMatch(/^127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+$/);
    expect(name.endsWith(`:${t.running.port}`)).toBe(true);
    expect(conn).toMatchObject({
      user: 'guest',
      vhost: '/',
      protocol: 'AMQP 0-9-1',
      state: 'running',
      type: 'network',
      channels: 1,
      peer_host: '127.0.0.1',
      port: t.running.port,
      frame_max: 131072,
      client_properties: { product: 'amqplib' },
    });
    expect(conn['recv_oct']).toBeGreaterThan(0);

    const channels = (await t.api.get('/channels')).json as Json[];
    expect(channels).toHaveLength(1);
    expect(channels[0]).toMatchObject({
      name: `${name} (1)`,
      number: 1,
      user: 'guest',
      vhost: '/',
      consumer_count: 1,
      messages_unacknowledged: 1,
      prefetch_count: 5,
      confirm: false,
      transactional: false,
      connection_details: { name, peer_host: '127.0.0.1' },
      message_stats: { publish: 1, deliver_get: 1, ack: 0 },
    });
    expect((await t.api.get(`/channels/${encodeURIComponent(`${name} (1)`)}`)).status).toBe(200);
    expect((await t.api.get(`/connections/${encodeURIComponent(name)}/channels`)).json).toHaveLength(1);

    expect((await t.api.get('/consumers')).json).toEqual([
      {
        consumer_tag: 'job-worker',
        queue: { name: 'jobs', vhost: '/' },
        channel_details: { name: `${name} (1)`, number: 1, connection_name: name, peer_host: '127.0.0.1', peer_port: conn['peer_port'], user: 'guest', node: conn['node'] },
        ack_required: true,
        exclusive: false,
        prefetch_count: 5,
        arguments: {},
        active: true,
        activity_status: 'up',
      },
    ]);
    expect((await t.api.get('/consumers/%2F')).json).toHaveLength(1);
  });

  it("shows a management user only its own connections", async () => {
    await t.api.put('/users/app', { password: 'p', tags: 'management' });
    await t.api.put('/permissions/%2F/app', { configure: '.*', write: '.*', read: '.*' });
    await t.connect();
    await t.connect(amqpUrl(t.running, 'app', 'p'));
    await until(async () => ((await t.api.get('/connections')).json as Json[]).length === 2, 'two connections');
    const seen = (await t.api.as('app', 'p').get('/connections')).json as Json[];
    expect(seen.map((c) => c['user'])).toEqual(['app']);
  });

  it('closes a connection on DELETE with 320 CONNECTION_FORCED', async () => {
    const c = await t.connect();
    const closed = new Promise<Error | undefined>((resolve) => c.once('close', (e?: Error) => resolve(e)));
    const name = ((await t.api.get('/connections')).json as Json[])[0]!['name'] as string;
    expect((await t.api.delete(`/connections/${encodeURIComponent(name)}`)).status).toBe(204);
    const err = await closed;
    expect(err?.message).toMatch(/320 \(CONNECTION-FORCED\) with message "CONNECTION_FORCED - Closed via management plugin"/);
    await until(async () => ((await t.api.get('/connections')).json as Json[]).length === 0, 'the connection to go');
    expect((await t.api.delete(`/connections/${encodeURIComponent(name)}`)).status).toBe(404);
  });
});
