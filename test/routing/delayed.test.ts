// x-delayed-message: declare errors with the plugin's texts, x-delay as the plugin reads it,
// delayed messages held and routed when due (in due order, x-delay negated, like the underlying
// type at that moment: CC keys, exchange-to-exchange bindings, alternate exchanges), deleting
// the exchange drops them, a transient exchange keeps them in memory, a durable one in the store
// with only a bounded window in memory, and a restart picks them up. Timers are faked: no test
// waits for real time.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { F, table, type FieldTable, type FieldValue } from '../../src/codec/field-table.js';
import { Message } from '../../src/message.js';
import type { Queue } from '../../src/queue/queue.js';
import { DelayedExchange, delayOf, MAX_DELAY } from '../../src/routing/delayed.js';
import { VirtualHost } from '../../src/routing/vhost.js';
import { silentLogger } from '../../src/logger.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { expectChannelError, expectConnectionError } from '../helpers/errors.js';
import { message } from '../helpers/model.js';

const T0 = 1_700_000_000_000;
const owner = { connection: 'test' };

let store: MemoryStore;
let vh: VirtualHost;
let errors: unknown[];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] });
  vi.setSystemTime(T0);
  store = new MemoryStore();
  errors = [];
  vh = new VirtualHost('/', store, { error: (err) => errors.push(err) });
});

afterEach(() => {
  vi.useRealTimers();
  expect(errors).toEqual([]);
});

function delayedArgs(type = 'direct', more: Record<string, FieldValue> = {}): FieldTable {
  return table({ 'x-delayed-type': F.str(type), ...more });
}

function declareDelayed(name: string, o: { type?: string; durable?: boolean; args?: FieldTable } = {}): DelayedExchange {
  const x = vh.declareExchange({
    name,
    type: 'x-delayed-message',
    durable: o.durable ?? true,
    autoDelete: false,
    internal: false,
    arguments: o.args ?? delayedArgs(o.type),
  });
  expect(x).toBeInstanceOf(DelayedExchange);
  return x as DelayedExchange;
}

function declareQ(name: string, v: VirtualHost = vh): Queue {
  return v.declareQueue({ name, durable: false, exclusive: false, autoDelete: false, arguments: new Map() }, owner);
}

function delayed(routingKey: string, delay: FieldValue | number | undefined, body = routingKey, more: FieldTable = new Map()): Message {
  const headers = new Map(more);
  if (delay !== undefined) headers.set('x-delay', typeof delay === 'number' ? F.int(delay) : delay);
  return message(routingKey, { deliveryMode: 2, headers }, body, 'dx');
}

/** Publishes as the channel does: route, then enqueue in every queue reached. */
function publish(exchange: string, msg: Message, v: VirtualHost = vh): string[] {
  const into = new Set<Queue>();
  v.route(v.exchangeForPublish(exchange), msg, into);
  for (const q of into) q.enqueue(msg);
  return [...into].map((q) => q.name);
}

function bodies(q: Queue): string[] {
  return q.readyEntries().map((e) => e.msg!.body.toString());
}

