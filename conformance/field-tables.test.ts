// Field tables through a raw socket, compared with RabbitMQ 3.10.8: the 'L' tag (py-amqp writes it
// for integers beyond 32 bits), unknown tags in every place a table arrives, message headers kept
// as the bytes the publisher sent, and the nesting-depth bound (warren's own limit, 100 levels:
// RabbitMQ accepts any depth a frame can hold, so the RabbitMQ branch, `broker.external`,
// documents that).
import { describe, expect, it } from 'vitest';
import {
  enc,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  type FieldValue,
  RawClient,
  raw,
  rawConnect,
  Reader,
  uid,
} from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();
const MAX_DEPTH = 100;

async function othersStillWork(): Promise<void> {
  const ch = await shared.clients.channel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  ch.sendToQueue(queue, Buffer.from('ok'), { headers: { n: 1 } });
  const m = await ch.get(queue, { noAck: true });
  expect(m && m.content.toString()).toBe('ok');
}

const L = (v: bigint): FieldValue => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return { $type: 'L', raw: b };
};

/** A table whose key "a" holds tables (or arrays) nested so that the deepest is at `levels` (outer = 1). */
function deepTable(levels: number, tag: 'F' | 'A' = 'F'): Buffer {
  const per = tag === 'F' ? 7 : 5;
  const b = Buffer.alloc(4 + 2 + per * (levels - 1) - (tag === 'F' ? 2 : 0));
  b.writeUInt32BE(b.length - 4, 0);
  let off = 4;
  for (let i = 0; i < levels - 1; i++) {
    if (tag === 'F' || i === 0) {
      b[off++] = 1;
      b[off++] = 0x61;
    }
    b[off++] = tag.charCodeAt(0);
    b.writeUInt32BE(b.length - off - 4, off);
    off += 4;
  }
  return b;
}

function queueDeclareArgs(name: string, args: Buffer): Buffer {
  return Buffer.concat([enc.u16(0), enc.shortstr(name), enc.bits(false, false, false, true, false), args]);
}

function publish(c: RawClient, exchange: string, routingKey: string, headers: Buffer): void {
  c.sendMethod(1, 60, 40, raw.basicPublish(exchange, routingKey));
  c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(2, 0x2000, headers));
  c.sendFrame(FRAME_BODY, 1, Buffer.from('hi'));
}

/** basic.get on channel 1: the properties block of the message (flags excluded), or null if empty. */
async function getHeaderProps(c: RawClient, queue: string): Promise<Buffer | null> {
  c.sendMethod(1, 60, 70, raw.basicGet(queue));
  const f = await c.nextNonHeartbeat();
  if (f.classId === 60 && f.methodId === 72) return null;
  expect([f.type, f.classId, f.methodId]).toEqual([FRAME_METHOD, 60, 71]);
  const h = await c.nextNonHeartbeat();
  expect(h.type).toBe(FRAME_HEADER);
  await c.nextNonHeartbeat(); // body
  expect(h.payload.readUInt16BE(12)).toBe(0x2000);
  return h.payload.subarray(14);
}

/** The server closes the connection with exactly this, or (undefined) drops it without a close. */
async function expectEnd(c: RawClient, close: { code: number; text: string; classId: number; methodId: number } | undefined): Promise<void> {
  const res = await c.waitForConnectionClose(15_000);
  expect(res.close).toEqual(close);
  expect(res.socketClosed).toBe(true);
  if (close === undefined) expect(res.frames.filter((f) => f.type !== FRAME_HEARTBEAT)).toEqual([]);
}

async function withChannel(fn: (c: RawClient) => Promise<void>): Promise<void> {
  const c = await rawConnect(shared.broker);
  try {
    await c.openChannel(1);
    await fn(c);
  } finally {
    c.destroy();
  }
}

async function declareQueue(c: RawClient, name: string): Promise<void> {
  c.sendMethod(1, 50, 10, raw.queueDeclare(name, { autoDelete: false }, {}));
  await c.expectMethod(1, 50, 11);
}

async function deleteQueue(name: string): Promise<void> {
  const ch = await shared.clients.channel();
  await ch.deleteQueue(name);
}

