// Headers exchange: x-match all / any / all-with-x / any-with-x, void values (presence only),
// numbers compared by value across widths, strings, missing headers, x- keys, and the 406 for
// an invalid x-match.
import { describe, expect, it } from 'vitest';
import { F, type FieldTable, type FieldValue } from '../../src/codec/field-table.js';
import { ChannelError } from '../../src/errors.js';
import { Message } from '../../src/message.js';
import { HeadersExchange } from '../../src/routing/headers.js';
import { VirtualHost } from '../../src/routing/vhost.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { bind, message, queue, routed, unbind } from '../helpers/model.js';

const t = (entries: Record<string, FieldValue>): FieldTable => new Map(Object.entries(entries));
const S = (s: string): FieldValue => ({ type: 'S', value: s });
const I = (n: number): FieldValue => ({ type: 'I', value: n });
const V: FieldValue = { type: 'V', value: null };

function headersExchange(): HeadersExchange {
  return new HeadersExchange('/', 'h', { durable: false, autoDelete: false, internal: false, arguments: new Map() });
}

/** Does a binding with `args` take a message carrying `headers` (undefined: no headers property)? */
function matches(args: FieldTable, headers: FieldTable | undefined): boolean {
  const x = headersExchange();
  bind(x, queue('q'), '', args);
  return routed(x, message('ignored', headers === undefined ? {} : { headers })).length === 1;
}

describe('x-match all (the default)', () => {
  it('needs every pair, with x-match given or not', () => {
    for (const mode of [undefined, 'all']) {
      const args = t({ a: S('1'), b: S('2'), ...(mode ? { 'x-match': S(mode) } : {}) });
      expect(matches(args, t({ a: S('1'), b: S('2') }))).toBe(true);
      expect(matches(args, t({ a: S('1'), b: S('2'), c: S('3') }))).toBe(true);
      expect(matches(args, t({ a: S('1') }))).toBe(false);
      expect(matches(args, t({ a: S('1'), b: S('X') }))).toBe(false);
      expect(matches(args, undefined)).toBe(false);
    }
  });

  it('with no pairs matches everything, even a message without headers', () => {
    expect(matches(t({}), undefined)).toBe(true);
    expect(matches(t({ 'x-match': S('all') }), t({ z: S('1') }))).toBe(true);
  });

  it('ignores the routing key', () => {
    const x = headersExchange();
    bind(x, queue('q'), 'some-key', t({ a: S('1') }));
    expect(routed(x, message('other-key', { headers: t({ a: S('1') }) }))).toEqual(['q']);
  });
});

describe('x-match any', () => {
  const args = t({ 'x-match': S('any'), a: S('1'), b: S('2') });

  it('needs one pair', () => {
    expect(matches(args, t({ a: S('1') }))).toBe(true);
    expect(matches(args, t({ b: S('2'), a: S('nope') }))).toBe(true);
    expect(matches(args, t({ a: S('nope'), b: S('nope') }))).toBe(false);
    expect(matches(args, t({ c: S('1') }))).toBe(false);
    expect(matches(args, undefined)).toBe(false);
    expect(matches(args, t({}))).toBe(false);
  });

  it('with no pairs matches nothing', () => {
    expect(matches(t({ 'x-match': S('any') }), t({ a: S('1') }))).toBe(false);
    expect(matches(t({ 'x-match': S('any') }), undefined)).toBe(false);
  });
});

describe('x- keys', () => {
  it('are ignored by all and any', () => {
    expect(matches(t({ 'x-match': S('all'), 'x-k': S('1'), a: S('1') }), t({ a: S('1') }))).toBe(true);
    // Only an x- key: nothing left to match, so `all` matches and `any` does not.
    expect(matches(t({ 'x-k': S('1') }), t({ 'x-k': S('2') }))).toBe(true);
    expect(matches(t({ 'x-match': S('any'), 'x-k': S('1') }), t({ 'x-k': S('1') }))).toBe(false);
  });

  it('take part with all-with-x and any-with-x', () => {
    const all = t({ 'x-match': S('all-with-x'), 'x-k': S('1'), a: S('1') });
    expect(matches(all, t({ a: S('1'), 'x-k': S('1') }))).toBe(true);
    expect(matches(all, t({ a: S('1') }))).toBe(false);
    expect(matches(all, t({ a: S('1'), 'x-k': S('2') }))).toBe(false);
    const any = t({ 'x-match': S('any-with-x'), 'x-k': S('1'), a: S('1') });
    expect(matches(any, t({ 'x-k': S('1') }))).toBe(true);
    expect(matches(any, t({ a: S('1') }))).toBe(true);
    expect(matches(any, t({ 'x-k': S('2'), a: S('2') }))).toBe(false);
  });

  it('x-match itself is never a pair, even with -with-x', () => {
    // The message does not carry x-match; the binding must still match.
    expect(matches(t({ 'x-match': S('all-with-x'), a: S('1') }), t({ a: S('1') }))).toBe(true);
    expect(matches(t({ 'x-match': S('any-with-x') }), t({ 'x-match': S('any-with-x') }))).toBe(false);
  });

  it('message headers starting with x- are matched normally when the binding names them', () => {
    expect(matches(t({ 'x-match': S('any-with-x'), 'x-id': I(5) }), t({ 'x-id': { type: 'l', value: 5 } }))).toBe(true);
  });
});

