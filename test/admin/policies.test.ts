// /api/policies and /api/operator-policies in process: RabbitMQ 3.10's shapes, status codes and
// refusal texts (each observed on a RabbitMQ 3.10.8 with its management plugin, same
// requests), who may read and change them, the queue and exchange JSON, precedence between
// arguments, policies and operator policies, effect on existing and new queues through
// amqplib, definitions export and import (RabbitMQ's forms), and a restart with a data dir.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminBroker, type AdminTestBroker } from './helpers.js';

let t: AdminTestBroker;
beforeEach(async () => {
  t = await adminBroker();
});
afterEach(async () => {
  await t.close();
});

const reason = async (path: string, body: unknown): Promise<unknown> => {
  const r = await t.api.put(path, body);
  expect(r.status).toBe(400);
  return (r.json as { reason: unknown }).reason;
};

describe('policies API', () => {
  it('PUT creates (201) and replaces (204), GET shows RabbitMQ\'s shape, DELETE clears (204, then 404)', async () => {
    expect((await t.api.put('/policies/%2F/ttl', { pattern: '^q\\.', definition: { 'message-ttl': 1000 } })).status).toBe(201);
    expect((await t.api.put('/policies/%2F/ttl', { pattern: '^q\\.', definition: { 'message-ttl': 2000 }, priority: 3, 'apply-to': 'queues' })).status).toBe(204);
    const one = { vhost: '/', name: 'ttl', pattern: '^q\\.', 'apply-to': 'queues', definition: { 'message-ttl': 2000 }, priority: 3 };
    expect((await t.api.get('/policies/%2F/ttl')).json).toEqual(one);
    expect((await t.api.get('/policies/%2F/ttl')).text).toBe(JSON.stringify(one));
    expect((await t.api.get('/policies')).json).toEqual([one]);
    expect((await t.api.get('/policies/%2F')).json).toEqual([one]);
    expect((await t.api.get('/operator-policies')).json).toEqual([]);
    expect((await t.api.get('/policies/%2F/nope')).status).toBe(404);
    expect((await t.api.put('/policies/nov/p', { pattern: 'x', definition: { 'max-length': 1 } })).json).toEqual({ error: 'not_found', reason: 'vhost_not_found' });
    expect((await t.api.delete('/policies/%2F/ttl')).status).toBe(204);
    expect((await t.api.delete('/policies/%2F/ttl')).json).toEqual({ error: 'Object Not Found', reason: 'Not Found' });
  });

  it('refuses bad bodies with RabbitMQ 3.10.8\'s texts', async () => {
    const P = '/policies/%2F/p';
    expect(await reason(P, { definition: { 'message-ttl': 1 } })).toBe('[{key_missing,pattern}]');
    expect(await reason(P, { pattern: '^q' })).toBe('[{key_missing,definition}]');
    const v = (s: string) => `Validation failed\n\n${s}\n`;
    expect(await reason(P, { pattern: '^q', definition: { 'message-ttl': 'x' } })).toBe(v('&lt;&lt;"x"&gt;&gt; is not a valid message TTL'));
    expect(await reason(P, { pattern: '^q', definition: { 'message-ttl': -1 } })).toBe(v('-1 is not a valid message TTL'));
    expect(await reason(P, { pattern: '^q', definition: { 'message-ttl': 1.5 } })).toBe(v('1.5 is not a valid message TTL'));
    expect(await reason(P, { pattern: '^q', definition: { foo: 1 } })).toBe(v('[{&lt;&lt;"foo"&gt;&gt;,1}] are not recognised policy settings'));
    expect(await reason(P, { pattern: '^q', definition: { zzz: 2, unknown: 1, aaa: 3 } })).toBe(
      v('[{&lt;&lt;"aaa"&gt;&gt;,3},{&lt;&lt;"unknown"&gt;&gt;,1},{&lt;&lt;"zzz"&gt;&gt;,2}] are not recognised policy settings'),
    );
    expect(await reason(P, { pattern: '^q', definition: { foo: 1, bar: 2, 'message-ttl': -1 } })).toBe(v('-1 is not a valid message TTL'));
    expect(await reason(P, { pattern: '^q', definition: { 'message-ttl': -1, 'max-length': -1 } })).toBe(v('-1 is not a valid maximum length'));
    expect(await reason(P, { pattern: '^q', definition: {} })).toBe(v('no policy provided'));
    expect(await reason(P, { pattern: '^q', definition: { 'max-length': 1 }, 'apply-to': 'bogus' })).toBe(v("apply-to 'bogus' unrecognised; should be 'queues', 'exchanges' or 'all'"));
    expect(await reason(P, { pattern: '^q', definition: { 'max-length': 1 }, priority: 'x' })).toBe(v('priority should be a number, actually was &lt;&lt;"x"&gt;&gt;'));
    expect(await reason(P, { pattern: 1, definition: { 'max-length': 1 } })).toBe(v('pattern should be a binary but was 1'));
    // RE2, not PCRE (a documented difference): RabbitMQ accepts lookbehind.
    expect(await reason(P, { pattern: '(?<=a)b', definition: { 'max-length': 1 } })).toBe(
      v('pattern should be regular expression but is invalid: error parsing regexp: invalid named capture: `(?&lt;=a)b`'),
    );
    expect(await reason(P, { pattern: '^q', definition: { 'message-ttl': -1 }, 'apply-to': 'x', priority: 'y' })).toBe(
      v("-1 is not a valid message TTL\napply-to 'x' unrecognised; should be 'queues', 'exchanges' or 'all'\npriority should be a number, actually was &lt;&lt;\"y\"&gt;&gt;"),
    );
    const values: [Record<string, unknown>, string][] = [
      [{ overflow: 'nope' }, '&lt;&lt;"nope"&gt;&gt; is not a valid overflow value'],
      [{ expires: 0 }, '0 is not a valid queue expiry'],
      [{ expires: '1' }, '&lt;&lt;"1"&gt;&gt; is not a valid queue expiry'],
      [{ 'queue-mode': 'x' }, '&lt;&lt;"x"&gt;&gt; is not a valid queue-mode value'],
      [{ 'alternate-exchange': 1 }, '1 is not a valid alternate exchange name'],
      [{ 'delivery-limit': -1 }, '-1 is not a valid delivery limit'],
      [{ 'max-age': '1X' }, '&lt;&lt;"1X"&gt;&gt; is not a valid max age'],
      [{ 'max-age': '0D' }, '&lt;&lt;"0D"&gt;&gt; is not a valid max age'],
      [{ 'max-length': true }, 'true is not a valid maximum length'],
      [{ 'dead-letter-exchange': 1 }, '1 is not a valid dead letter exchange name'],
      [{ 'dead-letter-routing-key': 1 }, '1 is not a valid dead letter routing key'],
      [{ 'dead-letter-strategy': 'x' }, '&lt;&lt;"x"&gt;&gt; is not a valid dead letter strategy'],
      [{ 'max-length-bytes': -1 }, '-1 is not a valid maximum length in bytes'],
      [{ 'max-in-memory-length': -1 }, '-1 is not a valid maximum memory in bytes'],
      [{ 'stream-max-segment-size-bytes': -1 }, '-1 is not a valid segment size'],
      [{ 'queue-version': 3 }, '3 is not a valid queue-version value'],
      [{ 'queue-master-locator': 'x' }, '&lt;&lt;"x"&gt;&gt; invalid queue-master-locator value'],
      [{ 'queue-leader-locator': 'x' }, '&lt;&lt;"x"&gt;&gt; is not a valid queue leader locator value'],
      [{ 'ha-mode': 'x' }, '&lt;&lt;"x"&gt;&gt; is not a valid ha-mode value'],
      [{ 'ha-mode': 'exactly' }, 'ha-mode="exactly" takes an integer, none given'],
      [{ 'ha-sync-mode': 'x' }, 'ha-mode must be specified to specify ha-params, ha-sync-mode or ha-promote-on-shutdown'],
      [{ 'ha-mode': 'all', 'ha-sync-mode': 'x' }, 'ha-sync-mode must be "manual" or "automatic", got &lt;&lt;"x"&gt;&gt;'],
      [{ 'consumer-timeout': 1 }, '[{&lt;&lt;"consumer-timeout"&gt;&gt;,1}] are not recognised policy settings'],
      [{ 'federation-upstream-set': 'all' }, '[{&lt;&lt;"federation-upstream-set"&gt;&gt;,&lt;&lt;"all"&gt;&gt;}] are not recognised policy settings'],
    ];
    for (const [definition, text] of values) expect(await reason(P, { pattern: '^q', definition })).toBe(v(text));
    // Accepted by RabbitMQ 3.10.8 too.
    for (const definition of [{ 'dead-letter-routing-key': 'k' }, { 'max-age': '1D' }, { 'ha-mode': 'all' }, { 'initial-cluster-size': 0 }, { 'message-ttl': 10000000000000 }]) {
      expect((await t.api.put(P, { pattern: '^q', definition })).status).toBeLessThan(300);
    }
    expect((await t.api.put(P, { pattern: '^q', definition: { 'max-length': 1 }, priority: 1.5 })).status).toBe(204);
  });

  it('refuses a policy past 1000 of a kind in a vhost (a bound RabbitMQ does not have); replacing one is fine', async () => {
    for (let i = 0; i < 1000; i++) t.running.broker.policies.put({ kind: 'policy', vhost: '/', name: `p${i}`, pattern: `^p${i}$`, applyTo: 'all', priority: 0, definition: { 'max-length': 1 } });
    expect(await reason('/policies/%2F/one-more', { pattern: '^x', definition: { 'max-length': 1 } })).toBe("Validation failed\n\ntoo many policies in vhost '/' (at most 1000)\n");
    expect((await t.api.put('/policies/%2F/p7', { pattern: '^x', definition: { 'max-length': 2 } })).status).toBe(204);
    expect((await t.api.put('/operator-policies/%2F/op', { pattern: '^x', definition: { 'max-length': 2 } })).status).toBe(201);
  });

  it('operator policies take only the numeric limits, and their texts are not HTML-escaped', async () => {
    const O = '/operator-policies/%2F/op';
    for (const definition of [{ expires: 1000 }, { 'max-length': 1 }, { 'max-length-bytes': 1 }, { 'max-in-memory-length': 1 }, { 'max-in-memory-bytes': 1 }, { 'delivery-limit': 1 }]) {
      expect((await t.api.put(O, { pattern: '^q', definition })).status).toBeLessThan(300);
    }
    expect(await reason(O, { pattern: '^q', definition: { 'dead-letter-exchange': 'x' } })).toBe('Validation failed\n\n[{<<"dead-letter-exchange">>,<<"x">>}] are not recognised policy settings\n');
    expect(await reason(O, { pattern: '^q', definition: { 'queue-mode': 'lazy' } })).toBe('Validation failed\n\n[{<<"queue-mode">>,<<"lazy">>}] are not recognised policy settings\n');
    expect(await reason(O, { pattern: '^q', definition: { 'message-ttl': -1 } })).toBe('Validation failed\n\n-1 is not a valid message TTL\n');
  });

  it('lists for management users, one policy for policymakers, operator policies for administrators', async () => {
    await t.api.put('/users/mg', { password: 'pw', tags: 'management' });
    await t.api.put('/users/pm', { password: 'pw', tags: 'policymaker' });
    for (const u of ['mg', 'pm']) await t.api.put(`/permissions/%2F/${u}`, { configure: '.*', write: '.*', read: '.*' });
    await t.api.put('/policies/%2F/p1', { pattern: '^q', definition: { 'max-length': 10 } });
    await t.api.put('/operator-policies/%2F/op', { pattern: '^q', definition: { 'message-ttl': 1000 } });
    const mg = t.api.as('mg', 'pw');
    const pm = t.api.as('pm', 'pw');
    expect((await mg.get('/policies')).json).toHaveLength(1);
    expect((await mg.get('/policies/%2F')).json).toHaveLength(1);
    expect((await mg.get('/operator-policies')).json).toHaveLength(1);
    expect((await mg.get('/policies/%2F/p1')).json).toEqual({ error: 'not_authorised', reason: 'User not authorised to access object' });
    expect((await mg.put('/policies/%2F/px', { pattern: '^zz', definition: { 'max-length': 3 } })).status).toBe(401);
    expect((await pm.get('/policies/%2F/p1')).status).toBe(200);
    expect((await pm.put('/policies/%2F/px', { pattern: '^zz', definition: { 'max-length': 3 } })).status).toBe(201);
    expect((await pm.get('/operator-policies/%2F/op')).json).toEqual({ error: 'not_authorised', reason: 'Not administrator user' });
    expect((await pm.put('/operator-policies/%2F/opx', { pattern: '^zz', definition: { 'max-length': 3 } })).json).toEqual({ error: 'not_authorised', reason: 'Not administrator user' });
  });
});

