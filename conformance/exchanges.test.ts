// Exchange types and routing: headers (x-match variants), exchange-to-exchange bindings, the default
// exchange, the predeclared amq.* exchanges, mandatory/basic.return, internal and auto-delete exchanges.
import { describe, expect, it } from 'vitest';
import type { Channel, Message } from 'amqplib';
import { body, failure, Inbox, sync, uid } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

/** Drain a queue with basic.get (noAck), returning the bodies in order. */
async function drain(ch: Channel, q: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(q, { noAck: true });
    if (!m) return out;
    out.push(body(m));
  }
}

describe('headers exchange', () => {
  it('x-match all (explicit and default), any, all-with-x, any-with-x', async () => {
    const ch = await shared.clients.channel();
    const ex = uid('hdrs');
    await ch.assertExchange(ex, 'headers', { durable: false });
    const bindings: Record<string, Record<string, unknown>> = {
      all: { 'x-match': 'all', a: '1', b: '2' },
      dflt: { a: '1', b: '2' },
      any: { 'x-match': 'any', a: '1', b: '2' },
      allIgnoresX: { 'x-match': 'all', 'x-k': 'v', a: '1' },
      anyIgnoresX: { 'x-match': 'any', 'x-k': 'v' },
      allWithX: { 'x-match': 'all-with-x', 'x-k': 'v', a: '1' },
      anyWithX: { 'x-match': 'any-with-x', 'x-k': 'v', b: '9' },
      empty: { 'x-match': 'all' },
    };
    const queues: Record<string, string> = {};
    for (const [name, args] of Object.entries(bindings)) {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      queues[name] = queue;
      await ch.bindQueue(queue, ex, 'routing-key-is-ignored', args);
    }
    const msgs: Array<[string, Record<string, unknown>]> = [
      ['m1', { a: '1', b: '2' }],
      ['m2', { a: '1' }],
      ['m3', { a: '1', b: '2', c: '3' }],
      ['m4', { a: '1', b: '3' }],
      ['m5', { b: '2' }],
      ['m6', { 'x-k': 'v' }],
      ['m7', { 'x-k': 'v', a: '1' }],
      ['m8', {}],
      ['m9', { a: '2', b: '1' }],
    ];
    for (const [text, headers] of msgs) ch.publish(ex, 'whatever', Buffer.from(text), { headers });
    const got: Record<string, string[]> = {};
    for (const [name, q] of Object.entries(queues)) got[name] = await drain(ch, q);
    expect(got).toEqual({
      all: ['m1', 'm3'],
      dflt: ['m1', 'm3'],
      any: ['m1', 'm2', 'm3', 'm4', 'm5', 'm7'],
      allIgnoresX: ['m1', 'm2', 'm3', 'm4', 'm7'],
      anyIgnoresX: [],
      allWithX: ['m7'],
      anyWithX: ['m6', 'm7'],
      empty: ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9'],
    });
    await ch.deleteExchange(ex);
  });

  it('matches on header values of other types (numbers, booleans) and not on absent headers', async () => {
    const ch = await shared.clients.channel();
    const ex = uid('hdrs-types');
    await ch.assertExchange(ex, 'headers', { durable: false });
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, ex, '', { 'x-match': 'all', n: 42, flag: true });
    ch.publish(ex, '', Buffer.from('yes'), { headers: { n: 42, flag: true, other: 'x' } });
    ch.publish(ex, '', Buffer.from('wrong-number'), { headers: { n: 43, flag: true } });
    ch.publish(ex, '', Buffer.from('wrong-bool'), { headers: { n: 42, flag: false } });
    ch.publish(ex, '', Buffer.from('no-headers'));
    expect(await drain(ch, queue)).toEqual(['yes']);
    await ch.deleteExchange(ex);
  });

  it('rejects a bad x-match value with 406 on queue.bind', async () => {
    const conn = await shared.clients.connect();
    const ch = await shared.clients.channel(conn);
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const ch2 = await shared.clients.channel(conn);
    const f = await failure(ch2.bindQueue(queue, 'amq.headers', '', { 'x-match': 'foo' }));
    expect(f).toMatchObject({ code: 406, classId: 50, methodId: 20 });
    expect(f.replyText).toBe(
      'PRECONDITION_FAILED - Invalid x-match field value <<"foo">>; expected all, any, all-with-x, or any-with-x',
    );
    // channel-level: the first channel still works
    expect((await ch.checkQueue(queue)).queue).toBe(queue);
  });
});

