// Protocol-level errors that no client library will produce, driven through a raw socket:
// protocol header negotiation, handshake order, 504 channel errors, 505 content framing errors,
// 501 frame errors, malformed method frames, unknown classes/methods/field types.
import { describe, expect, it } from 'vitest';
import {
  AMQP_HEADER,
  type CloseInfo,
  enc,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  RawClient,
  raw,
  rawConnect,
  sleep,
  uid,
} from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

/** Another connection works end to end. */
async function othersStillWork(): Promise<void> {
  const ch = await shared.clients.channel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  ch.sendToQueue(queue, Buffer.from('ok'));
  const m = await ch.get(queue, { noAck: true });
  expect(m && m.content.toString()).toBe('ok');
}

/**
 * Handshake, open channel 1, run `send`, then expect connection.close with exactly `expected`
 * (we answer close-ok) and the socket to be closed by the server.
 */
async function expectClose(send: (c: RawClient) => Promise<void> | void, expected: CloseInfo): Promise<void> {
  const c = await rawConnect(shared.broker);
  try {
    await c.openChannel(1);
    await send(c);
    const res = await c.waitForConnectionClose(15_000);
    expect(res.close).toEqual(expected);
    expect(res.socketClosed).toBe(true);
  } finally {
    c.destroy();
  }
  await othersStillWork();
}

/** The server drops the TCP connection without sending connection.close. */
async function expectDropWithoutClose(c: RawClient): Promise<void> {
  const res = await c.waitForConnectionClose(15_000);
  expect(res.close).toBeUndefined();
  expect(res.socketClosed).toBe(true);
  expect(res.frames.filter((f) => f.type !== FRAME_HEARTBEAT)).toEqual([]);
}

const publish = (c: RawClient, channel = 1): void => c.sendMethod(channel, 60, 40, raw.basicPublish('', 'nowhere'));

describe('protocol header', () => {
  for (const [name, header] of [
    ['AMQP 0-9-0', Buffer.from('AMQP\x00\x00\x09\x00', 'latin1')],
    ['AMQP 1.0', Buffer.from('AMQP\x00\x01\x00\x00', 'latin1')],
    ['AMQP 0-8 with protocol id 0', Buffer.from('AMQP\x00\x00\x08\x00', 'latin1')],
    ['HTTP', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1')],
  ] as const) {
    it(`answers a bad header (${name}) with AMQP 0-9-1's header and closes`, async () => {
      const c = await RawClient.connect(shared.broker.host, shared.broker.port);
      try {
        c.write(header);
        expect(await c.waitClosed(10_000)).toBe(true);
        expect(c.received).toEqual(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
      } finally {
        c.destroy();
      }
      await othersStillWork();
    });
  }

  it('answers a correct header with connection.start 0-9, PLAIN and AMQPLAIN, en_US', async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      const hs = await c.handshake();
      expect(c.allFrames[0]!.payload.subarray(0, 6)).toEqual(Buffer.from([0, 10, 0, 10, 0, 9]));
      expect(hs.versionMajor).toBe(0);
      expect(hs.versionMinor).toBe(9);
      expect(hs.mechanisms.split(' ').sort()).toEqual(['AMQPLAIN', 'PLAIN']);
      expect(hs.locales).toBe('en_US');
      expect(hs.tune).toEqual({ channelMax: 2047, frameMax: 131072, heartbeat: 60 });
    } finally {
      c.destroy();
    }
  });
});