describe('void values ask only for presence', () => {
  it('with all', () => {
    const args = t({ a: V, b: S('2') });
    expect(matches(args, t({ a: S('anything'), b: S('2') }))).toBe(true);
    expect(matches(args, t({ a: I(0), b: S('2') }))).toBe(true);
    expect(matches(args, t({ a: V, b: S('2') }))).toBe(true);
    expect(matches(args, t({ b: S('2') }))).toBe(false);
  });

  it('with any', () => {
    const args = t({ 'x-match': S('any'), a: V });
    expect(matches(args, t({ a: F.bool(false) }))).toBe(true);
    expect(matches(args, t({ b: S('1') }))).toBe(false);
  });

  it('a void header does not equal a non-void binding value', () => {
    expect(matches(t({ a: S('') }), t({ a: V }))).toBe(false);
    expect(matches(t({ a: I(0) }), t({ a: V }))).toBe(false);
  });
});

describe('value comparison', () => {
  it('integers match across widths and signedness', () => {
    const widths: FieldValue[] = [
      { type: 'b', value: 7 },
      { type: 'B', value: 7 },
      { type: 's', value: 7 },
      { type: 'u', value: 7 },
      { type: 'I', value: 7 },
      { type: 'i', value: 7 },
      { type: 'l', value: 7 },
      { type: 'l', value: 7n },
    ];
    for (const want of widths) {
      for (const got of widths) expect(matches(t({ n: want }), t({ n: got })), `${want.type} vs ${got.type}`).toBe(true);
    }
    expect(matches(t({ n: I(7) }), t({ n: { type: 'l', value: 8 } }))).toBe(false);
    expect(matches(t({ n: { type: 'b', value: -1 } }), t({ n: { type: 'B', value: 255 } }))).toBe(false);
  });

  it('64-bit integers compare exactly (no rounding through doubles)', () => {
    const big = 2n ** 60n;
    expect(matches(t({ n: { type: 'l', value: big } }), t({ n: { type: 'l', value: big } }))).toBe(true);
    expect(matches(t({ n: { type: 'l', value: big } }), t({ n: { type: 'l', value: big + 1n } }))).toBe(false);
  });

  it('numbers never equal strings', () => {
    expect(matches(t({ n: I(1) }), t({ n: S('1') }))).toBe(false);
    expect(matches(t({ n: S('1') }), t({ n: I(1) }))).toBe(false);
  });

  it('strings compare by content; a longstr equals a byte array with the same bytes', () => {
    expect(matches(t({ s: S('abc') }), t({ s: S('abc') }))).toBe(true);
    expect(matches(t({ s: S('abc') }), t({ s: { type: 'S', value: Buffer.from('abc') } }))).toBe(true);
    expect(matches(t({ s: S('abc') }), t({ s: { type: 'x', value: Buffer.from('abc') } }))).toBe(true);
    expect(matches(t({ s: S('abc') }), t({ s: S('ABC') }))).toBe(false);
    expect(matches(t({ s: S('abc') }), t({ s: S('abcd') }))).toBe(false);
    expect(matches(t({ s: S('') }), t({ s: S('') }))).toBe(true);
  });

  it('booleans and other types compare by value', () => {
    expect(matches(t({ b: F.bool(true) }), t({ b: F.bool(true) }))).toBe(true);
    expect(matches(t({ b: F.bool(true) }), t({ b: F.bool(false) }))).toBe(false);
    expect(matches(t({ b: F.bool(true) }), t({ b: I(1) }))).toBe(false);
    const arr = F.array([S('a'), I(1)]);
    expect(matches(t({ a: arr }), t({ a: F.array([S('a'), I(1)]) }))).toBe(true);
    expect(matches(t({ a: arr }), t({ a: F.array([S('a')]) }))).toBe(false);
  });

  it('integers equal floats of the same value, as in Erlang', () => {
    expect(matches(t({ n: I(2) }), t({ n: { type: 'd', value: 2 } }))).toBe(true);
    expect(matches(t({ n: I(2) }), t({ n: { type: 'd', value: 2.5 } }))).toBe(false);
  });

  it('headers decoded from the wire bytes are matched too', () => {
    const x = headersExchange();
    bind(x, queue('q'), '', t({ 'x-match': S('all'), format: S('pdf'), type: S('report') }));
    const built = message('', { headers: t({ format: S('pdf'), type: S('report') }) });
    // A Message made from the raw header bytes decodes its properties lazily.
    const raw = new Message('h', '', built.header, built.body);
    expect(routed(x, raw)).toEqual(['q']);
  });
});