describe('exchange-to-exchange bindings', () => {
  it('routes through a chain of exchanges and honours each hop\'s routing', async () => {
    const ch = await shared.clients.channel();
    const src = uid('e2e-src');
    const mid = uid('e2e-mid');
    const dst = uid('e2e-dst');
    await ch.assertExchange(src, 'topic', { durable: false });
    await ch.assertExchange(mid, 'direct', { durable: false });
    await ch.assertExchange(dst, 'fanout', { durable: false });
    await ch.bindExchange(mid, src, 'app.*');
    await ch.bindExchange(dst, mid, 'app.orders');
    const qMid = (await ch.assertQueue('', { exclusive: true })).queue;
    const qDst = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(qMid, mid, 'app.users');
    await ch.bindQueue(qDst, dst, '');

    ch.publish(src, 'app.orders', Buffer.from('order'));
    ch.publish(src, 'app.users', Buffer.from('user'));
    ch.publish(src, 'other.orders', Buffer.from('ignored'));
    expect(await drain(ch, qDst)).toEqual(['order']);
    expect(await drain(ch, qMid)).toEqual(['user']);

    await ch.unbindExchange(dst, mid, 'app.orders');
    ch.publish(src, 'app.orders', Buffer.from('after-unbind'));
    await sync(ch);
    expect(await drain(ch, qDst)).toEqual([]);
    for (const e of [src, mid, dst]) await ch.deleteExchange(e);
  });

  it('delivers one copy to a queue reachable by several paths, and survives a binding cycle', async () => {
    const ch = await shared.clients.channel();
    const a = uid('e2e-a');
    const b = uid('e2e-b');
    await ch.assertExchange(a, 'fanout', { durable: false });
    await ch.assertExchange(b, 'fanout', { durable: false });
    await ch.bindExchange(b, a, '');
    await ch.bindExchange(a, b, ''); // cycle
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, a, '');
    await ch.bindQueue(q, b, '');
    ch.publish(a, '', Buffer.from('once'));
    ch.publish(b, '', Buffer.from('twice?'));
    expect(await drain(ch, q)).toEqual(['once', 'twice?']);
    await ch.deleteExchange(a);
    await ch.deleteExchange(b);
  });

  it('an internal exchange cannot be published to directly but routes what other exchanges send it', async () => {
    const conn = await shared.clients.connect();
    const ch = await shared.clients.channel(conn);
    const front = uid('front');
    const internal = uid('internal');
    await ch.assertExchange(front, 'fanout', { durable: false });
    await ch.assertExchange(internal, 'fanout', { durable: false, internal: true });
    await ch.bindExchange(internal, front, '');
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, internal, '');
    ch.publish(front, '', Buffer.from('via front'));
    expect(await drain(ch, q)).toEqual(['via front']);

    const other = await shared.clients.channel(conn);
    other.publish(internal, '', Buffer.from('direct'));
    const f = await failure(sync(other));
    expect(f).toMatchObject({ code: 403, classId: 60, methodId: 40 });
    expect(f.replyText).toBe(`ACCESS_REFUSED - cannot publish to internal exchange '${internal}' in vhost '/'`);
    expect(await drain(ch, q)).toEqual([]);
    await ch.deleteExchange(front);
    await ch.deleteExchange(internal);
  });
});