describe.concurrent('handshake order', () => {
  async function startOk(c: RawClient, mechanism = 'PLAIN'): Promise<void> {
    c.sendProtocolHeader();
    await c.expectMethod(0, 10, 10);
    c.sendMethod(
      0,
      10,
      11,
      Buffer.concat([
        enc.table({ capabilities: { authentication_failure_close: true } }),
        enc.shortstr(mechanism),
        enc.longstr(Buffer.from('\u0000guest\u0000guest')),
        enc.shortstr('en_US'),
      ]),
    );
  }
  const tuneOk = (channelMax: number, frameMax: number, heartbeat: number): Buffer =>
    Buffer.concat([enc.u16(channelMax), enc.u32(frameMax), enc.u16(heartbeat)]);
  const open = Buffer.concat([enc.shortstr('/'), enc.shortstr(''), enc.u8(0)]);

  it('a method frame before tune-ok: the socket is dropped without connection.close', async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      await startOk(c);
      await c.expectMethod(0, 10, 30);
      c.sendMethod(1, 20, 10, enc.shortstr(''));
      await expectDropWithoutClose(c);
    } finally {
      c.destroy();
    }
    await othersStillWork();
  });

  it('connection.open before tune-ok: dropped without connection.close', async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      await startOk(c);
      await c.expectMethod(0, 10, 30);
      c.sendMethod(0, 10, 40, open);
      await expectDropWithoutClose(c);
    } finally {
      c.destroy();
    }
  });

  it('a heartbeat before tune-ok is accepted', async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      await startOk(c);
      await c.expectMethod(0, 10, 30);
      c.sendHeartbeat();
      c.sendMethod(0, 10, 31, tuneOk(2047, 131072, 0));
      c.sendMethod(0, 10, 40, open);
      await c.expectMethod(0, 10, 41);
    } finally {
      c.destroy();
    }
  });

  it('channel.open after tune-ok but before connection.open: 505', async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      await startOk(c);
      await c.expectMethod(0, 10, 30);
      c.sendMethod(0, 10, 31, tuneOk(2047, 131072, 0));
      c.sendMethod(1, 20, 10, enc.shortstr(''));
      const res = await c.waitForConnectionClose(10_000);
      expect(res.close).toEqual({
        code: 505,
        text: 'UNEXPECTED_FRAME - type 1, all octets = <<0,20,0,10,0>>',
        classId: 0,
        methodId: 0,
      });
    } finally {
      c.destroy();
    }
  });

  for (const [name, args] of [
    ['frame_max below 4096', tuneOk(2047, 1024, 0)],
    ['frame_max above the server maximum', tuneOk(2047, 1 << 30, 0)],
    ['channel_max above the server maximum', tuneOk(65535, 131072, 0)],
    ['channel_max 0 ("no limit")', tuneOk(0, 131072, 0)],
  ] as const) {
    it(`tune-ok with ${name}: dropped without connection.close`, async () => {
      const c = await RawClient.connect(shared.broker.host, shared.broker.port);
      try {
        await startOk(c);
        await c.expectMethod(0, 10, 30);
        c.sendMethod(0, 10, 31, args);
        c.sendMethod(0, 10, 40, open);
        await expectDropWithoutClose(c);
      } finally {
        c.destroy();
      }
    });
  }

  it('an unknown SASL mechanism: dropped without connection.close', async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      await startOk(c, 'FOO');
      await expectDropWithoutClose(c);
    } finally {
      c.destroy();
    }
  });

  it('AMQPLAIN login works', async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      c.sendProtocolHeader();
      await c.expectMethod(0, 10, 10);
      const response = enc.table({ LOGIN: 'guest', PASSWORD: 'guest' }).subarray(4); // table without length
      c.sendMethod(0, 10, 11, Buffer.concat([enc.table({}), enc.shortstr('AMQPLAIN'), enc.longstr(response), enc.shortstr('en_US')]));
      await c.expectMethod(0, 10, 30);
      c.sendMethod(0, 10, 31, tuneOk(2047, 131072, 0));
      c.sendMethod(0, 10, 40, open);
      await c.expectMethod(0, 10, 41);
    } finally {
      c.destroy();
    }
  });

  it('connection.start-ok or connection.open again once running: 504', async () => {
    await expectClose(
      (c) => c.sendMethod(0, 10, 40, open),
      { code: 504, text: 'CHANNEL_ERROR - unexpected method in connection state running', classId: 10, methodId: 40 },
    );
  });

  it('client-initiated connection.close gets close-ok', async () => {
    const c = await rawConnect(shared.broker);
    try {
      c.sendMethod(0, 10, 50, Buffer.concat([enc.u16(200), enc.shortstr('bye'), enc.u16(0), enc.u16(0)]));
      await c.expectMethod(0, 10, 51);
    } finally {
      c.destroy();
    }
  });
});

