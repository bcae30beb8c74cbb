// Publisher confirms (amqplib ConfirmChannel, raw frames) and transactions (pika, raw frames).
import { describe, expect, it } from 'vitest';
import type { Message } from 'amqplib';
import {
  enc,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  RawClient,
  type RawFrame,
  raw,
  rawConnect,
  runPika,
  sync,
  uid,
} from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

/** Expand a sequence of basic.ack/nack (tag, multiple) into the set of confirmed tags, checking no tag is confirmed twice. */
function expandConfirms(events: Array<{ deliveryTag: number; multiple: boolean }>): number[] {
  const seen: number[] = [];
  let highest = 0;
  for (const e of events) {
    if (e.multiple) {
      for (let t = highest + 1; t <= e.deliveryTag; t++) if (!seen.includes(t)) seen.push(t);
    } else {
      expect(seen).not.toContain(e.deliveryTag);
      seen.push(e.deliveryTag);
    }
    highest = Math.max(highest, e.deliveryTag);
  }
  return seen.sort((a, b) => a - b);
}

function rawPublish(c: RawClient, channel: number, exchange: string, rk: string, text: string, mandatory = false): void {
  c.sendMethod(channel, 60, 40, raw.basicPublish(exchange, rk, mandatory));
  c.sendFrame(FRAME_HEADER, channel, RawClient.contentHeader(Buffer.byteLength(text)));
  c.sendFrame(FRAME_BODY, channel, Buffer.from(text));
}

function describeFrame(f: RawFrame): string {
  if (f.type === FRAME_METHOD) return `method ${f.classId}/${f.methodId}`;
  if (f.type === FRAME_HEADER) return 'header';
  if (f.type === FRAME_BODY) return 'body';
  return `type ${f.type}`;
}

describe('publisher confirms', () => {
  it('every publish is confirmed exactly once, tags 1..N', async () => {
    const ch = await shared.clients.confirmChannel();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    const acks: Array<{ deliveryTag: number; multiple: boolean }> = [];
    const nacks: unknown[] = [];
    ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => acks.push(f));
    ch.on('nack', (f: unknown) => nacks.push(f));
    const callbacks: Array<Promise<void>> = [];
    const N = 50;
    for (let i = 0; i < N; i++) {
      callbacks.push(
        new Promise((resolve, reject) => {
          ch.sendToQueue(q, Buffer.from(`m${i}`), { persistent: i % 2 === 0 }, (err) => (err ? reject(err as Error) : resolve()));
        }),
      );
    }
    await Promise.all(callbacks);
    await ch.waitForConfirms();
    expect(nacks).toEqual([]);
    expect(expandConfirms(acks)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
    expect((await ch.checkQueue(q)).messageCount).toBe(N);
  });

  it('raw: confirm.select-ok, then basic.ack tags count publishes on the channel; multiple covers earlier tags', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 50, 10, raw.queueDeclare('', { exclusive: true }));
      const declareOk = await c.expectMethod(1, 50, 11);
      const qlen = declareOk.payload.readUInt8(4);
      const q = declareOk.payload.subarray(5, 5 + qlen).toString();
      c.sendMethod(1, 85, 10, enc.bits(false));
      await c.expectMethod(1, 85, 11);
      for (let i = 0; i < 20; i++) rawPublish(c, 1, '', q, `m${i}`);
      const acks: Array<{ deliveryTag: number; multiple: boolean }> = [];
      while (expandConfirms(acks).length < 20) {
        const f = await c.expectMethod(1, 60, 80);
        acks.push({ deliveryTag: Number(f.payload.readBigUInt64BE(4)), multiple: (f.payload.readUInt8(12) & 1) === 1 });
      }
      expect(expandConfirms(acks)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      c.destroy();
    }
  });

  it('unroutable messages are confirmed too; for mandatory ones basic.return comes before the ack', async () => {
    const ch = await shared.clients.confirmChannel();
    const order: string[] = [];
    ch.on('return', (m: Message) => order.push(`return:${m.content.toString()}`));
    const ex = uid('confirm-unroutable');
    await ch.assertExchange(ex, 'direct', { durable: false });
    await new Promise<void>((resolve, reject) =>
      ch.publish(ex, 'nowhere', Buffer.from('mandatory'), { mandatory: true }, (err) => {
        order.push(`ack:mandatory:${err ? 'nack' : 'ok'}`);
        if (err) reject(err as Error);
        else resolve();
      }),
    );
    await new Promise<void>((resolve, reject) =>
      ch.publish(ex, 'nowhere', Buffer.from('plain'), {}, (err) => {
        order.push(`ack:plain:${err ? 'nack' : 'ok'}`);
        if (err) reject(err as Error);
        else resolve();
      }),
    );
    expect(order).toEqual(['return:mandatory', 'ack:mandatory:ok', 'ack:plain:ok']);
    await ch.deleteExchange(ex);
  });

  it('raw: the frame order is basic.return, header, body, then basic.ack', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 85, 10, enc.bits(false));
      await c.expectMethod(1, 85, 11);
      rawPublish(c, 1, 'amq.direct', uid('unbound'), 'bounce', true);
      const frames: string[] = [];
      for (let i = 0; i < 4; i++) frames.push(describeFrame(await c.nextNonHeartbeat()));
      expect(frames).toEqual(['method 60/50', 'header', 'body', 'method 60/80']);
      const ret = c.allFrames.find((f) => f.classId === 60 && f.methodId === 50)!;
      const code = ret.payload.readUInt16BE(4);
      const textLen = ret.payload.readUInt8(6);
      expect([code, ret.payload.subarray(7, 7 + textLen).toString()]).toEqual([312, 'NO_ROUTE']);
    } finally {
      c.destroy();
    }
  });

  it('a queue with x-overflow=reject-publish nacks publishes that do not fit', async () => {
    const ch = await shared.clients.confirmChannel();
    const q = uid('reject-publish');
    await ch.assertQueue(q, { durable: false, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    const results: string[] = [];
    for (const text of ['fits', 'overflows']) {
      await new Promise<void>((resolve) =>
        ch.sendToQueue(q, Buffer.from(text), {}, (err) => {
          results.push(`${text}:${err ? 'nack' : 'ack'}`);
          resolve();
        }),
      );
    }
    expect(results).toEqual(['fits:ack', 'overflows:nack']);
    expect((await ch.checkQueue(q)).messageCount).toBe(1);
    await ch.deleteQueue(q);
  });

  it('confirm.select is idempotent on a confirm channel', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 85, 10, enc.bits(false));
      await c.expectMethod(1, 85, 11);
      c.sendMethod(1, 85, 10, enc.bits(false));
      await c.expectMethod(1, 85, 11);
      c.sendMethod(1, 85, 10, enc.bits(true)); // nowait: no reply
      c.sendMethod(1, 50, 10, raw.queueDeclare('', { exclusive: true }));
      await c.expectMethod(1, 50, 11);
    } finally {
      c.destroy();
    }
  });
});

