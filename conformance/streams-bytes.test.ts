// Every byte of every body, through amqplib, while buffers are reused underneath: a stream
// reader reads segments into one block again once what it delivered was copied out, and a
// connection reads into one buffer again once a publish went only where it is copied (a stream
// appends a copy). One publisher connection mixes messages for a stream, for a classic queue
// (which keeps them as views of its reads) and for both through a fanout exchange, in sizes
// below and above the 8 KiB from which bodies are sent by reference and the 32 KiB from which
// headers are copied; a stream consumer replays from `first` while they are appended. Each
// body is then compared byte for byte, in the stream (read twice), and in the classic queue.
// Run against RabbitMQ with WARREN_CONFORMANCE_URL.
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { Inbox, uid } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

const SIZES = [1000, 1000, 1000, 100, 9000, 1000, 40_000, 1000];

/** Body i: a size from SIZES and bytes from i (two bodies of one size differ everywhere). */
function bodyOf(i: number): Buffer {
  const size = SIZES[i % SIZES.length]!;
  const b = Buffer.allocUnsafe(size);
  for (let j = 0; j < size; j++) b[j] = (i * 131 + j * 7 + (j >> 8)) & 0xff;
  return b;
}

/** The indexes whose body is not byte for byte what was published (the `i` header names it). */
function wrong(ms: ConsumeMessage[]): number[] {
  return ms.filter((m) => !m.content.equals(bodyOf(Number(m.properties.headers?.['i'])))).map((m) => Number(m.properties.headers?.['i']));
}

describe('bodies stay byte for byte while read buffers are reused', () => {
  it('a stream replayed while it is appended, and a classic queue fed from the same reads', async () => {
    const ch: ConfirmChannel = await shared.clients.confirmChannel();
    const stream = uid('bytes-stream');
    const classic = uid('bytes-classic');
    const fanout = uid('bytes-fanout');
    await ch.assertQueue(stream, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    await ch.assertQueue(classic, { durable: false });
    await ch.assertExchange(fanout, 'fanout', { durable: false });
    await ch.bindQueue(stream, fanout, '');
    await ch.bindQueue(classic, fanout, '');

    const reader = await shared.clients.channel();
    await reader.prefetch(1000);
    const live = new Inbox();
    await reader.consume(stream, (m) => {
      live.push(m);
      if (m !== null) reader.ack(m);
    }, { arguments: { 'x-stream-offset': 'first' } });

    // Per index: 0 to the stream, 1 to the classic queue, 2 through the fanout to both.
    const toStream: number[] = [];
    const toClassic: number[] = [];
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const route = i % 3;
      const options = { headers: { i } };
      if (route === 0) ch.sendToQueue(stream, bodyOf(i), options);
      else if (route === 1) ch.sendToQueue(classic, bodyOf(i), options);
      else ch.publish(fanout, '', bodyOf(i), options);
      if (route !== 1) toStream.push(i);
      if (route !== 0) toClassic.push(i);
      if (i % 200 === 199) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();

    const replayed = await live.take(toStream.length, 30_000);
    expect(replayed.map((m) => Number(m.properties.headers?.['i']))).toEqual(toStream);
    expect(wrong(replayed)).toEqual([]);

    // Read again from the start, now that every record is on disk.
    const again = new Inbox();
    const second = await shared.clients.channel();
    await second.prefetch(1000);
    await second.consume(stream, (m) => {
      again.push(m);
      if (m !== null) second.ack(m);
    }, { arguments: { 'x-stream-offset': 'first' } });
    const reread = await again.take(toStream.length, 30_000);
    expect(wrong(reread)).toEqual([]);

    const fromClassic = new Inbox();
    const c = await shared.clients.channel();
    await c.consume(classic, fromClassic.push, { noAck: true });
    const kept = await fromClassic.take(toClassic.length, 30_000);
    expect(kept.map((m) => Number(m.properties.headers?.['i']))).toEqual(toClassic);
    expect(wrong(kept)).toEqual([]);

    await ch.deleteQueue(stream);
    await ch.deleteQueue(classic);
    await ch.deleteExchange(fanout);
  }, 120_000);
});
