// The connection handshake as RabbitMQ 3.10 runs it, byte for byte through a raw socket: the
// protocol headers it accepts (0-9-1, 0-9 served as 0-9-1, two 0-8 headers served as 0-8), the
// capabilities connection.start names and their order, silence and a reset for mistakes before
// tune-ok (malformed PLAIN responses, wrong passwords without authentication_failure_close), 504
// for mistakes while opening, and RabbitMQ's quoting of content frames sent on channel 0.
// Every expectation here was first seen against RabbitMQ 3.10.8.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrokerUnderTest,
  enc,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  RawClient,
  Reader,
  rawConnect,
  startBroker,
  uid,
} from './harness.js';

let broker: BrokerUnderTest;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker?.stop();
});

const header = (...bytes: number[]): Buffer => Buffer.from([0x41, 0x4d, 0x51, 0x50, ...bytes]);

/** RabbitMQ 3.10's capabilities, in the order it sends them. */
const RABBITMQ_CAPABILITIES = [
  'publisher_confirms',
  'exchange_exchange_bindings',
  'basic.nack',
  'consumer_cancel_notify',
  'connection.blocked',
  'consumer_priorities',
  'authentication_failure_close',
  'per_consumer_qos',
  'direct_reply_to',
];

const tuneOk = Buffer.concat([enc.u16(2047), enc.u32(131072), enc.u16(0)]);
const openVhost = Buffer.concat([enc.shortstr('/'), enc.shortstr(''), enc.u8(0)]);

function startOkArgs(response: Buffer, capabilities: Record<string, boolean> = { authentication_failure_close: true }): Buffer {
  return Buffer.concat([enc.table({ capabilities }), enc.shortstr('PLAIN'), enc.longstr(response), enc.shortstr('en_US')]);
}

/** Sends `hdr`, reads connection.start, and logs in as guest up to open-ok. Returns connection.start's arguments. */
async function openWith(c: RawClient, hdr: Buffer): Promise<{ major: number; minor: number; props: Record<string, unknown> }> {
  c.write(hdr);
  const start = await c.expectMethod(0, 10, 10);
  const r = new Reader(start.payload, 4);
  const major = r.u8();
  const minor = r.u8();
  const props = r.table();
  c.sendMethod(0, 10, 11, startOkArgs(Buffer.from('\0guest\0guest')));
  await c.expectMethod(0, 10, 30);
  c.sendMethod(0, 10, 31, tuneOk);
  c.sendMethod(0, 10, 40, openVhost);
  await c.expectMethod(0, 10, 41);
  return { major, minor, props };
}

/**
 * After the frame `from` (count of frames seen before the mistake), nothing but heartbeats comes
 * back, and the server resets the socket (RabbitMQ's sockets linger 0).
 */
async function expectSilentReset(c: RawClient, from: number): Promise<void> {
  expect(await c.waitClosed(15_000)).toBe(true);
  expect(c.allFrames.slice(from).filter((f) => f.type !== FRAME_HEARTBEAT)).toEqual([]);
  expect((c.socketError as NodeJS.ErrnoException | undefined)?.code).toBe('ECONNRESET');
}

describe.concurrent('protocol headers', () => {
  for (const [name, hdr, version] of [
    ['AMQP 0-9-1', header(0, 0, 9, 1), [0, 9]],
    ['AMQP 0-9 (AnyEvent::RabbitMQ), served as 0-9-1', header(1, 1, 0, 9), [0, 9]],
    ['AMQP 0-8', header(1, 1, 8, 0), [8, 0]],
    ['AMQP 0-8 as the spec on the AMQP site writes it', header(1, 1, 9, 1), [8, 0]],
  ] as const) {
    it(`${name}: connection.start ${version.join('-')}, the handshake completes`, async () => {
      const c = await RawClient.connect(broker.host, broker.port);
      try {
        const { major, minor, props } = await openWith(c, hdr);
        expect([major, minor]).toEqual(version);
        const caps = Object.keys(props['capabilities'] as Record<string, unknown>);
        // RabbitMQ names no capabilities to a 0-8 client.
        expect(caps).toEqual(version[0] === 8 ? [] : RABBITMQ_CAPABILITIES);
      } finally {
        c.destroy();
      }
    });
  }

  it('0-9-1 capabilities are all true', async () => {
    const c = await rawConnect(broker);
    try {
      const start = c.allFrames.find((f) => f.classId === 10 && f.methodId === 10)!;
      const caps = new Reader(start.payload, 6).table()['capabilities'] as Record<string, unknown>;
      for (const k of RABBITMQ_CAPABILITIES) expect({ k, v: caps[k] }).toEqual({ k, v: true });
    } finally {
      c.destroy();
    }
  });

  it('0-9: a 0-9-1 session (publish, get, connection.close 10/50)', async () => {
    const c = await RawClient.connect(broker.host, broker.port);
    try {
      await openWith(c, header(1, 1, 0, 9));
      c.sendMethod(1, 20, 10, enc.shortstr(''));
      const openOk = await c.expectMethod(1, 20, 11);
      expect(openOk.payload).toEqual(Buffer.from([0, 20, 0, 11, 0, 0, 0, 0])); // 0-9-1: an empty longstr
      c.sendMethod(0, 10, 50, Buffer.concat([enc.u16(200), enc.shortstr('bye'), enc.u16(0), enc.u16(0)]));
      await c.expectMethod(0, 10, 51);
    } finally {
      c.destroy();
    }
  });
});