describe('declaring', () => {
  it("needs x-delayed-type naming an existing type, with the plugin's texts", () => {
    const d = (args: FieldTable) => () =>
      vh.declareExchange({ name: 'dx', type: 'x-delayed-message', durable: true, autoDelete: false, internal: false, arguments: args });
    const missing = "PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type";
    expectChannelError(d(new Map()), 406, missing);
    expectChannelError(d(table({ 'x-delayed-type': F.int(1) })), 406, missing);
    expectChannelError(d(delayedArgs('x-delayed-message')), 406, "PRECONDITION_FAILED - Invalid argument, 'x-delayed-message' can't be used for 'x-delayed-type'");
    expectConnectionError(d(delayedArgs('nope')), 503, "COMMAND_INVALID - unknown exchange type 'nope'");
    expect(vh.exchanges.has('dx')).toBe(false);
    expect(store.loadDefinitions().exchanges).toEqual([]);
  });

  it('takes every routing type, and checks bindings and arguments as that type does', () => {
    for (const type of ['direct', 'fanout', 'topic', 'headers', 'x-consistent-hash']) {
      expect(declareDelayed(`d-${type}`, { type }).delayedType).toBe(type);
    }
    declareQ('q');
    expectChannelError(() => vh.bindQueue('q', 'd-x-consistent-hash', 'two', new Map(), owner), 406, 'PRECONDITION_FAILED - The binding key must be an integer: <<"two">>');
    expectChannelError(
      () => vh.bindQueue('q', 'd-headers', '', table({ 'x-match': F.str('some') }), owner),
      406,
      'PRECONDITION_FAILED - Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x',
    );
    expectChannelError(
      () => declareDelayed('bad-chx', { args: delayedArgs('x-consistent-hash', { 'hash-property': F.str('app_id') }) }),
      406,
      'PRECONDITION_FAILED - Unsupported property: app_id',
    );
  });

  it('is stored as type x-delayed-message with its arguments', () => {
    declareDelayed('dx', { type: 'topic' });
    const [r] = store.loadDefinitions().exchanges;
    expect(r).toMatchObject({ name: 'dx', type: 'x-delayed-message' });
    expect(r!.arguments.get('x-delayed-type')).toEqual(F.str('topic'));
  });
});

describe('x-delay', () => {
  it('is read as the plugin reads it', () => {
    const d = (v: FieldValue | undefined): number => delayOf(delayed('k', v));
    expect(d(undefined)).toBe(0);
    expect(delayOf(message('k'))).toBe(0);
    for (const type of ['b', 'B', 's', 'u', 'I', 'i', 'l'] as const) expect(d({ type, value: 100 } as FieldValue)).toBe(100);
    expect(d({ type: 'l', value: 5000n })).toBe(5000);
    expect(d({ type: 'd', value: 250.9 })).toBe(250);
    expect(d({ type: 'f', value: 1.5 })).toBe(1);
    expect(d({ type: 'D', value: { scale: 1, value: 2505 } })).toBe(250);
    expect(d(F.str('300'))).toBe(300);
    expect(d(F.str('+30'))).toBe(30);
    for (const none of [F.str('soon'), F.str('1.5'), F.int(0), F.int(-100), F.bool(true), F.timestamp(100), { type: 'x', value: Buffer.from('300') } as FieldValue]) {
      expect(d(none)).toBe(0);
    }
    expect(d(F.long(MAX_DELAY))).toBe(MAX_DELAY);
    expect(d(F.long(MAX_DELAY + 1))).toBe(0);
  });

  it('absent, zero, negative or too large: routed at once, like the underlying type', () => {
    declareDelayed('dx');
    const q = declareQ('q');
    vh.bindQueue('q', 'dx', 'k', new Map(), owner);
    for (const d of [undefined, 0, -5]) expect(publish('dx', delayed('k', d))).toEqual(['q']);
    expect(publish('dx', delayed('k', F.long(MAX_DELAY + 1)))).toEqual(['q']);
    expect(publish('dx', delayed('other', undefined))).toEqual([]);
    expect(q.messageCount).toBe(4);
    expect(vh.lastRouteDeferred).toBe(false);
  });
});

