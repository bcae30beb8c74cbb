// /api/vhost-limits and /api/user-limits in process: RabbitMQ 3.10's shapes, status codes and
// refusal texts (each observed on a RabbitMQ 3.10.8 with its management plugin, same requests),
// who may read and change them, limits in /api/users and in definitions (RabbitMQ's
// "vhost-limits" parameter and users[].limits), and that deleting a vhost or user drops them.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminBroker, type AdminTestBroker } from './helpers.js';

let t: AdminTestBroker;
beforeEach(async () => {
  t = await adminBroker();
  await t.api.put('/users/mon', { password: 'pw', tags: 'monitoring' });
  await t.api.put('/users/mgmt', { password: 'pw', tags: 'management' });
  await t.api.put('/users/bob', { password: 'pw', tags: '' });
});
afterEach(async () => {
  await t.close();
});

describe('vhost limits', () => {
  it('PUT sets one limit (204), GET lists them per vhost, DELETE clears one (204, also when unset)', async () => {
    expect((await t.api.put('/vhost-limits/%2F/max-connections', { value: 10 })).status).toBe(204);
    expect((await t.api.put('/vhost-limits/%2F/max-queues', { value: 5 })).status).toBe(204);
    await t.api.put('/vhosts/other', {});
    expect((await t.api.get('/vhost-limits')).json).toEqual([{ vhost: '/', value: { 'max-connections': 10, 'max-queues': 5 } }]);
    expect((await t.api.get('/vhost-limits/%2F')).json).toEqual([{ vhost: '/', value: { 'max-connections': 10, 'max-queues': 5 } }]);
    expect((await t.api.get('/vhost-limits/other')).json).toEqual([]);
    expect((await t.api.delete('/vhost-limits/%2F/max-connections')).status).toBe(204);
    expect((await t.api.delete('/vhost-limits/%2F/max-connections')).status).toBe(204);
    expect((await t.api.get('/vhost-limits')).json).toEqual([{ vhost: '/', value: { 'max-queues': 5 } }]);
    expect(t.running.broker.limits.limit('vhost', '/', 'max-queues')).toBe(5);
    // Negative values are kept as given and mean no limit.
    await t.api.put('/vhost-limits/%2F/max-queues', { value: -5 });
    expect((await t.api.get('/vhost-limits/%2F')).json).toEqual([{ vhost: '/', value: { 'max-queues': -5 } }]);
    expect(t.running.broker.limits.limit('vhost', '/', 'max-queues')).toBeNull();
  });

  it('refuses bad names, values and vhosts with RabbitMQ\'s answers', async () => {
    const bad = async (path: string, body: unknown) => {
      const r = await t.api.put(path, body);
      return { status: r.status, json: r.json };
    };
    expect(await bad('/vhost-limits/%2F/max-foo', { value: 5 })).toEqual({ status: 400, json: { error: 'bad_request', reason: 'Validation failed\n\nUnrecognised terms [{<<"max-foo">>,5}] in limits\n' } });
    expect(await bad('/vhost-limits/%2F/max-queues', { value: 'abc' })).toEqual({ status: 400, json: { error: 'bad_request', reason: 'Validation failed\n\nmax-queues should be a number, actually was <<"abc">>\n' } });
    expect(await bad('/vhost-limits/%2F/max-queues', { value: 2.5 })).toEqual({ status: 400, json: { error: 'bad_request', reason: 'Validation failed\n\nmax-queues should be a number, actually was 2.5\n' } });
    expect(await bad('/vhost-limits/%2F/max-queues', {})).toEqual({ status: 400, json: { error: 'bad_request', reason: '[{key_missing,value}]' } });
    expect(await bad('/vhost-limits/nosuch/max-queues', { value: 2 })).toEqual({ status: 404, json: { error: 'not_found', reason: 'vhost_not_found' } });
    expect((await t.api.get('/vhost-limits/nosuch')).status).toBe(404);
    expect((await t.api.get('/vhost-limits')).json).toEqual([]);
  });

  it('only administrators change them; others see the limits of the vhosts they may see', async () => {
    await t.api.put('/vhost-limits/%2F/max-queues', { value: 7 });
    for (const user of ['mon', 'mgmt']) {
      const r = await t.api.as(user, 'pw').put('/vhost-limits/%2F/max-queues', { value: 8 });
      expect(r.status).toBe(401);
      expect(r.json).toEqual({ error: 'not_authorised', reason: 'Not administrator user' });
      expect((await t.api.as(user, 'pw').delete('/vhost-limits/%2F/max-queues')).status).toBe(401);
    }
    expect((await t.api.as('mon', 'pw').get('/vhost-limits')).json).toEqual([{ vhost: '/', value: { 'max-queues': 7 } }]);
    expect((await t.api.as('mgmt', 'pw').get('/vhost-limits')).json).toEqual([]);
    expect((await t.api.as(null).get('/vhost-limits')).status).toBe(401);
  });

  it('go with their vhost', async () => {
    await t.api.put('/vhosts/gone', {});
    await t.api.put('/vhost-limits/gone/max-connections', { value: 1 });
    await t.api.delete('/vhosts/gone');
    await t.api.put('/vhosts/gone', {});
    expect((await t.api.get('/vhost-limits/gone')).json).toEqual([]);
  });

  it('max-queues also bounds queues declared through the API: 400 with the AMQP text', async () => {
    await t.api.put('/vhost-limits/%2F/max-queues', { value: 0 });
    const r = await t.api.put('/queues/%2F/hq1', { durable: true });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'bad_request', reason: "cannot declare queue 'hq1': queue limit in vhost '/' (0) is reached" });
  });
});

