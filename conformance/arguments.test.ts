// Argument validation, the full table: every queue argument with every wrong wire type, out of
// range and unknown enum values, the order RabbitMQ checks them in, what classic and quorum queues
// refuse, plus exchange (alternate-exchange), consumer (x-priority) and message (expiration, CC/BCC)
// arguments. Texts are RabbitMQ 3.10.8's, byte for byte. Sent with the raw client so each value has
// exactly the wire type the case names (amqplib picks the type from the value), with a few amqplib
// cases on top.
//
// Deliberate differences from RabbitMQ 3.10 (the test asserts RabbitMQ's behaviour when
// `broker.external`, warren's otherwise):
//  - x-delivery-limit on a classic queue: RabbitMQ 406 "... of queue type rabbit_classic_queue";
//    warren accepts it (it works as on quorum queues).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  enc,
  failure,
  type FieldValue,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  parseClose,
  type RawClient,
  raw,
  rawConnect,
  uid,
} from './harness.js';
import { useBroker } from './shared-broker.js';
import { INTEGER_TYPES, MAX_EXPIRY_MS, rawDeclare, rawQueueDelete, typed, WRONG_TYPES } from './extensions-helpers.js';

const shared = useBroker();
let rc: RawClient;

// a raw connection per test, so that one test's surprise cannot leave the next one a broken channel
beforeEach(async () => {
  rc = await rawConnect(shared.broker);
});

afterEach(() => {
  rc?.destroy();
});

type Flags = { durable?: boolean; exclusive?: boolean; autoDelete?: boolean; passive?: boolean };

/** 'ok', or "<code> <class>/<method> <reply text>" for the channel.close the declaration caused. */
async function declare(name: string, args: Record<string, FieldValue>, flags: Flags = {}): Promise<string> {
  await rc.openChannel(1);
  const r = await rawDeclare(rc, 1, name, flags, args);
  if (!r.ok) return `${r.code} ${r.classId}/${r.methodId} ${r.text}`;
  if (!flags.passive && !flags.exclusive) await rawQueueDelete(rc, 1, r.queue);
  rc.sendMethod(1, 20, 40, Buffer.concat([enc.u16(200), enc.shortstr(''), enc.u16(0), enc.u16(0)]));
  await rc.expectMethod(1, 20, 41);
  return 'ok';
}

const bad = (text: string): string => `406 50/10 PRECONDITION_FAILED - ${text}`;
const invalidArg = (arg: string, q: string, reason: string): string => bad(`invalid arg '${arg}' for queue '${q}' in vhost '/': ${reason}`);
const notForType = (arg: string, q: string, type: string): string => bad(`invalid arg '${arg}' for queue '${q}' in vhost '/' of queue type ${type}`);

/** Runs every case (label, args, flags) and returns [label, outcome]; `expected` gets the queue name. */
async function table(
  cases: Array<[string, Record<string, FieldValue>, Flags?]>,
  expected: (label: string, q: string) => string,
): Promise<{ actual: string[][]; wanted: string[][] }> {
  const actual: string[][] = [];
  const wanted: string[][] = [];
  for (const [label, args, flags] of cases) {
    const q = uid('arg');
    actual.push([label, await declare(q, args, flags)]);
    wanted.push([label, expected(label, q)]);
  }
  return { actual, wanted };
}