describe('504 CHANNEL_ERROR', () => {
  it('channel.open on an already open channel', async () => {
    await expectClose((c) => c.sendMethod(1, 20, 10, enc.shortstr('')), {
      code: 504,
      text: "CHANNEL_ERROR - second 'channel.open' seen",
      classId: 20,
      methodId: 10,
    });
  });

  it('a method on a channel that was never opened', async () => {
    await expectClose((c) => c.sendMethod(5, 50, 10, raw.queueDeclare(uid('q'))), {
      code: 504,
      text: "CHANNEL_ERROR - expected 'channel.open'",
      classId: 50,
      methodId: 10,
    });
  });

  it('channel.close and channel.close-ok on a channel that was never opened', async () => {
    await expectClose(
      (c) => c.sendMethod(7, 20, 40, Buffer.concat([enc.u16(200), enc.shortstr(''), enc.u16(0), enc.u16(0)])),
      { code: 504, text: "CHANNEL_ERROR - expected 'channel.open'", classId: 20, methodId: 40 },
    );
    await expectClose((c) => c.sendMethod(7, 20, 41), {
      code: 504,
      text: "CHANNEL_ERROR - expected 'channel.open'",
      classId: 20,
      methodId: 41,
    });
  });

  it('a non-connection method on channel 0', async () => {
    await expectClose((c) => c.sendMethod(0, 50, 10, raw.queueDeclare(uid('q'))), {
      code: 504,
      text: 'CHANNEL_ERROR - unexpected method in connection state running',
      classId: 50,
      methodId: 10,
    });
    await expectClose((c) => c.sendMethod(0, 20, 10, enc.shortstr('')), {
      code: 504,
      text: 'CHANNEL_ERROR - unexpected method in connection state running',
      classId: 20,
      methodId: 10,
    });
  });

  it('after the server closes a channel, methods are ignored until close-ok; then the channel is closed', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 50, 10, raw.queueDeclare(uid('missing'), { passive: true }));
      const f = await c.expectMethod(1, 20, 40); // channel.close 404, not answered yet
      expect(f.payload.readUInt16BE(4)).toBe(404);
      c.sendMethod(1, 50, 10, raw.queueDeclare(uid('ignored'), { autoDelete: true }));
      await sleep(200);
      c.sendMethod(1, 20, 41); // close-ok
      c.sendMethod(1, 50, 10, raw.queueDeclare(uid('late'), { autoDelete: true }));
      const res = await c.waitForConnectionClose(10_000);
      expect(res.frames.filter((fr) => fr.type !== FRAME_HEARTBEAT)).toEqual([]); // nothing answered the ignored declare
      expect(res.close).toEqual({ code: 504, text: "CHANNEL_ERROR - expected 'channel.open'", classId: 50, methodId: 10 });
    } finally {
      c.destroy();
    }
  });

  it('a closed channel number can be opened again', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 20, 40, Buffer.concat([enc.u16(200), enc.shortstr('done'), enc.u16(0), enc.u16(0)]));
      await c.expectMethod(1, 20, 41);
      await c.openChannel(1);
      await c.openChannel(65535);
      c.sendMethod(65535, 50, 10, raw.queueDeclare('', { exclusive: true }));
      await c.expectMethod(65535, 50, 11);
    } finally {
      c.destroy();
    }
  });
});

