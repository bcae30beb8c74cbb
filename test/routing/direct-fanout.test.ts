// Direct and fanout exchanges: exact keys, key-blind fan-out, several bindings per destination
// and unbinding, each destination reached once.
import { describe, expect, it } from 'vitest';
import type { FieldTable } from '../../src/codec/field-table.js';
import { DirectExchange } from '../../src/routing/direct.js';
import { DestinationCounts, type Destination } from '../../src/routing/exchange.js';
import { FanoutExchange } from '../../src/routing/fanout.js';
import { bind, message, queue, routed, unbind } from '../helpers/model.js';

const opts = { durable: false, autoDelete: false, internal: false, arguments: new Map() as FieldTable };

describe('DirectExchange', () => {
  it('routes on the exact key only', () => {
    const x = new DirectExchange('/', 'd', opts);
    bind(x, queue('q1'), 'a');
    bind(x, queue('q2'), 'a.b');
    expect(routed(x, message('a'))).toEqual(['q1']);
    expect(routed(x, message('a.b'))).toEqual(['q2']);
    expect(routed(x, message('A'))).toEqual([]);
    expect(routed(x, message('a.'))).toEqual([]);
    expect(routed(x, message('#'))).toEqual([]);
  });

  it('wildcards in a direct binding key are literal', () => {
    const x = new DirectExchange('/', 'd', opts);
    bind(x, queue('q'), '#');
    expect(routed(x, message('anything'))).toEqual([]);
    expect(routed(x, message('#'))).toEqual(['q']);
  });

  it('the empty key is a key like any other', () => {
    const x = new DirectExchange('/', 'd', opts);
    bind(x, queue('q'), '');
    expect(routed(x, message(''))).toEqual(['q']);
    expect(routed(x, message('a'))).toEqual([]);
  });

  it('many queues on one key, one queue on many keys', () => {
    const x = new DirectExchange('/', 'd', opts);
    const q1 = queue('q1');
    const q2 = queue('q2');
    bind(x, q1, 'k');
    bind(x, q2, 'k');
    bind(x, q1, 'other');
    expect(routed(x, message('k'))).toEqual(['q1', 'q2']);
    expect(routed(x, message('other'))).toEqual(['q1']);
    expect(unbind(x, q1, 'k')).toBe(true);
    expect(routed(x, message('k'))).toEqual(['q2']);
    expect(routed(x, message('other'))).toEqual(['q1']);
    expect(unbind(x, q2, 'k')).toBe(true);
    expect(routed(x, message('k'))).toEqual([]);
  });

  it('the same key bound twice with different arguments stays routed until both go', () => {
    const x = new DirectExchange('/', 'd', opts);
    const q = queue('q');
    const a1: FieldTable = new Map([['n', { type: 'I', value: 1 }]]);
    const a2: FieldTable = new Map([['n', { type: 'I', value: 2 }]]);
    expect(bind(x, q, 'k', a1)).toBe(true);
    expect(bind(x, q, 'k', a2)).toBe(true);
    expect(bind(x, q, 'k', a1)).toBe(false);
    const into = new Set<Destination>();
    x.route(message('k'), into);
    expect(into.size).toBe(1);
    unbind(x, q, 'k', a1);
    expect(routed(x, message('k'))).toEqual(['q']);
    unbind(x, q, 'k', a2);
    expect(routed(x, message('k'))).toEqual([]);
  });

  it('argument order does not make a binding different', () => {
    const x = new DirectExchange('/', 'd', opts);
    const q = queue('q');
    const ab: FieldTable = new Map([
      ['a', { type: 'I', value: 1 }],
      ['b', { type: 'S', value: 'x' }],
    ]);
    const ba: FieldTable = new Map([
      ['b', { type: 'S', value: 'x' }],
      ['a', { type: 'I', value: 1 }],
    ]);
    expect(bind(x, q, 'k', ab)).toBe(true);
    expect(bind(x, q, 'k', ba)).toBe(false);
    expect(unbind(x, q, 'k', ba)).toBe(true);
    expect(routed(x, message('k'))).toEqual([]);
  });

  it('unbinding what was never bound is a no-op', () => {
    const x = new DirectExchange('/', 'd', opts);
    const q = queue('q');
    bind(x, q, 'k');
    expect(unbind(x, q, 'nope')).toBe(false);
    expect(unbind(x, queue('other'), 'k')).toBe(false);
    expect(routed(x, message('k'))).toEqual(['q']);
  });
});