describe('user limits', () => {
  it('PUT, GET and DELETE as RabbitMQ; /api/users shows them', async () => {
    expect((await t.api.put('/user-limits/bob/max-channels', { value: 3 })).status).toBe(204);
    expect((await t.api.put('/user-limits/bob/max-connections', { value: 2 })).status).toBe(204);
    expect((await t.api.get('/user-limits')).json).toEqual([{ user: 'bob', value: { 'max-channels': 3, 'max-connections': 2 } }]);
    expect((await t.api.get('/user-limits/bob')).json).toEqual([{ user: 'bob', value: { 'max-channels': 3, 'max-connections': 2 } }]);
    expect((await t.api.get('/user-limits/guest')).json).toEqual([]);
    expect((await t.api.get('/user-limits/nobody')).status).toBe(404);
    expect(((await t.api.get('/users/bob')).json as { limits: unknown }).limits).toEqual({ 'max-channels': 3, 'max-connections': 2 });
    expect((await t.api.delete('/user-limits/bob/max-channels')).status).toBe(204);
    expect(((await t.api.get('/users')).json as { name: string; limits: unknown }[]).find((u) => u.name === 'bob')?.limits).toEqual({ 'max-connections': 2 });
  });

  it('refuses bad names, values and users with RabbitMQ\'s answers', async () => {
    const bad = async (path: string, body: unknown) => {
      const r = await t.api.put(path, body);
      return { status: r.status, json: r.json };
    };
    expect(await bad('/user-limits/bob/max-queues', { value: 2 })).toEqual({ status: 400, json: { error: 'bad_request', reason: 'Unrecognised terms [{<<"max-queues">>,2}] in user-limits' } });
    expect(await bad('/user-limits/bob/max-channels', { value: 'x' })).toEqual({ status: 400, json: { error: 'bad_request', reason: 'max-channels should be a number, actually was <<"x">>' } });
    expect(await bad('/user-limits/bob/max-channels', { value: 1.5 })).toEqual({ status: 400, json: { error: 'bad_request', reason: 'max-channels should be a number, actually was 1.5' } });
    expect(await bad('/user-limits/bob/max-channels', {})).toEqual({ status: 400, json: { error: 'bad_request', reason: '[{key_missing,value}]' } });
    expect(await bad('/user-limits/nobody/max-channels', { value: 2 })).toEqual({ status: 400, json: { error: 'bad_request', reason: ['no_such_user', 'nobody'] } });
  });

  it('are shown to monitoring and administrator users only, changed by administrators only', async () => {
    await t.api.put('/user-limits/bob/max-channels', { value: 3 });
    expect((await t.api.as('mon', 'pw').get('/user-limits')).status).toBe(200);
    const mgmt = await t.api.as('mgmt', 'pw').get('/user-limits');
    expect(mgmt.status).toBe(401);
    expect((await t.api.as('mon', 'pw').put('/user-limits/bob/max-channels', { value: 4 })).status).toBe(401);
    expect((await t.api.as('mon', 'pw').delete('/user-limits/bob/max-channels')).status).toBe(401);
  });

  it('go with their user', async () => {
    await t.api.put('/user-limits/bob/max-channels', { value: 3 });
    await t.api.delete('/users/bob');
    await t.api.put('/users/bob', { password: 'pw', tags: '' });
    expect((await t.api.get('/user-limits/bob')).json).toEqual([]);
  });
});

