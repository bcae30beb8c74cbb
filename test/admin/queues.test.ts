// The management API's queue endpoints against an in-process broker: declare (201/204 and
// equivalence errors), show and list with RabbitMQ's field names and per-queue figures, purge,
// delete, get (requeue and remove), publish, and the list query parameters.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminBroker, until, type AdminTestBroker } from './helpers.js';

let t: AdminTestBroker;
beforeEach(async () => {
  t = await adminBroker();
});
afterEach(async () => {
  await t.close();
});

type Json = Record<string, unknown>;

describe('PUT/GET/DELETE /api/queues/{vhost}/{name}', () => {
  it('creates with 201, re-declares with 204, refuses an inequivalent declare with 400 and the AMQP text', async () => {
    expect((await t.api.put('/queues/%2F/orders', { durable: true, arguments: { 'x-max-length': 10 } })).status).toBe(201);
    expect((await t.api.put('/queues/%2F/orders', { durable: true, arguments: { 'x-max-length': 10 } })).status).toBe(204);
    const bad = await t.api.put('/queues/%2F/orders', { durable: false });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: 'bad_request', reason: "inequivalent arg 'durable' for queue 'orders' in vhost '/': received 'false' but current is 'true'" });
  });

  it('takes booleans as "true"/"false" strings, as rabbitmqadmin sends them', async () => {
    expect((await t.api.put('/queues/%2F/q', { durable: 'true', auto_delete: 'false' })).status).toBe(201);
    const q = (await t.api.get('/queues/%2F/q')).json as Json;
    expect(q['durable']).toBe(true);
    expect(q['auto_delete']).toBe(false);
  });

  it("shows a queue with RabbitMQ's field names and its figures", async () => {
    await t.api.put('/queues/%2F/work', { durable: true, arguments: { 'x-message-ttl': 60000 } });
    const c = await t.connect();
    const ch = await c.createChannel();
    for (let i = 0; i < 3; i++) ch.sendToQueue('work', Buffer.from(`m${i}`));
    await ch.prefetch(1);
    await ch.consume('work', () => undefined, { consumerTag: 'worker-1' });
    await until(async () => ((await t.api.get('/queues/%2F/work')).json as Json)['messages_unacknowledged'] === 1, 'one unacked');
    const q = (await t.api.get('/queues/%2F/work')).json as Json;
    expect(q).toMatchObject({
      name: 'work',
      vhost: '/',
      durable: true,
      auto_delete: false,
      exclusive: false,
      arguments: { 'x-message-ttl': 60000 },
      node: expect.stringMatching(/^warren@/),
      state: 'running',
      type: 'classic',
      consumers: 1,
      messages: 3,
      messages_ready: 2,
      messages_unacknowledged: 1,
      message_bytes_ready: expect.any(Number),
      message_stats: { publish: 3, deliver_get: 1, ack: 0, publish_details: { rate: expect.any(Number) } },
    });
    expect(q['memory']).toBeGreaterThan(0);
    const consumers = q['consumer_details'] as Json[];
    expect(consumers).toHaveLength(1);
    expect(consumers[0]).toMatchObject({ consumer_tag: 'worker-1', ack_required: true, prefetch_count: 1, queue: { name: 'work', vhost: '/' } });
  });

  it('says 404 with RabbitMQ\'s body for a missing queue or vhost', async () => {
    for (const path of ['/queues/%2F/nope', '/queues/novhost', '/queues/novhost/q']) {
      const r = await t.api.get(path);
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ error: 'Object Not Found', reason: 'Not Found' });
    }
    expect((await t.api.delete('/queues/%2F/nope')).status).toBe(404);
    expect((await t.api.delete('/queues/%2F/nope/contents')).status).toBe(404);
  });

  it('deletes (204), honours if-empty, and purges only ready messages', async () => {
    await t.api.put('/queues/%2F/q', {});
    for (let i = 0; i < 4; i++) await t.api.post('/exchanges/%2F/amq.default/publish', { routing_key: 'q', payload: `m${i}`, payload_encoding: 'string', properties: {} });
    const refused = await t.api.delete('/queues/%2F/q?if-empty=true');
    expect(refused.status).toBe(400);
    expect(refused.json).toEqual({ error: 'bad_request', reason: "queue 'q' in vhost '/' not empty" });
    expect((await t.api.delete('/queues/%2F/q/contents')).status).toBe(204);
    expect(((await t.api.get('/queues/%2F/q')).json as Json)['messages']).toBe(0);
    expect((await t.api.delete('/queues/%2F/q?if-empty=true')).status).toBe(204);
    expect((await t.api.get('/queues/%2F/q')).status).toBe(404);
  });
});

