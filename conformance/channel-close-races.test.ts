// Frames that race a channel close, through a raw socket (validated against RabbitMQ 3.10.8).
// RabbitMQ's rules (rabbit_reader / rabbit_channel): a closing channel keeps its number until
// close-ok. While the server's channel.close waits for the client's close-ok, and while the
// client's channel.close is handled (until the frames read with it are), the channel answers
// channel.close with close-ok, treats channel.open as a second open (504), and drops every
// other method, content included; its frames are still assembled, so a framing mistake is
// still a connection error. A close-ok, in either direction, frees the number at once. A frame
// on a number nobody holds opens a channel that takes only channel.open.
import { describe, expect, it } from 'vitest';
import {
  enc,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  RawClient,
  type RawFrame,
  raw,
  rawConnect,
  uid,
} from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

const closeArgs = (code: number, text: string): Buffer => Buffer.concat([enc.u16(code), enc.shortstr(text), enc.u16(0), enc.u16(0)]);
const qos = (count: number): Buffer => Buffer.concat([enc.u32(0), enc.u16(count), enc.bits(false)]);

/** Publishes a 3-byte message to an exchange that does not exist (404 on the channel). */
function publishToMissing(c: RawClient, ch: number): void {
  c.sendMethod(ch, 60, 40, raw.basicPublish(uid('missing-x'), 'k'));
  c.sendFrame(FRAME_HEADER, ch, RawClient.contentHeader(3));
  c.sendFrame(FRAME_BODY, ch, Buffer.from('abc'));
}

/** Reads frames until the method `classId/methodId` on `ch`, returning everything read (it last). */
async function readUntil(c: RawClient, ch: number, classId: number, methodId: number): Promise<RawFrame[]> {
  const seen: RawFrame[] = [];
  for (;;) {
    const f = await c.nextNonHeartbeat(10_000);
    seen.push(f);
    if (f.type === FRAME_METHOD && f.channel === 0 && f.classId === 10 && f.methodId === 50) {
      const r = f.payload;
      throw new Error(`connection closed: ${r.readUInt16BE(4)} ${r.subarray(7, 7 + r.readUInt8(6)).toString()}`);
    }
    if (f.type === FRAME_METHOD && f.channel === ch && f.classId === classId && f.methodId === methodId) return seen;
  }
}

const names = (frames: RawFrame[]): string[] =>
  frames.filter((f) => f.type !== FRAME_HEARTBEAT).map((f) => (f.type === FRAME_METHOD ? `${f.channel}:${f.classId}/${f.methodId}` : `${f.channel}:type${f.type}`));