describe('several bindings', () => {
  it('each destination at most once; unbinding one leaves the others', () => {
    const x = headersExchange();
    const q1 = queue('q1');
    const q2 = queue('q2');
    bind(x, q1, '', t({ a: S('1') }));
    bind(x, q1, '', t({ b: S('1') }));
    bind(x, q2, '', t({ 'x-match': S('any'), a: S('1'), b: S('1') }));
    const both = message('', { headers: t({ a: S('1'), b: S('1') }) });
    expect(routed(x, both)).toEqual(['q1', 'q2']);
    unbind(x, q1, '', t({ a: S('1') }));
    expect(routed(x, both)).toEqual(['q1', 'q2']);
    expect(routed(x, message('', { headers: t({ a: S('1') }) }))).toEqual(['q2']);
    unbind(x, q1, '', t({ b: S('1') }));
    unbind(x, q2, '', t({ 'x-match': S('any'), a: S('1'), b: S('1') }));
    expect(routed(x, both)).toEqual([]);
  });
});

describe('invalid x-match', () => {
  const invalid = (value: FieldValue): ChannelError => {
    const x = headersExchange();
    try {
      x.validateBinding('', t({ 'x-match': value, a: S('1') }));
    } catch (e) {
      expect(e).toBeInstanceOf(ChannelError);
      return e as ChannelError;
    }
    throw new Error('expected a ChannelError');
  };

  it('an unknown mode is 406 with RabbitMQ text', () => {
    const e = invalid(S('some'));
    expect(e.replyCode).toBe(406);
    expect(e.message).toBe('PRECONDITION_FAILED - Invalid x-match field value <<"some">>; expected all, any, all-with-x, or any-with-x');
  });

  it('a non-longstr type is 406 naming the type and value', () => {
    expect(invalid({ type: 'b', value: 1 }).message).toBe('PRECONDITION_FAILED - Invalid x-match field type byte (value 1); expected longstr');
    expect(invalid(I(5)).message).toBe('PRECONDITION_FAILED - Invalid x-match field type signedint (value 5); expected longstr');
    expect(invalid({ type: 'x', value: Buffer.from('all') }).message).toBe(
      'PRECONDITION_FAILED - Invalid x-match field type binary (value <<"all">>); expected longstr',
    );
  });

  it('valid modes pass validation', () => {
    const x = headersExchange();
    for (const m of ['all', 'any', 'all-with-x', 'any-with-x']) expect(() => x.validateBinding('', t({ 'x-match': S(m) }))).not.toThrow();
    expect(() => x.validateBinding('', t({ a: S('1') }))).not.toThrow();
  });

  it('through the vhost: bind refuses it and adds no binding', () => {
    const vhost = new VirtualHost('/', new MemoryStore());
    vhost.declareExchange({ name: 'h', type: 'headers', durable: false, autoDelete: false, internal: false, arguments: new Map() });
    vhost.declareQueue({ name: 'q', durable: false, exclusive: false, autoDelete: false, arguments: new Map() }, {});
    expect(() => vhost.bindQueue('q', 'h', '', t({ 'x-match': S('none') }), {})).toThrow(
      'PRECONDITION_FAILED - Invalid x-match field value <<"none">>; expected all, any, all-with-x, or any-with-x',
    );
    expect(vhost.exchanges.get('h')!.bindings.size).toBe(0);
  });
});
