// GET /metrics and /metrics/per-object: the Prometheus text format with RabbitMQ's metric
// names, parsed strictly; figures follow what clients did, and broker-wide counters keep
// counting what closed connections did.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminBroker, until, type AdminTestBroker } from './helpers.js';
import { metric, parsePrometheus } from './prometheus.js';

let t: AdminTestBroker;
beforeEach(async () => {
  t = await adminBroker();
});
afterEach(async () => {
  await t.close();
});

async function scrape(path = '/metrics') {
  const r = await t.api.as(null).get(path);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheus(r.text);
}

describe('/metrics', () => {
  it('is readable without credentials and uses the RabbitMQ plugin names and types', async () => {
    const m = await scrape();
    const expected: Record<string, string> = {
      rabbitmq_connections: 'gauge',
      rabbitmq_channels: 'gauge',
      rabbitmq_consumers: 'gauge',
      rabbitmq_queues: 'gauge',
      rabbitmq_queue_messages_ready: 'gauge',
      rabbitmq_queue_messages_unacked: 'gauge',
      rabbitmq_queue_messages: 'gauge',
      rabbitmq_queue_consumers: 'gauge',
      rabbitmq_queue_messages_published_total: 'counter',
      rabbitmq_global_messages_received_total: 'counter',
      rabbitmq_global_messages_delivered_total: 'counter',
      rabbitmq_global_messages_acknowledged_total: 'counter',
      rabbitmq_connections_opened_total: 'counter',
      rabbitmq_connections_closed_total: 'counter',
      rabbitmq_channels_opened_total: 'counter',
      rabbitmq_process_resident_memory_bytes: 'gauge',
      warren_process_heap_used_bytes: 'gauge',
      warren_process_heap_total_bytes: 'gauge',
      warren_process_external_bytes: 'gauge',
      rabbitmq_build_info: 'untyped',
      rabbitmq_identity_info: 'untyped',
    };
    for (const [name, type] of Object.entries(expected)) {
      expect(m.get(name)?.type, name).toBe(type);
      expect(m.get(name)?.help, name).not.toBe('');
    }
    expect(m.get('rabbitmq_global_messages_received_total')!.samples[0]!.labels).toEqual({ protocol: 'amqp091' });
    expect(m.get('rabbitmq_build_info')!.samples[0]!.labels).toMatchObject({ rabbitmq_version: '3.10.8', product: 'warren' });
  });

  it('follows publishes, deliveries, acks, connections and queue depths', async () => {
    const c = await t.connect();
    const ch = await c.createChannel();
    await ch.assertQueue('a');
    await ch.assertQueue('b');
    for (let i = 0; i < 5; i++) ch.sendToQueue('a', Buffer.from('x'));
    ch.sendToQueue('b', Buffer.from('y'));
    await ch.prefetch(2);
    const got: number[] = [];
    await ch.consume('a', (msg) => {
      if (msg) got.push(msg.fields.deliveryTag);
    });
    await until(() => got.length === 2, 'two deliveries');
    ch.ack({ fields: { deliveryTag: 1 } } as never);
    await until(async () => metric(await scrape(), 'rabbitmq_global_messages_acknowledged_total') === 1, 'the ack');
    const m = await scrape();
    expect(metric(m, 'rabbitmq_connections')).toBe(1);
    expect(metric(m, 'rabbitmq_channels')).toBe(1);
    expect(metric(m, 'rabbitmq_consumers')).toBe(1);
    expect(metric(m, 'rabbitmq_queues')).toBe(2);
    expect(metric(m, 'rabbitmq_global_messages_received_total')).toBe(6);
    expect(metric(m, 'rabbitmq_global_messages_delivered_total')).toBe(3);
    // After the ack, prefetch 2 let a third message go out.
    expect(metric(m, 'rabbitmq_queue_messages_ready')).toBe(2 + 1);
    expect(metric(m, 'rabbitmq_queue_messages_unacked')).toBe(2);
    expect(metric(m, 'rabbitmq_queue_messages')).toBe(5);

    const per = await scrape('/metrics/per-object');
    expect(metric(per, 'rabbitmq_queue_messages_ready', { vhost: '/', queue: 'a' })).toBe(2);
    expect(metric(per, 'rabbitmq_queue_messages_unacked', { vhost: '/', queue: 'a' })).toBe(2);
    expect(metric(per, 'rabbitmq_queue_messages_ready', { vhost: '/', queue: 'b' })).toBe(1);
    expect(metric(per, 'rabbitmq_queue_consumers', { vhost: '/', queue: 'a' })).toBe(1);
    expect(metric(per, 'rabbitmq_queue_messages_published_total', { vhost: '/', queue: 'a' })).toBe(5);
  });

  it('keeps counting what closed channels and connections did', async () => {
    const c = await t.connect();
    const ch = await c.createChannel();
    await ch.assertQueue('q');
    for (let i = 0; i < 4; i++) ch.sendToQueue('q', Buffer.from('x'));
    await ch.close();
    const ch2 = await c.createChannel();
    ch2.sendToQueue('q', Buffer.from('x'));
    await ch2.checkQueue('q');
    await c.close();
    await until(() => t.running.broker.connections.size === 0, 'the connection to close');
    const m = await scrape();
    expect(metric(m, 'rabbitmq_global_messages_received_total')).toBe(5);
    expect(metric(m, 'rabbitmq_connections_opened_total')).toBe(1);
    expect(metric(m, 'rabbitmq_connections_closed_total')).toBe(1);
    expect(metric(m, 'rabbitmq_channels_opened_total')).toBe(2);
    expect(metric(m, 'rabbitmq_channels_closed_total')).toBe(2);
    expect(metric(m, 'rabbitmq_connections')).toBe(0);
    expect(metric(m, 'rabbitmq_queue_messages_ready')).toBe(5);
  });

  it("reports the broker's event-loop delay since the previous scrape (prom-client's names)", async () => {
    await scrape(); // resets the histogram; its first sampler run after a reset only starts the clock
    await new Promise((r) => setTimeout(r, 30));
    // Block this process's loop (the broker runs in it) for 200 ms: the next scrape's max must show it.
    const until = Date.now() + 200;
    while (Date.now() < until) {
      // busy
    }
    await new Promise((r) => setTimeout(r, 30));
    const m = await scrape();
    for (const name of ['min', 'max', 'mean', 'p50', 'p90', 'p99']) expect(m.get(`nodejs_eventloop_lag_${name}_seconds`)?.type, name).toBe('gauge');
    expect(m.get('nodejs_eventloop_lag_max_seconds')!.samples[0]!.value).toBeGreaterThanOrEqual(0.1);
  });

  it('escapes label values', async () => {
    expect((await t.api.put('/queues/%2F/' + encodeURIComponent('we"ird\\name'), {})).status).toBe(201);
    const per = await scrape('/metrics/per-object');
    expect(metric(per, 'rabbitmq_queue_messages', { queue: 'we"ird\\name' })).toBe(0);
  });
});

describe('alarms', () => {
  it('the health check says 503 with the alarm, /api/nodes and /metrics show it, while a memory alarm is on', async () => {
    expect((await t.api.get('/health/checks/alarms')).json).toEqual({ status: 'ok' });
    expect(metric(await scrape(), 'rabbitmq_alarms_memory_used_watermark')).toBe(0);
    t.running.broker.overrideAlarm('memory', true);
    const failed = await t.api.get('/health/checks/alarms');
    expect(failed.status).toBe(503);
    expect(failed.json).toEqual({ status: 'failed', reason: 'There are alarms in effect in the cluster', alarms: [{ node: expect.stringMatching(/^warren@/), resource: 'memory' }] });
    expect(((await t.api.get('/nodes')).json as Record<string, unknown>[])[0]).toMatchObject({ mem_alarm: true, disk_free_alarm: false });
    expect(metric(await scrape(), 'rabbitmq_alarms_memory_used_watermark')).toBe(1);
    t.running.broker.overrideAlarm('memory', null);
    expect((await t.api.get('/health/checks/alarms')).status).toBe(200);
  });
});