describe.concurrent('AMQP 0-8, as RabbitMQ serves it', () => {
  const consume08 = (queue: string, tag: string): Buffer => Buffer.concat([enc.u16(0), enc.shortstr(queue), enc.shortstr(tag), enc.u8(0)]);

  it('channel.open-ok without arguments; basic.consume without an arguments table; publish and deliver', async () => {
    const c = await RawClient.connect(broker.host, broker.port);
    try {
      await openWith(c, header(1, 1, 8, 0));
      c.sendMethod(1, 20, 10, enc.shortstr(''));
      const openOk = await c.expectMethod(1, 20, 11);
      expect(openOk.payload).toEqual(Buffer.from([0, 20, 0, 11]));
      const q = uid('q08');
      c.sendMethod(1, 50, 10, Buffer.concat([enc.u16(0), enc.shortstr(q), enc.u8(0b1000), enc.table({})])); // auto-delete
      await c.expectMethod(1, 50, 11);
      c.sendMethod(1, 60, 20, consume08(q, 'ct'));
      const ok = await c.expectMethod(1, 60, 21);
      expect(ok.payload.subarray(4)).toEqual(enc.shortstr('ct'));
      c.sendMethod(1, 60, 40, Buffer.concat([enc.u16(0), enc.shortstr(''), enc.shortstr(q), enc.u8(0)]));
      c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(2));
      c.sendFrame(FRAME_BODY, 1, Buffer.from('hi'));
      const deliver = await c.expectMethod(1, 60, 60);
      expect(new Reader(deliver.payload, 4).shortstr()).toBe('ct');
      expect((await c.nextNonHeartbeat()).type).toBe(FRAME_HEADER);
      expect((await c.nextNonHeartbeat()).payload.toString()).toBe('hi');
      c.sendMethod(1, 60, 80, Buffer.concat([enc.u64(1), enc.u8(0)]));
      // connection.close is 10/60 in 0-8 and close-ok 10/61.
      c.sendMethod(0, 10, 60, Buffer.concat([enc.u16(200), enc.shortstr('bye'), enc.u16(0), enc.u16(0)]));
      await c.expectMethod(0, 10, 61);
    } finally {
      c.destroy();
    }
  });

  it('a hard error is connection.close 10/60 with the 0-9-1 reply text', async () => {
    const c = await RawClient.connect(broker.host, broker.port);
    try {
      await openWith(c, header(1, 1, 9, 1));
      c.sendMethod(0, 20, 10, enc.shortstr(''));
      const close = await c.expectMethod(0, 10, 60);
      const r = new Reader(close.payload, 4);
      expect([r.u16(), r.shortstr(), r.u16(), r.u16()]).toEqual([504, 'CHANNEL_ERROR - unexpected method in connection state running', 20, 10]);
    } finally {
      c.destroy();
    }
  });

  for (const [name, classId, methodId, args] of [
    ['basic.nack', 60, 120, Buffer.concat([enc.u64(1), enc.u8(0)])],
    ['confirm.select', 85, 10, enc.u8(0)],
    ['exchange.bind', 40, 30, Buffer.concat([enc.u16(0), enc.shortstr('a'), enc.shortstr('b'), enc.shortstr(''), enc.u8(0), enc.table({})])],
  ] as const) {
    it(`${name}, which 0-8 does not have: the socket is reset`, async () => {
      const c = await RawClient.connect(broker.host, broker.port);
      try {
        await openWith(c, header(1, 1, 8, 0));
        c.sendMethod(1, 20, 10, enc.shortstr(''));
        await c.expectMethod(1, 20, 11);
        const from = c.allFrames.length;
        c.sendMethod(1, classId, methodId, args);
        await expectSilentReset(c, from);
      } finally {
        c.destroy();
      }
    });
  }
});

