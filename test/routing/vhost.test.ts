// The virtual host: declare and equivalence rules with RabbitMQ's exact texts, reserved names,
// the default exchange, deletes (if-unused, if-empty, idempotent), exclusive queues, auto-delete
// exchanges, exchange-to-exchange routing with cycles, and which objects reach the store.
import { beforeEach, describe, expect, it } from 'vitest';
import { F, type FieldTable } from '../../src/codec/field-table.js';
import type { Queue } from '../../src/queue/queue.js';
import type { Exchange } from '../../src/routing/exchange.js';
import { VirtualHost, type ExchangeDeclare, type QueueDeclare } from '../../src/routing/vhost.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { caught, expectChannelError, expectConnectionError } from '../helpers/errors.js';
import { FakeConsumer, message } from '../helpers/model.js';

const A = { owner: 'connection A' };
const B = { owner: 'connection B' };

let store: MemoryStore;
let vh: VirtualHost;
let deleted: string[];

beforeEach(() => {
  store = new MemoryStore();
  deleted = [];
  vh = new VirtualHost('/', store, { queueDeleted: (q) => deleted.push(q.name) });
});

const noArgs = (): FieldTable => new Map();

function declareX(name: string, type = 'direct', o: Partial<ExchangeDeclare> = {}): Exchange {
  return vh.declareExchange({ name, type, durable: false, autoDelete: false, internal: false, arguments: noArgs(), ...o });
}

function declareQ(name: string, o: Partial<QueueDeclare> = {}, owner: object = A): Queue {
  // An empty name stands for a server-generated one (the channel generates names before declaring).
  const serverNamed = name === '';
  return vh.declareQueue(
    { name: serverNamed ? 'amq.gen-test' : name, durable: false, exclusive: false, autoDelete: false, arguments: noArgs(), ...o },
    owner,
    serverNamed,
  );
}

/** Names of the queues a publish to `exchange` with `key` reaches. */
function route(exchange: string, key: string, headers?: FieldTable): string[] {
  const into = new Set<Queue>();
  vh.route(vh.exchangeForPublish(exchange), message(key, headers ? { headers } : {}), into);
  return [...into].map((q) => q.name).sort();
}

const locked = (q: string): string =>
  `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`;

describe('predeclared exchanges and the default exchange', () => {
  it('has the amq.* exchanges with their types, durable, amq.rabbitmq.trace internal', () => {
    const types = Object.fromEntries([...vh.exchanges.values()].map((x) => [x.name, x.type]));
    expect(types).toEqual({
      'amq.direct': 'direct',
      'amq.fanout': 'fanout',
      'amq.topic': 'topic',
      'amq.headers': 'headers',
      'amq.match': 'headers',
      'amq.rabbitmq.trace': 'topic',
    });
    for (const x of vh.exchanges.values()) expect(x.durable).toBe(true);
    expect(vh.exchanges.get('amq.rabbitmq.trace')!.internal).toBe(true);
    expect(vh.exchanges.get('amq.direct')!.internal).toBe(false);
  });

  it('predeclared exchanges are not written to the store', () => {
    expect(store.loadDefinitions().exchanges).toEqual([]);
  });

  it('the default exchange routes to the queue named by the key, and stops once it is deleted', () => {
    declareQ('q1');
    declareQ('q2');
    expect(route('', 'q1')).toEqual(['q1']);
    expect(route('', 'nope')).toEqual([]);
    vh.deleteQueue('q1', A, false, false);
    expect(route('', 'q1')).toEqual([]);
    expect(route('', 'q2')).toEqual(['q2']);
  });

  it('exchangeForPublish and getExchange give the default exchange for ""; missing is 404', () => {
    expect(vh.exchangeForPublish('')).toBe(vh.defaultExchange);
    expect(vh.getExchange('')).toBe(vh.defaultExchange);
    expect(vh.declareExchangePassive('')).toBe(vh.defaultExchange);
    expectChannelError(() => vh.exchangeForPublish('nope'), 404, "NOT_FOUND - no exchange 'nope' in vhost '/'");
  });

  it('refuses declare, delete, bind and unbind on the default exchange (row 12)', () => {
    const text = 'ACCESS_REFUSED - operation not permitted on the default exchange';
    declareQ('q');
    declareX('x');
    expectChannelError(() => declareX(''), 403, text);
    expectChannelError(() => vh.deleteExchange('', false), 403, text);
    expectChannelError(() => vh.bindQueue('q', '', 'q', noArgs(), A), 403, text);
    expectChannelError(() => vh.unbindQueue('q', '', 'q', noArgs(), A), 403, text);
    expectChannelError(() => vh.bindExchange('x', '', 'k', noArgs()), 403, text);
    expectChannelError(() => vh.bindExchange('', 'x', 'k', noArgs()), 403, text);
    expectChannelError(() => vh.unbindExchange('x', '', 'k', noArgs()), 403, text);
    expectChannelError(() => vh.unbindExchange('', 'x', 'k', noArgs()), 403, text);
  });
});

