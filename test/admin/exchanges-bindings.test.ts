// The management API's exchange and binding endpoints: the default and amq.* exchanges as
// RabbitMQ lists them, declare/delete with RabbitMQ's answers, bindings with properties_key
// (create, show, delete), exchange-to-exchange bindings, and the routing they produce.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { propertiesKey, quoteBinding } from '../../src/admin/format.js';
import { adminBroker, type AdminTestBroker } from './helpers.js';

let t: AdminTestBroker;
beforeEach(async () => {
  t = await adminBroker();
});
afterEach(async () => {
  await t.close();
});

type Json = Record<string, unknown>;

describe('exchanges', () => {
  it('lists the default exchange as "" and the amq.* ones, as RabbitMQ does', async () => {
    const names = ((await t.api.get('/exchanges/%2F')).json as Json[]).map((x) => [x['name'], x['type'], x['internal']]);
    expect(names).toEqual([
      ['', 'direct', false],
      ['amq.direct', 'direct', false],
      ['amq.fanout', 'fanout', false],
      ['amq.headers', 'headers', false],
      ['amq.match', 'headers', false],
      ['amq.rabbitmq.trace', 'topic', true],
      ['amq.topic', 'topic', false],
    ]);
    expect((await t.api.get('/exchanges/%2F/amq.default')).json).toEqual({ name: '', vhost: '/', type: 'direct', durable: true, auto_delete: false, internal: false, arguments: {} });
  });

  it('declares (type direct, non-durable by default), re-declares, and refuses amq.* and unknown types', async () => {
    expect((await t.api.put('/exchanges/%2F/plain', {})).status).toBe(201);
    expect((await t.api.get('/exchanges/%2F/plain')).json).toMatchObject({ type: 'direct', durable: false });
    expect((await t.api.put('/exchanges/%2F/events', { type: 'topic', durable: true, arguments: { 'alternate-exchange': 'ae' } })).status).toBe(201);
    expect((await t.api.put('/exchanges/%2F/events', { type: 'topic', durable: true, arguments: { 'alternate-exchange': 'ae' } })).status).toBe(204);
    const reserved = await t.api.put('/exchanges/%2F/amq.mine', { type: 'direct' });
    expect(reserved.status).toBe(401);
    expect(reserved.json).toEqual({ error: 'not_authorised', reason: "ACCESS_REFUSED - exchange name 'amq.mine' contains reserved prefix 'amq.*'" });
    const unknown = await t.api.put('/exchanges/%2F/x', { type: 'x-no-such-type' });
    expect(unknown.status).toBe(400);
    expect(unknown.json).toEqual({ error: 'bad_request', reason: "unknown exchange type 'x-no-such-type'" });
    expect((await t.api.delete('/exchanges/%2F/amq.direct')).status).toBe(401);
    expect((await t.api.delete('/exchanges/%2F/events')).status).toBe(204);
    expect((await t.api.delete('/exchanges/%2F/events')).status).toBe(404);
  });
});