describe('default exchange and amq.* exchanges', () => {
  it('the default exchange routes by queue name to every queue', async () => {
    const ch = await shared.clients.channel();
    const q1 = (await ch.assertQueue('', { exclusive: true })).queue;
    const q2 = uid('dflt');
    await ch.assertQueue(q2, { autoDelete: false });
    expect(ch.publish('', q1, Buffer.from('to q1'))).toBe(true);
    ch.publish('', q2, Buffer.from('to q2'));
    ch.publish('', uid('nobody'), Buffer.from('dropped'));
    expect(await drain(ch, q1)).toEqual(['to q1']);
    const m = await ch.get(q2, { noAck: true });
    expect(m && m.fields).toMatchObject({ exchange: '', routingKey: q2, redelivered: false, messageCount: 0 });
    await ch.deleteQueue(q2);
  });

  it('the predeclared amq.* exchanges exist with their types and can be redeclared equivalently', async () => {
    const ch = await shared.clients.channel();
    const types: Record<string, string> = {
      'amq.direct': 'direct',
      'amq.fanout': 'fanout',
      'amq.topic': 'topic',
      'amq.headers': 'headers',
      'amq.match': 'headers',
    };
    for (const [name, type] of Object.entries(types)) {
      await ch.checkExchange(name);
      await ch.assertExchange(name, type, { durable: true });
    }
    // They route like their type: topic and headers as examples.
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, 'amq.topic', `${q}.#`);
    await ch.bindQueue(q, 'amq.match', '', { 'x-match': 'any', tag: q });
    ch.publish('amq.topic', `${q}.x.y`, Buffer.from('topic'));
    ch.publish('amq.match', '', Buffer.from('headers'), { headers: { tag: q } });
    ch.publish('amq.topic', `nope.${q}`, Buffer.from('nope'));
    expect(await drain(ch, q)).toEqual(['topic', 'headers']);
  });

  it('redeclaring amq.direct with another type or durability is 406', async () => {
    const conn = await shared.clients.connect();
    const ch = await shared.clients.channel(conn);
    const f = await failure(ch.assertExchange('amq.direct', 'fanout', { durable: true }));
    expect(f).toMatchObject({ code: 406, classId: 40, methodId: 10 });
    expect(f.replyText).toBe(
      "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'amq.direct' in vhost '/': received 'fanout' but current is 'direct'",
    );
  });
});

describe('mandatory and basic.return', () => {
  it('returns an unroutable mandatory message with 312 NO_ROUTE and its properties', async () => {
    const ch = await shared.clients.channel();
    const returned: Message[] = [];
    ch.on('return', (m: Message) => returned.push(m));
    const ex = uid('mand');
    await ch.assertExchange(ex, 'direct', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, ex, 'routed');
    ch.publish(ex, 'unrouted', Buffer.from('bounce'), {
      mandatory: true,
      correlationId: 'c1',
      headers: { h: 'v' },
    });
    ch.publish(ex, 'routed', Buffer.from('kept'), { mandatory: true });
    ch.publish(ex, 'unrouted', Buffer.from('silently dropped'), { mandatory: false });
    ch.publish('', uid('no-such-queue'), Buffer.from('bounce2'), { mandatory: true });
    await sync(ch);
    expect(returned.map((m) => body(m))).toEqual(['bounce', 'bounce2']);
    expect(returned[0]!.fields).toMatchObject({
      replyCode: 312,
      replyText: 'NO_ROUTE',
      exchange: ex,
      routingKey: 'unrouted',
    });
    expect(returned[0]!.properties).toMatchObject({ correlationId: 'c1', headers: { h: 'v' } });
    expect(returned[1]!.fields).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: '' });
    expect(await drain(ch, q)).toEqual(['kept']);
    await ch.deleteExchange(ex);
  });

  it('a fanout exchange with no bindings returns mandatory messages', async () => {
    const ch = await shared.clients.channel();
    const returned: Message[] = [];
    ch.on('return', (m: Message) => returned.push(m));
    const ex = uid('mand-fan');
    await ch.assertExchange(ex, 'fanout', { durable: false });
    ch.publish(ex, '', Buffer.from('nobody home'), { mandatory: true });
    await sync(ch);
    expect(returned).toHaveLength(1);
    expect(returned[0]!.fields).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: ex });
    await ch.deleteExchange(ex);
  });
});