const INTEGER_ARGS: Array<{ arg: string; ranges: Array<[string, FieldValue, ((q: string) => string) | 'ok']> }> = [
  {
    arg: 'x-expires',
    ranges: [
      ['1', typed.int(1), 'ok'],
      ['0', typed.int(0), (q) => invalidArg('x-expires', q, '{value_zero,0}')],
      ['-1', typed.int(-1), (q) => invalidArg('x-expires', q, '{value_negative,-1}')],
      ['2^32 (long)', typed.long(4294967296), 'ok'],
      ['max expiry', typed.long(MAX_EXPIRY_MS), 'ok'],
      ['max expiry + 1', typed.long(MAX_EXPIRY_MS + 1), (q) => invalidArg('x-expires', q, `{value_too_large,${MAX_EXPIRY_MS + 1}}`)],
      ['-2^63+1 (long)', typed.long(-9223372036854775807n), (q) => invalidArg('x-expires', q, '{value_negative,-9223372036854775807}')],
    ],
  },
  {
    arg: 'x-message-ttl',
    ranges: [
      ['0', typed.int(0), 'ok'],
      ['-1', typed.int(-1), (q) => invalidArg('x-message-ttl', q, '{value_negative,-1}')],
      ['-128 (byte)', typed.byte(-128), (q) => invalidArg('x-message-ttl', q, '{value_negative,-128}')],
      ['2^32 (long)', typed.long(4294967296), 'ok'],
      ['max expiry', typed.long(MAX_EXPIRY_MS), 'ok'],
      ['max expiry + 1', typed.long(MAX_EXPIRY_MS + 1), (q) => invalidArg('x-message-ttl', q, `{value_too_large,${MAX_EXPIRY_MS + 1}}`)],
      ['2^63-1 (long)', typed.long(9223372036854775807n), (q) => invalidArg('x-message-ttl', q, '{value_too_large,9223372036854775807}')],
    ],
  },
  {
    arg: 'x-max-length',
    ranges: [
      ['0', typed.int(0), 'ok'],
      ['-1', typed.int(-1), (q) => invalidArg('x-max-length', q, '{value_negative,-1}')],
      ['-1 (short)', typed.short(-1), (q) => invalidArg('x-max-length', q, '{value_negative,-1}')],
      ['2^40 (long)', typed.long(1099511627776), 'ok'],
    ],
  },
  {
    arg: 'x-max-length-bytes',
    ranges: [
      ['0', typed.int(0), 'ok'],
      ['-5', typed.int(-5), (q) => invalidArg('x-max-length-bytes', q, '{value_negative,-5}')],
      ['2^40 (long)', typed.long(1099511627776), 'ok'],
    ],
  },
  {
    arg: 'x-max-priority',
    ranges: [
      ['0', typed.int(0), 'ok'],
      ['1', typed.int(1), 'ok'],
      ['255', typed.int(255), 'ok'],
      ['255 (unsignedbyte)', typed.ubyte(255), 'ok'],
      ['256', typed.int(256), (q) => invalidArg('x-max-priority', q, '{max_value_exceeded,256}')],
      ['2^32 (long)', typed.long(4294967296), (q) => invalidArg('x-max-priority', q, '{max_value_exceeded,4294967296}')],
      ['-2', typed.int(-2), (q) => invalidArg('x-max-priority', q, '{value_negative,-2}')],
    ],
  },
];

describe('integer queue arguments', () => {
  for (const { arg, ranges } of INTEGER_ARGS) {
    it(`${arg}: every integer type accepted, every other type refused, range checks`, async () => {
      const expect406 = new Map<string, (q: string) => string>();
      const cases: Array<[string, Record<string, FieldValue>]> = [];
      for (const [name, v] of INTEGER_TYPES) cases.push([`5 as ${name}`, { [arg]: v }]);
      for (const [name, v] of WRONG_TYPES) {
        cases.push([`a ${name}`, { [arg]: v }]);
        expect406.set(`a ${name}`, (q) => invalidArg(arg, q, `"expected integer, got ${name}"`));
      }
      for (const [label, v, outcome] of ranges) {
        cases.push([label, { [arg]: v }]);
        if (outcome !== 'ok') expect406.set(label, outcome);
      }
      const { actual, wanted } = await table(cases, (label, q) => expect406.get(label)?.(q) ?? 'ok');
      expect(actual).toEqual(wanted);
    });
  }
});