describe('delaying', () => {
  it('holds a message until due (not unroutable meanwhile), then routes it with x-delay negated', () => {
    declareDelayed('dx');
    const q = declareQ('q');
    vh.bindQueue('q', 'dx', 'k', new Map(), owner);
    const m = delayed('k', 500, 'hello', table({ other: F.str('kept') }));
    expect(publish('dx', m)).toEqual([]);
    expect(vh.lastRouteDeferred).toBe(true);
    const x = vh.exchanges.get('dx') as DelayedExchange;
    expect(x.delayedCount).toBe(1);
    vi.advanceTimersByTime(499);
    expect(q.messageCount).toBe(0);
    vi.advanceTimersByTime(1);
    expect(bodies(q)).toEqual(['hello']);
    expect(x.delayedCount).toBe(0);
    const got = q.readyEntries()[0]!.msg!;
    expect(got.properties.headers?.get('x-delay')).toEqual({ type: 'I', value: -500 });
    expect(got.properties.headers?.get('other')).toEqual(F.str('kept'));
    expect(got.properties.deliveryMode).toBe(2);
    expect([got.exchange, got.routingKey]).toEqual(['dx', 'k']);
    expect(store.countScheduled('/', 'dx')).toBe(0);
  });

  it('waits longer than a Node timer can (up to 2^32-1 ms), x-delay then negated as a long', () => {
    declareDelayed('dx');
    const q = declareQ('q');
    vh.bindQueue('q', 'dx', 'k', new Map(), owner);
    publish('dx', delayed('k', F.long(3_000_000_000)));
    vi.advanceTimersByTime(2_999_999_999);
    expect(q.messageCount).toBe(0);
    vi.advanceTimersByTime(1);
    expect(q.readyEntries()[0]!.msg!.properties.headers?.get('x-delay')).toEqual({ type: 'l', value: -3_000_000_000 });
  });

  it('routes in due order; same due time in publish order', () => {
    declareDelayed('dx');
    const q = declareQ('q');
    vh.bindQueue('q', 'dx', 'k', new Map(), owner);
    for (const [body, d] of [['c', 300], ['a', 100], ['b1', 200], ['b2', 200], ['d', 400]] as const) publish('dx', delayed('k', d, body));
    vi.advanceTimersByTime(250);
    expect(bodies(q)).toEqual(['a', 'b1', 'b2']);
    vi.advanceTimersByTime(1000);
    expect(bodies(q)).toEqual(['a', 'b1', 'b2', 'c', 'd']);
  });

  it('routes by the bindings in place when due, not when published', () => {
    declareDelayed('dx', { type: 'topic' });
    const early = declareQ('early');
    const late = declareQ('late');
    vh.bindQueue('early', 'dx', 'a.*', new Map(), owner);
    publish('dx', delayed('a.b', 100));
    vh.unbindQueue('early', 'dx', 'a.*', new Map(), owner);
    vh.bindQueue('late', 'dx', '#', new Map(), owner);
    vi.advanceTimersByTime(100);
    expect([early.messageCount, late.messageCount]).toEqual([0, 1]);
  });

  it('keeps CC keys, follows exchange-to-exchange bindings, and uses the alternate exchange only when due', () => {
    declareDelayed('dx', { args: delayedArgs('direct', { 'alternate-exchange': F.str('ae') }) });
    vh.declareExchange({ name: 'ae', type: 'fanout', durable: false, autoDelete: false, internal: false, arguments: new Map() });
    vh.declareExchange({ name: 'fan', type: 'fanout', durable: false, autoDelete: false, internal: false, arguments: new Map() });
    const [main, cc, viaE2e, alt] = ['main', 'cc', 'via-e2e', 'alt'].map((n) => declareQ(n));
    vh.bindQueue('main', 'dx', 'k', new Map(), owner);
    vh.bindQueue('cc', 'dx', 'copy', new Map(), owner);
    vh.bindExchange('fan', 'dx', 'k', new Map());
    vh.bindQueue('via-e2e', 'fan', '', new Map(), owner);
    vh.bindQueue('alt', 'ae', '', new Map(), owner);
    const m = delayed('k', 100, 'routed');
    m.ccKeys = ['copy'];
    expect(publish('dx', m)).toEqual([]);
    // Not unroutable while waiting: the alternate exchange does not get it now.
    expect(alt!.messageCount).toBe(0);
    publish('dx', delayed('nobody', 100, 'unroutable'));
    expect(alt!.messageCount).toBe(0);
    vi.advanceTimersByTime(100);
    expect([bodies(main!), bodies(cc!), bodies(viaE2e!), bodies(alt!)]).toEqual([['routed'], ['routed'], ['routed'], ['unroutable']]);
  });

  it('delays a message reaching it through an exchange-to-exchange binding', () => {
    vh.declareExchange({ name: 'front', type: 'fanout', durable: false, autoDelete: false, internal: false, arguments: new Map() });
    declareDelayed('dx', { type: 'fanout' });
    vh.bindExchange('dx', 'front', '', new Map());
    const q = declareQ('q');
    vh.bindQueue('q', 'dx', '', new Map(), owner);
    expect(publish('front', delayed('any', 200))).toEqual([]);
    vi.advanceTimersByTime(200);
    expect(q.messageCount).toBe(1);
  });

  it('deleting the exchange drops its messages', () => {
    declareDelayed('dx');
    const q = declareQ('q');
    vh.bindQueue('q', 'dx', 'k', new Map(), owner);
    publish('dx', delayed('k', 100));
    publish('dx', delayed('k', 200));
    expect(store.countScheduled('/', 'dx')).toBe(2);
    vh.deleteExchange('dx', false);
    expect(store.countScheduled('/', 'dx')).toBe(0);
    // Declared again and bound again: the old messages stay gone.
    declareDelayed('dx');
    vh.bindQueue('q', 'dx', 'k', new Map(), owner);
    vi.advanceTimersByTime(1000);
    expect(q.messageCount).toBe(0);
  });

  it('a transient exchange keeps its messages in memory, out of the store', () => {
    declareDelayed('dx', { durable: false });
    const q = declareQ('q');
    vh.bindQueue('q', 'dx', 'k', new Map(), owner);
    const seq = store.writeSeq;
    publish('dx', delayed('k', 100));
    expect(store.writeSeq).toBe(seq);
    expect(store.countScheduled('/', 'dx')).toBe(0);
    vi.advanceTimersByTime(100);
    expect(q.messageCount).toBe(1);
  });

  it('a durable exchange writes each message to the store when scheduled (confirms wait for it)', () => {
    declareDelayed('dx');
    const seq = store.writeSeq;
    publish('dx', delayed('k', 100));
    expect(store.writeSeq).toBeGreaterThan(seq);
    expect(store.countScheduled('/', 'dx')).toBe(1);
  });

  it('keeps only a bounded window in memory; 30 000 messages due at once all arrive, in order, in chunks', () => {
    const x = declareDelayed('dx');
    const q = declareQ('q');
    vh.bindQueue('q', 'dx', 'k', new Map(), owner);
    const n = 30_000;
    // Shuffled delays between 1 and 1000 ms.
    const delays = Array.from({ length: n }, (_, i) => 1 + ((i * 7919) % 1000));
    delays.forEach((d, i) => publish('dx', delayed('k', d, `${String(d).padStart(4, '0')}-${String(i).padStart(5, '0')}`)));
    expect(x.delayedCount).toBe(n);
    expect(x.windowSize).toBeLessThanOrEqual(2 * 8192);
    // All due now: the timer fires once and routes a chunk per turn of the event loop.
    vi.setSystemTime(T0 + 1000);
    vi.advanceTimersToNextTimer();
    expect(q.messageCount).toBeGreaterThan(0);
    expect(q.messageCount).toBeLessThan(n);
    vi.runAllTimers();
    const got = bodies(q);
    expect(got).toHaveLength(n);
    expect(got).toEqual([...got].sort());
    expect(x.delayedCount).toBe(0);
    expect(store.countScheduled('/', 'dx')).toBe(0);
  });

  it('a restart (same store) routes what was stored; overdue messages right away', () => {
    declareDelayed('dx');
    declareQ('q');
    vh.bindQueue('q', 'dx', 'k', new Map(), owner);
    publish('dx', delayed('k', 1000, 'overdue'));
    publish('dx', delayed('k', 5000, 'later'));
    vh.stopScheduling();
    vi.advanceTimersByTime(2000);
    expect(vh.queues.get('q')!.messageCount).toBe(0);
    // What the broker does at start: definitions, then bindings, then scheduled messages.
    const again = new VirtualHost('/', store, { error: (err) => errors.push(err) });
    for (const r of store.loadDefinitions().exchanges) {
      again.restoreExchange(r.name, r.type, { durable: true, autoDelete: r.autoDelete, internal: r.internal, arguments: r.arguments });
    }
    const q = declareQ('q', again);
    again.bindQueue('q', 'dx', 'k', new Map(), owner);
    expect(again.restoreScheduled()).toBe(2);
    vi.advanceTimersByTime(0);
    expect(bodies(q)).toEqual(['overdue']);
    vi.advanceTimersByTime(3000);
    expect(bodies(q)).toEqual(['overdue', 'later']);
  });
});