describe('505 UNEXPECTED_FRAME', () => {
  it('content header without a method', async () => {
    await expectClose((c) => c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(3)), {
      code: 505,
      text: 'UNEXPECTED_FRAME - expected method frame, got non method frame instead',
      classId: 0,
      methodId: 0,
    });
  });

  it('content body without a method', async () => {
    await expectClose((c) => c.sendFrame(FRAME_BODY, 1, Buffer.from('abc')), {
      code: 505,
      text: 'UNEXPECTED_FRAME - expected method frame, got non method frame instead',
      classId: 0,
      methodId: 0,
    });
  });

  it('a method where the content header should be', async () => {
    await expectClose(
      (c) => {
        publish(c);
        publish(c);
      },
      {
        code: 505,
        text: 'UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead',
        classId: 60,
        methodId: 40,
      },
    );
  });

  it('a body where the content header should be', async () => {
    await expectClose(
      (c) => {
        publish(c);
        c.sendFrame(FRAME_BODY, 1, Buffer.from('abc'));
      },
      {
        code: 505,
        text: 'UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead',
        classId: 60,
        methodId: 40,
      },
    );
  });

  it('a content header for another class', async () => {
    await expectClose(
      (c) => {
        publish(c);
        c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(3, 0, Buffer.alloc(0), 50));
      },
      {
        code: 505,
        text: 'UNEXPECTED_FRAME - expected content header for class 60, got one for class 50 instead',
        classId: 60,
        methodId: 40,
      },
    );
  });

  it('a method where a body should be', async () => {
    await expectClose(
      (c) => {
        publish(c);
        c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(3));
        publish(c);
      },
      {
        code: 505,
        text: 'UNEXPECTED_FRAME - expected content body, got non content body frame instead',
        classId: 60,
        methodId: 40,
      },
    );
  });

  it('a body longer than body_size is noticed at the next non-body frame', async () => {
    await expectClose(
      async (c) => {
        publish(c);
        c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(3));
        c.sendFrame(FRAME_BODY, 1, Buffer.from('abcdef'));
        await sleep(200);
        c.sendMethod(1, 50, 10, raw.queueDeclare('', { exclusive: true }));
      },
      {
        code: 505,
        text: 'UNEXPECTED_FRAME - expected content body, got non content body frame instead',
        classId: 60,
        methodId: 40,
      },
    );
  });

  it('a body frame after a zero-size content header', async () => {
    await expectClose(
      (c) => {
        publish(c);
        c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(0));
        c.sendFrame(FRAME_BODY, 1, Buffer.from('a'));
      },
      {
        code: 505,
        text: 'UNEXPECTED_FRAME - expected method frame, got non method frame instead',
        classId: 0,
        methodId: 0,
      },
    );
  });

  it('a heartbeat on a non-zero channel', async () => {
    await expectClose((c) => c.sendFrame(FRAME_HEARTBEAT, 1, Buffer.alloc(0)), {
      code: 505,
      text: 'UNEXPECTED_FRAME - type 8, all octets = <<>>',
      classId: 0,
      methodId: 0,
    });
  });
});

describe('content that is fine', () => {
  it('empty body frames are accepted; bodies split across frames are joined', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      const q = uid('split');
      c.sendMethod(1, 50, 10, raw.queueDeclare(q, { autoDelete: false }));
      await c.expectMethod(1, 50, 11);
      c.sendMethod(1, 60, 40, raw.basicPublish('', q));
      c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(6));
      c.sendFrame(FRAME_BODY, 1, Buffer.alloc(0));
      c.sendFrame(FRAME_BODY, 1, Buffer.from('ab'));
      c.sendFrame(FRAME_BODY, 1, Buffer.from('cd'));
      c.sendFrame(FRAME_BODY, 1, Buffer.from('ef'));
      c.sendMethod(1, 60, 40, raw.basicPublish('', q));
      c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(0));
      const ch = await shared.clients.channel();
      const { messageCount } = await ch.checkQueue(q);
      expect(messageCount).toBe(2);
      const m1 = await ch.get(q, { noAck: true });
      const m2 = await ch.get(q, { noAck: true });
      expect(m1 && m1.content.toString()).toBe('abcdef');
      expect(m2 && m2.content.length).toBe(0);
      await ch.deleteQueue(q);
    } finally {
      c.destroy();
    }
  });
});