describe('string, boolean and enum queue arguments', () => {
  const NON_STRINGS: Array<[string, FieldValue]> = [...INTEGER_TYPES, ...WRONG_TYPES.filter(([n]) => n !== 'longstr')];

  it('x-dead-letter-exchange: a longstr (any name, also empty or missing); any other type refused', async () => {
    const cases: Array<[string, Record<string, FieldValue>]> = [
      ['empty (default exchange)', { 'x-dead-letter-exchange': '' }],
      ['missing exchange', { 'x-dead-letter-exchange': uid('no-such-exchange') }],
      ...NON_STRINGS.map(([n, v]): [string, Record<string, FieldValue>] => [n, { 'x-dead-letter-exchange': v }]),
    ];
    const { actual, wanted } = await table(cases, (label, q) =>
      label.startsWith('empty') || label.startsWith('missing')
        ? 'ok'
        : bad(`invalid type '${label}' for arg 'x-dead-letter-exchange' in queue '${q}' in vhost '/'`),
    );
    expect(actual).toEqual(wanted);
  });

  it('x-dead-letter-routing-key: a longstr, and only with a dead-letter exchange', async () => {
    const cases: Array<[string, Record<string, FieldValue>]> = [
      ['with dlx', { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': 'k' }],
      ['with empty dlx', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': '' }],
      ['without dlx', { 'x-dead-letter-routing-key': 'k' }],
      ['signedint without dlx', { 'x-dead-letter-routing-key': 5 }],
      ...NON_STRINGS.map(([n, v]): [string, Record<string, FieldValue>] => [n, { 'x-dead-letter-exchange': 'dlx', 'x-dead-letter-routing-key': v }]),
    ];
    const { actual, wanted } = await table(cases, (label, q) => {
      if (label.startsWith('with ')) return 'ok';
      if (label === 'without dlx') return invalidArg('x-dead-letter-routing-key', q, 'routing_key_but_no_dlx_defined');
      if (label === 'signedint without dlx') return invalidArg('x-dead-letter-routing-key', q, '{unacceptable_type,signedint}');
      return invalidArg('x-dead-letter-routing-key', q, `{unacceptable_type,${label}}`);
    });
    expect(actual).toEqual(wanted);
  });

  it('x-overflow: drop-head, reject-publish, reject-publish-dlx (case-sensitive)', async () => {
    const cases: Array<[string, Record<string, FieldValue>]> = [
      ...['drop-head', 'reject-publish', 'reject-publish-dlx', 'Drop-Head', 'explode', ''].map(
        (v): [string, Record<string, FieldValue>] => [`'${v}'`, { 'x-overflow': v }],
      ),
      ...NON_STRINGS.map(([n, v]): [string, Record<string, FieldValue>] => [n, { 'x-overflow': v }]),
    ];
    const { actual, wanted } = await table(cases, (label, q) => {
      if (["'drop-head'", "'reject-publish'", "'reject-publish-dlx'"].includes(label)) return 'ok';
      if (label.startsWith("'")) return invalidArg('x-overflow', q, 'invalid_overflow');
      return invalidArg('x-overflow', q, `{unacceptable_type,${label}}`);
    });
    expect(actual).toEqual(wanted);
  });

  it('x-queue-mode: default and lazy accepted, anything else refused', async () => {
    const cases: Array<[string, Record<string, FieldValue>]> = [
      ...['default', 'lazy', 'Lazy', 'eager', ''].map((v): [string, Record<string, FieldValue>] => [`'${v}'`, { 'x-queue-mode': v }]),
      ...NON_STRINGS.map(([n, v]): [string, Record<string, FieldValue>] => [n, { 'x-queue-mode': v }]),
    ];
    const { actual, wanted } = await table(cases, (label, q) => {
      if (label === "'default'" || label === "'lazy'") return 'ok';
      if (label.startsWith("'")) return invalidArg('x-queue-mode', q, `"unsupported queue mode ${label}"`);
      return invalidArg('x-queue-mode', q, `{unacceptable_type,${label}}`);
    });
    expect(actual).toEqual(wanted);
  });

  it('x-single-active-consumer: a bool', async () => {
    const cases: Array<[string, Record<string, FieldValue>]> = [
      ['true', { 'x-single-active-consumer': true }],
      ['false', { 'x-single-active-consumer': false }],
      ['longstr', { 'x-single-active-consumer': 'true' }],
      ...NON_STRINGS.filter(([n]) => n !== 'bool').map(([n, v]): [string, Record<string, FieldValue>] => [n, { 'x-single-active-consumer': v }]),
    ];
    const { actual, wanted } = await table(cases, (label, q) =>
      label === 'true' || label === 'false' ? 'ok' : invalidArg('x-single-active-consumer', q, `{unacceptable_type,${label}}`),
    );
    expect(actual).toEqual(wanted);
  });

  it('x-queue-type: classic and quorum (case-sensitive); anything else refused', async () => {
    const cases: Array<[string, Record<string, FieldValue>, Flags?]> = [
      ["'classic'", { 'x-queue-type': 'classic' }],
      ["'classic' exclusive auto-delete", { 'x-queue-type': 'classic' }, { exclusive: true, autoDelete: true }],
      ["'quorum' durable", { 'x-queue-type': 'quorum' }, { durable: true }],
      ...['Classic', 'QUORUM', '', 'bogus'].map((v): [string, Record<string, FieldValue>, Flags] => [`'${v}'`, { 'x-queue-type': v }, { durable: true }]),
      ...NON_STRINGS.map(([n, v]): [string, Record<string, FieldValue>] => [n, { 'x-queue-type': v }]),
    ];
    const { actual, wanted } = await table(cases, (label, q) => {
      if (label.startsWith("'classic'") || label.startsWith("'quorum'")) return 'ok';
      if (label.startsWith("'")) return invalidArg('x-queue-type', q, `"unsupported queue type ${label}"`);
      return invalidArg('x-queue-type', q, `{unacceptable_type,${label}}`);
    });
    expect(actual).toEqual(wanted);
  });

  it('x-queue-type stream declares a stream (streams.test.ts has the rest)', async () => {
    const q = uid('arg-stream');
    const outcome = await declare(q, { 'x-queue-type': 'stream' }, { durable: true });
    expect(outcome).toBe('ok');
  });

  it('unknown arguments are ignored, whatever their type', async () => {
    const cases: Array<[string, Record<string, FieldValue>]> = [...INTEGER_TYPES, ...WRONG_TYPES].map(([n, v]) => [n, { 'x-unknown-thing': v, 'no-x-prefix': v }]);
    const { actual, wanted } = await table(cases, () => 'ok');
    expect(actual).toEqual(wanted);
  });
});

describe('order of checks', () => {
  it('the first error reported follows RabbitMQ\'s order of arguments (x-queue-type first), not the table order', async () => {
    const cases: Array<[string, Record<string, FieldValue>, Flags?]> = [
      ['max-length and message-ttl', { 'x-max-length': -1, 'x-message-ttl': -1 }],
      ['max-length and expires', { 'x-max-length': -1, 'x-expires': 0 }],
      ['max-priority and dead-letter-exchange', { 'x-max-priority': 300, 'x-dead-letter-exchange': 5 }],
      ['routing key without dlx and message-ttl', { 'x-dead-letter-routing-key': 'k', 'x-message-ttl': -1 }],
      ['queue-mode and overflow', { 'x-queue-mode': 'eager', 'x-overflow': 'explode' }],
      ['queue-type and single-active-consumer', { 'x-queue-type': 'bogus', 'x-single-active-consumer': 'yes' }],
    ];
    const texts: Record<string, (q: string) => string> = {
      'max-length and message-ttl': (q) => invalidArg('x-message-ttl', q, '{value_negative,-1}'),
      'max-length and expires': (q) => invalidArg('x-expires', q, '{value_zero,0}'),
      'max-priority and dead-letter-exchange': (q) => bad(`invalid type 'signedint' for arg 'x-dead-letter-exchange' in queue '${q}' in vhost '/'`),
      'routing key without dlx and message-ttl': (q) => invalidArg('x-message-ttl', q, '{value_negative,-1}'),
      'queue-mode and overflow': (q) => invalidArg('x-overflow', q, 'invalid_overflow'),
      // the queue type is resolved before any other argument is looked at
      'queue-type and single-active-consumer': (q) => invalidArg('x-queue-type', q, `"unsupported queue type 'bogus'"`),
    };
    const { actual, wanted } = await table(cases, (label, q) => texts[label]!(q));
    expect(actual).toEqual(wanted);
  });
});

describe('arguments classic queues refuse', () => {
  const QUORUM_OR_STREAM_ONLY = [
    'x-max-in-memory-length',
    'x-max-in-memory-bytes',
    'x-dead-letter-strategy',
    'x-quorum-initial-group-size',
    'x-initial-cluster-size',
    'x-queue-leader-locator',
    'x-max-age',
    'x-stream-max-segment-size-bytes',
  ];

  it('quorum- and stream-only arguments, whatever their value: "of queue type rabbit_classic_queue"', async () => {
    const cases: Array<[string, Record<string, FieldValue>, Flags?]> = [];
    for (const arg of QUORUM_OR_STREAM_ONLY) {
      cases.push([`${arg} = 5`, { [arg]: 5 }]);
      cases.push([`${arg} = 'x'`, { [arg]: 'x' }, { durable: true }]);
    }
    const { actual, wanted } = await table(cases, (label, q) => notForType(label.split(' ')[0]!, q, 'rabbit_classic_queue'));
    expect(actual).toEqual(wanted);
  });

  it('a value error in a classic argument is reported before a quorum-only argument', async () => {
    const { actual, wanted } = await table(
      [
        ['in-memory-length first', { 'x-max-in-memory-length': 3, 'x-message-ttl': -1 }],
        ['x-queue-type classic explicit', { 'x-queue-type': 'classic', 'x-max-age': '1D' }],
      ],
      (label, q) => (label.startsWith('in-memory') ? invalidArg('x-message-ttl', q, '{value_negative,-1}') : notForType('x-max-age', q, 'rabbit_classic_queue')),
    );
    expect(actual).toEqual(wanted);
  });

  it('x-delivery-limit (RabbitMQ: refused on classic queues; warren: accepted)', async () => {
    const q = uid('arg-dl');
    const outcome = await declare(q, { 'x-delivery-limit': 3 });
    if (shared.broker.external) expect(outcome).toBe(notForType('x-delivery-limit', q, 'rabbit_classic_queue'));
    else expect(outcome).toBe('ok');
  });
});

describe('quorum queues', () => {
  const Q = { 'x-queue-type': 'quorum' } as const;

  it('must be durable, not exclusive, not auto-delete (RabbitMQ\'s texts and precedence)', async () => {
    const cases: Array<[string, Record<string, FieldValue>, Flags]> = [
      ['non-durable', { ...Q }, {}],
      ['exclusive', { ...Q }, { durable: true, exclusive: true }],
      ['exclusive non-durable', { ...Q }, { exclusive: true }],
      ['auto-delete', { ...Q }, { durable: true, autoDelete: true }],
      ['auto-delete non-durable', { ...Q }, { autoDelete: true }],
      ['auto-delete exclusive', { ...Q }, { durable: true, exclusive: true, autoDelete: true }],
    ];
    const prop: Record<string, string> = {
      'non-durable': 'non-durable',
      exclusive: 'exclusive-owner',
      'exclusive non-durable': 'exclusive-owner',
      'auto-delete': 'auto-delete',
      'auto-delete non-durable': 'auto-delete',
      'auto-delete exclusive': 'auto-delete',
    };
    const { actual, wanted } = await table(cases, (label, q) => bad(`invalid property '${prop[label]}' for queue '${q}' in vhost '/'`));
    expect(actual).toEqual(wanted);
  });

  it('refuse classic- and stream-only arguments: first in table order, after value checks, before property checks', async () => {
    const cases: Array<[string, Record<string, FieldValue>, Flags]> = [
      ['x-max-priority', { ...Q, 'x-max-priority': 5 }, { durable: true }],
      ['x-queue-mode', { ...Q, 'x-queue-mode': 'lazy' }, { durable: true }],
      ['x-queue-mode bogus value', { ...Q, 'x-queue-mode': 'bogus' }, { durable: true }],
      ['x-max-priority wrong type', { ...Q, 'x-max-priority': 'x' }, { durable: true }],
      ['x-queue-master-locator', { ...Q, 'x-queue-master-locator': 'min-masters' }, { durable: true }],
      ['x-max-age', { ...Q, 'x-max-age': '1D' }, { durable: true }],
      ['x-initial-cluster-size', { ...Q, 'x-initial-cluster-size': 3 }, { durable: true }],
      ['x-stream-max-segment-size-bytes', { ...Q, 'x-stream-max-segment-size-bytes': 3 }, { durable: true }],
      ['queue-mode before max-priority', { ...Q, 'x-queue-mode': 'lazy', 'x-max-priority': 3 }, { durable: true }],
      ['max-priority before queue-mode', { ...Q, 'x-max-priority': 3, 'x-queue-mode': 'lazy' }, { durable: true }],
      ['value error first', { ...Q, 'x-max-priority': 5, 'x-message-ttl': -1 }, { durable: true }],
      ['before non-durable', { ...Q, 'x-max-priority': 5 }, {}],
      ['before exclusive', { ...Q, 'x-max-priority': 5 }, { exclusive: true }],
      ['value error before non-durable', { ...Q, 'x-message-ttl': -1 }, {}],
    ];
    const texts: Record<string, (q: string) => string> = {
      'queue-mode before max-priority': (q) => notForType('x-queue-mode', q, 'rabbit_quorum_queue'),
      'max-priority before queue-mode': (q) => notForType('x-max-priority', q, 'rabbit_quorum_queue'),
      'value error first': (q) => invalidArg('x-message-ttl', q, '{value_negative,-1}'),
      'value error before non-durable': (q) => invalidArg('x-message-ttl', q, '{value_negative,-1}'),
      'x-queue-mode bogus value': (q) => notForType('x-queue-mode', q, 'rabbit_quorum_queue'),
      'x-max-priority wrong type': (q) => notForType('x-max-priority', q, 'rabbit_quorum_queue'),
      'before non-durable': (q) => notForType('x-max-priority', q, 'rabbit_quorum_queue'),
      'before exclusive': (q) => notForType('x-max-priority', q, 'rabbit_quorum_queue'),
    };
    const { actual, wanted } = await table(cases, (label, q) => texts[label]?.(q) ?? notForType(label, q, 'rabbit_quorum_queue'));
    expect(actual).toEqual(wanted);
  });

  it('accept the arguments applications set on quorum queues', async () => {
    const cases: Array<[string, Record<string, FieldValue>, Flags]> = [
      ['plain', { ...Q }, { durable: true }],
      [
        'everything',
        {
          ...Q,
          'x-delivery-limit': 5,
          'x-dead-letter-exchange': 'dlx',
          'x-dead-letter-routing-key': 'k',
          'x-dead-letter-strategy': 'at-least-once',
          'x-overflow': 'reject-publish',
          'x-max-length': 100,
          'x-max-length-bytes': 100000,
          'x-message-ttl': 60000,
          'x-expires': 600000,
          'x-single-active-consumer': true,
          'x-quorum-initial-group-size': 3,
          'x-queue-leader-locator': 'client-local',
          'x-max-in-memory-length': 10,
          'x-max-in-memory-bytes': 10000,
          'x-unknown': 'ignored',
        },
        { durable: true },
      ],
      ['at-most-once, balanced, drop-head', { ...Q, 'x-dead-letter-strategy': 'at-most-once', 'x-queue-leader-locator': 'balanced', 'x-overflow': 'drop-head' }, { durable: true }],
      ['reject-publish-dlx', { ...Q, 'x-overflow': 'reject-publish-dlx' }, { durable: true }],
    ];
    const { actual, wanted } = await table(cases, () => 'ok');
    expect(actual).toEqual(wanted);
  });

  it('validate the quorum-only arguments', async () => {
    const cases: Array<[string, Record<string, FieldValue>, Flags]> = [
      ['dls bogus', { ...Q, 'x-dead-letter-strategy': 'bogus' }, { durable: true }],
      ['dls signedint', { ...Q, 'x-dead-letter-strategy': 5 }, { durable: true }],
      ['group size 0', { ...Q, 'x-quorum-initial-group-size': 0 }, { durable: true }],
      ['group size -1', { ...Q, 'x-quorum-initial-group-size': -1 }, { durable: true }],
      ['group size longstr', { ...Q, 'x-quorum-initial-group-size': 'x' }, { durable: true }],
      ['locator bogus', { ...Q, 'x-queue-leader-locator': 'bogus' }, { durable: true }],
      ['locator signedint', { ...Q, 'x-queue-leader-locator': 5 }, { durable: true }],
      ['in-memory-length -5', { ...Q, 'x-max-in-memory-length': -5 }, { durable: true }],
      ['in-memory-bytes longstr', { ...Q, 'x-max-in-memory-bytes': 'x' }, { durable: true }],
      ['overflow bogus', { ...Q, 'x-overflow': 'bogus' }, { durable: true }],
      ['sac longstr', { ...Q, 'x-single-active-consumer': 'x' }, { durable: true }],
    ];
    const texts: Record<string, (q: string) => string> = {
      'dls bogus': (q) => invalidArg('x-dead-letter-strategy', q, 'invalid_dlx_strategy'),
      'dls signedint': (q) => invalidArg('x-dead-letter-strategy', q, '{unacceptable_type,signedint}'),
      'group size 0': (q) => invalidArg('x-quorum-initial-group-size', q, '{value_zero,0}'),
      'group size -1': (q) => invalidArg('x-quorum-initial-group-size', q, '{value_negative,-1}'),
      'group size longstr': (q) => invalidArg('x-quorum-initial-group-size', q, '"expected integer, got longstr"'),
      'locator bogus': (q) => invalidArg('x-queue-leader-locator', q, 'invalid_queue_locator_arg'),
      'locator signedint': (q) => invalidArg('x-queue-leader-locator', q, '{unacceptable_type,signedint}'),
      'in-memory-length -5': (q) => invalidArg('x-max-in-memory-length', q, '{value_negative,-5}'),
      'in-memory-bytes longstr': (q) => invalidArg('x-max-in-memory-bytes', q, '"expected integer, got longstr"'),
      'overflow bogus': (q) => invalidArg('x-overflow', q, 'invalid_overflow'),
      'sac longstr': (q) => invalidArg('x-single-active-consumer', q, '{unacceptable_type,longstr}'),
    };
    const { actual, wanted } = await table(cases, (label, q) => texts[label]!(q));
    expect(actual).toEqual(wanted);
  });

  it('RabbitMQ 3.10 does not validate x-delivery-limit on quorum queues', async () => {
    const cases: Array<[string, Record<string, FieldValue>, Flags]> = [
      ['0', { ...Q, 'x-delivery-limit': 0 }, { durable: true }],
      ['long', { ...Q, 'x-delivery-limit': typed.long(1000) }, { durable: true }],
      ['longstr', { ...Q, 'x-delivery-limit': '5' }, { durable: true }],
      ['-1', { ...Q, 'x-delivery-limit': -1 }, { durable: true }],
    ];
    const { actual, wanted } = await table(cases, () => 'ok');
    expect(actual).toEqual(wanted);
  });

  it('cannot be server-named', async () => {
    await rc.openChannel(1);
    const r = await rawDeclare(rc, 1, '', { durable: true }, { ...Q });
    if (r.ok) await rawQueueDelete(rc, 1, r.queue);
    expect(r).toEqual({
      ok: false,
      code: 406,
      text: 'PRECONDITION_FAILED - Cannot declare a server-named queue for type rabbit_quorum_queue',
      classId: 50,
      methodId: 10,
    });
  });
});

describe('redeclaring with another x-queue-type', () => {
  it('classic stays classic; implicit and explicit classic are equivalent; quorum is not', async () => {
    const c = await shared.clients.channel();
    const classic = uid('qt-classic');
    await c.assertQueue(classic, { durable: true });
    await c.assertQueue(classic, { durable: true, arguments: { 'x-queue-type': 'classic' } });
    const f1 = await failure((await shared.clients.channel()).assertQueue(classic, { durable: true, arguments: { 'x-queue-type': 'quorum' } }));
    expect([f1.code, f1.replyText]).toEqual([
      406,
      `PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue '${classic}' in vhost '/': received the value 'quorum' of type 'longstr' but current is none`,
    ]);
    await c.deleteQueue(classic);

    const quorum = uid('qt-quorum');
    await c.assertQueue(quorum, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const f2 = await failure((await shared.clients.channel()).assertQueue(quorum, { durable: true }));
    expect([f2.code, f2.replyText]).toEqual([
      406,
      `PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue '${quorum}' in vhost '/': received none but current is the value 'quorum' of type 'longstr'`,
    ]);
    const f3 = await failure((await shared.clients.channel()).assertQueue(quorum, { durable: true, arguments: { 'x-queue-type': 'classic' } }));
    expect([f3.code, f3.replyText]).toEqual([
      406,
      `PRECONDITION_FAILED - inequivalent arg 'x-queue-type' for queue '${quorum}' in vhost '/': received 'classic' but current is 'quorum'`,
    ]);
    expect(await (await shared.clients.channel()).checkQueue(quorum)).toEqual({ queue: quorum, messageCount: 0, consumerCount: 0 });
    await c.deleteQueue(quorum);
  });
});

describe('through amqplib (its own value types)', () => {
  it('406 with class/method ids 50/10, the channel closed, the connection not', async () => {
    const conn = await shared.clients.connect();
    const cases: Array<[Record<string, unknown>, { durable?: boolean }, (q: string) => string]> = [
      [{ 'x-overflow': 'explode' }, {}, (q) => `PRECONDITION_FAILED - invalid arg 'x-overflow' for queue '${q}' in vhost '/': invalid_overflow`],
      [{ 'x-queue-type': 'quorum' }, { durable: false }, (q) => `PRECONDITION_FAILED - invalid property 'non-durable' for queue '${q}' in vhost '/'`],
      [{ 'x-message-ttl': 'soon' }, {}, (q) => `PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue '${q}' in vhost '/': "expected integer, got longstr"`],
      [{ 'x-max-priority': 1000 }, {}, (q) => `PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue '${q}' in vhost '/': {max_value_exceeded,1000}`],
      [{ 'x-single-active-consumer': 1 }, {}, (q) => `PRECONDITION_FAILED - invalid arg 'x-single-active-consumer' for queue '${q}' in vhost '/': {unacceptable_type,byte}`],
    ];
    for (const [args, flags, text] of cases) {
      const c = await shared.clients.channel(conn);
      const q = uid('arg-amqplib');
      const f = await failure(c.assertQueue(q, { durable: flags.durable ?? false, arguments: args }));
      expect({ code: f.code, text: f.replyText, classId: f.classId, methodId: f.methodId }).toEqual({ code: 406, text: text(q), classId: 50, methodId: 10 });
      await shared.clients.channelState(c).whenClosed;
    }
    expect(shared.clients.tracked(conn).closed).toBe(false);
    const ok = await shared.clients.channel(conn);
    const q = uid('arg-lazy');
    expect(await ok.assertQueue(q, { durable: false, arguments: { 'x-queue-mode': 'lazy' } })).toMatchObject({ queue: q });
    await ok.deleteQueue(q);
  });
});

// ---------------------------------------------------------------------------------------------
// exchange, consumer and message arguments
// ---------------------------------------------------------------------------------------------

/** 'ok' after `ok` arrives on channel 1, or the channel.close that came instead (answered). */
async function replyOn1(ok: [number, number]): Promise<string> {
  for (;;) {
    const f = await rc.nextNonHeartbeat();
    if (f.type !== FRAME_METHOD || f.channel !== 1) continue;
    if (f.classId === 20 && f.methodId === 40) {
      rc.sendMethod(1, 20, 41);
      const c = parseClose(f);
      return `${c.code} ${c.classId}/${c.methodId} ${c.text}`;
    }
    if (f.classId === ok[0] && f.methodId === ok[1]) return 'ok';
  }
}

/**
 * Sends a frame sequence on channel 1 (waiting for `reply` first if given), then basic.qos as a
 * probe: 'ok' once qos-ok came back, or the channel.close the sequence caused.
 */
async function probe(send: () => void, reply?: [number, number]): Promise<string> {
  await rc.openChannel(1);
  send();
  if (reply) {
    const r = await replyOn1(reply);
    if (r !== 'ok') return r;
  }
  rc.sendMethod(1, 60, 10, Buffer.concat([enc.u32(0), enc.u16(0), enc.bits(false)]));
  const r = await replyOn1([60, 11]);
  if (r !== 'ok') return r;
  rc.sendMethod(1, 20, 40, Buffer.concat([enc.u16(200), enc.shortstr(''), enc.u16(0), enc.u16(0)]));
  await rc.expectMethod(1, 20, 41);
  return 'ok';
}

/** basic.publish of a one-byte message with headers and/or expiration, to amq.direct (unroutable). */
function publish(headers: Record<string, FieldValue> | null, expiration?: string): void {
  let flags = 0;
  const props: Buffer[] = [];
  if (headers) {
    flags |= 1 << 13;
    props.push(enc.table(headers));
  }
  if (expiration !== undefined) {
    flags |= 1 << 8;
    props.push(enc.shortstr(expiration));
  }
  rc.sendMethod(1, 60, 40, raw.basicPublish('amq.direct', uid('nowhere')));
  rc.sendFrame(FRAME_HEADER, 1, Buffer.concat([enc.u16(60), enc.u16(0), enc.u64(1), enc.u16(flags), ...props]));
  rc.sendFrame(FRAME_BODY, 1, Buffer.from('x'));
}

describe('alternate-exchange', () => {
  it('a longstr; any other type refused with the exchange text (40/10)', async () => {
    const actual: string[][] = [];
    const wanted: string[][] = [];
    for (const [name, v] of [['longstr', 'some-ae'] as [string, FieldValue], ...INTEGER_TYPES, ...WRONG_TYPES.filter(([n]) => n !== 'longstr')]) {
      const x = uid('arg-x');
      actual.push([
        name,
        await probe(() => {
          rc.sendMethod(1, 40, 10, Buffer.concat([enc.u16(0), enc.shortstr(x), enc.shortstr('fanout'), enc.bits(false, false, true, false, false), enc.table({ 'alternate-exchange': v })]));
        }, [40, 11]),
      ]);
      wanted.push([name, name === 'longstr' ? 'ok' : `406 40/10 PRECONDITION_FAILED - invalid type '${name}' for arg 'alternate-exchange' in exchange '${x}' in vhost '/'`]);
      if (name === 'longstr') await (await shared.clients.channel()).deleteExchange(x);
    }
    expect(actual).toEqual(wanted);
  });
});

describe('consumer x-priority', () => {
  it('any integer (negative and long too); any other type refused (60/20)', async () => {
    const c = await shared.clients.channel();
    const q = uid('arg-cprio');
    await c.assertQueue(q, { durable: false });
    const consume = (v: FieldValue): void =>
      rc.sendMethod(1, 60, 20, Buffer.concat([enc.u16(0), enc.shortstr(q), enc.shortstr(''), enc.bits(false, true, false, false), enc.table({ 'x-priority': v })]));
    const values: Array<[string, FieldValue]> = [
      ...INTEGER_TYPES,
      ['negative', -5],
      ['long below int32', typed.long(-2147483649n)],
      ['long above int32', typed.long(4294967296)],
      ...WRONG_TYPES,
    ];
    const actual: string[][] = [];
    for (const [name, v] of values) actual.push([name, await probe(() => consume(v), [60, 21])]);
    const wanted = values.map(([name]) => [
      name,
      WRONG_TYPES.some(([n]) => n === name)
        ? `406 60/20 PRECONDITION_FAILED - invalid arg 'x-priority' for queue '${q}' in vhost '/': "expected integer, got ${name}"`
        : 'ok',
    ]);
    expect(actual).toEqual(wanted);
    await c.deleteQueue(q);
  });
});

describe('message properties', () => {
  it('expiration: a decimal integer of milliseconds up to ten years (60/40 otherwise)', async () => {
    const values: Array<[string, string]> = [
      ['0', 'ok'],
      ['00', 'ok'],
      ['+5', 'ok'],
      ['4294967296', 'ok'],
      [String(MAX_EXPIRY_MS), 'ok'],
      [String(MAX_EXPIRY_MS + 1), `{value_too_large,${MAX_EXPIRY_MS + 1}}`],
      ['-1', '{value_negative,-1}'],
      ['1.5', '{leftover_string,".5"}'],
      ['100 ', '{leftover_string," "}'],
      ['0x10', '{leftover_string,"x10"}'],
      [' 100', 'no_integer'],
      ['', 'no_integer'],
      ['abc', 'no_integer'],
    ];
    const actual: string[][] = [];
    for (const [e] of values) actual.push([e, await probe(() => publish(null, e))]);
    expect(actual).toEqual(values.map(([e, r]) => [e, r === 'ok' ? 'ok' : `406 60/40 PRECONDITION_FAILED - invalid expiration '${e}': ${r}`]));
  });

  it('CC and BCC: arrays (non-string entries ignored); any other type refused as an invalid message', async () => {
    const values: Array<[string, FieldValue]> = [
      ['array', ['a', 'b']],
      ['empty array', []],
      ['array of other types', [5, Buffer.from('k'), true]],
      ['longstr', 'k'],
      ['bool', true],
      ['signedint', 5],
      ['table', {}],
    ];
    const actual: string[][] = [];
    const wanted: string[][] = [];
    for (const header of ['CC', 'BCC']) {
      for (const [name, v] of values) {
        actual.push([header, name, await probe(() => publish({ [header]: v }))]);
        wanted.push([
          header,
          name,
          name.includes('array') ? 'ok' : `406 60/40 PRECONDITION_FAILED - invalid message: {unacceptable_type_in_header,"${header}",${name}}`,
        ]);
      }
    }
    expect(actual).toEqual(wanted);
  });
});