describe('exchange lifecycle', () => {
  it('deleting an exchange removes its bindings; re-creating it does not restore them', async () => {
    const ch = await shared.clients.channel();
    const ex = uid('lifecycle');
    await ch.assertExchange(ex, 'fanout', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, ex, '');
    await ch.deleteExchange(ex);
    await ch.assertExchange(ex, 'fanout', { durable: false });
    ch.publish(ex, '', Buffer.from('x'));
    expect(await drain(ch, q)).toEqual([]);
    await ch.deleteExchange(ex);
  });

  it('deleting a queue removes its bindings', async () => {
    const ch = await shared.clients.channel();
    const returned: Message[] = [];
    ch.on('return', (m: Message) => returned.push(m));
    const ex = uid('qdel');
    await ch.assertExchange(ex, 'direct', { durable: false });
    const q = uid('qdel-q');
    await ch.assertQueue(q);
    await ch.bindQueue(q, ex, 'k');
    await ch.deleteQueue(q);
    ch.publish(ex, 'k', Buffer.from('x'), { mandatory: true });
    await sync(ch);
    expect(returned).toHaveLength(1);
    await ch.deleteExchange(ex);
  });

  it('an auto-delete exchange goes away when its last binding is removed, not before it had one', async () => {
    const conn = await shared.clients.connect();
    const ch = await shared.clients.channel(conn);
    const ex = uid('autodel-ex');
    await ch.assertExchange(ex, 'direct', { durable: false, autoDelete: true });
    await ch.checkExchange(ex);
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, ex, 'a');
    await ch.bindQueue(q, ex, 'b');
    await ch.unbindQueue(q, ex, 'a');
    await ch.checkExchange(ex);
    await ch.unbindQueue(q, ex, 'b');
    const f = await failure(ch.checkExchange(ex));
    expect(f).toMatchObject({ code: 404, classId: 40, methodId: 10 });
    expect(f.replyText).toBe(`NOT_FOUND - no exchange '${ex}' in vhost '/'`);
  });

  it('deletes and unbinds of things that do not exist succeed (idempotent)', async () => {
    const ch = await shared.clients.channel();
    const missing = uid('missing');
    await ch.deleteExchange(missing);
    expect(await ch.deleteQueue(missing)).toEqual({ messageCount: 0 });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.unbindQueue(q, 'amq.direct', 'never-bound');
    await ch.unbindQueue(missing, 'amq.direct', 'k');
    await ch.unbindQueue(q, missing, 'k');
    await ch.unbindExchange(missing, uid('missing2'), 'k');
    // the channel is still usable
    expect((await ch.checkQueue(q)).queue).toBe(q);
  });

  it('exchange.delete if-unused refuses while bindings exist, then succeeds', async () => {
    const conn = await shared.clients.connect();
    const ch = await shared.clients.channel(conn);
    const ex = uid('ifunused');
    await ch.assertExchange(ex, 'direct', { durable: false });
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, ex, 'k');
    const ch2 = await shared.clients.channel(conn);
    const f = await failure(ch2.deleteExchange(ex, { ifUnused: true }));
    expect(f).toMatchObject({ code: 406, classId: 40, methodId: 20 });
    expect(f.replyText).toBe(`PRECONDITION_FAILED - exchange '${ex}' in vhost '/' in use`);
    await ch.unbindQueue(q, ex, 'k');
    await ch.deleteExchange(ex, { ifUnused: true });
    expect((await failure(ch.checkExchange(ex))).code).toBe(404);
  });

  it('an exchange used only as an e2e source counts as in use', async () => {
    const conn = await shared.clients.connect();
    const ch = await shared.clients.channel(conn);
    const src = uid('e2e-inuse-src');
    const dst = uid('e2e-inuse-dst');
    await ch.assertExchange(src, 'fanout', { durable: false });
    await ch.assertExchange(dst, 'fanout', { durable: false });
    await ch.bindExchange(dst, src, '');
    const f = await failure(ch.deleteExchange(src, { ifUnused: true }));
    expect(f.code).toBe(406);
    expect(f.replyText).toBe(`PRECONDITION_FAILED - exchange '${src}' in vhost '/' in use`);
    const ch2 = await shared.clients.channel(conn);
    await ch2.deleteExchange(src);
    await ch2.deleteExchange(dst);
  });
});

describe('consumers see deliveries with correct fields', () => {
  it('delivery fields: exchange, routing key, consumer tag, increasing delivery tags', async () => {
    const ch = await shared.clients.channel();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, 'amq.direct', q);
    const inbox = new Inbox();
    const { consumerTag } = await ch.consume(q, inbox.push, { noAck: true });
    ch.publish('amq.direct', q, Buffer.from('a'));
    ch.publish('amq.direct', q, Buffer.from('b'));
    const [a, b] = await inbox.take(2);
    expect(a!.fields).toMatchObject({ exchange: 'amq.direct', routingKey: q, consumerTag, redelivered: false });
    expect(b!.fields.deliveryTag).toBe(a!.fields.deliveryTag + 1);
  });
});