describe.concurrent('501 FRAME_ERROR and malformed frames', () => {
  it('a frame larger than frame_max', async () => {
    await expectClose(
      (c) => {
        publish(c);
        c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(200000));
        c.sendFrame(FRAME_BODY, 1, Buffer.alloc(200000));
      },
      { code: 501, text: 'FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,200000,131064}', classId: 0, methodId: 0 },
    );
  });

  it('a method frame larger than frame_max', async () => {
    await expectClose(
      (c) => c.sendMethod(1, 50, 10, raw.queueDeclare(uid('big'), { autoDelete: true }, { big: 'x'.repeat(200000) })),
      // payload = 4 (ids) + 2 + shortstr + 1 + table
      { code: 501, text: expect.stringMatching(/^FRAME_ERROR - type 1, all octets = <<>>: \{frame_too_large,2000\d\d,131064\}$/) as unknown as string, classId: 0, methodId: 0 },
    );
  });

  it('a bad frame-end octet', async () => {
    await expectClose(
      (c) => c.sendFrame(FRAME_METHOD, 1, RawClient.methodPayload(20, 10, enc.shortstr('')).subarray(0, 5), 0x00),
      { code: 501, text: 'FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,0}', classId: 0, methodId: 0 },
    );
  });

  it('a bad frame-end octet (0xAB)', async () => {
    await expectClose(
      (c) => c.sendFrame(FRAME_METHOD, 2, RawClient.methodPayload(20, 10, enc.shortstr('')), 0xab),
      { code: 501, text: 'FRAME_ERROR - type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,171}', classId: 0, methodId: 0 },
    );
  });

  it('an unknown frame type', async () => {
    await expectClose((c) => c.sendFrame(9, 0, Buffer.alloc(0)), {
      code: 501,
      text: 'FRAME_ERROR - type 9, all octets = <<>>: unknown_frame',
      classId: 0,
      methodId: 0,
    });
    await expectClose((c) => c.sendFrame(4, 1, Buffer.from('hi')), {
      code: 501,
      text: 'FRAME_ERROR - type 4, all octets = <<"hi">>: unknown_frame',
      classId: 0,
      methodId: 0,
    });
  });

  it('a heartbeat frame with a payload', async () => {
    await expectClose((c) => c.sendFrame(FRAME_HEARTBEAT, 0, Buffer.from('xx')), {
      code: 501,
      text: 'FRAME_ERROR - type 8, all octets = <<"xx">>: unknown_frame',
      classId: 0,
      methodId: 0,
    });
  });

  it('a truncated method frame', async () => {
    const q = 'probe-q-trunc';
    await expectClose((c) => c.sendMethod(1, 50, 10, raw.queueDeclare(q).subarray(0, 5)), {
      code: 501,
      text: 'FRAME_ERROR - cannot decode <<0,0,13,112,114>>',
      classId: 50,
      methodId: 10,
    });
  });

  it('a short string whose length runs past the end of the frame', async () => {
    await expectClose(
      (c) => c.sendMethod(1, 50, 10, Buffer.concat([enc.u16(0), enc.u8(200), Buffer.from('abc'), enc.bits(false), enc.table({})])),
      { code: 501, text: 'FRAME_ERROR - cannot decode <<0,0,200,97,98,99,0,0,0,0,0>>', classId: 50, methodId: 10 },
    );
  });

  it('a 300-byte "short string" (length byte wraps to 44)', async () => {
    const name = 'n'.repeat(300);
    await expectClose(
      (c) => c.sendMethod(1, 50, 10, Buffer.concat([enc.u16(0), enc.u8(300 & 0xff), Buffer.from(name), enc.bits(false), enc.table({})])),
      {
        code: 501,
        // RabbitMQ cuts reply texts longer than 255 bytes to 252 bytes plus "..."
        text: `FRAME_ERROR - cannot decode <<0,0,44,${Array(54).fill('110').join(',')}...`,
        classId: 50,
        methodId: 10,
      },
    );
  });

  it('extra bytes after the method arguments', async () => {
    const q = 'probe-q-extra';
    await expectClose(
      (c) => c.sendMethod(1, 50, 10, Buffer.concat([raw.queueDeclare(q, { autoDelete: true }), Buffer.from([1, 2, 3])])),
      {
        code: 501,
        text: 'FRAME_ERROR - cannot decode <<0,0,13,112,114,111,98,101,45,113,45,101,120,116,114,97,8,0,0,0,0,1,2,3>>',
        classId: 50,
        methodId: 10,
      },
    );
  });
});

