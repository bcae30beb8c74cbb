// Connection-level properties: connection.start server properties and capabilities, tune values,
// many channels on one connection, many connections.
import { describe, expect, it } from 'vitest';
import { FRAME_BODY, FRAME_HEADER, raw, rawConnect, RawClient, runPika, uid } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

const REQUIRED_CAPABILITIES = [
  'publisher_confirms',
  'exchange_exchange_bindings',
  'basic.nack',
  'consumer_cancel_notify',
  'connection.blocked',
  'authentication_failure_close',
  'per_consumer_qos',
];

describe('connection.start', () => {
  it('server properties carry a capabilities table with every capability clients look for (raw)', async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      const hs = await c.handshake();
      const props = hs.serverProperties;
      const caps = props['capabilities'] as Record<string, unknown>;
      expect(caps).toBeTypeOf('object');
      for (const cap of REQUIRED_CAPABILITIES) expect({ cap, value: caps[cap] }).toEqual({ cap, value: true });
      for (const key of ['product', 'version', 'platform', 'copyright', 'information']) {
        expect({ key, type: typeof props[key] }).toEqual({ key, type: 'string' });
      }
      // errata: no "host" property
      expect(props['host']).toBeUndefined();
    } finally {
      c.destroy();
    }
  });

  it('amqplib sees the same capabilities in connection.serverProperties', async () => {
    const conn = await shared.clients.connect();
    const caps = (conn.connection.serverProperties as unknown as { capabilities: Record<string, unknown> }).capabilities;
    for (const cap of REQUIRED_CAPABILITIES) expect({ cap, value: caps[cap] }).toEqual({ cap, value: true });
    await conn.close();
  });

  it('pika sees them too', async () => {
    const r = await runPika(shared.broker.url, 'ops', ['server_properties']);
    const ev = r.events.find((e) => e['event'] === 'server_properties');
    const caps = ev?.['capabilities'] as Record<string, unknown>;
    for (const cap of REQUIRED_CAPABILITIES) expect({ cap, value: caps[cap] }).toEqual({ cap, value: true });
  });

  it('the client tune-ok frame_max wins when lower than the server proposal', async () => {
    const c = await rawConnect(shared.broker, { channelMax: 10, frameMax: 8192, heartbeat: 0 });
    try {
      await c.openChannel(1);
      c.sendMethod(1, 50, 10, raw.queueDeclare('', { exclusive: true }));
      const ok = await c.expectMethod(1, 50, 11);
      const q = ok.payload.subarray(5, 5 + ok.payload.readUInt8(4)).toString();
      // a body frame that fits in 8192 is fine ...
      c.sendMethod(1, 60, 40, raw.basicPublish('', q));
      c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(8000));
      c.sendFrame(FRAME_BODY, 1, Buffer.alloc(8000, 1));
      c.sendMethod(1, 60, 70, raw.basicGet(q, true));
      await c.expectMethod(1, 60, 71);
      // ... one that does not is a frame error, reported against the negotiated maximum (8192 - 8)
      c.sendMethod(1, 60, 40, raw.basicPublish('', q));
      c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(10000));
      c.sendFrame(FRAME_BODY, 1, Buffer.alloc(10000, 1));
      const res = await c.waitForConnectionClose(15_000);
      expect(res.close).toEqual({
        code: 501,
        text: 'FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,10000,8184}',
        classId: 0,
        methodId: 0,
      });
    } finally {
      c.destroy();
    }
  });
});

describe('channels and connections', () => {
  it('one connection can carry many channels at once', async () => {
    const conn = await shared.clients.connect();
    const chans = await Promise.all(Array.from({ length: 50 }, () => shared.clients.channel(conn)));
    const results = await Promise.all(chans.map((ch) => ch.assertQueue('', { exclusive: true })));
    expect(new Set(results.map((r) => r.queue)).size).toBe(50);
    await Promise.all(chans.slice(0, 25).map((ch) => ch.close()));
    const more = await Promise.all(Array.from({ length: 10 }, () => shared.clients.channel(conn)));
    for (const ch of more) await ch.checkExchange('amq.direct');
    await conn.close();
  });

  it('many connections at once', async () => {
    const conns = await Promise.all(Array.from({ length: 20 }, () => shared.clients.connect()));
    const q = uid('many-conns');
    const admin = await shared.clients.channel(conns[0]);
    await admin.assertQueue(q, { durable: false });
    await Promise.all(
      conns.map(async (conn, i) => {
        const ch = await conn.createChannel();
        ch.sendToQueue(q, Buffer.from(String(i)));
        await ch.close();
      }),
    );
    expect((await admin.checkQueue(q)).messageCount).toBe(20);
    await admin.deleteQueue(q);
    await Promise.all(conns.map((c) => c.close()));
  });

  it('closing a channel with an unacked consumer delivery does not affect other channels', async () => {
    const conn = await shared.clients.connect();
    const a = await shared.clients.channel(conn);
    const b = await shared.clients.channel(conn);
    const { queue } = await a.assertQueue('', { exclusive: true });
    a.sendToQueue(queue, Buffer.from('x'));
    const m = await a.get(queue, { noAck: false });
    expect(m).not.toBe(false);
    await a.close();
    const again = await b.get(queue, { noAck: true });
    expect(again && again.fields.redelivered).toBe(true);
    await conn.close();
  });
});
