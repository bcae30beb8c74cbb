// Error catalogue: every client mistake gets RabbitMQ's exact reply code, reply text and (where the
// client exposes them) class/method ids. Soft errors must close only the channel (a sibling channel
// on the same connection keeps working); hard errors must close the connection. In every case an
// unrelated connection must carry on working.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Channel, ChannelModel } from 'amqplib';
import * as amqplib from 'amqplib';
import {
  type AmqpFailure,
  body,
  enc,
  failure,
  FRAME_HEADER,
  type FieldValue,
  parseClose,
  RawClient,
  raw,
  rawConnect,
  runPika,
  sync,
  toFailure,
  uid,
  withTimeout,
} from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();
let bystander: Channel;
let bystanderQueue: string;

beforeAll(async () => {
  bystander = await shared.clients.channel();
  bystanderQueue = (await bystander.assertQueue('', { exclusive: true })).queue;
});

/** The unrelated connection opened in beforeAll still works end to end. */
async function bystanderWorks(): Promise<void> {
  const text = uid('alive');
  bystander.sendToQueue(bystanderQueue, Buffer.from(text));
  const m = await bystander.get(bystanderQueue, { noAck: true });
  expect(body(m)).toBe(text);
}

/** A brand-new connection can be opened and used. */
async function freshConnectionWorks(): Promise<void> {
  const conn = await shared.clients.connect();
  const ch = await shared.clients.channel(conn);
  await ch.assertQueue('', { exclusive: true });
  await conn.close();
}

interface Expected {
  code: number;
  text: string;
  classId?: number;
  methodId?: number;
}

/**
 * Run `op` on a fresh channel; it must fail with a channel error. Checks code/text/ids, that the
 * channel is closed, the sibling channel and the connection are not, and the bystander works.
 * `op` may return a promise that rejects (a synchronous method) or resolve and leave the error to
 * arrive asynchronously (ack, publish): then we wait for the channel 'error' event.
 */
async function expectSoftError(
  op: (ch: Channel, conn: ChannelModel) => Promise<unknown>,
  expected: Expected,
  setup?: (ch: Channel, conn: ChannelModel) => Promise<void>,
): Promise<AmqpFailure> {
  const conn = await shared.clients.connect();
  const victim = await shared.clients.channel(conn);
  const sibling = await shared.clients.channel(conn);
  if (setup) await setup(victim, conn);
  const state = shared.clients.channelState(victim);
  let f: AmqpFailure;
  try {
    await withTimeout(op(victim, conn), 10_000, 'operation');
    // The operation "succeeded" from the client's point of view (async method): wait for the close.
    await withTimeout(state.whenClosed, 10_000, 'channel close after asynchronous error');
    expect(state.errors.length).toBeGreaterThan(0);
    f = toFailure(state.errors[0]);
  } catch (err) {
    if ((err as Error).message.startsWith('timed out')) throw err;
    f = toFailure(err);
  }
  expect({ code: f.code, text: f.replyText }).toEqual({ code: expected.code, text: expected.text });
  if (expected.classId !== undefined) expect(f.classId).toBe(expected.classId);
  if (expected.methodId !== undefined) expect(f.methodId).toBe(expected.methodId);
  await withTimeout(state.whenClosed, 10_000, 'victim channel closed');
  // soft: the sibling channel on the same connection is unaffected
  await sibling.checkExchange('amq.direct');
  expect(shared.clients.tracked(conn).closed).toBe(false);
  await bystanderWorks();
  await conn.close();
  return f;
}

const CODE_NAMES: Record<number, string> = {
  403: 'ACCESS-REFUSED',
  501: 'FRAME-ERROR',
  503: 'COMMAND-INVALID',
  504: 'CHANNEL-ERROR',
  505: 'UNEXPECTED-FRAME',
  530: 'NOT-ALLOWED',
  540: 'NOT-IMPLEMENTED',
};

/** Run `op`; the server must close the whole connection with `expected`. */
async function expectHardError(op: (ch: Channel, conn: ChannelModel) => Promise<unknown>, expected: Expected): Promise<void> {
  const t = await shared.clients.connectTracked();
  const victim = await shared.clients.channel(t.model);
  const sibling = await shared.clients.channel(t.model);
  const siblingState = shared.clients.channelState(sibling);
  await withTimeout(op(victim, t.model), 10_000, 'operation').catch(() => {
    // the pending operation is rejected with "Channel ended"/"Connection closed": expected
  });
  const err = await withTimeout(t.whenClosed, 10_000, 'connection close');
  const f = toFailure(err);
  expect({ code: f.code, text: f.replyText }).toEqual({ code: expected.code, text: expected.text });
  expect(f.message).toBe(`Connection closed: ${expected.code} (${CODE_NAMES[expected.code]}) with message "${expected.text}"`);
  // hard: the sibling channel is gone too
  await withTimeout(siblingState.whenClosed, 10_000, 'sibling channel closed');
  await bystanderWorks();
  await freshConnectionWorks();
}

