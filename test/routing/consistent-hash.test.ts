// x-consistent-hash: binding keys are weights (RabbitMQ's 406 texts for bad ones), exchange
// arguments hash-header / hash-property (and their errors), one destination per message, the
// same value always to the same binding, shares proportional to weights, and consistency:
// adding a binding moves only keys to it, removing one moves only its keys, and the choice does
// not depend on the order bindings were made in (so a restart keeps it).
import { describe, expect, it } from 'vitest';
import { F, table, type FieldTable } from '../../src/codec/field-table.js';
import type { BasicProperties } from '../../src/codec/methods.generated.js';
import type { Queue } from '../../src/queue/queue.js';
import { ConsistentHashExchange } from '../../src/routing/consistent-hash.js';
import { VirtualHost } from '../../src/routing/vhost.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { expectChannelError, expectConnectionError } from '../helpers/errors.js';
import { bind, message, queue, routed, unbind } from '../helpers/model.js';

function chx(args: FieldTable = new Map()): ConsistentHashExchange {
  return new ConsistentHashExchange('/', 'chx', { durable: false, autoDelete: false, internal: false, arguments: args });
}

/** Where each of `n` messages goes: index -> queue name. */
function placement(x: ConsistentHashExchange, n: number, props: (i: number) => BasicProperties = () => ({}), key = (i: number) => `key-${i}`): Map<number, string> {
  const out = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    const r = routed(x, message(key(i), props(i)));
    expect(r).toHaveLength(1);
    out.set(i, r[0]!);
  }
  return out;
}

function shares(p: Map<number, string>): Record<string, number> {
  const c: Record<string, number> = {};
  for (const q of p.values()) c[q] = (c[q] ?? 0) + 1;
  return c;
}

describe('bindings', () => {
  it('takes a positive integer weight as the binding key, as Erlang reads integers', () => {
    const x = chx();
    for (const k of ['1', '+5', '007', '1000']) expect(() => x.validateBinding(k, new Map())).not.toThrow();
  });

  it("refuses other keys with the plugin's texts", () => {
    const x = chx();
    for (const [k, shown] of [
      ['abc', '<<"abc">>'],
      ['', '<<>>'],
      [' 5', '<<" 5">>'],
      ['1.5', '<<"1.5">>'],
    ] as const) {
      expectChannelError(() => x.validateBinding(k, new Map()), 406, `PRECONDITION_FAILED - The binding key must be an integer: ${shown}`);
    }
    for (const k of ['0', '-1', '-0']) {
      expectChannelError(() => x.validateBinding(k, new Map()), 406, 'PRECONDITION_FAILED - The binding key must be greater than 0');
    }
  });

  it('is checked when binding through the virtual host', () => {
    const vh = new VirtualHost('/', new MemoryStore());
    vh.declareExchange({ name: 'c', type: 'x-consistent-hash', durable: false, autoDelete: false, internal: false, arguments: new Map() });
    vh.declareQueue({ name: 'q', durable: false, exclusive: false, autoDelete: false, arguments: new Map() }, {});
    expectChannelError(() => vh.bindQueue('q', 'c', 'heavy', new Map(), {}), 406, 'PRECONDITION_FAILED - The binding key must be an integer: <<"heavy">>');
    vh.bindQueue('q', 'c', '3', new Map(), {});
    const into = new Set<Queue>();
    vh.route(vh.exchangeForPublish('c'), message('anything'), into);
    expect([...into].map((q) => q.name)).toEqual(['q']);
  });
});

describe('exchange arguments', () => {
  it("refuses an unknown hash-property and both arguments together, with the plugin's texts", () => {
    expectChannelError(() => chx(table({ 'hash-property': F.str('app_id') })), 406, 'PRECONDITION_FAILED - Unsupported property: app_id');
    expectChannelError(
      () => chx(table({ 'hash-property': F.str('message_id'), 'hash-header': F.str('h') })),
      406,
      'PRECONDITION_FAILED - hash-header and hash-property are mutually exclusive',
    );
  });

  it('closes the connection with 541 for a hash-header that is not a string, as the plugin crashes', () => {
    expectConnectionError(() => chx(table({ 'hash-header': F.int(5) })), 541, 'INTERNAL_ERROR');
    expectConnectionError(() => chx(table({ 'hash-property': F.int(5) })), 541, 'INTERNAL_ERROR');
  });

  it('is a declarable exchange type', () => {
    const vh = new VirtualHost('/', new MemoryStore());
    const x = vh.declareExchange({ name: 'c', type: 'x-consistent-hash', durable: false, autoDelete: false, internal: false, arguments: new Map() });
    expect(x.type).toBe('x-consistent-hash');
  });
});