describe('frames racing a channel close', () => {
  it('a channel.close crossing the server’s channel.close gets close-ok; the number is free after the client’s close-ok', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      await c.openChannel(2);
      publishToMissing(c, 1);
      c.sendMethod(1, 20, 40, closeArgs(200, 'bye')); // crosses the server's 404
      const first = await c.expectMethod(1, 20, 40);
      expect(first.payload.readUInt16BE(4)).toBe(404);
      await c.expectMethod(1, 20, 41); // close-ok for our close; the channel is still the server's to free
      c.sendMethod(1, 20, 41); // close-ok for the server's close: the number is free at once
      c.sendMethod(1, 20, 10, enc.shortstr(''));
      await c.expectMethod(1, 20, 11);
      c.sendMethod(1, 50, 10, raw.queueDeclare('', { exclusive: true }));
      await c.expectMethod(1, 50, 11);
      // The other channel never noticed.
      c.sendMethod(2, 60, 10, qos(5));
      await c.expectMethod(2, 60, 11);
    } finally {
      c.destroy();
    }
  });

  it('while the server’s channel.close waits for close-ok, methods and content on that channel are dropped silently', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      await c.openChannel(2);
      const q = uid('closing-drop');
      c.sendMethod(2, 50, 10, raw.queueDeclare(q, { autoDelete: false }));
      await c.expectMethod(2, 50, 11);
      publishToMissing(c, 1);
      await c.expectMethod(1, 20, 40);
      // None of these is answered or acted on: a publish with content, a declare, qos.
      c.sendMethod(1, 60, 40, raw.basicPublish('', q));
      c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(2));
      c.sendFrame(FRAME_BODY, 1, Buffer.from('no'));
      c.sendMethod(1, 50, 10, raw.queueDeclare(uid('never'), { autoDelete: true }));
      c.sendMethod(1, 60, 10, qos(3));
      // A round trip on channel 2 proves the frames above were read.
      c.sendMethod(2, 60, 10, qos(1));
      const during = await readUntil(c, 2, 60, 11);
      expect(names(during)).toEqual(['2:60/11']);
      c.sendMethod(1, 20, 41);
      c.sendMethod(1, 20, 10, enc.shortstr(''));
      c.sendMethod(1, 60, 10, qos(2));
      const after = await readUntil(c, 1, 60, 11);
      expect(names(after)).toEqual(['1:20/11', '1:60/11']);
      // The dropped publish never reached the queue.
      c.sendMethod(2, 60, 70, raw.basicGet(q));
      await c.expectMethod(2, 60, 72); // get-empty
      c.sendMethod(2, 50, 40, Buffer.concat([enc.u16(0), enc.shortstr(q), enc.bits(false, false, false)]));
      await c.expectMethod(2, 50, 41);
    } finally {
      c.destroy();
    }
  });

  it('while the server’s channel.close waits for close-ok, a framing mistake on that channel still closes the connection', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      publishToMissing(c, 1);
      await c.expectMethod(1, 20, 40);
      c.sendFrame(FRAME_BODY, 1, Buffer.from('stray'));
      const res = await c.waitForConnectionClose(10_000);
      expect(res.close).toEqual({ code: 505, text: 'UNEXPECTED_FRAME - expected method frame, got non method frame instead', classId: 0, methodId: 0 });
    } finally {
      c.destroy();
    }
  });

  it('channel.open on a channel the server is closing is still the second channel.open (504)', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      publishToMissing(c, 1);
      await c.expectMethod(1, 20, 40);
      c.sendMethod(1, 20, 10, enc.shortstr(''));
      const res = await c.waitForConnectionClose(10_000);
      expect(res.close).toEqual({ code: 504, text: "CHANNEL_ERROR - second 'channel.open' seen", classId: 20, methodId: 10 });
    } finally {
      c.destroy();
    }
  });

  it('a client-initiated close frees the number when close-ok is sent', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(3);
      c.sendMethod(3, 20, 40, closeArgs(200, 'done'));
      await c.expectMethod(3, 20, 41);
      c.sendMethod(3, 20, 10, enc.shortstr(''));
      await c.expectMethod(3, 20, 11);
      c.sendMethod(3, 20, 40, closeArgs(200, 'again'));
      await c.expectMethod(3, 20, 41);
      // Now unknown again: anything but channel.open is the connection's 504.
      c.sendMethod(3, 60, 10, qos(1));
      const res = await c.waitForConnectionClose(10_000);
      expect(res.close).toEqual({ code: 504, text: "CHANNEL_ERROR - expected 'channel.open'", classId: 60, methodId: 10 });
    } finally {
      c.destroy();
    }
  });

  // Frames written together with the client's channel.close reach the channel before RabbitMQ's
  // reader lets it go (close-ok is sent after the reader has handled the whole read).
  describe('frames written in the same write as the client’s channel.close', () => {
    const closeAnd = (classId: number, methodId: number, args: Buffer = Buffer.alloc(0)): Buffer =>
      Buffer.concat([
        RawClient.frame(FRAME_METHOD, 1, RawClient.methodPayload(20, 40, closeArgs(200, 'bye'))),
        RawClient.frame(FRAME_METHOD, 1, RawClient.methodPayload(classId, methodId, args)),
      ]);

    it.each([
      ['basic.qos: dropped; one close-ok', 60, 10, qos(1), ['1:20/41']],
      ['channel.close: close-ok for each', 20, 40, closeArgs(200, 'again'), ['1:20/41', '1:20/41']],
    ] as const)('%s', async (_what, classId, methodId, args, expected) => {
      const c = await rawConnect(shared.broker);
      try {
        await c.openChannel(1);
        c.write(closeAnd(classId, methodId, args));
        const seen: RawFrame[] = [];
        while (names(seen).length < expected.length) seen.push(await c.nextNonHeartbeat(10_000));
        c.sendMethod(1, 20, 10, enc.shortstr(''));
        seen.push(...(await readUntil(c, 1, 20, 11)));
        expect(names(seen)).toEqual([...expected, '1:20/11']);
      } finally {
        c.destroy();
      }
    });

    it('channel.close-ok: the number is free at once and no close-ok is sent', async () => {
      const c = await rawConnect(shared.broker);
      try {
        await c.openChannel(1);
        c.write(closeAnd(20, 41));
        c.sendMethod(1, 20, 10, enc.shortstr(''));
        expect(names(await readUntil(c, 1, 20, 11))).toEqual(['1:20/11']);
      } finally {
        c.destroy();
      }
    });

    it('channel.open: the second channel.open (504)', async () => {
      const c = await rawConnect(shared.broker);
      try {
        await c.openChannel(1);
        c.write(closeAnd(20, 10, enc.shortstr('')));
        const res = await c.waitForConnectionClose(10_000);
        expect(names(res.frames)).toEqual([]);
        expect(res.close).toEqual({ code: 504, text: "CHANNEL_ERROR - second 'channel.open' seen", classId: 20, methodId: 10 });
      } finally {
        c.destroy();
      }
    });
  });

  it('channel.close-ok on an open channel is 503 unimplemented method', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 20, 41);
      const res = await c.waitForConnectionClose(10_000);
      expect(res.close).toEqual({ code: 503, text: 'COMMAND_INVALID - unimplemented method', classId: 20, methodId: 41 });
    } finally {
      c.destroy();
    }
  });

  it('a content frame on a channel that was never opened is 505, not 504', async () => {
    const c = await rawConnect(shared.broker);
    try {
      c.sendFrame(FRAME_HEADER, 9, RawClient.contentHeader(1));
      const res = await c.waitForConnectionClose(10_000);
      expect(res.close).toEqual({ code: 505, text: 'UNEXPECTED_FRAME - expected method frame, got non method frame instead', classId: 0, methodId: 0 });
    } finally {
      c.destroy();
    }
  });
});