describe('exchange.declare', () => {
  it('creates once; an equivalent redeclare returns the same exchange', () => {
    const x = declareX('x', 'topic', { durable: true });
    expect(declareX('x', 'topic', { durable: true })).toBe(x);
    expect(x.type).toBe('topic');
  });

  it('inequivalent type (row 5)', () => {
    declareX('x', 'direct');
    expectChannelError(
      () => declareX('x', 'fanout'),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'x' in vhost '/': received 'fanout' but current is 'direct'",
    );
  });

  it('inequivalent durable (row 6), auto_delete and internal', () => {
    declareX('x', 'direct', { durable: true });
    expectChannelError(
      () => declareX('x', 'direct', { durable: false }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'durable' for exchange 'x' in vhost '/': received 'false' but current is 'true'",
    );
    expectChannelError(
      () => declareX('x', 'direct', { durable: true, autoDelete: true }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for exchange 'x' in vhost '/': received 'true' but current is 'false'",
    );
    expectChannelError(
      () => declareX('x', 'direct', { durable: true, internal: true }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'internal' for exchange 'x' in vhost '/': received 'true' but current is 'false'",
    );
  });

  it('alternate-exchange must match; other arguments are not compared', () => {
    declareX('x', 'direct', { arguments: new Map([['alternate-exchange', F.str('ae')]]) });
    expect(() => declareX('x', 'direct', { arguments: new Map([['alternate-exchange', F.str('ae')], ['other', F.int(1)]]) })).not.toThrow();
    expectChannelError(
      () => declareX('x', 'direct'),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': received none but current is the value 'ae' of type 'longstr'",
    );
    expectChannelError(
      () => declareX('x', 'direct', { arguments: new Map([['alternate-exchange', F.str('other')]]) }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'alternate-exchange' for exchange 'x' in vhost '/': received 'other' but current is 'ae'",
    );
  });

  it('unknown type is a connection error 503 (row 7), even for an existing name', () => {
    expectConnectionError(() => declareX('x', 'x-foo'), 503, "COMMAND_INVALID - unknown exchange type 'x-foo'");
    declareX('y');
    expectConnectionError(() => declareX('y', 'x-no-such-type'), 503, "COMMAND_INVALID - unknown exchange type 'x-no-such-type'");
  });

  it('reserved amq. prefix (row 8); redeclaring an existing amq.* exchange equivalently is allowed', () => {
    expectChannelError(() => declareX('amq.foo'), 403, "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'");
    expect(vh.exchanges.has('amq.foo')).toBe(false);
    expect(declareX('amq.direct', 'direct', { durable: true })).toBe(vh.exchanges.get('amq.direct'));
    expectChannelError(
      () => declareX('amq.direct', 'topic', { durable: true }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'type' for exchange 'amq.direct' in vhost '/': received 'topic' but current is 'direct'",
    );
  });

  it('passive declare of a missing exchange is 404 (row 10)', () => {
    expectChannelError(() => vh.declareExchangePassive('nope'), 404, "NOT_FOUND - no exchange 'nope' in vhost '/'");
    declareX('x', 'fanout');
    expect(vh.declareExchangePassive('x').type).toBe('fanout');
  });
});

describe('exchange.delete', () => {
  it('system exchanges cannot be deleted (row 13)', () => {
    expectChannelError(
      () => vh.deleteExchange('amq.direct', false),
      403,
      "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed",
    );
    expect(vh.exchanges.has('amq.direct')).toBe(true);
  });

  it('a missing exchange is fine (idempotent)', () => {
    expect(() => vh.deleteExchange('nope', false)).not.toThrow();
    expect(() => vh.deleteExchange('nope', true)).not.toThrow();
  });

  it('if-unused refuses while the exchange is a source of bindings (row 18)', () => {
    declareX('x');
    declareQ('q');
    vh.bindQueue('q', 'x', 'k', noArgs(), A);
    expectChannelError(() => vh.deleteExchange('x', true), 406, "PRECONDITION_FAILED - exchange 'x' in vhost '/' in use");
    expect(vh.exchanges.has('x')).toBe(true);
    vh.unbindQueue('q', 'x', 'k', noArgs(), A);
    vh.deleteExchange('x', true);
    expect(vh.exchanges.has('x')).toBe(false);
  });

  it('if-unused does not count bindings where the exchange is the destination', () => {
    declareX('src', 'fanout');
    declareX('dst', 'fanout');
    vh.bindExchange('dst', 'src', '', noArgs());
    vh.deleteExchange('dst', true);
    expect(vh.exchanges.has('dst')).toBe(false);
    expect(vh.exchanges.get('src')!.bindings.size).toBe(0);
  });

  it('deleting an exchange drops its bindings both ways', () => {
    declareX('x', 'fanout');
    declareX('up', 'fanout');
    declareQ('q');
    vh.bindQueue('q', 'x', '', noArgs(), A);
    vh.bindExchange('x', 'up', '', noArgs());
    expect(route('up', '')).toEqual(['q']);
    vh.deleteExchange('x', false);
    expect(vh.allBindings()).toEqual([]);
    expect(route('up', '')).toEqual([]);
    // A new exchange of the same name starts without bindings.
    declareX('x', 'fanout');
    expect(route('x', '')).toEqual([]);
  });
});

describe('queue.declare', () => {
  it('creates once; a redeclare returns the same queue', () => {
    const q = declareQ('q');
    expect(declareQ('q')).toBe(q);
    expect(vh.getQueue('q')).toBe(q);
  });

  it('an empty name gets a generated one', () => {
    const q = declareQ('');
    expect(q.name).toBe('amq.gen-test');
    expect(vh.getQueue('amq.gen-test')).toBe(q);
  });

  it('inequivalent durable (row 1) and auto_delete (row 2)', () => {
    declareQ('q', { durable: true });
    expectChannelError(
      () => declareQ('q', { durable: false }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'q' in vhost '/': received 'false' but current is 'true'",
    );
    expectChannelError(
      () => declareQ('q', { durable: true, autoDelete: true }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue 'q' in vhost '/': received 'true' but current is 'false'",
    );
  });

  it('an x-argument given now but not before (row 3), and the reverse', () => {
    declareQ('q');
    expectChannelError(
      () => declareQ('q', { arguments: new Map([['x-message-ttl', F.int(2000)]]) }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received the value '2000' of type 'signedint' but current is none",
    );
    declareQ('r', { arguments: new Map([['x-dead-letter-exchange', F.str('dlx')]]) });
    expectChannelError(
      () => declareQ('r'),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'x-dead-letter-exchange' for queue 'r' in vhost '/': received none but current is the value 'dlx' of type 'longstr'",
    );
  });

  it('an x-argument with another value names the bare values, as rabbit_misc does', () => {
    declareQ('q', { arguments: new Map([['x-message-ttl', F.int(1000)]]) });
    expectChannelError(
      () => declareQ('q', { arguments: new Map([['x-message-ttl', F.int(2000)]]) }),
      406,
      "PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'q' in vhost '/': received '2000' but current is '1000'",
    );
  });

  it('integer arguments compare by value across widths; unknown arguments are not compared', () => {
    declareQ('q', { arguments: new Map([['x-max-length', { type: 'l', value: 10 }], ['my-arg', F.str('a')]]) });
    expect(() => declareQ('q', { arguments: new Map([['x-max-length', { type: 's', value: 10 }], ['my-arg', F.str('b')]]) })).not.toThrow();
  });

  it('x-queue-type classic is equivalent to no x-queue-type', () => {
    declareQ('q');
    expect(() => declareQ('q', { arguments: new Map([['x-queue-type', F.str('classic')]]) })).not.toThrow();
    declareQ('r', { arguments: new Map([['x-queue-type', F.str('classic')]]) });
    expect(() => declareQ('r')).not.toThrow();
  });

  it('reserved amq. prefix (row 8)', () => {
    expectChannelError(() => declareQ('amq.foo'), 403, "ACCESS_REFUSED - queue name 'amq.foo' contains reserved prefix 'amq.*'");
    expect(vh.getQueue('amq.foo')).toBeUndefined();
  });

  it('a non-string x-dead-letter-exchange is refused (row 22)', () => {
    expectChannelError(
      () => declareQ('q', { arguments: new Map([['x-dead-letter-exchange', F.int(1)]]) }),
      406,
      "PRECONDITION_FAILED - invalid type 'signedint' for arg 'x-dead-letter-exchange' in queue 'q' in vhost '/'",
    );
  });

  it('passive declare of a missing queue is 404 (row 9)', () => {
    expectChannelError(() => vh.declareQueuePassive('nope', A), 404, "NOT_FOUND - no queue 'nope' in vhost '/'");
  });
});

describe('exclusive queues (row 4)', () => {
  it('another connection cannot declare, passively declare, bind, unbind, purge, delete or use it', () => {
    declareQ('ex', { exclusive: true }, A);
    declareX('x');
    vh.bindQueue('ex', 'x', 'k', noArgs(), A);
    const text = locked('ex');
    expectChannelError(() => declareQ('ex', { exclusive: true }, B), 405, text);
    expectChannelError(() => declareQ('ex', {}, B), 405, text);
    expectChannelError(() => vh.declareQueuePassive('ex', B), 405, text);
    expectChannelError(() => vh.bindQueue('ex', 'x', 'k2', noArgs(), B), 405, text);
    expectChannelError(() => vh.unbindQueue('ex', 'x', 'k', noArgs(), B), 405, text);
    expectChannelError(() => vh.purgeQueue('ex', B), 405, text);
    expectChannelError(() => vh.deleteQueue('ex', B, false, false), 405, text);
    expectChannelError(() => vh.queueForUse('ex', B), 405, text);
    // Nothing changed.
    expect(route('x', 'k')).toEqual(['ex']);
    expect(route('x', 'k2')).toEqual([]);
    expect(vh.getQueue('ex')).toBeDefined();
  });

  it('the owner may use it, but not redeclare it without the exclusive flag', () => {
    const q = declareQ('ex', { exclusive: true }, A);
    expect(declareQ('ex', { exclusive: true }, A)).toBe(q);
    expect(vh.declareQueuePassive('ex', A)).toBe(q);
    expect(vh.queueForUse('ex', A)).toBe(q);
    expectChannelError(() => declareQ('ex', { exclusive: false }, A), 405, locked('ex'));
  });

  it('a shared queue cannot be redeclared as exclusive', () => {
    declareQ('shared', {}, A);
    expectChannelError(() => declareQ('shared', { exclusive: true }, A), 405, locked('shared'));
    expectChannelError(() => declareQ('shared', { exclusive: true }, B), 405, locked('shared'));
    expect(declareQ('shared', {}, B).exclusiveOwner).toBeNull();
  });

  it('exclusivity is checked before equivalence', () => {
    declareQ('ex', { exclusive: true }, A);
    expectChannelError(() => declareQ('ex', { autoDelete: true }, B), 405, locked('ex'));
  });

  it('the durable flag is ignored: an exclusive queue is never stored', () => {
    const q = declareQ('ex', { exclusive: true, durable: true }, A);
    expect(q.durable).toBe(false);
    expect(store.loadDefinitions().queues).toEqual([]);
    // Redeclaring it the same way is equivalent.
    expect(declareQ('ex', { exclusive: true, durable: true }, A)).toBe(q);
  });

  it('removeExclusiveQueues deletes only the queues of that owner, with their bindings', () => {
    declareX('x', 'fanout');
    declareQ('a1', { exclusive: true }, A);
    declareQ('a2', { exclusive: true }, A);
    declareQ('b1', { exclusive: true }, B);
    declareQ('shared', {}, A);
    for (const q of ['a1', 'a2', 'b1', 'shared']) vh.bindQueue(q, 'x', '', noArgs(), q === 'b1' ? B : A);
    vh.removeExclusiveQueues(A);
    expect([...vh.queues.keys()].sort()).toEqual(['b1', 'shared']);
    expect(route('x', '')).toEqual(['b1', 'shared']);
    expect(deleted.sort()).toEqual(['a1', 'a2']);
  });
});

describe('queue.delete and queue.purge', () => {
  it('if-empty and if-unused texts (row 18)', () => {
    const q = declareQ('q');
    q.enqueue(message('m'));
    expectChannelError(() => vh.deleteQueue('q', A, false, true), 406, "PRECONDITION_FAILED - queue 'q' in vhost '/' not empty");
    q.addConsumer(new FakeConsumer('c', { credit: 0 }));
    expectChannelError(() => vh.deleteQueue('q', A, true, false), 406, "PRECONDITION_FAILED - queue 'q' in vhost '/' in use");
    expect(vh.getQueue('q')).toBe(q);
    expect(vh.deleteQueue('q', A, false, false)).toBe(1);
    expect(q.deleted).toBe(true);
    expect(vh.getQueue('q')).toBeUndefined();
    expect(deleted).toEqual(['q']);
  });

  it('a missing queue deletes fine and reports 0 (idempotent)', () => {
    expect(vh.deleteQueue('nope', A, true, true)).toBe(0);
    const q = declareQ('q');
    expect(vh.deleteQueue('q', A, false, false)).toBe(0);
    expect(vh.deleteQueue('q', A, false, false)).toBe(0);
    expect(deleted).toEqual(['q']);
    // removeQueue of a queue already gone is a no-op too.
    expect(vh.removeQueue(q)).toBe(0);
    expect(deleted).toEqual(['q']);
  });

  it('a deleted queue loses its bindings; a new queue of the same name starts unbound', () => {
    declareX('x');
    declareQ('q');
    vh.bindQueue('q', 'x', 'k', noArgs(), A);
    vh.deleteQueue('q', A, false, false);
    expect(vh.allBindings()).toEqual([]);
    declareQ('q');
    expect(route('x', 'k')).toEqual([]);
  });

  it('deleting a queue drops all its bindings, whether it had one or several, unbound in between or not', () => {
    declareX('x');
    declareX('y', 'fanout');
    for (const name of ['one', 'two', 'three']) declareQ(name);
    vh.bindQueue('one', 'x', 'k1', noArgs(), A);
    vh.bindQueue('two', 'x', 'k2', noArgs(), A);
    vh.bindQueue('two', 'y', '', noArgs(), A);
    for (const k of ['a', 'b', 'c']) vh.bindQueue('three', 'x', k, noArgs(), A);
    vh.unbindQueue('three', 'x', 'b', noArgs(), A);
    vh.unbindQueue('one', 'x', 'k1', noArgs(), A);
    vh.bindQueue('one', 'x', 'k1', noArgs(), A);
    expect(route('x', 'k1')).toEqual(['one']);
    expect(route('x', 'c')).toEqual(['three']);
    vh.deleteQueue('two', A, false, false);
    vh.deleteQueue('three', A, false, false);
    expect(route('y', '')).toEqual([]);
    expect(route('x', 'a')).toEqual([]);
    expect(vh.allBindings().map((b) => `${b.source.name}->${b.destination.name}:${b.routingKey}`)).toEqual(['x->one:k1']);
    vh.deleteQueue('one', A, false, false);
    expect(vh.allBindings()).toEqual([]);
  });

  it('queues declared without arguments share one empty table that refuses changes', () => {
    const a = declareQ('a');
    const b = declareQ('b');
    expect(a.arguments).toBe(b.arguments);
    expect(a.arguments.size).toBe(0);
    expect(() => a.arguments.set('x-max-length', F.long(1))).toThrow(TypeError);
    expect(b.arguments.size).toBe(0);
    const c = declareQ('c', { arguments: new Map([['x-max-length', F.long(1)]]) });
    expect(c.arguments.get('x-max-length')).toEqual(F.long(1));
    expect(c.settings.maxLength).toBe(1);
    expect(a.settings).toBe(b.settings);
  });

  it('purge returns the ready count; purge of a missing queue is 404 (row 9)', () => {
    const q = declareQ('q');
    q.enqueue(message('1'));
    q.enqueue(message('2'));
    expect(vh.purgeQueue('q', A)).toBe(2);
    expect(q.messageCount).toBe(0);
    expectChannelError(() => vh.purgeQueue('nope', A), 404, "NOT_FOUND - no queue 'nope' in vhost '/'");
  });
});

describe('bindings', () => {
  it('bind to a missing exchange or queue is 404, the exchange checked first (rows 9, 10)', () => {
    declareX('x');
    declareQ('q');
    expectChannelError(() => vh.bindQueue('q', 'nope', 'k', noArgs(), A), 404, "NOT_FOUND - no exchange 'nope' in vhost '/'");
    expectChannelError(() => vh.bindQueue('nope', 'x', 'k', noArgs(), A), 404, "NOT_FOUND - no queue 'nope' in vhost '/'");
    expectChannelError(() => vh.bindQueue('nope', 'nope', 'k', noArgs(), A), 404, "NOT_FOUND - no exchange 'nope' in vhost '/'");
    expectChannelError(() => vh.bindExchange('x', 'nope', 'k', noArgs()), 404, "NOT_FOUND - no exchange 'nope' in vhost '/'");
    expectChannelError(() => vh.bindExchange('nope', 'x', 'k', noArgs()), 404, "NOT_FOUND - no exchange 'nope' in vhost '/'");
  });

  it('binding twice is one binding', () => {
    declareX('x');
    declareQ('q');
    vh.bindQueue('q', 'x', 'k', noArgs(), A);
    vh.bindQueue('q', 'x', 'k', noArgs(), A);
    expect(vh.allBindings().length).toBe(1);
    vh.unbindQueue('q', 'x', 'k', noArgs(), A);
    expect(route('x', 'k')).toEqual([]);
  });

  it('unbind of missing bindings, queues or exchanges succeeds silently (idempotent)', () => {
    declareX('x');
    declareQ('q');
    vh.bindQueue('q', 'x', 'k', noArgs(), A);
    expect(() => vh.unbindQueue('q', 'x', 'other', noArgs(), A)).not.toThrow();
    expect(() => vh.unbindQueue('nope', 'x', 'k', noArgs(), A)).not.toThrow();
    expect(() => vh.unbindQueue('q', 'nope', 'k', noArgs(), A)).not.toThrow();
    expect(() => vh.unbindExchange('nope', 'x', 'k', noArgs())).not.toThrow();
    expect(() => vh.unbindExchange('x', 'nope', 'k', noArgs())).not.toThrow();
    vh.unbindQueue('q', 'x', 'k', noArgs(), A);
    expect(() => vh.unbindQueue('q', 'x', 'k', noArgs(), A)).not.toThrow();
    expect(vh.allBindings()).toEqual([]);
  });

  it('unbind needs the same arguments as the bind', () => {
    declareX('x');
    declareQ('q');
    vh.bindQueue('q', 'x', 'k', new Map([['a', F.int(1)]]), A);
    vh.unbindQueue('q', 'x', 'k', noArgs(), A);
    expect(route('x', 'k')).toEqual(['q']);
    vh.unbindQueue('q', 'x', 'k', new Map([['a', F.int(1)]]), A);
    expect(route('x', 'k')).toEqual([]);
  });
});

describe('auto-delete exchanges', () => {
  it('stay until their first binding, then go with their last one', () => {
    declareX('ad', 'direct', { autoDelete: true });
    declareQ('q');
    expect(vh.exchanges.has('ad')).toBe(true);
    vh.bindQueue('q', 'ad', 'k1', noArgs(), A);
    vh.bindQueue('q', 'ad', 'k2', noArgs(), A);
    vh.unbindQueue('q', 'ad', 'k1', noArgs(), A);
    expect(vh.exchanges.has('ad')).toBe(true);
    vh.unbindQueue('q', 'ad', 'k2', noArgs(), A);
    expect(vh.exchanges.has('ad')).toBe(false);
  });

  it('go when the queue holding their last binding is deleted', () => {
    declareX('ad', 'fanout', { autoDelete: true });
    declareQ('q');
    vh.bindQueue('q', 'ad', '', noArgs(), A);
    vh.deleteQueue('q', A, false, false);
    expect(vh.exchanges.has('ad')).toBe(false);
  });

  it('go when their last exchange-to-exchange binding goes', () => {
    declareX('ad', 'fanout', { autoDelete: true });
    declareX('dst', 'fanout');
    vh.bindExchange('dst', 'ad', '', noArgs());
    vh.deleteExchange('dst', false);
    expect(vh.exchanges.has('ad')).toBe(false);
  });

  it('a durable auto-delete exchange leaves the store when it goes', () => {
    declareX('ad', 'fanout', { autoDelete: true, durable: true });
    declareQ('q', { durable: true });
    vh.bindQueue('q', 'ad', '', noArgs(), A);
    expect(store.loadDefinitions().exchanges.map((e) => e.name)).toEqual(['ad']);
    expect(store.loadDefinitions().bindings.length).toBe(1);
    vh.unbindQueue('q', 'ad', '', noArgs(), A);
    expect(store.loadDefinitions().exchanges).toEqual([]);
    expect(store.loadDefinitions().bindings).toEqual([]);
  });

  it('a redeclare after it went creates a fresh one', () => {
    const first = declareX('ad', 'fanout', { autoDelete: true });
    declareQ('q');
    vh.bindQueue('q', 'ad', '', noArgs(), A);
    vh.unbindQueue('q', 'ad', '', noArgs(), A);
    const second = declareX('ad', 'fanout', { autoDelete: true });
    expect(second).not.toBe(first);
    expect(second.bindings.size).toBe(0);
  });
});

describe('exchange-to-exchange routing', () => {
  it('follows chains of exchanges to their queues', () => {
    declareX('a', 'topic');
    declareX('b', 'direct');
    declareX('c', 'fanout');
    declareQ('qb');
    declareQ('qc');
    vh.bindExchange('b', 'a', 'log.#', noArgs());
    vh.bindExchange('c', 'b', 'log.error', noArgs());
    vh.bindQueue('qb', 'b', 'log.info', noArgs(), A);
    vh.bindQueue('qc', 'c', '', noArgs(), A);
    expect(route('a', 'log.error')).toEqual(['qc']);
    expect(route('a', 'log.info')).toEqual(['qb']);
    expect(route('a', 'other')).toEqual([]);
    expect(route('b', 'log.error')).toEqual(['qc']);
  });

  it('a cycle terminates and every queue gets the message once', () => {
    declareX('x1', 'fanout');
    declareX('x2', 'fanout');
    declareX('x3', 'fanout');
    declareQ('q1');
    declareQ('q2');
    vh.bindExchange('x2', 'x1', '', noArgs());
    vh.bindExchange('x3', 'x2', '', noArgs());
    vh.bindExchange('x1', 'x3', '', noArgs());
    vh.bindExchange('x1', 'x1', '', noArgs()); // self-loop
    vh.bindQueue('q1', 'x1', '', noArgs(), A);
    vh.bindQueue('q1', 'x2', '', noArgs(), A);
    vh.bindQueue('q2', 'x3', '', noArgs(), A);
    for (const start of ['x1', 'x2', 'x3']) {
      const into = new Set<Queue>();
      vh.route(vh.exchangeForPublish(start), message(''), into);
      expect([...into].map((q) => q.name).sort()).toEqual(['q1', 'q2']);
    }
  });

  it('a diamond delivers once per queue', () => {
    declareX('top', 'fanout');
    declareX('left', 'fanout');
    declareX('right', 'fanout');
    declareQ('q');
    vh.bindExchange('left', 'top', '', noArgs());
    vh.bindExchange('right', 'top', '', noArgs());
    vh.bindQueue('q', 'left', '', noArgs(), A);
    vh.bindQueue('q', 'right', '', noArgs(), A);
    const into = new Set<Queue>();
    vh.route(vh.exchangeForPublish('top'), message(''), into);
    expect(into.size).toBe(1);
  });

  it('headers exchanges downstream see the message headers', () => {
    declareX('in', 'fanout');
    declareX('h', 'headers');
    declareQ('q');
    vh.bindExchange('h', 'in', '', noArgs());
    vh.bindQueue('q', 'h', '', new Map([['kind', F.str('a')]]), A);
    expect(route('in', '', new Map([['kind', F.str('a')]]))).toEqual(['q']);
    expect(route('in', '', new Map([['kind', F.str('b')]]))).toEqual([]);
  });

  it('routing adds to what the target set already holds', () => {
    declareX('x', 'fanout');
    const q = declareQ('q');
    const other = declareQ('other');
    vh.bindQueue('q', 'x', '', noArgs(), A);
    const into = new Set<Queue>([other]);
    vh.route(vh.exchangeForPublish('x'), message(''), into);
    expect([...into]).toEqual([other, q]);
  });
});

describe('store calls for durable objects only', () => {
  it('durable exchanges and queues are saved, transient ones are not', () => {
    declareX('dx', 'topic', { durable: true, arguments: new Map([['alternate-exchange', F.str('ae')]]) });
    declareX('tx', 'topic');
    declareQ('dq', { durable: true, autoDelete: true, arguments: new Map([['x-max-length', F.int(5)]]) });
    declareQ('tq');
    const defs = store.loadDefinitions();
    expect(defs.exchanges).toEqual([
      { vhost: '/', name: 'dx', type: 'topic', autoDelete: false, internal: false, arguments: new Map([['alternate-exchange', F.str('ae')]]) },
    ]);
    expect(defs.queues).toEqual([{ vhost: '/', name: 'dq', autoDelete: true, arguments: new Map([['x-max-length', F.int(5)]]) }]);
  });

  it('a redeclare writes nothing', () => {
    declareX('dx', 'topic', { durable: true });
    declareQ('dq', { durable: true });
    const before = store.writeSeq;
    declareX('dx', 'topic', { durable: true });
    declareQ('dq', { durable: true });
    expect(store.writeSeq).toBe(before);
  });

  it('only bindings between two durable objects are saved (amq.* exchanges count as durable)', () => {
    declareX('dx', 'direct', { durable: true });
    declareX('tx', 'direct');
    declareQ('dq', { durable: true });
    declareQ('tq');
    vh.bindQueue('dq', 'dx', 'k', noArgs(), A);
    vh.bindQueue('tq', 'dx', 'k', noArgs(), A);
    vh.bindQueue('dq', 'tx', 'k', noArgs(), A);
    vh.bindQueue('dq', 'amq.direct', 'k2', noArgs(), A);
    vh.bindExchange('dx', 'amq.fanout', '', noArgs());
    vh.bindExchange('tx', 'amq.fanout', '', noArgs());
    const saved = store
      .loadDefinitions()
      .bindings.map((b) => `${b.source}->${b.destinationKind}:${b.destination}/${b.routingKey}`)
      .sort();
    expect(saved).toEqual(['amq.direct->queue:dq/k2', 'amq.fanout->exchange:dx/', 'dx->queue:dq/k']);
  });

  it('unbind, queue delete and exchange delete remove what they stored', () => {
    declareX('dx', 'direct', { durable: true });
    declareX('dy', 'fanout', { durable: true });
    declareQ('dq', { durable: true });
    declareQ('dq2', { durable: true });
    vh.bindQueue('dq', 'dx', 'k', noArgs(), A);
    vh.bindQueue('dq2', 'dx', 'k', noArgs(), A);
    vh.bindExchange('dy', 'dx', 'k', noArgs());
    expect(store.loadDefinitions().bindings.length).toBe(3);

    vh.unbindQueue('dq', 'dx', 'k', noArgs(), A);
    expect(store.loadDefinitions().bindings.length).toBe(2);
    vh.deleteQueue('dq2', A, false, false);
    expect(store.loadDefinitions().queues.map((q) => q.name)).toEqual(['dq']);
    expect(store.loadDefinitions().bindings.map((b) => b.destination)).toEqual(['dy']);
    vh.deleteExchange('dy', false);
    const defs = store.loadDefinitions();
    expect(defs.exchanges.map((x) => x.name)).toEqual(['dx']);
    expect(defs.bindings).toEqual([]);
  });

  it('deleting a transient queue or exchange writes nothing', () => {
    declareX('tx', 'fanout');
    declareQ('tq');
    vh.bindQueue('tq', 'tx', '', noArgs(), A);
    const before = store.writeSeq;
    vh.deleteQueue('tq', A, false, false);
    vh.deleteExchange('tx', false);
    expect(store.writeSeq).toBe(before);
  });

  it('restoring from the store writes nothing back and rebuilds routing', () => {
    declareX('dx', 'topic', { durable: true });
    declareQ('dq', { durable: true });
    vh.bindQueue('dq', 'dx', 'a.#', noArgs(), A);
    const defs = store.loadDefinitions();
    const before = store.writeSeq;

    const again = new VirtualHost('/', store);
    for (const x of defs.exchanges) again.restoreExchange(x.name, x.type, { durable: true, autoDelete: x.autoDelete, internal: x.internal, arguments: x.arguments });
    for (const q of defs.queues) again.restoreQueue(q.name, q.autoDelete, q.arguments);
    for (const b of defs.bindings) again.restoreBinding(b);
    expect(store.writeSeq).toBe(before);

    const into = new Set<Queue>();
    again.route(again.exchangeForPublish('dx'), message('a.b.c'), into);
    expect([...into].map((q) => q.name)).toEqual(['dq']);
    expect(again.getQueue('dq')!.durable).toBe(true);
    // A restored binding is a real binding: unbinding it deletes it from the store.
    again.unbindQueue('dq', 'dx', 'a.#', noArgs(), A);
    expect(store.loadDefinitions().bindings).toEqual([]);
  });

  it('restoring a binding whose ends are missing is skipped', () => {
    expect(() =>
      vh.restoreBinding({ vhost: '/', source: 'nope', destination: 'q', destinationKind: 'queue', routingKey: '', arguments: noArgs() }),
    ).not.toThrow();
    expect(vh.allBindings()).toEqual([]);
  });
});

describe('errors are channel errors unless stated', () => {
  it('an unknown exchange type is the only declare error that closes the connection', () => {
    expect(caught(() => declareX('x', 'nope')).constructor.name).toBe('ConnectionError');
    expect(caught(() => declareX('amq.x')).constructor.name).toBe('ChannelError');
  });
});