describe('limits in definitions', () => {
  it('export as RabbitMQ does: users[].limits and a vhost-limits parameter (also per vhost)', async () => {
    await t.api.put('/vhost-limits/%2F/max-queues', { value: 5 });
    await t.api.put('/user-limits/bob/max-connections', { value: 2 });
    const all = (await t.api.get('/definitions')).json as { users: { name: string; limits: unknown }[]; parameters: unknown[] };
    expect(all.users.find((u) => u.name === 'bob')?.limits).toEqual({ 'max-connections': 2 });
    expect(all.users.find((u) => u.name === 'guest')?.limits).toEqual({});
    expect(all.parameters).toEqual([{ value: { 'max-queues': 5 }, vhost: '/', component: 'vhost-limits', name: 'limits' }]);
    const one = (await t.api.get('/definitions/%2F')).json as { parameters: unknown[] };
    expect(one.parameters).toEqual([{ value: { 'max-queues': 5 }, vhost: '/', component: 'vhost-limits', name: 'limits' }]);
  });

  it('import them (a RabbitMQ export included), replacing what a vhost or user had, before any queue is declared', async () => {
    await t.api.put('/vhost-limits/%2F/max-connections', { value: 9 });
    const doc = {
      vhosts: [{ name: 'v2' }],
      users: [{ name: 'carol', password_hash: '', tags: [], limits: { 'max-channels': 4 } }],
      parameters: [
        { value: { 'max-queues': 1 }, vhost: '/', component: 'vhost-limits', name: 'limits' },
        // RabbitMQ exports a vhost whose limits were all cleared like this.
        { value: [], vhost: 'v2', component: 'vhost-limits', name: 'limits' },
        { value: { x: 1 }, vhost: '/', component: 'federation-upstream', name: 'up' },
      ],
      queues: [
        { name: 'a', vhost: '/', durable: true, auto_delete: false, arguments: {} },
        { name: 'b', vhost: '/', durable: true, auto_delete: false, arguments: {} },
      ],
    };
    const r = await t.api.post('/definitions', doc);
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'bad_request', reason: "cannot declare queue 'b': queue limit in vhost '/' (1) is reached" });
    expect(t.running.broker.limits.of('vhost', '/')).toEqual({ 'max-queues': 1 });
    expect(t.running.broker.limits.of('user', 'carol')).toEqual({ 'max-channels': 4 });
    expect(t.running.broker.limits.of('vhost', 'v2')).toEqual({});
  });

  it('refuse a document with a bad limit before changing anything', async () => {
    const r = await t.api.post('/definitions', { users: [{ name: 'dan', password_hash: '', tags: [], limits: { 'max-queues': 1 } }] });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({ error: 'bad_request', reason: `definitions: users[0] ('dan'): Unrecognised terms [{<<"max-queues">>,1}] in user-limits` });
    const r2 = await t.api.post('/definitions', { parameters: [{ value: { 'max-queues': 'many' }, vhost: '/', component: 'vhost-limits', name: 'limits' }] });
    expect(r2.json).toEqual({ error: 'bad_request', reason: 'definitions: parameters[0]: max-queues should be a number, actually was <<"many">>' });
    expect(t.running.broker.access.user('dan')).toBeUndefined();
  });
});
