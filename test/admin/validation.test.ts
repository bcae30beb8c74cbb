// Malformed and invalid request bodies get a 400 with a reason — never a crash: after every
// bad request the server still answers. Also unknown paths (404) and oversized bodies (413).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../src/config.js';
import { adminBroker, type AdminTestBroker } from './helpers.js';

let t: AdminTestBroker;
beforeEach(async () => {
  t = await adminBroker();
});
afterEach(async () => {
  await t.close();
});

type Json = Record<string, unknown>;

const CASES: readonly { what: string; method: string; path: string; raw: string; reason: RegExp }[] = [
  { what: 'truncated JSON', method: 'PUT', path: '/queues/%2F/q', raw: '{"durable":tru', reason: /^body is not valid JSON/ },
  { what: 'not JSON at all', method: 'PUT', path: '/exchanges/%2F/x', raw: 'type=direct', reason: /^body is not valid JSON/ },
  { what: 'a list instead of an object', method: 'PUT', path: '/queues/%2F/q', raw: '[1,2]', reason: /body must be object/ },
  { what: 'a string where a boolean belongs', method: 'PUT', path: '/queues/%2F/q', raw: '{"durable":"yes"}', reason: /body\/durable must be boolean/ },
  { what: 'arguments that are not an object', method: 'PUT', path: '/queues/%2F/q', raw: '{"arguments":[1]}', reason: /body\/arguments must be object,null/ },
  { what: 'a number for an exchange type', method: 'PUT', path: '/exchanges/%2F/x', raw: '{"type":5}', reason: /body\/type must be string/ },
  { what: 'tags of the wrong type', method: 'PUT', path: '/users/u', raw: '{"password":"p","tags":5}', reason: /tags/ },
  { what: 'a password that is not a string', method: 'PUT', path: '/users/u', raw: '{"password":5,"tags":""}', reason: /body\/password must be string/ },
  { what: 'a zero count', method: 'POST', path: '/queues/%2F/q/get', raw: '{"count":0,"ackmode":"ack_requeue_true","encoding":"auto"}', reason: /body\/count must be >= 1/ },
  { what: 'a bad payload encoding', method: 'POST', path: '/exchanges/%2F/amq.default/publish', raw: '{"routing_key":"q","payload":"x","payload_encoding":"hex","properties":{}}', reason: /payload_encoding/ },
  { what: 'bad base64', method: 'POST', path: '/exchanges/%2F/amq.default/publish', raw: '{"routing_key":"q","payload":"@@","payload_encoding":"base64","properties":{}}', reason: /^payload is not valid base64$/ },
  { what: 'an unknown message property', method: 'POST', path: '/exchanges/%2F/amq.default/publish', raw: '{"routing_key":"q","payload":"x","payload_encoding":"string","properties":{"colour":"red"}}', reason: /^unknown message property colour$/ },
  { what: 'a binding key that is not a string', method: 'POST', path: '/bindings/%2F/e/amq.direct/q/q', raw: '{"routing_key":{}}', reason: /body\/routing_key must be string/ },
  { what: 'definitions that are not an object', method: 'POST', path: '/definitions', raw: '"hello"', reason: /^definitions must be a JSON object$/ },
  { what: 'an empty definitions body', method: 'POST', path: '/definitions', raw: '', reason: /^definitions must be a JSON object$/ },
  { what: 'a bad page number', method: 'GET', path: '/queues?page=0', raw: '', reason: /page must be >= 1/ },
  // MAX_TABLE_DEPTH: arguments/headers are level 1, so 101 nested objects or arrays are too deep.
  { what: 'arguments nested 101 levels', method: 'PUT', path: '/queues/%2F/deep', raw: `{"arguments":${'{"a":'.repeat(100)}{}${'}'.repeat(100)}}`, reason: /^field table nested deeper than 100 levels$/ },
  { what: 'arguments nested 100,000 levels', method: 'PUT', path: '/exchanges/%2F/deep', raw: `{"type":"direct","arguments":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`, reason: /^field table nested deeper than 100 levels$/ },
  { what: 'headers with arrays nested 101 levels', method: 'POST', path: '/exchanges/%2F/amq.default/publish', raw: `{"routing_key":"q","payload":"x","payload_encoding":"string","properties":{"headers":{"a":${'['.repeat(100)}${']'.repeat(100)}}}}`, reason: /^field table nested deeper than 100 levels$/ },
];

describe('bad requests', () => {
  for (const c of CASES) {
    it(`${c.what}: 400 with a reason, and the server keeps serving`, async () => {
      await t.api.put('/queues/%2F/q', {});
      const r = await t.api.req(c.method, c.path, undefined, c.raw === '' ? {} : { raw: c.raw });
      expect(r.status).toBe(400);
      expect((r.json as Json)['error']).toBe('bad_request');
      expect((r.json as Json)['reason']).toMatch(c.reason);
      expect((await t.api.get('/overview')).status).toBe(200);
    });
  }

  it('reads JSON whatever content type the client names', async () => {
    const r = await t.api.req('PUT', '/queues/%2F/typed', undefined, { raw: '{"durable":true}', contentType: 'text/plain' });
    expect(r.status).toBe(201);
    expect(((await t.api.get('/queues/%2F/typed')).json as Json)['durable']).toBe(true);
  });

  it('refuses a body over the size limit with 413', async () => {
    const r = await t.api.req('POST', '/definitions', undefined, { raw: JSON.stringify({ pad: 'x'.repeat(DEFAULT_CONFIG.httpMaxBodySize) }) });
    expect(r.status).toBe(413);
    expect((r.json as Json)['error']).toBe('bad_request');
    expect((await t.api.get('/overview')).status).toBe(200);
  });

  it("answers unknown paths with RabbitMQ's 404 body", async () => {
    const r = await t.api.get('/no-such-thing');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ error: 'Object Not Found', reason: 'Not Found' });
  });
});