describe('with the SQLite store (real timers)', () => {
  let dir: string;
  beforeEach(() => {
    vi.useRealTimers();
    dir = mkdtempSync(join(tmpdir(), 'warren-delayed-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function until(cond: () => boolean): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('20 000 messages: a bounded window in memory, the rest read back in due order', async () => {
    const s = SqliteStore.open(dir, silentLogger);
    const v = new VirtualHost('/', s, { error: (err) => errors.push(err) });
    const x = v.declareExchange({ name: 'dx', type: 'x-delayed-message', durable: true, autoDelete: false, internal: false, arguments: delayedArgs() }) as DelayedExchange;
    const q = declareQ('q', v);
    v.bindQueue('q', 'dx', 'k', new Map(), owner);
    const n = 20_000;
    for (let i = 0; i < n; i++) publish('dx', delayed('k', 300 + (i % 7) * 20, `m${String(i).padStart(5, '0')}`), v);
    expect(x.delayedCount).toBe(n);
    // Their places in the schedule, as stored.
    const scheduled = s.loadScheduled('/', 'dx', null, n);
    expect(scheduled).toHaveLength(n);
    const dueOf = new Map(scheduled.map((m) => [m.message.body.toString(), m.dueAt]));
    expect(x.windowSize).toBeLessThanOrEqual(2 * 8192);
    await until(() => q.messageCount === n);
    const got = bodies(q);
    expect(new Set(got).size).toBe(n);
    // In the order of the schedule.
    expect(got).toEqual(scheduled.map((m) => m.message.body.toString()));
    expect(dueOf.size).toBe(n);
    expect(x.delayedCount).toBe(0);
    await s.whenIdle();
    expect(s.countScheduled('/', 'dx')).toBe(0);
    await s.close();
  });

  it('survives a reopen of the store: due ones routed at restore, in order', async () => {
    let s = SqliteStore.open(dir, silentLogger);
    let v = new VirtualHost('/', s, { error: (err) => errors.push(err) });
    v.declareExchange({ name: 'dx', type: 'x-delayed-message', durable: true, autoDelete: false, internal: false, arguments: delayedArgs() });
    for (const [body, d] of [['second', 250], ['first', 200], ['third', 400]] as const) publish('dx', delayed('k', d, body), v);
    v.stopScheduling();
    await s.close();
    await new Promise((r) => setTimeout(r, 300));
    s = SqliteStore.open(dir, silentLogger);
    v = new VirtualHost('/', s, { error: (err) => errors.push(err) });
    for (const r of s.loadDefinitions().exchanges) {
      v.restoreExchange(r.name, r.type, { durable: true, autoDelete: r.autoDelete, internal: r.internal, arguments: r.arguments });
    }
    const q = declareQ('q', v);
    v.bindQueue('q', 'dx', 'k', new Map(), owner);
    expect(v.restoreScheduled()).toBe(3);
    await until(() => q.messageCount === 3);
    expect(bodies(q)).toEqual(['first', 'second', 'third']);
    await s.whenIdle();
    expect(s.countScheduled('/', 'dx')).toBe(0);
    await s.close();
  });
});