describe('FanoutExchange', () => {
  it('sends every message to every bound destination, whatever the key', () => {
    const x = new FanoutExchange('/', 'f', opts);
    bind(x, queue('q1'), '');
    bind(x, queue('q2'), 'ignored');
    for (const key of ['', 'a', 'a.b.c', '#']) expect(routed(x, message(key))).toEqual(['q1', 'q2']);
  });

  it('routes a destination bound under several keys once, until its last binding goes', () => {
    const x = new FanoutExchange('/', 'f', opts);
    const q = queue('q');
    bind(x, q, 'a');
    bind(x, q, 'b');
    const into = new Set<Destination>();
    x.route(message('z'), into);
    expect([...into]).toEqual([q]);
    unbind(x, q, 'a');
    expect(routed(x, message('z'))).toEqual(['q']);
    unbind(x, q, 'b');
    expect(routed(x, message('z'))).toEqual([]);
    expect(x.bindings.size).toBe(0);
  });

  it('with no bindings routes nowhere', () => {
    expect(routed(new FanoutExchange('/', 'f', opts), message('k'))).toEqual([]);
  });
});

describe('Exchange bookkeeping', () => {
  it('hadBindings becomes true on the first bind and stays; exchangeDestinations counts e2e bindings', () => {
    const x = new FanoutExchange('/', 'f', opts);
    const y = new FanoutExchange('/', 'g', opts);
    expect(x.hadBindings).toBe(false);
    bind(x, y, '');
    bind(x, queue('q'), '');
    expect(x.hadBindings).toBe(true);
    expect(x.exchangeDestinations).toBe(1);
    unbind(x, y, '');
    expect(x.exchangeDestinations).toBe(0);
    unbind(x, queue('q'), '');
    expect(x.hadBindings).toBe(true);
  });

  it('a queue and an exchange with the same name are different destinations', () => {
    const x = new FanoutExchange('/', 'f', opts);
    const q = queue('same');
    const y = new FanoutExchange('/', 'same', opts);
    expect(bind(x, q, '')).toBe(true);
    expect(bind(x, y, '')).toBe(true);
    expect(x.bindings.size).toBe(2);
    expect(unbind(x, y, '')).toBe(true);
    const into = new Set<Destination>();
    x.route(message(''), into);
    expect([...into]).toEqual([q]);
  });
});

describe('DestinationCounts', () => {
  // One destination is kept without a Map; these walk it into and out of the Map form.
  const names = (c: DestinationCounts): string[] => {
    const into = new Set<Destination>();
    c.addAllTo(into);
    return [...into].map((d) => d.name).sort();
  };

  it('counts one destination bound twice, then a second, then removes them in any order', () => {
    const c = new DestinationCounts();
    const [a, b] = [queue('a'), queue('b')];
    expect(c.size).toBe(0);
    expect(names(c)).toEqual([]);
    c.add(a);
    c.add(a);
    expect([c.size, names(c)]).toEqual([1, ['a']]);
    expect(c.remove(b)).toBe(false); // never added: nothing changes
    expect(c.remove(a)).toBe(false); // one of the two bindings to a is left
    expect(names(c)).toEqual(['a']);
    c.add(b);
    expect([c.size, names(c)]).toEqual([2, ['a', 'b']]);
    expect(c.remove(a)).toBe(false);
    expect([c.size, names(c)]).toEqual([1, ['b']]);
    expect(c.remove(b)).toBe(true);
    expect([c.size, names(c)]).toEqual([0, []]);
    c.add(a);
    expect(names(c)).toEqual(['a']);
  });

  it('a lone destination bound once goes with its one unbinding', () => {
    const c = new DestinationCounts();
    const a = queue('a');
    c.add(a);
    expect(c.remove(a)).toBe(true);
    expect(c.size).toBe(0);
    expect(names(c)).toEqual([]);
  });

  it('two sets never share their destinations', () => {
    const [c1, c2] = [new DestinationCounts(), new DestinationCounts()];
    c1.add(queue('a'));
    c1.add(queue('b'));
    c2.add(queue('c'));
    expect([names(c1), names(c2)]).toEqual([['a', 'b'], ['c']]);
  });
});