describe.concurrent('more malformed input', () => {
  it('a frame header announcing a 4 GiB payload', async () => {
    await expectClose(
      (c) => {
        const h = Buffer.alloc(7);
        h.writeUInt8(FRAME_METHOD, 0);
        h.writeUInt16BE(1, 1);
        h.writeUInt32BE(0xffffffff, 3);
        c.write(h);
      },
      {
        code: 501,
        text: 'FRAME_ERROR - type 1, all octets = <<>>: {frame_too_large,4294967295,131064}',
        classId: 0,
        methodId: 0,
      },
    );
  });

  it('a method frame too short to hold class and method ids', async () => {
    await expectClose((c) => c.sendFrame(FRAME_METHOD, 1, Buffer.from([0, 50])), {
      code: 501,
      text: 'FRAME_ERROR - type 1, all octets = <<0,50>>: unknown_frame',
      classId: 0,
      methodId: 0,
    });
    await expectClose((c) => c.sendFrame(FRAME_METHOD, 1, Buffer.alloc(0)), {
      code: 501,
      text: 'FRAME_ERROR - type 1, all octets = <<>>: unknown_frame',
      classId: 0,
      methodId: 0,
    });
  });

  it('a content header frame too short to be a header', async () => {
    await expectClose(
      (c) => {
        publish(c);
        c.sendFrame(FRAME_HEADER, 1, Buffer.from([0, 60, 0, 0]));
      },
      { code: 501, text: 'FRAME_ERROR - type 2, all octets = <<0,60,0,0>>: unknown_frame', classId: 0, methodId: 0 },
    );
  });

  it('a field table whose length runs past the end of the frame', async () => {
    await expectClose(
      (c) => c.sendMethod(1, 50, 10, Buffer.concat([enc.u16(0), enc.shortstr('q'), enc.bits(false), enc.u32(100), Buffer.from([1, 2])])),
      { code: 501, text: 'FRAME_ERROR - cannot decode <<0,0,1,113,0,0,0,0,100,1,2>>', classId: 50, methodId: 10 },
    );
  });

  it('server-to-client methods sent by the client: 503 unimplemented method', async () => {
    await expectClose((c) => c.sendMethod(1, 20, 11, enc.longstr('')), {
      code: 503,
      text: 'COMMAND_INVALID - unimplemented method',
      classId: 20,
      methodId: 11,
    });
    await expectClose((c) => c.sendMethod(1, 85, 11), {
      code: 503,
      text: 'COMMAND_INVALID - unimplemented method',
      classId: 85,
      methodId: 11,
    });
  });

  it('undecodable content properties: 541 INTERNAL_ERROR when the message is processed', async () => {
    // property flags announce content-type (bit 15) but the shortstr length runs past the end;
    // RabbitMQ only decodes properties lazily and its channel crashes
    await expectClose(
      (c) => {
        publish(c);
        c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(0, 0x8000, Buffer.from([200, 1])));
      },
      { code: 541, text: 'INTERNAL_ERROR', classId: 0, methodId: 0 },
    );
  });
});

describe('connection dropped without connection.close', () => {
  it('an unknown class id', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 99, 10);
      await expectDropWithoutClose(c);
    } finally {
      c.destroy();
    }
    await othersStillWork();
  });

  it('an unknown method id', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 50, 99);
      await expectDropWithoutClose(c);
    } finally {
      c.destroy();
    }
  });

  it('an unknown field-table type tag', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 50, 10, raw.queueDeclare(uid('tt'), {}, { 'x-foo': { $type: 'Z', raw: Buffer.from([1, 2, 3, 4]) } }));
      await expectDropWithoutClose(c);
    } finally {
      c.destroy();
    }
    await othersStillWork();
  });
});