describe('POST .../publish and .../get', () => {
  it('publishes through the default exchange (amq.default) and says whether it was routed', async () => {
    await t.api.put('/queues/%2F/inbox', {});
    const routed = await t.api.post('/exchanges/%2F/amq.default/publish', {
      routing_key: 'inbox',
      payload: 'hello',
      payload_encoding: 'string',
      properties: { delivery_mode: 2, content_type: 'text/plain', headers: { n: 1, s: 'x' } },
    });
    expect(routed.json).toEqual({ routed: true });
    const unrouted = await t.api.post('/exchanges/%2F/amq.default/publish', { routing_key: 'nobody', payload: 'x', payload_encoding: 'string', properties: {} });
    expect(unrouted.json).toEqual({ routed: false });
    const c = await t.connect();
    const ch = await c.createChannel();
    const m = await ch.get('inbox', { noAck: true });
    expect(m && m.content.toString()).toBe('hello');
    expect(m && m.properties.contentType).toBe('text/plain');
    expect(m && m.properties.deliveryMode).toBe(2);
    expect(m && m.properties.headers).toEqual({ n: 1, s: 'x' });
  });

  it('gets with requeue (messages stay, come back redelivered) and with ack_requeue_false (they go)', async () => {
    await t.api.put('/queues/%2F/q', {});
    await t.api.post('/exchanges/%2F/amq.default/publish', { routing_key: 'q', payload: 'one', payload_encoding: 'string', properties: { headers: { h: 'v' } } });
    await t.api.post('/exchanges/%2F/amq.default/publish', { routing_key: 'q', payload: Buffer.from([0xff, 0, 1]).toString('base64'), payload_encoding: 'base64', properties: {} });
    const peek = await t.api.post('/queues/%2F/q/get', { count: 5, ackmode: 'ack_requeue_true', encoding: 'auto' });
    expect(peek.json).toEqual([
      { payload_bytes: 3, redelivered: false, exchange: '', routing_key: 'q', message_count: 1, properties: { headers: { h: 'v' } }, payload: 'one', payload_encoding: 'string' },
      { payload_bytes: 3, redelivered: false, exchange: '', routing_key: 'q', message_count: 0, properties: [], payload: '/wAB', payload_encoding: 'base64' },
    ]);
    const again = (await t.api.post('/queues/%2F/q/get', { count: '1', ackmode: 'ack_requeue_false', encoding: 'base64' })).json as Json[];
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ redelivered: true, payload: Buffer.from('one').toString('base64'), payload_encoding: 'base64', message_count: 1 });
    const q = (await t.api.get('/queues/%2F/q')).json as Json;
    expect(q['messages']).toBe(1);
    expect((q['message_stats'] as Json)['ack']).toBe(1);
  });

  it('dead-letters what reject_requeue_false takes, as a basic.reject would', async () => {
    await t.api.put('/queues/%2F/dlq', {});
    await t.api.put('/queues/%2F/work', { arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' } });
    await t.api.post('/exchanges/%2F/amq.default/publish', { routing_key: 'work', payload: 'bad', payload_encoding: 'string', properties: {} });
    expect(((await t.api.post('/queues/%2F/work/get', { count: 1, ackmode: 'reject_requeue_false', encoding: 'auto' })).json as Json[])[0]).toMatchObject({ payload: 'bad' });
    expect(((await t.api.get('/queues/%2F/work')).json as Json)['messages']).toBe(0);
    const dead = (await t.api.post('/queues/%2F/dlq/get', { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' })).json as Json[];
    expect(dead[0]).toMatchObject({ payload: 'bad', routing_key: 'dlq' });
    expect(((dead[0]!['properties'] as Json)['headers'] as Json)['x-death']).toEqual([expect.objectContaining({ queue: 'work', reason: 'rejected' })]);
  });

  it('checks the exchange and the request: 404 for a missing exchange, 400 naming a missing field', async () => {
    const missing = await t.api.post('/exchanges/%2F/nope/publish', { routing_key: 'k', payload: 'x', payload_encoding: 'string', properties: {} });
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: 'not_found', reason: "no exchange 'nope' in vhost '/'" });
    const noProps = await t.api.post('/exchanges/%2F/amq.default/publish', { routing_key: 'k', payload: 'x', payload_encoding: 'string' });
    expect(noProps.status).toBe(400);
    expect((noProps.json as Json)['reason']).toMatch(/properties/);
    const badMode = await t.api.post('/queues/%2F/nope/get', { count: 1, ackmode: 'maybe', encoding: 'auto' });
    expect(badMode.status).toBe(400);
    expect((badMode.json as Json)['reason']).toMatch(/ackmode/);
    const badProp = await t.api.post('/exchanges/%2F/amq.default/publish', { routing_key: 'k', payload: 'x', payload_encoding: 'string', properties: { delivery_mode: 'fast' } });
    expect(badProp.status).toBe(400);
    expect(badProp.json).toEqual({ error: 'bad_request', reason: 'property delivery_mode must be an integer from 0 to 255' });
  });
});

describe('list query parameters', () => {
  it('columns, sort, sort_reverse, name filter and pagination', async () => {
    for (const n of ['b', 'a', 'c']) await t.api.put(`/queues/%2F/${n}`, {});
    await t.api.post('/exchanges/%2F/amq.default/publish', { routing_key: 'c', payload: 'x', payload_encoding: 'string', properties: {} });
    expect((await t.api.get('/queues?columns=name,messages')).json).toEqual([
      { name: 'a', messages: 0 },
      { name: 'b', messages: 0 },
      { name: 'c', messages: 1 },
    ]);
    expect((await t.api.get('/queues/%2F?columns=name,message_stats.publish&sort=name&sort_reverse=true')).json).toEqual([
      { name: 'c', message_stats: { publish: 1 } },
      { name: 'b', message_stats: { publish: 0 } },
      { name: 'a', message_stats: { publish: 0 } },
    ]);
    expect((await t.api.get('/queues?columns=name&name=^[ab]$&use_regex=true')).json).toEqual([{ name: 'a' }, { name: 'b' }]);
    expect((await t.api.get('/queues?columns=name&page=2&page_size=2')).json).toEqual({
      filtered_count: 3,
      item_count: 1,
      items: [{ name: 'c' }],
      page: 2,
      page_count: 2,
      page_size: 2,
      total_count: 3,
    });
  });
});