describe("'L' in message headers (py-amqp's 64-bit integers)", () => {
  it('is accepted and delivered as the bytes the publisher sent', async () => {
    const q = uid('L');
    const headers = enc.table({ big: L(1n << 40n), arr: [L(-5n)] as FieldValue, s: 'x' });
    await withChannel(async (c) => {
      await declareQueue(c, q);
      publish(c, '', q, headers);
      expect((await getHeaderProps(c, q))?.toString('hex')).toBe(headers.toString('hex'));
      // CC is read for routing but does not change the message.
      const withCc = enc.table({ big: L(1n << 40n), CC: ['nowhere'] });
      publish(c, '', q, withCc);
      expect((await getHeaderProps(c, q))?.toString('hex')).toBe(withCc.toString('hex'));
    });
    await deleteQueue(q);
    await othersStillWork();
  });

  it("is re-encoded as 'l' when the headers are rewritten (BCC taken out)", async () => {
    const q = uid('Lb');
    await withChannel(async (c) => {
      await declareQueue(c, q);
      publish(c, '', q, enc.table({ big: L(1n << 40n), BCC: ['nowhere'] }));
      const props = await getHeaderProps(c, q);
      expect(props?.toString('hex')).toBe(enc.table({ big: 1n << 40n }).toString('hex'));
      expect(new Reader(props!).table()).toEqual({ big: 1n << 40n });
    });
    await deleteQueue(q);
  });

  it("is re-encoded as 'l' when dead-lettering adds x-death", async () => {
    const q1 = uid('Ld1');
    const q2 = uid('Ld2');
    await withChannel(async (c) => {
      await declareQueue(c, q2);
      c.sendMethod(1, 50, 10, raw.queueDeclare(q1, { autoDelete: false }, { 'x-message-ttl': 0, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': q2 }));
      await c.expectMethod(1, 50, 11);
      publish(c, '', q1, enc.table({ big: L(1n << 40n), arr: [L(-5n)] as FieldValue }));
      let props: Buffer | null = null;
      for (let i = 0; i < 100 && props === null; i++) props = await getHeaderProps(c, q2);
      const t = new Reader(props!).table();
      expect(t['big']).toBe(1n << 40n);
      expect(t['arr']).toEqual([-5n]);
      expect(props!.includes(Buffer.from('03626967' + '6c', 'hex'))).toBe(true);
      expect(t['x-death']).toBeDefined();
    });
    await deleteQueue(q1);
    await deleteQueue(q2);
  });

  it("matches a headers-exchange binding made with 'l' of the same value", async () => {
    const x = uid('Lhx');
    const q = uid('Lhq');
    await withChannel(async (c) => {
      c.sendMethod(1, 40, 10, Buffer.concat([enc.u16(0), enc.shortstr(x), enc.shortstr('headers'), enc.bits(false, false, true, false, false), enc.table()]));
      await c.expectMethod(1, 40, 11);
      await declareQueue(c, q);
      c.sendMethod(1, 50, 20, Buffer.concat([enc.u16(0), enc.shortstr(q), enc.shortstr(x), enc.shortstr(''), enc.bits(false), enc.table({ 'x-match': 'all', big: 1n << 40n })]));
      await c.expectMethod(1, 50, 21);
      const headers = enc.table({ big: L(1n << 40n) });
      publish(c, x, '', headers);
      publish(c, x, '', enc.table({ big: L((1n << 40n) + 1n) }));
      expect((await getHeaderProps(c, q))?.toString('hex')).toBe(headers.toString('hex'));
      expect(await getHeaderProps(c, q)).toBeNull();
    });
    await deleteQueue(q);
  });
});

describe('unknown tags in message headers: 541 INTERNAL_ERROR, as RabbitMQ (its channel crashes decoding them)', () => {
  const z = (tag: string): FieldValue => ({ $type: tag, raw: Buffer.from([0, 1, 0, 2]) });
  for (const [name, headers] of [
    ["'Z' at top level", { z: z('Z') }],
    ["'U' (not in RabbitMQ's set)", { u: z('U') }],
    ["'Z' inside an array", { a: [z('Z')] as FieldValue }],
    ["'Z' inside a nested table", { t: { ok: 1, z: z('Z') } }],
  ] as const) {
    it(name, async () => {
      await withChannel(async (c) => {
        publish(c, '', 'nowhere', enc.table(headers as Record<string, FieldValue>));
        await expectEnd(c, { code: 541, text: 'INTERNAL_ERROR', classId: 0, methodId: 0 });
      });
      await othersStillWork();
    });
  }
});

describe("method arguments and client properties: 'L' accepted, unknown tags drop the socket", () => {
  it("'L' in queue.declare, basic.consume and exchange.bind arguments", async () => {
    const q = uid('La');
    const x = uid('Lax');
    await withChannel(async (c) => {
      c.sendMethod(1, 50, 10, raw.queueDeclare(q, { autoDelete: false }, { 'x-max-length': L(1n), 'x-custom': L(1n << 50n) }));
      await c.expectMethod(1, 50, 11);
      c.sendMethod(1, 60, 20, Buffer.concat([enc.u16(0), enc.shortstr(q), enc.shortstr('ctag'), enc.bits(false, true, false, false), enc.table({ 'x-priority': L(3n) })]));
      await c.expectMethod(1, 60, 21);
      c.sendMethod(1, 40, 10, Buffer.concat([enc.u16(0), enc.shortstr(x), enc.shortstr('headers'), enc.bits(false, false, true, false, false), enc.table()]));
      await c.expectMethod(1, 40, 11);
      c.sendMethod(1, 40, 30, Buffer.concat([enc.u16(0), enc.shortstr(x), enc.shortstr('amq.headers'), enc.shortstr(''), enc.bits(false), enc.table({ n: L(1n << 40n) })]));
      await c.expectMethod(1, 40, 31);
    });
    const ch = await shared.clients.channel();
    await ch.deleteExchange(x);
    await ch.deleteQueue(q);
  });

  it("an unknown tag ('U') in queue.declare arguments", async () => {
    await withChannel(async (c) => {
      c.sendMethod(1, 50, 10, raw.queueDeclare(uid('U'), { autoDelete: true }, { 'x-foo': { $type: 'U', raw: Buffer.from([0, 1, 0, 2]) } }));
      await expectEnd(c, undefined);
    });
    await othersStillWork();
  });

  it('client properties before tune-ok: a start-ok payload of 4096 bytes is read, one byte more drops the socket', async () => {
    for (const [payload, ok] of [
      [4096, true],
      [4097, false],
    ] as const) {
      const c = await RawClient.connect(shared.broker.host, shared.broker.port);
      try {
        c.sendProtocolHeader();
        await c.expectMethod(0, 10, 10);
        // 4 (ids) + table (4 + 1 + 3 + 1 + 4 + pad) + PLAIN (6) + response (4 + 12) + locale (6) = 45 + pad
        const args = Buffer.concat([enc.table({ pad: 'x'.repeat(payload - 45) }), enc.shortstr('PLAIN'), enc.longstr('\u0000guest\u0000guest'), enc.shortstr('en_US')]);
        expect(args.length + 4).toBe(payload);
        c.sendMethod(0, 10, 11, args);
        if (ok) await c.expectMethod(0, 10, 30);
        else await expectEnd(c, undefined);
      } finally {
        c.destroy();
      }
    }
    await othersStillWork();
  });

  it("'L' in client properties is accepted", async () => {
    const c = await rawConnect(shared.broker, { capabilities: { big: L(1n << 40n) } });
    try {
      await c.openChannel(1);
    } finally {
      c.destroy();
    }
  });

  it('an unknown tag in client properties drops the socket during the handshake', async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      await expect(c.handshake({ capabilities: { z: { $type: 'Z', raw: Buffer.from([1]) } } })).rejects.toThrow(/socket closed/);
      expect(c.allFrames.filter((f) => f.classId === 10 && f.methodId === 50)).toEqual([]);
    } finally {
      c.destroy();
    }
    await othersStillWork();
  });
});

/** connection.start-ok with AMQPLAIN and this response (a table's content, without its length). */
async function amqplain(c: RawClient, response: Buffer): Promise<void> {
  c.sendProtocolHeader();
  await c.expectMethod(0, 10, 10);
  c.sendMethod(0, 10, 11, Buffer.concat([enc.table({ capabilities: { authentication_failure_close: true } }), enc.shortstr('AMQPLAIN'), enc.longstr(response), enc.shortstr('en_US')]));
}

const LOGIN = enc.table({ LOGIN: 'guest', PASSWORD: 'guest' }).subarray(4);

describe('the AMQPLAIN response table', () => {
  it("'L' beside LOGIN and PASSWORD: logged in", async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      await amqplain(c, Buffer.concat([LOGIN, enc.shortstr('n'), enc.fieldValue(L(1n << 40n))]));
      await c.expectMethod(0, 10, 30);
    } finally {
      c.destroy();
    }
  });

  for (const [what, response] of [
    ['an unknown tag', Buffer.concat([LOGIN, enc.shortstr('z'), Buffer.from('Z')])],
    ['a truncated value', Buffer.concat([LOGIN, enc.shortstr('t'), Buffer.from([0x49, 0, 1])])],
    ['no LOGIN', enc.table({ PASSWORD: 'guest' }).subarray(4)],
  ] as const) {
    // RabbitMQ closes the socket about 3 s later, warren at once (README: "a bad frame before the handshake ends").
    it(`${what}: the socket is closed without connection.close`, async () => {
      const c = await RawClient.connect(shared.broker.host, shared.broker.port);
      try {
        await amqplain(c, response);
        await expectEnd(c, undefined);
      } finally {
        c.destroy();
      }
      await othersStillWork();
    });
  }
});

