// Message content survives the broker unchanged: every basic property, header tables with all the
// field types clients use, empty / binary / multi-frame bodies, long names; across clients too.
import { describe, expect, it } from 'vitest';
import {
  body,
  enc,
  FRAME_BODY,
  FRAME_HEADER,
  Inbox,
  raw,
  rawConnect,
  RawClient,
  Reader,
  runPika,
  sync,
  uid,
} from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

describe('message properties', () => {
  it('all basic properties round-trip through a queue (amqplib to amqplib)', async () => {
    const ch = await shared.clients.channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const props = {
      contentType: 'application/json',
      contentEncoding: 'gzip',
      headers: {
        str: 'text',
        int: 42,
        neg: -7,
        big: 2 ** 40,
        float: 1.5,
        bool: true,
        nested: { a: 'b', n: 1 },
        list: ['x', 2, false],
        nothing: null,
      },
      deliveryMode: 2,
      priority: 5,
      correlationId: 'corr-1',
      replyTo: 'reply-queue',
      expiration: '60000',
      messageId: 'msg-1',
      timestamp: 1_700_000_000,
      type: 'order.created',
      userId: 'guest',
      appId: 'conformance',
    };
    ch.sendToQueue(queue, Buffer.from('{"x":1}'), props);
    const m = await ch.get(queue, { noAck: true });
    expect(body(m)).toBe('{"x":1}');
    expect(m && m.properties).toMatchObject({
      contentType: 'application/json',
      contentEncoding: 'gzip',
      deliveryMode: 2,
      priority: 5,
      correlationId: 'corr-1',
      replyTo: 'reply-queue',
      expiration: '60000',
      messageId: 'msg-1',
      timestamp: 1_700_000_000,
      type: 'order.created',
      userId: 'guest',
      appId: 'conformance',
    });
    expect(m && m.properties.headers).toEqual(props.headers);
  });

  it('a message without properties arrives without properties', async () => {
    const ch = await shared.clients.channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('bare'));
    const m = await ch.get(queue, { noAck: true });
    expect(m && m.properties).toMatchObject({
      contentType: undefined,
      deliveryMode: undefined,
      correlationId: undefined,
      messageId: undefined,
      timestamp: undefined,
    });
  });

  it('headers typed by the publisher keep their wire types (raw in, raw out)', async () => {
    const q = uid('typed');
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 50, 10, raw.queueDeclare(q, { autoDelete: false }));
      await c.expectMethod(1, 50, 11);
      const s16 = Buffer.alloc(2);
      s16.writeInt16BE(-2);
      const u16 = Buffer.alloc(2);
      u16.writeUInt16BE(65000);
      const u32 = Buffer.alloc(4);
      u32.writeUInt32BE(4_000_000_000);
      const f32 = Buffer.alloc(4);
      f32.writeFloatBE(0.5);
      const ts = Buffer.alloc(8);
      ts.writeBigUInt64BE(1_700_000_000n);
      const headers = enc.table({
        b: { $type: 'b', raw: Buffer.from([0xff]) },
        B: { $type: 'B', raw: Buffer.from([200]) },
        s: { $type: 's', raw: s16 },
        u: { $type: 'u', raw: u16 },
        I: -100000,
        i: { $type: 'i', raw: u32 },
        l: 9_007_199_254_740_993n,
        f: { $type: 'f', raw: f32 },
        d: 3.25,
        D: { $type: 'D', raw: Buffer.from([2, 0, 0, 0x30, 0x39]) }, // 123.45
        S: 'long string',
        x: Buffer.from([0, 1, 2, 255]),
        T: { $type: 'T', raw: ts },
        V: null,
        t: true,
        A: ['a', 1, [true]],
        F: { inner: { deeper: 'yes' } },
      });
      // property flags: headers only (bit 13)
      c.sendMethod(1, 60, 40, raw.basicPublish('', q));
      c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(2, 1 << 13, headers));
      c.sendFrame(FRAME_BODY, 1, Buffer.from('hi'));
      c.sendMethod(1, 60, 70, raw.basicGet(q, true));
      await c.expectMethod(1, 60, 71);
      const hdr = await c.nextNonHeartbeat();
      expect(hdr.type).toBe(FRAME_HEADER);
      expect(hdr.payload.readUInt16BE(12)).toBe(1 << 13);
      // the header table comes back byte for byte
      expect(hdr.payload.subarray(14).toString('hex')).toBe(headers.toString('hex'));
      const decoded = new Reader(hdr.payload, 14).table();
      expect(decoded['l']).toBe(9_007_199_254_740_993n);
      expect(decoded['F']).toEqual({ inner: { deeper: 'yes' } });
      const b = await c.nextNonHeartbeat();
      expect(b.payload.toString()).toBe('hi');
      c.sendMethod(1, 50, 40, Buffer.concat([enc.u16(0), enc.shortstr(q), enc.bits(false, false, false)]));
      await c.expectMethod(1, 50, 41);
    } finally {
      c.destroy();
    }
  });

  it('amqplib properties and headers are read back by pika', async () => {
    const q = uid('props-pika');
    const ch = await shared.clients.channel();
    await ch.assertQueue(q, { durable: false });
    ch.sendToQueue(q, Buffer.from('{"n":1}'), {
      contentType: 'application/json',
      correlationId: 'c-77',
      replyTo: 'rq',
      deliveryMode: 2,
      headers: { who: 'amqplib', n: 3, nested: { k: 'v' } },
    });
    await sync(ch);
    const r = await runPika(shared.broker.url, 'messages', ['get_props', q]);
    const ev = r.events.find((e) => e['event'] === 'message');
    expect(ev).toEqual({
      event: 'message',
      body: '{"n":1}',
      content_type: 'application/json',
      correlation_id: 'c-77',
      reply_to: 'rq',
      delivery_mode: 2,
      headers: { who: 'amqplib', n: 3, nested: { k: 'v' } },
    });
    await ch.deleteQueue(q);
  });
});

