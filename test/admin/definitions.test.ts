// RabbitMQ's definitions JSON: a document exported from RabbitMQ 3.10.8 imports into warren
// (users keep their RabbitMQ-made password hashes and can log in), warren's export of it has
// the same content, a vhost can be exported and imported alone, and a bad document changes
// nothing and says which item is wrong.
import amqp from 'amqplib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminBroker, amqpUrl, type AdminTestBroker } from './helpers.js';
import { RABBITMQ_EXPORT, normalizeDefinitions } from './rabbitmq-export.js';

let t: AdminTestBroker;
beforeEach(async () => {
  t = await adminBroker();
});
afterEach(async () => {
  await t.close();
});

type Json = Record<string, unknown>;

describe('definitions', () => {
  it('imports an export from RabbitMQ and exports the same content again', async () => {
    const imported = await t.api.post('/definitions', RABBITMQ_EXPORT);
    expect(imported.status).toBe(204);
    const exported = (await t.api.get('/definitions')).json as Json;
    expect(exported).toMatchObject({ rabbit_version: '3.10.8', product_name: 'warren' });
    expect(normalizeDefinitions(exported)).toEqual(normalizeDefinitions(RABBITMQ_EXPORT));
  });

  it('keeps RabbitMQ password hashes: the users log in with their RabbitMQ passwords', async () => {
    await t.api.post('/definitions', RABBITMQ_EXPORT);
    const c = await amqp.connect(amqpUrl(t.running, 'alice', 'alice-pw'));
    await c.close();
    await expect(amqp.connect(amqpUrl(t.running, 'alice', 'wrong'))).rejects.toThrow(/ACCESS_REFUSED|403/);
  });

  it('recreates what the definitions describe, and routing follows them', async () => {
    await t.api.post('/definitions', RABBITMQ_EXPORT);
    // orders (topic, alternate exchange orders-ae) -> orders.eu for eu.*, the rest to orders.unrouted.
    await t.api.post('/exchanges/%2F/orders/publish', { routing_key: 'eu.paris', payload: 'a', payload_encoding: 'string', properties: {} });
    await t.api.post('/exchanges/%2F/orders/publish', { routing_key: 'us.nyc', payload: 'b', payload_encoding: 'string', properties: {} });
    expect(((await t.api.get('/queues/%2F/orders.eu')).json as Json)['arguments']).toEqual({ 'x-max-length': 1000, 'x-message-ttl': 60000 });
    expect(((await t.api.get('/queues/%2F/orders.eu')).json as Json)['messages']).toBe(1);
    expect(((await t.api.get('/exchanges/%2F/internal-x')).json as Json)['internal']).toBe(true);
    expect(((await t.api.get('/queues/staging/bob-inbox')).json as Json)['durable']).toBe(true);
  });

  it('exports and imports one vhost without vhost fields', async () => {
    await t.api.post('/definitions', RABBITMQ_EXPORT);
    const staging = (await t.api.get('/definitions/staging')).json as Json;
    expect(staging).toEqual({
      rabbit_version: '3.10.8',
      parameters: [],
      policies: [],
      queues: [{ name: 'bob-inbox', durable: true, auto_delete: false, arguments: {} }],
      exchanges: [],
      bindings: [{ source: 'amq.topic', destination: 'bob-inbox', destination_type: 'queue', routing_key: 'bob.#', arguments: {} }],
    });
    await t.api.put('/vhosts/copy', {});
    expect((await t.api.post('/definitions/copy', staging)).status).toBe(204);
    expect((await t.api.get('/bindings/copy/e/amq.topic/q/bob-inbox')).json).toHaveLength(1);
  });

  it('refuses a bad document whole, naming the item, and changes nothing', async () => {
    const bad = { ...RABBITMQ_EXPORT, bindings: [...(RABBITMQ_EXPORT['bindings'] as Json[]), { source: 'x', vhost: 'nowhere', destination: 'q', destination_type: 'queue', routing_key: '', arguments: {} }] };
    const r = await t.api.post('/definitions', bad);
    expect(r.status).toBe(400);
    expect((r.json as Json)['reason']).toBe("definitions: bindings[5]: no vhost 'nowhere' (neither in the document nor in warren)");
    expect(((await t.api.get('/users')).json as Json[]).map((u) => u['name'])).toEqual(['guest']);
    expect((await t.api.get('/vhosts/staging')).status).toBe(404);
    for (const [doc, reason] of [
      [{ queues: 5 }, 'definitions: "queues" must be a list'],
      [{ queues: [{ vhost: '/' }] }, 'definitions: queues[0]: "name" must be a string'],
      [{ exchanges: [{ name: 'x', vhost: '/', type: 'x-foo' }] }, "definitions: exchanges[0]: unknown exchange type 'x-foo'"],
      [{ users: [{ name: 'u', password_hash: 'abc', tags: [] }] }, "definitions: users[0] ('u'): password_hash is not a rabbit_password_hashing_sha256 hash (base64 of 4 bytes of salt and 32 of SHA-256)"],
      [{ permissions: [{ user: 'ghost', vhost: '/', configure: '', write: '', read: '' }] }, "definitions: permissions[0]: no user 'ghost'"],
    ] as const) {
      const answer = await t.api.post('/definitions', doc);
      expect(answer.status).toBe(400);
      expect((answer.json as Json)['reason']).toBe(reason);
    }
  });

  it('leaves out exclusive queues, as RabbitMQ does', async () => {
    const c = await t.connect();
    await (await c.createChannel()).assertQueue('mine', { exclusive: true });
    await t.api.put('/queues/%2F/shared', {});
    const names = ((await t.api.get('/definitions')).json as { queues: Json[] }).queues.map((q) => q['name']);
    expect(names).toEqual(['shared']);
  });
});