describe('routing', () => {
  it('routes nowhere without bindings, and each message to exactly one binding', () => {
    const x = chx();
    expect(routed(x, message('k'))).toEqual([]);
    for (const q of ['a', 'b', 'c']) bind(x, queue(q), '1');
    placement(x, 200);
  });

  it('sends a key to the same queue every time', () => {
    const x = chx();
    for (const q of ['a', 'b', 'c', 'd']) bind(x, queue(q), '1');
    expect(placement(x, 500)).toEqual(placement(x, 500));
  });

  it('shares keys in proportion to the weights', () => {
    const x = chx();
    bind(x, queue('w1'), '1');
    bind(x, queue('w2'), '2');
    bind(x, queue('w3'), '3');
    const s = shares(placement(x, 12000));
    expect(s['w1']! / 2000).toBeGreaterThan(0.85);
    expect(s['w1']! / 2000).toBeLessThan(1.15);
    expect(s['w2']! / 4000).toBeGreaterThan(0.9);
    expect(s['w2']! / 4000).toBeLessThan(1.1);
    expect(s['w3']! / 6000).toBeGreaterThan(0.9);
    expect(s['w3']! / 6000).toBeLessThan(1.1);
  });

  it('adding a binding moves only a share of keys, all of them to the new binding', () => {
    const x = chx();
    for (const q of ['a', 'b', 'c']) bind(x, queue(q), '1');
    const before = placement(x, 4000);
    bind(x, queue('d'), '1');
    const after = placement(x, 4000);
    let moved = 0;
    for (const [k, q] of before) {
      if (after.get(k) === q) continue;
      moved++;
      expect(after.get(k)).toBe('d');
    }
    expect(moved / 4000).toBeGreaterThan(0.2);
    expect(moved / 4000).toBeLessThan(0.3);
  });

  it('removing a binding moves only its own keys, and the choice ignores binding order', () => {
    const qs = ['a', 'b', 'c', 'd'].map((n) => queue(n));
    const x = chx();
    for (const q of qs) bind(x, q, '2');
    const before = placement(x, 3000);
    unbind(x, qs[1]!, '2');
    const after = placement(x, 3000);
    for (const [k, q] of before) {
      if (q === 'b') expect(after.get(k)).not.toBe('b');
      else expect(after.get(k)).toBe(q);
    }
    // The same bindings made in another order (as a restart may restore them): same placement.
    const y = chx();
    for (const q of [qs[3]!, qs[0]!, qs[2]!]) bind(y, q, '2');
    expect(placement(y, 3000)).toEqual(after);
  });

  it('ignores CC keys: only the routing key is hashed', () => {
    const x = chx();
    for (const q of ['a', 'b', 'c', 'd', 'e']) bind(x, queue(q), '1');
    const vh = new VirtualHost('/', new MemoryStore());
    const m = message('the-key');
    m.ccKeys = ['cc-1', 'cc-2', 'cc-3', 'cc-4', 'cc-5', 'cc-6'];
    const into = new Set<ReturnType<typeof queue>>();
    vh.route(x, m, into);
    expect([...into].map((q) => q.name)).toEqual(routed(x, message('the-key')));
  });

  it('hash-header: hashes that header, whatever the routing key; messages without it go to one binding', () => {
    const x = chx(table({ 'hash-header': F.str('user') }));
    for (const q of ['a', 'b', 'c']) bind(x, queue(q), '1');
    const byHeader = placement(x, 600, (i) => ({ headers: table({ user: F.str(`u${i % 300}`) }) }), () => 'same-key');
    expect(new Set(byHeader.values()).size).toBe(3);
    // Same header value, different routing keys: same queue.
    for (let i = 0; i < 50; i++) {
      const h = { headers: table({ user: F.str(`u${i}`) }) };
      expect(routed(x, message(`rk-${i}`, h))).toEqual(routed(x, message('other', h)));
    }
    const missing = placement(x, 100, () => ({}));
    expect(new Set(missing.values()).size).toBe(1);
  });

  it('hash-property: message_id, correlation_id or timestamp', () => {
    for (const [name, props] of [
      ['message_id', (i: number): BasicProperties => ({ messageId: `m${i}` })],
      ['correlation_id', (i: number): BasicProperties => ({ correlationId: `c${i}` })],
      ['timestamp', (i: number): BasicProperties => ({ timestamp: 1_700_000_000 + i })],
    ] as const) {
      const x = chx(table({ 'hash-property': F.str(name) }));
      for (const q of ['a', 'b', 'c']) bind(x, queue(q), '1');
      const p = placement(x, 300, props, () => 'same-key');
      expect(new Set(p.values()).size).toBe(3);
      expect(routed(x, message('k1', props(7)))).toEqual(routed(x, message('k2', props(7))));
      expect(new Set(placement(x, 50, () => ({}), (i) => `k${i}`).values()).size).toBe(1);
    }
  });

  it('routes to exchanges bound to it like to queues', () => {
    const vh = new VirtualHost('/', new MemoryStore());
    vh.declareExchange({ name: 'c', type: 'x-consistent-hash', durable: false, autoDelete: false, internal: false, arguments: new Map() });
    vh.declareExchange({ name: 'f', type: 'fanout', durable: false, autoDelete: false, internal: false, arguments: new Map() });
    vh.declareQueue({ name: 'q', durable: false, exclusive: false, autoDelete: false, arguments: new Map() }, {});
    vh.bindExchange('f', 'c', '1', new Map());
    vh.bindQueue('q', 'f', '', new Map(), {});
    const into = new Set<Queue>();
    vh.route(vh.exchangeForPublish('c'), message('k'), into);
    expect([...into].map((q) => q.name)).toEqual(['q']);
  });
});