describe.concurrent('mistakes before tune-ok: silence, then a reset', () => {
  for (const [name, response] of [
    ['no NUL separators', 'guestguest'],
    ['one NUL separator', 'guest\0guest'],
    ['an authorisation identity', 'guest\0guest\0guest'],
    ['a NUL after the password', '\0guest\0guest\0'],
    ['an empty response', ''],
  ] as const) {
    it(`PLAIN response with ${name}`, async () => {
      const c = await RawClient.connect(broker.host, broker.port);
      try {
        c.sendProtocolHeader();
        await c.expectMethod(0, 10, 10);
        c.sendMethod(0, 10, 11, startOkArgs(Buffer.from(response, 'latin1')));
        await expectSilentReset(c, 1);
      } finally {
        c.destroy();
      }
    });
  }

  it('a wrong password from a client without authentication_failure_close', async () => {
    const c = await RawClient.connect(broker.host, broker.port);
    try {
      c.sendProtocolHeader();
      await c.expectMethod(0, 10, 10);
      c.sendMethod(0, 10, 11, startOkArgs(Buffer.from('\0guest\0wrong'), {}));
      await expectSilentReset(c, 1);
    } finally {
      c.destroy();
    }
  });

  it('a method frame on channel 1 before start-ok', async () => {
    const c = await RawClient.connect(broker.host, broker.port);
    try {
      c.sendProtocolHeader();
      await c.expectMethod(0, 10, 10);
      c.sendMethod(1, 20, 10, enc.shortstr(''));
      await expectSilentReset(c, 1);
    } finally {
      c.destroy();
    }
  });

  it('a frame error before start-ok (bad frame-end octet)', async () => {
    const c = await RawClient.connect(broker.host, broker.port);
    try {
      c.sendProtocolHeader();
      await c.expectMethod(0, 10, 10);
      c.write(RawClient.frame(FRAME_METHOD, 0, RawClient.methodPayload(10, 11, Buffer.from('x')), 0));
      await expectSilentReset(c, 1);
    } finally {
      c.destroy();
    }
  });
});

describe.concurrent('mistakes after tune-ok, before open-ok: 504 "connection state opening"', () => {
  for (const [name, classId, methodId, args] of [
    ['connection.start-ok again', 10, 11, startOkArgs(Buffer.from('\0guest\0guest'))],
    ['connection.tune-ok again', 10, 31, tuneOk],
    ['connection.close', 10, 50, Buffer.concat([enc.u16(200), enc.shortstr('bye'), enc.u16(0), enc.u16(0)])],
    ['basic.qos on channel 0', 60, 10, Buffer.concat([enc.u32(0), enc.u16(1), enc.u8(0)])],
  ] as const) {
    it(name, async () => {
      const c = await RawClient.connect(broker.host, broker.port);
      try {
        c.sendProtocolHeader();
        await c.expectMethod(0, 10, 10);
        c.sendMethod(0, 10, 11, startOkArgs(Buffer.from('\0guest\0guest')));
        await c.expectMethod(0, 10, 30);
        c.sendMethod(0, 10, 31, tuneOk);
        c.sendMethod(0, classId, methodId, args);
        const res = await c.waitForConnectionClose(15_000);
        expect(res.close).toEqual({ code: 504, text: 'CHANNEL_ERROR - unexpected method in connection state opening', classId, methodId });
      } finally {
        c.destroy();
      }
    });
  }
});

describe.concurrent('content frames on channel 0: 505 quoting the frame as Erlang prints a binary', () => {
  for (const [name, type, payload, text] of [
    ['a content header (first 16 octets)', FRAME_HEADER, RawClient.contentHeader(5, 0x8000, enc.shortstr('text/plain')), 'UNEXPECTED_FRAME - type 2, first 16 octets = <<0,60,0,0,0,0,0,0,0,0,0,5,128,0,10,116>>'],
    ['a printable body', FRAME_BODY, Buffer.from('hello'), 'UNEXPECTED_FRAME - type 3, all octets = <<"hello">>'],
    ['a body with escapes', FRAME_BODY, Buffer.from('a\nb\t"\\\x1b'), 'UNEXPECTED_FRAME - type 3, all octets = <<"a\\nb\\t\\"\\\\\\e">>'],
    ['a binary body', FRAME_BODY, Buffer.from([97, 0]), 'UNEXPECTED_FRAME - type 3, all octets = <<97,0>>'],
  ] as const) {
    it(name, async () => {
      const c = await rawConnect(broker);
      try {
        c.sendFrame(type, 0, payload);
        const res = await c.waitForConnectionClose(15_000);
        expect(res.close).toEqual({ code: 505, text, classId: 0, methodId: 0 });
      } finally {
        c.destroy();
      }
    });
  }
});