describe('transactions (pika)', () => {
  it('published messages appear only on commit; the channel stays transactional', async () => {
    const r = await runPika(shared.broker.url, 'tx', ['publish_commit', uid('tx-pub')]);
    expect(r.events).toEqual([
      { event: 'tx_select_ok' },
      { event: 'before_commit', count: 0 },
      { event: 'after_commit', count: 3 },
      { event: 'uncommitted_again', count: 3 },
      { event: 'after_second_commit', count: 4 },
      { event: 'bodies', bodies: ['t0', 't1', 't2', 't3'] },
      { event: 'done' },
    ]);
  });

  it('rollback discards uncommitted publishes', async () => {
    const r = await runPika(shared.broker.url, 'tx', ['publish_rollback', uid('tx-rb')]);
    expect(r.events).toEqual([
      { event: 'after_rollback', count: 0 },
      { event: 'after_commit', count: 1 },
      { event: 'got', body: 'kept' },
      { event: 'done' },
    ]);
  });

  it('acks take effect on commit', async () => {
    const r = await runPika(shared.broker.url, 'tx', ['ack_commit', uid('tx-ack')]);
    expect(r.events).toEqual([
      { event: 'committed', ready: 1 },
      { event: 'after_close', ready: 1 },
      { event: 'done' },
    ]);
  });

  it('rolled-back acks leave the messages unacked; they are requeued (redelivered) when the channel closes', async () => {
    const r = await runPika(shared.broker.url, 'tx', ['ack_rollback', uid('tx-ackrb')]);
    expect(r.events).toEqual([
      { event: 'rolled_back', ready: 1 },
      { event: 'after_close', ready: 3 },
      {
        event: 'queue',
        messages: [
          ['m0', true],
          ['m1', true],
          ['m2', false],
        ],
      },
      { event: 'done' },
    ]);
  });

  it('reject/nack are transactional too', async () => {
    const r = await runPika(shared.broker.url, 'tx', ['reject_commit', uid('tx-rej')]);
    expect(r.events).toEqual([
      { event: 'before_commit', ready: 0 },
      { event: 'after_commit', ready: 1 },
      { event: 'done' },
    ]);
  });
});

describe('transactions (raw)', () => {
  it('basic.return for an unroutable mandatory publish arrives before tx.commit-ok', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 90, 10);
      await c.expectMethod(1, 90, 11);
      rawPublish(c, 1, 'amq.direct', uid('unbound'), 'tx-bounce', true);
      c.sendMethod(1, 90, 20);
      const frames: string[] = [];
      for (let i = 0; i < 4; i++) frames.push(describeFrame(await c.nextNonHeartbeat()));
      expect(frames).toEqual(['method 60/50', 'header', 'body', 'method 90/21']);
    } finally {
      c.destroy();
    }
  });

  it('tx.select is idempotent and commit/rollback with nothing pending succeed', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 90, 10);
      await c.expectMethod(1, 90, 11);
      c.sendMethod(1, 90, 10);
      await c.expectMethod(1, 90, 11);
      c.sendMethod(1, 90, 20);
      await c.expectMethod(1, 90, 21);
      c.sendMethod(1, 90, 30);
      await c.expectMethod(1, 90, 31);
    } finally {
      c.destroy();
    }
  });

  it('uncommitted publishes are discarded when the channel closes', async () => {
    const q = uid('tx-close');
    const admin = await shared.clients.channel();
    await admin.assertQueue(q, { durable: false });
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 90, 10);
      await c.expectMethod(1, 90, 11);
      rawPublish(c, 1, '', q, 'never');
      c.sendMethod(1, 20, 40, Buffer.concat([enc.u16(200), enc.shortstr(''), enc.u16(0), enc.u16(0)]));
      await c.expectMethod(1, 20, 41);
      await sync(admin);
      expect((await admin.checkQueue(q)).messageCount).toBe(0);
    } finally {
      c.destroy();
    }
    await admin.deleteQueue(q);
  });
});