describe('policies in effect', () => {
  it('queue JSON shows policy, operator_policy and the effective definition (lower numeric limit wins between them)', async () => {
    await t.api.put('/policies/%2F/p1', { pattern: '^q', definition: { 'message-ttl': 5000, 'max-length': 10, 'dead-letter-exchange': 'dlx' }, priority: 1, 'apply-to': 'queues' });
    await t.api.put('/operator-policies/%2F/op', { pattern: '^q', definition: { 'message-ttl': 1000 } });
    await t.api.put('/queues/%2F/q1', { durable: true, arguments: { 'x-max-length': 20 } });
    await t.api.put('/queues/%2F/r1', { durable: true });
    const q1 = (await t.api.get('/queues/%2F/q1')).json as Record<string, unknown>;
    expect([q1['policy'], q1['operator_policy'], q1['effective_policy_definition']]).toEqual(['p1', 'op', { 'dead-letter-exchange': 'dlx', 'max-length': 10, 'message-ttl': 1000 }]);
    const r1 = (await t.api.get('/queues/%2F/r1')).json as Record<string, unknown>;
    expect([r1['policy'], r1['operator_policy'], r1['effective_policy_definition']]).toEqual([null, null, {}]);
    const q = t.running.broker.vhost('/')!.getQueue('q1')!;
    expect([q.settings.messageTtl, q.settings.maxLength, q.settings.deadLetterExchange]).toEqual([1000, 10, 'dlx']);
    await t.api.put('/policies/%2F/pe', { pattern: '^ex', definition: { 'alternate-exchange': 'ae' }, 'apply-to': 'exchanges' });
    await t.api.put('/exchanges/%2F/ex1', { type: 'direct' });
    expect(((await t.api.get('/exchanges/%2F/ex1')).json as Record<string, unknown>)['policy']).toBe('pe');
    expect('policy' in ((await t.api.get('/exchanges/%2F/amq.direct')).json as Record<string, unknown>)).toBe(false);
    // Clearing the policies puts the queue back on its arguments.
    await t.api.delete('/policies/%2F/p1');
    await t.api.delete('/operator-policies/%2F/op');
    expect([q.settings.messageTtl, q.settings.maxLength, q.settings.deadLetterExchange, q.policy]).toEqual([null, 20, null, null]);
  });

  it('the highest priority policy applies alone; apply-to and the pattern choose the objects', async () => {
    await t.api.put('/policies/%2F/low', { pattern: '.*', definition: { 'max-length': 1, 'message-ttl': 5 }, priority: 0 });
    await t.api.put('/policies/%2F/high', { pattern: '^orders', definition: { 'max-length': 7 }, priority: 5 });
    await t.api.put('/policies/%2F/xonly', { pattern: '^orders', definition: { 'alternate-exchange': 'ae' }, priority: 9, 'apply-to': 'exchanges' });
    await t.api.put('/queues/%2F/orders.eu', {});
    await t.api.put('/queues/%2F/other', {});
    const v = t.running.broker.vhost('/')!;
    expect([v.getQueue('orders.eu')!.policy, v.getQueue('orders.eu')!.settings.maxLength, v.getQueue('orders.eu')!.settings.messageTtl]).toEqual(['high', 7, null]);
    expect([v.getQueue('other')!.policy, v.getQueue('other')!.settings.maxLength]).toEqual(['low', 1]);
  });

  it('applies at once to existing queues through amqplib: max-length drops the head, dead-lettered as maxlen; TTL on new messages', async () => {
    const conn = await t.connect();
    const ch = await conn.createChannel();
    await ch.assertExchange('dlx', 'fanout');
    await ch.assertQueue('dead');
    await ch.bindQueue('dead', 'dlx', '');
    await ch.assertQueue('work');
    for (let i = 1; i <= 5; i++) ch.sendToQueue('work', Buffer.from(`m${i}`));
    await ch.checkQueue('work');
    await t.api.put('/policies/%2F/lim', { pattern: '^work$', definition: { 'max-length': 2, 'dead-letter-exchange': 'dlx' } });
    expect((await ch.checkQueue('work')).messageCount).toBe(2);
    expect((await ch.checkQueue('dead')).messageCount).toBe(3);
    const first = await ch.get('dead', { noAck: true });
    expect(first && first.content.toString()).toBe('m1');
    const death = (first as { properties: { headers: Record<string, unknown> } }).properties.headers['x-death'] as Record<string, unknown>[];
    expect(death[0]!['reason']).toBe('maxlen');
    // An argument wins over the policy for the dead-letter exchange; the lower length wins.
    await ch.assertQueue('work2', { arguments: { 'x-max-length': 1, 'x-dead-letter-exchange': '' } });
    await t.api.put('/policies/%2F/lim', { pattern: '^work', definition: { 'max-length': 3, 'dead-letter-exchange': 'dlx', 'message-ttl': 60000 } });
    const w2 = t.running.broker.vhost('/')!.getQueue('work2')!;
    expect([w2.settings.maxLength, w2.settings.deadLetterExchange, w2.settings.messageTtl]).toEqual([1, '', 60000]);
  });

  it('expires deletes an unused queue; alternate-exchange from a policy routes unroutable messages', async () => {
    const conn = await t.connect();
    const ch = await conn.createChannel();
    await ch.assertQueue('tmp.1');
    await t.api.put('/policies/%2F/exp', { pattern: '^tmp\\.', definition: { expires: 50 }, 'apply-to': 'queues' });
    for (let i = 0; i < 100 && t.running.broker.vhost('/')!.getQueue('tmp.1') !== undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(t.running.broker.vhost('/')!.getQueue('tmp.1')).toBeUndefined();
    await ch.assertExchange('ae', 'fanout');
    await ch.assertQueue('unrouted');
    await ch.bindQueue('unrouted', 'ae', '');
    await ch.assertExchange('in', 'direct');
    await t.api.put('/policies/%2F/ae', { pattern: '^in$', definition: { 'alternate-exchange': 'ae' }, 'apply-to': 'exchanges' });
    ch.publish('in', 'nowhere', Buffer.from('x'));
    expect((await ch.checkQueue('unrouted')).messageCount).toBe(1);
  });
});

describe('policies in definitions', () => {
  it('exports policies and operator policies as RabbitMQ does, and an import takes effect', async () => {
    await t.api.put('/policies/%2F/p1', { pattern: '^q', definition: { 'max-length': 10 }, priority: 1, 'apply-to': 'queues' });
    await t.api.put('/operator-policies/%2F/op', { pattern: '^q', definition: { 'message-ttl': 1000 } });
    const all = (await t.api.get('/definitions')).json as Record<string, unknown>;
    expect(all['policies']).toEqual([{ vhost: '/', name: 'p1', pattern: '^q', 'apply-to': 'queues', definition: { 'max-length': 10 }, priority: 1 }]);
    expect(all['parameters']).toEqual([{ value: { pattern: '^q', definition: { 'message-ttl': 1000 }, priority: 0, 'apply-to': 'all' }, vhost: '/', component: 'operator_policy', name: 'op' }]);
    const other = await adminBroker();
    try {
      const r = await other.api.post('/definitions', all);
      expect(r.status).toBe(204);
      await other.api.put('/queues/%2F/q9', {});
      const q = other.running.broker.vhost('/')!.getQueue('q9')!;
      expect([q.policy, q.operatorPolicy, q.settings.maxLength, q.settings.messageTtl]).toEqual(['p1', 'op', 10, 1000]);
      const bad = await other.api.post('/definitions', { policies: [{ vhost: '/', name: 'b', pattern: '^q', definition: { 'message-ttl': -1 } }] });
      expect(bad.json).toEqual({ error: 'bad_request', reason: "definitions: policies[0] ('b'): -1 is not a valid message TTL" });
    } finally {
      await other.close();
    }
  });

  it('keeps policies across a restart with a data dir, and forgets them with their vhost', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-policies-'));
    try {
      let b = await adminBroker({ dataDir: dir });
      await b.api.put('/vhosts/v', {});
      await b.api.put('/policies/v/p', { pattern: '^d', definition: { 'max-length': 4 } });
      await b.api.put('/policies/%2F/p', { pattern: '^d', definition: { 'max-length': 3 } });
      await b.api.put('/queues/%2F/durable-q', { durable: true });
      await b.close();
      b = await adminBroker({ dataDir: dir });
      expect(b.running.broker.vhost('/')!.getQueue('durable-q')!.settings.maxLength).toBe(3);
      await b.api.delete('/vhosts/v');
      await b.close();
      b = await adminBroker({ dataDir: dir });
      expect((await b.api.get('/policies')).json).toEqual([{ vhost: '/', name: 'p', pattern: '^d', 'apply-to': 'all', definition: { 'max-length': 3 }, priority: 0 }]);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
