// Regressions for what the fuzzers (fuzz/) found, through a raw socket, since no client library
// sends these bytes: short strings that are not UTF-8. warren decoded them lossily (each invalid
// byte became U+FFFD, 3 bytes), so a name of 86+ such bytes no longer fit in 255 bytes when
// warren sent it back: a queue of that name was created and then declare-ok could not be
// encoded (501 about warren's own output); a header key like that made dead-lettering fail in
// the TTL timer and the message was lost. Now method arguments are checked as RabbitMQ checks
// them (501 "Malformed UTF-8 in shortstr", class and method 0), and in header keys and
// properties, which RabbitMQ keeps as raw bytes, the ones that would not fit are refused at
// publish (541, as for other undecodable properties); RabbitMQ takes those (the `external` branch).

import { describe, expect, it } from 'vitest';
import { enc, FRAME_BODY, FRAME_HEADER, RawClient, raw, rawConnect, uid } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

const NOT_UTF8 = Buffer.alloc(100, 0xff);

async function othersStillWork(): Promise<void> {
  const ch = await shared.clients.channel();
  const { queue } = await ch.assertQueue('', { exclusive: true });
  ch.sendToQueue(queue, Buffer.from('ok'));
  const m = await ch.get(queue, { noAck: true });
  expect(m && m.content.toString()).toBe('ok');
}

describe('short strings that are not UTF-8', () => {
  for (const [what, name] of [
    ['100 bytes 0xff', NOT_UTF8],
    ['one stray continuation byte', Buffer.from([0x71, 0x80])],
  ] as const) {
    it(`a queue name of ${what}: 501 "Malformed UTF-8 in shortstr", no queue is created`, async () => {
      const c = await rawConnect(shared.broker);
      try {
        await c.openChannel(1);
        c.sendMethod(1, 50, 10, Buffer.concat([enc.u16(0), enc.shortstr(name), enc.bits(false, false, false, false, false), enc.table({})]));
        const res = await c.waitForConnectionClose(15_000);
        expect(res.close).toEqual({ code: 501, text: 'FRAME_ERROR - Malformed UTF-8 in shortstr', classId: 0, methodId: 0 });
        expect(res.socketClosed).toBe(true);
      } finally {
        c.destroy();
      }
      await othersStillWork();
    });
  }

  it('a routing key that is not UTF-8 at publish is taken, as RabbitMQ takes it (publish is not checked)', async () => {
    const ch = await shared.clients.channel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.fanout', '');
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 60, 40, Buffer.concat([enc.u16(0), enc.shortstr('amq.fanout'), enc.shortstr(Buffer.from([0x71, 0xff])), enc.bits(false, false)]));
      c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(2));
      c.sendFrame(FRAME_BODY, 1, Buffer.from('hi'));
      let m: Awaited<ReturnType<typeof ch.get>> = false;
      for (let i = 0; i < 200 && m === false; i++) {
        await new Promise((r) => setTimeout(r, 10));
        m = await ch.get(queue, { noAck: true });
      }
      expect(m && m.content.toString()).toBe('hi');
      // RabbitMQ hands the key back byte for byte; warren as decoded (the bad byte as U+FFFD).
      expect(m && m.fields.routingKey).toBe(shared.broker.external ? Buffer.from([0x71, 0xff]).toString('utf8') : 'q\uFFFD');
    } finally {
      c.destroy();
    }
  });

  it('a queue name with a real U+FFFD is valid UTF-8 and accepted', async () => {
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 50, 10, Buffer.concat([enc.u16(0), enc.shortstr('q\uFFFD'), enc.bits(false, false, true, false, false), enc.table({})]));
      await c.expectMethod(1, 50, 11);
    } finally {
      c.destroy();
    }
  });

  it('a header key of 100 bytes 0xff into a TTL queue that dead-letters: refused at publish, nothing half-done', async () => {
    const ch = await shared.clients.channel();
    const dead = uid('dead');
    const ttl = uid('ttl');
    await ch.assertQueue(dead, { exclusive: true });
    await ch.assertQueue(ttl, { exclusive: false, autoDelete: false, arguments: { 'x-message-ttl': 10, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dead } });
    const c = await rawConnect(shared.broker);
    try {
      await c.openChannel(1);
      c.sendMethod(1, 60, 40, raw.basicPublish('', ttl));
      // flags: headers only (bit 13); the table holds one key of 100 bytes 0xff.
      const headers = Buffer.concat([enc.shortstr(NOT_UTF8), Buffer.from('S'), enc.longstr('v')]);
      const props = Buffer.concat([enc.u32(headers.length), headers]);
      c.sendFrame(FRAME_HEADER, 1, RawClient.contentHeader(2, 1 << 13, props));
      c.sendFrame(FRAME_BODY, 1, Buffer.from('hi'));
      if (shared.broker.external) {
        // RabbitMQ takes it; after the TTL it is dead-lettered with the key intact.
        let m: Awaited<ReturnType<typeof ch.get>> = false;
        for (let i = 0; i < 100 && m === false; i++) {
          await new Promise((r) => setTimeout(r, 20));
          m = await ch.get(dead, { noAck: true });
        }
        expect(m && m.content.toString()).toBe('hi');
        return;
      }
      // warren: RabbitMQ's answer to properties it cannot decode (541, no text).
      const res = await c.waitForConnectionClose(15_000);
      expect(res.close?.code).toBe(541);
    } finally {
      c.destroy();
      await ch.deleteQueue(ttl);
    }
    expect((await ch.checkQueue(dead)).messageCount).toBe(0);
    await othersStillWork();
  });
});