describe('bindings', () => {
  it('quotes routing keys as RabbitMQ does in properties_key', () => {
    expect(quoteBinding('a.*')).toBe('a.%2A');
    expect(quoteBinding('r k~/#é')).toBe('r+k%7E%2F%23%C3%A9');
  });

  it('creates (201 + Location), lists with properties_key, shows and deletes a binding by it', async () => {
    await t.api.put('/queues/%2F/q', {});
    await t.api.put('/exchanges/%2F/x', { type: 'topic' });
    const made = await t.api.post('/bindings/%2F/e/x/q/q', { routing_key: 'a.*', arguments: { k: 'v' } });
    expect(made.status).toBe(201);
    const list = (await t.api.get('/bindings/%2F/e/x/q/q')).json as Json[];
    expect(list).toHaveLength(1);
    const key = list[0]!['properties_key'] as string;
    expect(key).toMatch(/^a\.%2A~[A-Za-z0-9_-]+$/);
    expect(made.headers.get('location')).toBe(`q/${encodeURIComponent(key)}`);
    expect(list[0]).toEqual({ source: 'x', vhost: '/', destination: 'q', destination_type: 'queue', routing_key: 'a.*', arguments: { k: 'v' }, properties_key: key });
    expect((await t.api.get(`/bindings/%2F/e/x/q/q/${encodeURIComponent(key)}`)).json).toEqual(list[0]);
    // The implicit default-exchange binding is listed first, as RabbitMQ lists it.
    expect(((await t.api.get('/bindings/%2F')).json as Json[]).map((b) => [b['source'], b['routing_key'], b['properties_key']])).toEqual([
      ['', 'q', 'q'],
      ['x', 'a.*', key],
    ]);
    expect((await t.api.get('/queues/%2F/q/bindings')).json).toHaveLength(2);
    expect((await t.api.get('/exchanges/%2F/x/bindings/source')).json).toEqual(list);
    expect((await t.api.delete(`/bindings/%2F/e/x/q/q/${encodeURIComponent(key)}`)).status).toBe(204);
    expect((await t.api.delete(`/bindings/%2F/e/x/q/q/${encodeURIComponent(key)}`)).status).toBe(404);
    expect((await t.api.get('/bindings/%2F/e/x/q/q')).json).toEqual([]);
  });

  it('binds exchange to exchange, and messages follow the bindings', async () => {
    await t.api.put('/exchanges/%2F/front', { type: 'fanout' });
    await t.api.put('/exchanges/%2F/back', { type: 'direct' });
    await t.api.put('/queues/%2F/sink', {});
    expect((await t.api.post('/bindings/%2F/e/front/e/back', {})).status).toBe(201);
    expect((await t.api.post('/bindings/%2F/e/back/q/sink', { routing_key: 'k' })).status).toBe(201);
    expect((await t.api.get('/exchanges/%2F/back/bindings/destination')).json).toEqual([
      { source: 'front', vhost: '/', destination: 'back', destination_type: 'exchange', routing_key: '', arguments: {}, properties_key: '~' },
    ]);
    const pub = await t.api.post('/exchanges/%2F/front/publish', { routing_key: 'k', payload: 'through', payload_encoding: 'string', properties: {} });
    expect(pub.json).toEqual({ routed: true });
    expect(((await t.api.get('/queues/%2F/sink')).json as Json)['messages']).toBe(1);
  });

  it('says 404 with the AMQP text when the source or destination is missing', async () => {
    await t.api.put('/queues/%2F/q', {});
    const noQueue = await t.api.post('/bindings/%2F/e/amq.direct/q/nope', {});
    expect(noQueue.status).toBe(404);
    expect(noQueue.json).toEqual({ error: 'not_found', reason: "no queue 'nope' in vhost '/'" });
    const noExchange = await t.api.post('/bindings/%2F/e/nope/q/q', {});
    expect(noExchange.json).toEqual({ error: 'not_found', reason: "no exchange 'nope' in vhost '/'" });
    expect((await t.api.post('/bindings/%2F/e/amq.direct/z/q', {})).status).toBe(400);
  });

  it('gives different bindings with the same key different properties keys', async () => {
    await t.api.put('/queues/%2F/q', {});
    await t.api.post('/bindings/%2F/e/amq.headers/q/q', { arguments: { 'x-match': 'all', a: 1 } });
    await t.api.post('/bindings/%2F/e/amq.headers/q/q', { arguments: { 'x-match': 'all', a: 2 } });
    const keys = ((await t.api.get('/bindings/%2F/e/amq.headers/q/q')).json as Json[]).map((b) => b['properties_key']);
    expect(new Set(keys).size).toBe(2);
    const vhost = t.running.broker.vhost('/')!;
    for (const b of vhost.exchanges.get('amq.headers')!.bindings.values()) expect(keys).toContain(propertiesKey(b));
  });
});