describe('bodies', () => {
  it('empty body', async () => {
    const ch = await shared.clients.channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.alloc(0));
    const m = await ch.get(queue, { noAck: true });
    expect(m && m.content.length).toBe(0);
  });

  it('binary body with every byte value', async () => {
    const ch = await shared.clients.channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const data = Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256));
    ch.sendToQueue(queue, data);
    const m = await ch.get(queue, { noAck: true });
    expect(m && Buffer.compare(m.content, data)).toBe(0);
  });

  it('a 3 MiB body spanning many frames, delivered to a consumer intact', async () => {
    const ch = await shared.clients.channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const data = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < data.length; i += 4) data.writeUInt32BE(i, i);
    ch.sendToQueue(queue, data);
    ch.sendToQueue(queue, Buffer.from('after'));
    const inbox = new Inbox();
    await ch.consume(queue, inbox.push, { noAck: true });
    const [big, small] = await inbox.take(2);
    expect(big!.content.length).toBe(data.length);
    expect(Buffer.compare(big!.content, data)).toBe(0);
    expect(body(small)).toBe('after');
  });

  it('a large body published by pika is received by amqplib', async () => {
    const q = uid('big-pika');
    const ch = await shared.clients.channel();
    await ch.assertQueue(q, { durable: false });
    const r = await runPika(shared.broker.url, 'messages', ['publish_big', q, String(500_000)]);
    expect(r.events).toContainEqual({ event: 'published', size: 500_000 });
    const m = await ch.get(q, { noAck: true });
    expect(m && m.content.length).toBe(500_000);
    expect(m && m.content.toString('latin1', 0, 10)).toBe('0123456789');
    await ch.deleteQueue(q);
  });

  it('255-byte queue, exchange and routing key names and UTF-8 names work', async () => {
    const ch = await shared.clients.channel();
    const q = `q-${'x'.repeat(253)}`.slice(0, 255);
    const x = `x-${'y'.repeat(253)}`.slice(0, 255);
    const key = 'k'.repeat(255);
    expect(Buffer.byteLength(q)).toBe(255);
    await ch.assertQueue(q, { durable: false, autoDelete: false });
    await ch.assertExchange(x, 'direct', { durable: false });
    await ch.bindQueue(q, x, key);
    ch.publish(x, key, Buffer.from('long names'));
    const m = await ch.get(q, { noAck: true });
    expect(m && m.fields).toMatchObject({ exchange: x, routingKey: key });
    const uq = uid('ünïcødé-队列');
    await ch.assertQueue(uq, { durable: false });
    ch.sendToQueue(uq, Buffer.from('unicode'));
    const mu = await ch.get(uq, { noAck: true });
    expect(mu && mu.fields.routingKey).toBe(uq);
    await ch.deleteQueue(q);
    await ch.deleteQueue(uq);
    await ch.deleteExchange(x);
  });
});

describe('ordering', () => {
  it('messages from one publisher channel arrive in publish order', async () => {
    const ch = await shared.clients.channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    for (let i = 0; i < 500; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
    const inbox = new Inbox();
    await ch.consume(queue, inbox.push, { noAck: true });
    const got = await inbox.take(500);
    expect(got.map((m) => Number(body(m)))).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });
});