/** Raw peer: perform `send` after the handshake and expect connection.close with these values. */
async function expectRawConnectionClose(
  send: (c: RawClient) => Promise<void> | void,
  expected: Required<Expected>,
): Promise<void> {
  const c = await rawConnect(shared.broker);
  try {
    await c.openChannel(1);
    await send(c);
    const res = await c.waitForConnectionClose(10_000);
    expect(res.close).toEqual({
      code: expected.code,
      text: expected.text,
      classId: expected.classId,
      methodId: expected.methodId,
    });
    expect(res.socketClosed).toBe(true);
  } finally {
    c.destroy();
  }
  await bystanderWorks();
}

describe('406 PRECONDITION_FAILED: inequivalent declarations', () => {
  it('queue durable', async () => {
    const q = uid('ineq-durable');
    await expectSoftError((ch) => ch.assertQueue(q, { durable: false }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'durable' for queue '${q}' in vhost '/': received 'false' but current is 'true'`,
      classId: 50,
      methodId: 10,
    }, (ch) => ch.assertQueue(q, { durable: true }).then(() => undefined));
    await bystander.deleteQueue(q);
  });

  it('queue auto_delete', async () => {
    const q = uid('ineq-autodel');
    await expectSoftError((ch) => ch.assertQueue(q, { autoDelete: true }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'auto_delete' for queue '${q}' in vhost '/': received 'true' but current is 'false'`,
      classId: 50,
      methodId: 10,
    }, (ch) => ch.assertQueue(q, { autoDelete: false }).then(() => undefined));
    await bystander.deleteQueue(q);
  });

  it('queue x-argument added (amqplib encodes 2000 as a short)', async () => {
    const q = uid('ineq-arg');
    await expectSoftError((ch) => ch.assertQueue(q, { arguments: { 'x-message-ttl': 2000 } }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '${q}' in vhost '/': received the value '2000' of type 'short' but current is none`,
      classId: 50,
      methodId: 10,
    }, (ch) => ch.assertQueue(q).then(() => undefined));
    await bystander.deleteQueue(q);
  });

  it('queue x-argument changed', async () => {
    const q = uid('ineq-arg2');
    await expectSoftError((ch) => ch.assertQueue(q, { arguments: { 'x-max-length': 20 } }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '${q}' in vhost '/': received '20' but current is '10'`,
      classId: 50,
      methodId: 10,
    }, (ch) => ch.assertQueue(q, { arguments: { 'x-max-length': 10 } }).then(() => undefined));
    await bystander.deleteQueue(q);
  });

  it('queue x-argument added, raw: the type name follows the field-table tag (I, l, S)', async () => {
    const c = await rawConnect(shared.broker);
    try {
      const q = uid('ineq-raw');
      await c.openChannel(1);
      c.sendMethod(1, 50, 10, raw.queueDeclare(q, { autoDelete: true }));
      await c.expectMethod(1, 50, 11);
      const variants: Array<[FieldValue, string]> = [
        [2000, "the value '2000' of type 'signedint'"],
        [2000n, "the value '2000' of type 'long'"],
        ['2000', "the value '2000' of type 'longstr'"],
      ];
      let ch = 2;
      for (const [value, described] of variants) {
        await c.openChannel(ch);
        c.sendMethod(ch, 50, 10, raw.queueDeclare(q, { autoDelete: true }, { 'x-message-ttl': value }));
        expect(await c.expectChannelClose(ch)).toEqual({
          code: 406,
          text: `PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '${q}' in vhost '/': received ${described} but current is none`,
          classId: 50,
          methodId: 10,
        });
        ch++;
      }
      // channel 1 (which declared the queue) is unaffected
      c.sendMethod(1, 50, 10, raw.queueDeclare(q, { passive: true }));
      await c.expectMethod(1, 50, 11);
      c.sendMethod(1, 50, 40, Buffer.concat([enc.u16(0), enc.shortstr(q), enc.bits(false, false, false)]));
      await c.expectMethod(1, 50, 41);
    } finally {
      c.destroy();
    }
  });

  it('exchange type', async () => {
    const x = uid('ineq-type');
    await expectSoftError((ch) => ch.assertExchange(x, 'fanout', { durable: false }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'type' for exchange '${x}' in vhost '/': received 'fanout' but current is 'direct'`,
      classId: 40,
      methodId: 10,
    }, (ch) => ch.assertExchange(x, 'direct', { durable: false }).then(() => undefined));
    await bystander.deleteExchange(x);
  });

  it('exchange durable', async () => {
    const x = uid('ineq-xdurable');
    await expectSoftError((ch) => ch.assertExchange(x, 'direct', { durable: false }), {
      code: 406,
      text: `PRECONDITION_FAILED - inequivalent arg 'durable' for exchange '${x}' in vhost '/': received 'false' but current is 'true'`,
      classId: 40,
      methodId: 10,
    }, (ch) => ch.assertExchange(x, 'direct', { durable: true }).then(() => undefined));
    await bystander.deleteExchange(x);
  });
});

describe('405 RESOURCE_LOCKED', () => {
  it("declaring another connection's exclusive queue", async () => {
    const owner = await shared.clients.channel();
    const q = uid('locked');
    await owner.assertQueue(q, { exclusive: true });
    await expectSoftError((ch) => ch.assertQueue(q, { exclusive: true }), {
      code: 405,
      text: `RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.`,
      classId: 50,
      methodId: 10,
    });
  });
});

describe('403 ACCESS_REFUSED', () => {
  it('declaring an exchange named amq.*', async () => {
    await expectSoftError((ch) => ch.assertExchange('amq.foo', 'direct'), {
      code: 403,
      text: "ACCESS_REFUSED - exchange name 'amq.foo' contains reserved prefix 'amq.*'",
      classId: 40,
      methodId: 10,
    });
  });

  it('declaring a queue named amq.*', async () => {
    await expectSoftError((ch) => ch.assertQueue('amq.foo'), {
      code: 403,
      text: "ACCESS_REFUSED - queue name 'amq.foo' contains reserved prefix 'amq.*'",
      classId: 50,
      methodId: 10,
    });
  });

  const dflt = 'ACCESS_REFUSED - operation not permitted on the default exchange';
  it('binding a queue to the default exchange', async () => {
    await expectSoftError(async (ch) => {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      return ch.bindQueue(queue, '', 'k');
    }, { code: 403, text: dflt, classId: 50, methodId: 20 });
  });

  it('unbinding a queue from the default exchange', async () => {
    await expectSoftError(async (ch) => {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      return ch.unbindQueue(queue, '', queue);
    }, { code: 403, text: dflt, classId: 50, methodId: 50 });
  });

  it('deleting the default exchange', async () => {
    await expectSoftError((ch) => ch.deleteExchange(''), { code: 403, text: dflt, classId: 40, methodId: 20 });
  });

  it('declaring (even passively) the default exchange', async () => {
    await expectSoftError((ch) => ch.assertExchange('', 'direct'), { code: 403, text: dflt, classId: 40, methodId: 10 });
    await expectSoftError((ch) => ch.checkExchange(''), { code: 403, text: dflt, classId: 40, methodId: 10 });
  });

  it('exchange-to-exchange binding with the default exchange as source or destination', async () => {
    await expectSoftError((ch) => ch.bindExchange('amq.fanout', '', 'k'), { code: 403, text: dflt, classId: 40, methodId: 30 });
    await expectSoftError((ch) => ch.bindExchange('', 'amq.fanout', 'k'), { code: 403, text: dflt, classId: 40, methodId: 30 });
  });

  it('deleting an amq.* exchange', async () => {
    for (const name of ['amq.direct', 'amq.topic']) {
      await expectSoftError((ch) => ch.deleteExchange(name), {
        code: 403,
        text: `ACCESS_REFUSED - deletion of system exchange '${name}' in vhost '/' not allowed`,
        classId: 40,
        methodId: 20,
      });
    }
    await bystander.checkExchange('amq.direct');
  });

  it('publishing to an internal exchange (asynchronous: arrives as channel.close)', async () => {
    const x = uid('internal');
    await bystander.assertExchange(x, 'fanout', { internal: true, durable: false });
    await expectSoftError(async (ch) => {
      ch.publish(x, '', Buffer.from('nope'));
      await sync(ch);
    }, {
      code: 403,
      text: `ACCESS_REFUSED - cannot publish to internal exchange '${x}' in vhost '/'`,
      classId: 60,
      methodId: 40,
    });
    await bystander.deleteExchange(x);
  });

  it('consuming from a queue with an exclusive consumer, and exclusive-consuming a queue with consumers', async () => {
    const q = uid('excl-cons');
    await bystander.assertQueue(q);
    const holder = await shared.clients.channel();
    const { consumerTag } = await holder.consume(q, () => {}, { exclusive: true });
    const text = `ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`;
    await expectSoftError((ch) => ch.consume(q, () => {}), { code: 403, text, classId: 60, methodId: 20 });
    await holder.cancel(consumerTag);
    await holder.consume(q, () => {});
    await expectSoftError((ch) => ch.consume(q, () => {}, { exclusive: true }), { code: 403, text, classId: 60, methodId: 20 });
    await bystander.deleteQueue(q);
  });
});

describe('404 NOT_FOUND', () => {
  const missingQ = uid('missing-q');
  const noQueue = `NOT_FOUND - no queue '${missingQ}' in vhost '/'`;
  it('passive declare, bind, consume, get, purge of a missing queue', async () => {
    await expectSoftError((ch) => ch.checkQueue(missingQ), { code: 404, text: noQueue, classId: 50, methodId: 10 });
    await expectSoftError((ch) => ch.bindQueue(missingQ, 'amq.direct', 'k'), { code: 404, text: noQueue, classId: 50, methodId: 20 });
    await expectSoftError((ch) => ch.consume(missingQ, () => {}), { code: 404, text: noQueue, classId: 60, methodId: 20 });
    await expectSoftError((ch) => ch.get(missingQ), { code: 404, text: noQueue, classId: 60, methodId: 70 });
    await expectSoftError((ch) => ch.purgeQueue(missingQ), { code: 404, text: noQueue, classId: 50, methodId: 30 });
  });

  const missingX = uid('missing-x');
  const noExchange = `NOT_FOUND - no exchange '${missingX}' in vhost '/'`;
  it('passive declare, bind, e2e bind of a missing exchange', async () => {
    await expectSoftError((ch) => ch.checkExchange(missingX), { code: 404, text: noExchange, classId: 40, methodId: 10 });
    await expectSoftError(async (ch) => {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      return ch.bindQueue(queue, missingX, 'k');
    }, { code: 404, text: noExchange, classId: 50, methodId: 20 });
    await expectSoftError((ch) => ch.bindExchange('amq.fanout', missingX, 'k'), { code: 404, text: noExchange, classId: 40, methodId: 30 });
    await expectSoftError((ch) => ch.bindExchange(missingX, 'amq.fanout', 'k'), { code: 404, text: noExchange, classId: 40, methodId: 30 });
  });

  it('publishing to a missing exchange (asynchronous)', async () => {
    await expectSoftError(async (ch) => {
      ch.publish(missingX, 'k', Buffer.from('x'));
      await sync(ch);
    }, { code: 404, text: noExchange, classId: 60, methodId: 40 });
  });

  it('empty queue name with no queue declared on the channel', async () => {
    const text = 'NOT_FOUND - no previously declared queue';
    await expectSoftError((ch) => ch.bindQueue('', 'amq.direct', 'k'), { code: 404, text, classId: 50, methodId: 20 });
    await expectSoftError((ch) => ch.consume('', () => {}), { code: 404, text, classId: 60, methodId: 20 });
    await expectSoftError((ch) => ch.get(''), { code: 404, text, classId: 60, methodId: 70 });
    await expectSoftError((ch) => ch.purgeQueue(''), { code: 404, text, classId: 50, methodId: 30 });
    await expectSoftError((ch) => ch.deleteQueue(''), { code: 404, text, classId: 50, methodId: 40 });
  });

  it('passive declare with an empty name names the empty queue', async () => {
    await expectSoftError((ch) => ch.checkQueue(''), {
      code: 404,
      text: "NOT_FOUND - no queue '' in vhost '/'",
      classId: 50,
      methodId: 10,
    });
  });

  it('an empty queue name refers to the last queue declared on the channel', async () => {
    const ch = await shared.clients.channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue('', 'amq.direct', queue);
    ch.publish('amq.direct', queue, Buffer.from('via empty name'));
    const m = await ch.get('', { noAck: true });
    expect(body(m)).toBe('via empty name');
    expect(await ch.purgeQueue('')).toEqual({ messageCount: 0 });
    expect(await ch.deleteQueue('')).toEqual({ messageCount: 0 });
  });
});

describe('406 PRECONDITION_FAILED: acknowledgements', () => {
  it('ack of an unknown delivery tag', async () => {
    await expectSoftError(async (ch) => {
      ch.ack({ fields: { deliveryTag: 42 } } as never);
      await sync(ch);
    }, { code: 406, text: 'PRECONDITION_FAILED - unknown delivery tag 42', classId: 60, methodId: 80 });
  });

  it('double ack', async () => {
    await expectSoftError(async (ch) => {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(queue, Buffer.from('x'));
      const m = await ch.get(queue, { noAck: false });
      if (!m) throw new Error('no message');
      ch.ack(m);
      ch.ack(m);
      await sync(ch);
    }, { code: 406, text: 'PRECONDITION_FAILED - unknown delivery tag 1', classId: 60, methodId: 80 });
  });

  it('ack with tag 0 and multiple=false', async () => {
    await expectSoftError(async (ch) => {
      ch.ack({ fields: { deliveryTag: 0 } } as never, false);
      await sync(ch);
    }, { code: 406, text: 'PRECONDITION_FAILED - unknown delivery tag 0', classId: 60, methodId: 80 });
  });

  it('ack of a no-ack delivery', async () => {
    await expectSoftError(async (ch) => {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(queue, Buffer.from('x'));
      const m = await ch.get(queue, { noAck: true });
      if (!m) throw new Error('no message');
      ch.ack(m);
      await sync(ch);
    }, { code: 406, text: 'PRECONDITION_FAILED - unknown delivery tag 1', classId: 60, methodId: 80 });
  });

  it('nack and reject of unknown tags', async () => {
    await expectSoftError(async (ch) => {
      ch.nack({ fields: { deliveryTag: 7 } } as never, false, true);
      await sync(ch);
    }, { code: 406, text: 'PRECONDITION_FAILED - unknown delivery tag 7', classId: 60, methodId: 120 });
    await expectSoftError(async (ch) => {
      ch.reject({ fields: { deliveryTag: 9 } } as never, false);
      await sync(ch);
    }, { code: 406, text: 'PRECONDITION_FAILED - unknown delivery tag 9', classId: 60, methodId: 90 });
  });

  it('ack with multiple=true and tag 0 acks everything outstanding (no error)', async () => {
    const ch = await shared.clients.channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    for (let i = 0; i < 3; i++) ch.sendToQueue(queue, Buffer.from(`m${i}`));
    for (let i = 0; i < 3; i++) await ch.get(queue, { noAck: false });
    ch.ackAll();
    await sync(ch);
    await ch.close();
    const again = await shared.clients.channel();
    // an exclusive queue of this connection is gone only with the connection; the acks stuck:
    expect(shared.clients.channelState(ch).errors).toEqual([]);
    await again.checkExchange('amq.direct');
  });
});

describe('406 PRECONDITION_FAILED: delete conditions', () => {
  it('queue.delete if-empty on a queue with messages', async () => {
    const q = uid('ifempty');
    await bystander.assertQueue(q);
    bystander.sendToQueue(q, Buffer.from('x'));
    await sync(bystander);
    await expectSoftError((ch) => ch.deleteQueue(q, { ifEmpty: true }), {
      code: 406,
      text: `PRECONDITION_FAILED - queue '${q}' in vhost '/' not empty`,
      classId: 50,
      methodId: 40,
    });
    await bystander.deleteQueue(q);
  });

  it('queue.delete if-unused on a queue with a consumer', async () => {
    const q = uid('ifunused');
    await bystander.assertQueue(q);
    const holder = await shared.clients.channel();
    await holder.consume(q, () => {});
    await expectSoftError((ch) => ch.deleteQueue(q, { ifUnused: true }), {
      code: 406,
      text: `PRECONDITION_FAILED - queue '${q}' in vhost '/' in use`,
      classId: 50,
      methodId: 40,
    });
    await bystander.deleteQueue(q);
  });

  it('exchange.delete if-unused on an exchange with bindings', async () => {
    const x = uid('x-ifunused');
    await bystander.assertExchange(x, 'fanout', { durable: false });
    await bystander.bindQueue(bystanderQueue, x, '');
    await expectSoftError((ch) => ch.deleteExchange(x, { ifUnused: true }), {
      code: 406,
      text: `PRECONDITION_FAILED - exchange '${x}' in vhost '/' in use`,
      classId: 40,
      methodId: 20,
    });
    await bystander.deleteExchange(x);
  });
});

describe('406 PRECONDITION_FAILED: queue arguments and message properties', () => {
  const cases: Array<[string, Record<string, unknown>, (q: string) => string]> = [
    ['x-message-ttl negative', { 'x-message-ttl': -1 }, (q) => `PRECONDITION_FAILED - invalid arg 'x-message-ttl' for queue '${q}' in vhost '/': {value_negative,-1}`],
    ['x-expires zero', { 'x-expires': 0 }, (q) => `PRECONDITION_FAILED - invalid arg 'x-expires' for queue '${q}' in vhost '/': {value_zero,0}`],
    ['x-max-length negative', { 'x-max-length': -1 }, (q) => `PRECONDITION_FAILED - invalid arg 'x-max-length' for queue '${q}' in vhost '/': {value_negative,-1}`],
    ['x-max-priority too large', { 'x-max-priority': 300 }, (q) => `PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue '${q}' in vhost '/': {max_value_exceeded,300}`],
    ['x-max-priority wrong type', { 'x-max-priority': 'high' }, (q) => `PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue '${q}' in vhost '/': "expected integer, got longstr"`],
    ['x-overflow unknown', { 'x-overflow': 'explode' }, (q) => `PRECONDITION_FAILED - invalid arg 'x-overflow' for queue '${q}' in vhost '/': invalid_overflow`],
    ['dead-letter routing key without exchange', { 'x-dead-letter-routing-key': 'k' }, (q) => `PRECONDITION_FAILED - invalid arg 'x-dead-letter-routing-key' for queue '${q}' in vhost '/': routing_key_but_no_dlx_defined`],
    ['dead-letter exchange not a string', { 'x-dead-letter-exchange': 5 }, (q) => `PRECONDITION_FAILED - invalid type 'byte' for arg 'x-dead-letter-exchange' in queue '${q}' in vhost '/'`], // amqplib sends 5 as a byte
  ];
  for (const [name, args, text] of cases) {
    it(name, async () => {
      const q = uid('badarg');
      await expectSoftError((ch) => ch.assertQueue(q, { arguments: args }), { code: 406, text: text(q), classId: 50, methodId: 10 });
    });
  }

  it('invalid per-message expiration', async () => {
    await expectSoftError(async (ch) => {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(queue, Buffer.from('x'), { expiration: 'abc' });
      await sync(ch);
    }, { code: 406, text: "PRECONDITION_FAILED - invalid expiration 'abc': no_integer", classId: 60, methodId: 40 });
  });

  it('user_id that is not the authenticated user', async () => {
    await expectSoftError(async (ch) => {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      ch.sendToQueue(queue, Buffer.from('x'), { userId: 'someoneelse' });
      await sync(ch);
    }, {
      code: 406,
      text: "PRECONDITION_FAILED - user_id property set to 'someoneelse' but authenticated user was 'guest'",
      classId: 60,
      methodId: 40,
    });
  });

  it('user_id equal to the authenticated user is accepted and delivered', async () => {
    const ch = await shared.clients.channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('x'), { userId: 'guest' });
    const m = await ch.get(queue, { noAck: true });
    expect(m && m.properties.userId).toBe('guest');
  });
});

describe('406 PRECONDITION_FAILED: direct reply-to misuse', () => {
  it('consuming amq.rabbitmq.reply-to in ack mode', async () => {
    await expectSoftError((ch) => ch.consume('amq.rabbitmq.reply-to', () => {}, { noAck: false }), {
      code: 406,
      text: 'PRECONDITION_FAILED - reply consumer cannot acknowledge',
      classId: 60,
      methodId: 20,
    });
  });

  it('publishing with reply_to amq.rabbitmq.reply-to without consuming it first', async () => {
    await expectSoftError(async (ch) => {
      ch.sendToQueue(bystanderQueue, Buffer.from('x'), { replyTo: 'amq.rabbitmq.reply-to' });
      await sync(ch);
    }, { code: 406, text: 'PRECONDITION_FAILED - fast reply consumer does not exist', classId: 60, methodId: 40 });
  });
});

describe('transactions and confirms misuse (pika)', () => {
  it('tx.commit without tx.select: 406 on the channel only', async () => {
    const r = await runPika(shared.broker.url, 'ops', ['tx_commit_without_select']);
    expect(r.events).toContainEqual({
      event: 'channel_closed',
      code: 406,
      text: 'PRECONDITION_FAILED - channel is not transactional',
    });
    expect(r.events).toContainEqual({ event: 'connection_alive' });
    await bystanderWorks();
  });

  it('tx.rollback without tx.select', async () => {
    const r = await runPika(shared.broker.url, 'ops', ['tx_rollback_without_select']);
    expect(r.events).toContainEqual({
      event: 'channel_closed',
      code: 406,
      text: 'PRECONDITION_FAILED - channel is not transactional',
    });
  });

  it('confirm.select on a transactional channel and tx.select on a confirm channel', async () => {
    const a = await runPika(shared.broker.url, 'ops', ['tx_then_confirm']);
    expect(a.events).toContainEqual({ event: 'tx_select_ok' });
    expect(a.events).toContainEqual({
      event: 'channel_closed',
      code: 406,
      text: 'PRECONDITION_FAILED - cannot switch from tx to confirm mode',
    });
    const b = await runPika(shared.broker.url, 'ops', ['confirm_then_tx']);
    expect(b.events).toContainEqual({ event: 'confirm_ok' });
    expect(b.events).toContainEqual({
      event: 'channel_closed',
      code: 406,
      text: 'PRECONDITION_FAILED - cannot switch from confirm to tx mode',
    });
    await bystanderWorks();
  });

  it('the same with raw frames: class/method ids 85/10 and 90/10', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 90, 10); // tx.select
      await c.expectMethod(1, 90, 11);
      c.sendMethod(1, 85, 10, enc.bits(false)); // confirm.select
      expect(await c.expectChannelClose(1)).toEqual({
        code: 406,
        text: 'PRECONDITION_FAILED - cannot switch from tx to confirm mode',
        classId: 85,
        methodId: 10,
      });
      await c.openChannel(2);
      c.sendMethod(2, 85, 10, enc.bits(false));
      await c.expectMethod(2, 85, 11);
      c.sendMethod(2, 90, 10);
      expect(await c.expectChannelClose(2)).toEqual({
        code: 406,
        text: 'PRECONDITION_FAILED - cannot switch from confirm to tx mode',
        classId: 90,
        methodId: 10,
      });
      await c.openChannel(3);
      c.sendMethod(3, 90, 20); // tx.commit
      expect(await c.expectChannelClose(3)).toEqual({
        code: 406,
        text: 'PRECONDITION_FAILED - channel is not transactional',
        classId: 90,
        methodId: 20,
      });
      // channel 1 can be reopened after close-ok, the connection is fine
      await c.openChannel(1);
    } finally {
      c.destroy();
    }
  });
});

describe('hard errors: the connection is closed', () => {
  it('530 reusing a consumer tag on a channel', async () => {
    await expectHardError(async (ch) => {
      const { queue } = await ch.assertQueue('', { exclusive: true });
      await ch.consume(queue, () => {}, { consumerTag: 'ctag1' });
      await ch.consume(queue, () => {}, { consumerTag: 'ctag1' });
    }, { code: 530, text: "NOT_ALLOWED - attempt to reuse consumer tag 'ctag1'" });
  });

  it('530 reusing a consumer tag: class/method ids 60/20 (raw)', async () => {
    await expectRawConnectionClose(async (c) => {
      c.sendMethod(1, 50, 10, raw.queueDeclare('', { exclusive: true }));
      await c.expectMethod(1, 50, 11);
      const consume = Buffer.concat([enc.u16(0), enc.shortstr(''), enc.shortstr('dup'), enc.bits(false, false, false, false), enc.table({})]);
      c.sendMethod(1, 60, 20, consume);
      await c.expectMethod(1, 60, 21);
      c.sendMethod(1, 60, 20, consume);
    }, { code: 530, text: "NOT_ALLOWED - attempt to reuse consumer tag 'dup'", classId: 60, methodId: 20 });
  });

  it('503 unknown exchange type', async () => {
    await expectHardError((ch) => ch.assertExchange(uid('x'), 'x-foo'), {
      code: 503,
      text: "COMMAND_INVALID - unknown exchange type 'x-foo'",
    });
  });

  it('503 unknown exchange type: class/method ids 40/10 (raw)', async () => {
    await expectRawConnectionClose((c) => {
      c.sendMethod(1, 40, 10, Buffer.concat([enc.u16(0), enc.shortstr(uid('x')), enc.shortstr('x-no-such-type'), enc.bits(false, false, false, false, false), enc.table({})]));
    }, { code: 503, text: "COMMAND_INVALID - unknown exchange type 'x-no-such-type'", classId: 40, methodId: 10 });
  });

  it('540 immediate=true (raw)', async () => {
    await expectRawConnectionClose((c) => {
      c.sendMethod(1, 60, 40, raw.basicPublish('', 'anything', false, true));
      c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(0));
    }, { code: 540, text: 'NOT_IMPLEMENTED - immediate=true', classId: 60, methodId: 40 });
  });

  it('540 basic.qos prefetch_size != 0 (pika and raw)', async () => {
    const r = await runPika(shared.broker.url, 'ops', ['qos_prefetch_size', '1000']);
    expect(r.events).toContainEqual({ event: 'connection_closed', code: 540, text: 'NOT_IMPLEMENTED - prefetch_size!=0 (1000)' });
    await expectRawConnectionClose((c) => {
      c.sendMethod(1, 60, 10, Buffer.concat([enc.u32(4096), enc.u16(10), enc.bits(false)]));
    }, { code: 540, text: 'NOT_IMPLEMENTED - prefetch_size!=0 (4096)', classId: 60, methodId: 10 });
  });

  it('540 basic.recover requeue=false (pika and raw)', async () => {
    const r = await runPika(shared.broker.url, 'ops', ['recover_no_requeue']);
    expect(r.events).toContainEqual({ event: 'connection_closed', code: 540, text: 'NOT_IMPLEMENTED - requeue=false' });
    await expectRawConnectionClose((c) => {
      c.sendMethod(1, 60, 110, enc.bits(false));
    }, { code: 540, text: 'NOT_IMPLEMENTED - requeue=false', classId: 60, methodId: 110 });
  });

  it('540 channel.flow active=false (pika and raw); active=true is fine', async () => {
    const ok = await runPika(shared.broker.url, 'ops', ['flow_true']);
    expect(ok.events).toContainEqual({ event: 'flow_ok', active: true });
    const r = await runPika(shared.broker.url, 'ops', ['flow_false']);
    expect(r.events).toContainEqual({ event: 'connection_closed', code: 540, text: 'NOT_IMPLEMENTED - active=false' });
    await expectRawConnectionClose((c) => {
      c.sendMethod(1, 20, 20, enc.bits(false));
    }, { code: 540, text: 'NOT_IMPLEMENTED - active=false', classId: 20, methodId: 20 });
  });

  it('530 opening more channels than the negotiated channel_max (raw)', async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      await c.handshake({ channelMax: 3 });
      for (const n of [1, 2, 3]) await c.openChannel(n);
      c.sendMethod(4, 20, 10, enc.shortstr(''));
      const res = await c.waitForConnectionClose(10_000);
      expect(res.close).toEqual({
        code: 530,
        text: 'NOT_ALLOWED - number of channels opened (3) has reached the negotiated channel_max (3)',
        classId: 0,
        methodId: 0,
      });
    } finally {
      c.destroy();
    }
    await bystanderWorks();
  });

  it('channel_max counts open channels, not channel numbers', async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      await c.handshake({ channelMax: 3 });
      await c.openChannel(100);
      await c.openChannel(2000);
      c.sendMethod(2000, 50, 10, raw.queueDeclare('', { exclusive: true }));
      await c.expectMethod(2000, 50, 11);
      // closing one frees a slot
      c.sendMethod(100, 20, 40, Buffer.concat([enc.u16(200), enc.shortstr(''), enc.u16(0), enc.u16(0)]));
      await c.expectMethod(100, 20, 41);
      await c.openChannel(7);
      await c.openChannel(8);
    } finally {
      c.destroy();
    }
  });
});

describe('connection-level refusals at handshake', () => {
  it('403 wrong password (amqplib, pika)', async () => {
    const u = new URL(shared.broker.url);
    u.password = 'definitely-wrong';
    const f = await failure(amqplib.connect(u.toString()));
    expect(f.message).toBe(
      'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile."',
    );
    const r = await runPika(u.toString(), 'ops', ['connect_only']);
    expect(r.events.map((e) => e['event'])).not.toContain('connected');
    expect(r.events).toContainEqual({
      event: 'auth_error',
      text: "ConnectionClosedByBroker: (403) 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.'",
    });
    await bystanderWorks();
    await freshConnectionWorks();
  });

  it('403 wrong password (raw): connection.close 403 0/0 for a client with authentication_failure_close', async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      await c.handshake({ password: 'wrong', stopAfterStartOk: true });
      const res = await c.waitForConnectionClose(10_000);
      expect(res.close).toEqual({
        code: 403,
        text: 'ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.',
        classId: 0,
        methodId: 0,
      });
      expect(res.socketClosed).toBe(true);
    } finally {
      c.destroy();
    }
  });

  it('530 unknown vhost (amqplib, pika, raw with ids 10/40)', async () => {
    const u = new URL(shared.broker.url);
    u.pathname = '/no-such-vhost';
    // amqplib does not surface the reply text here, only that the handshake got connection.close
    const f = await failure(amqplib.connect(u.toString()));
    expect(f.message).toBe('Expected ConnectionOpenOk; got <ConnectionClose channel:0>');
    const r = await runPika(u.toString(), 'ops', ['connect_only']);
    expect(r.events.map((e) => e['event'])).not.toContain('connected');
    expect(r.events).toContainEqual({
      event: 'access_denied',
      text: "ConnectionClosedByBroker: (530) 'NOT_ALLOWED - vhost no-such-vhost not found'",
    });
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      await expect(c.handshake({ vhost: 'other-missing' })).rejects.toThrow(/expected method 10\/41/);
      const closeFrame = c.allFrames.find((fr) => fr.type === 1 && fr.classId === 10 && fr.methodId === 50);
      expect(closeFrame && parseClose(closeFrame)).toEqual({
        code: 530,
        text: 'NOT_ALLOWED - vhost other-missing not found',
        classId: 10,
        methodId: 40,
      });
    } finally {
      c.destroy();
    }
    await bystanderWorks();
  });
});