describe(`nesting depth (warren: at most ${MAX_DEPTH} levels, then 501; RabbitMQ: no limit)`, () => {
  const tooDeep = { code: 501, text: `FRAME_ERROR - field table nested deeper than ${MAX_DEPTH} levels` };

  it(`${MAX_DEPTH} levels of tables and of arrays are accepted in method arguments`, async () => {
    await withChannel(async (c) => {
      c.sendMethod(1, 50, 10, queueDeclareArgs(uid('d'), deepTable(MAX_DEPTH)));
      await c.expectMethod(1, 50, 11);
      c.sendMethod(1, 50, 10, queueDeclareArgs(uid('d'), deepTable(MAX_DEPTH, 'A')));
      await c.expectMethod(1, 50, 11);
    });
  });

  for (const [what, levels, tag] of [
    ['tables, one level too deep', MAX_DEPTH + 1, 'F'],
    ['arrays, one level too deep', MAX_DEPTH + 1, 'A'],
    ['tables 18,000 deep (a full frame)', 18_000, 'F'],
    ['arrays 25,000 deep (a full frame)', 25_000, 'A'],
  ] as const) {
    it(`queue.declare arguments: ${what}`, async () => {
      await withChannel(async (c) => {
        c.sendMethod(1, 50, 10, queueDeclareArgs(uid('d'), deepTable(levels, tag)));
        if (shared.broker.external) await c.expectMethod(1, 50, 11);
        else await expectEnd(c, { ...tooDeep, classId: 50, methodId: 10 });
      });
      await othersStillWork();
    });
  }

  it('client properties nested too deep: connection.close during the handshake', async () => {
    // Client properties travel before tuning, in a frame RabbitMQ caps at 4096 bytes: 500 levels fit.
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      const hs = c.handshake({ capabilities: { deep: { $type: 'F', raw: deepTable(500) } } });
      if (shared.broker.external) {
        await hs;
        await c.openChannel(1);
      } else {
        await expect(hs).rejects.toThrow(/10\/50/);
        expect(c.allFrames.map((f) => [f.classId, f.methodId])).toContainEqual([10, 50]);
        const close = c.allFrames.find((f) => f.classId === 10 && f.methodId === 50)!;
        const r = new Reader(close.payload, 4);
        expect({ code: r.u16(), text: r.shortstr(), classId: r.u16(), methodId: r.u16() }).toEqual({ ...tooDeep, classId: 10, methodId: 11 });
        c.sendMethod(0, 10, 51);
        expect(await c.waitClosed(10_000)).toBe(true);
      }
    } finally {
      c.destroy();
    }
    await othersStillWork();
  });

  it('the AMQPLAIN response nested too deep: 501 naming connection.start-ok', async () => {
    const c = await RawClient.connect(shared.broker.host, shared.broker.port);
    try {
      await amqplain(c, Buffer.concat([LOGIN, enc.shortstr('d'), Buffer.from('F'), deepTable(MAX_DEPTH)]));
      if (shared.broker.external) await c.expectMethod(0, 10, 30);
      else await expectEnd(c, { ...tooDeep, classId: 10, methodId: 11 });
    } finally {
      c.destroy();
    }
    await othersStillWork();
  });

  for (const [what, levels] of [
    [`${MAX_DEPTH} levels`, MAX_DEPTH],
    [`${MAX_DEPTH + 1} levels`, MAX_DEPTH + 1],
    ['18,000 levels', 18_000],
  ] as const) {
    for (const via of ['the default exchange (passed through)', 'a headers exchange (decoded)'] as const) {
      it(`message headers, ${what}, via ${via}`, async () => {
        const q = uid('dh');
        const x = uid('dhx');
        const headers = deepTable(levels);
        await withChannel(async (c) => {
          await declareQueue(c, q);
          if (via.startsWith('a headers')) {
            c.sendMethod(1, 40, 10, Buffer.concat([enc.u16(0), enc.shortstr(x), enc.shortstr('headers'), enc.bits(false, false, true, false, false), enc.table()]));
            await c.expectMethod(1, 40, 11);
            c.sendMethod(1, 50, 20, Buffer.concat([enc.u16(0), enc.shortstr(q), enc.shortstr(x), enc.shortstr(''), enc.bits(false), enc.table({ 'x-match': 'any', a: 1, b: 2 })]));
            await c.expectMethod(1, 50, 21);
          }
          publish(c, via.startsWith('a headers') ? x : '', via.startsWith('a headers') ? '' : q, headers);
          if (shared.broker.external || levels <= MAX_DEPTH) {
            // Not matched by the binding (a is a table), or delivered byte for byte.
            const got = await getHeaderProps(c, q);
            if (via.startsWith('a headers')) expect(got).toBeNull();
            else expect(got?.equals(headers)).toBe(true);
          } else {
            await expectEnd(c, { ...tooDeep, classId: 0, methodId: 0 });
          }
        });
        await deleteQueue(q);
        await othersStillWork();
      });
    }
  }
});
