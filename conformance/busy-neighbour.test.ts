// One client publishing flat out and another doing RPCs at the same time. warren handles one
// client's input in slices and serves other connections between them (bounded latency); these
// tests check that the slicing costs nothing in correctness: a burst written in one go,
// followed by channel.close in the same write, is wholly routed before close-ok (frames read
// with a close are handled first, as in RabbitMQ), transient and persistent, in order; and an
// amqplib client beside the burst, or beside a publisher of persistent messages with confirms
// going flat out, gets every reply and every message of its own.

import type { Channel } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  enc,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  raw,
  RawClient,
  rawConnect,
  uid,
  waitForCount,
} from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();
const raws: RawClient[] = [];

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  await shared.clients.closeAll();
});

/** `n` publishes of `size`-byte bodies numbered from 0 (delivery_mode 2 when persistent), then channel.close. */
function burst(queue: string, n: number, size: number, persistent: boolean): Buffer {
  const method = RawClient.frame(FRAME_METHOD, 1, RawClient.methodPayload(60, 40, raw.basicPublish('', queue)));
  const header = persistent ? RawClient.contentHeader(size, 0x1000, enc.u8(2)) : RawClient.contentHeader(size);
  const headerFrame = RawClient.frame(FRAME_HEADER, 1, header);
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const body = Buffer.alloc(size, 0x61);
    body.writeUInt32BE(i, 0);
    parts.push(method, headerFrame, RawClient.frame(FRAME_BODY, 1, body));
  }
  const close = RawClient.methodPayload(20, 40, Buffer.concat([enc.u16(200), enc.shortstr('bye'), enc.u16(0), enc.u16(0)]));
  parts.push(RawClient.frame(FRAME_METHOD, 1, close));
  return Buffer.concat(parts);
}

/** Consumes `n` messages from `queue` and checks they are numbered 0..n-1 in order. */
async function drainInOrder(ch: Channel, queue: string, n: number): Promise<void> {
  await ch.prefetch(1000);
  let next = 0;
  let outOfOrder = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${next} of ${n} delivered`)), 60_000);
    void ch.consume(queue, (m) => {
      if (m === null) return;
      if (m.content.readUInt32BE(0) !== next) outOfOrder++;
      next++;
      ch.ack(m);
      if (next === n) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  expect(outOfOrder).toBe(0);
}

async function burstThenClose(n: number, size: number, persistent: boolean): Promise<void> {
  const ch = await shared.clients.channel();
  const q = uid(persistent ? 'burst-durable' : 'burst');
  await ch.assertQueue(q, { durable: persistent, autoDelete: false });
  const r = await rawConnect(shared.broker);
  raws.push(r);
  await r.openChannel(1);
  r.write(burst(q, n, size, persistent));
  // close-ok comes only after every publish read with the close was handled.
  await r.expectMethod(1, 20, 41, 60_000);
  await waitForCount(ch, q, n, 30_000);
  await drainInOrder(ch, q, n);
  await ch.deleteQueue(q);
}

/** An amqplib channel consuming its own queue, and the numbers it has received, in order. */
async function probeChannel(): Promise<{ probe: Channel; pq: string; seen: number[] }> {
  const probe = await shared.clients.channel();
  const pq = uid('probe');
  await probe.assertQueue(pq, { exclusive: true });
  const seen: number[] = [];
  await probe.consume(pq, (m) => m && seen.push(m.content.readUInt32BE(0)), { noAck: true });
  return { probe, pq, seen };
}

/** `k` round trips on the probe, one after the other: publish i to its queue, then check the queue (an RPC). */
async function probeRpcs(probe: Channel, pq: string, k: number): Promise<number> {
  let rpcs = 0;
  for (let i = 0; i < k; i++) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(i);
    probe.sendToQueue(pq, b);
    await probe.checkQueue(pq);
    rpcs++;
  }
  return rpcs;
}

describe('a burst of publishes in one write', () => {
  it('transient 16 B x 50,000 then channel.close: close-ok after all of them, all queued in order', async () => {
    await burstThenClose(50_000, 16, false);
  }, 120_000);

  it('persistent 1 KiB x 20,000 to a durable queue then channel.close: close-ok after all of them, all queued in order', async () => {
    await burstThenClose(20_000, 1024, true);
  }, 120_000);

  it('an amqplib client beside the burst gets every RPC reply and every one of its messages', async () => {
    const q = uid('burst-side');
    const setup = await shared.clients.channel();
    await setup.assertQueue(q, { autoDelete: false });
    const r = await rawConnect(shared.broker);
    raws.push(r);
    await r.openChannel(1);

    const { probe, pq, seen } = await probeChannel();

    const n = 50_000;
    r.write(burst(q, n, 16, false));
    const k = 200;
    const rpcs = await probeRpcs(probe, pq, k);
    await r.expectMethod(1, 20, 41, 60_000);
    await waitForCount(setup, q, n, 30_000);
    await waitForCount(probe, pq, 0, 10_000);
    expect(rpcs).toBe(k);
    expect(seen).toEqual(Array.from({ length: k }, (_, i) => i));
    await setup.deleteQueue(q);
  }, 120_000);

  it('an amqplib client beside a flat-out persistent publisher with confirms gets every RPC reply and every one of its messages', async () => {
    // The publisher keeps 500 persistent 1 KiB messages unconfirmed for as long as the probe runs,
    // so the store commits batch after batch (its writer thread runs beside the event loop).
    const q = uid('flatout-durable');
    const pub = await shared.clients.confirmChannel();
    await pub.assertQueue(q, { durable: true, autoDelete: false });
    const body = Buffer.alloc(1024, 0x62);
    let published = 0;
    let confirmed = 0;
    let nacked = 0;
    let stop = false;
    const publisher = new Promise<void>((resolve) => {
      const more = (): void => {
        while (!stop && published - confirmed - nacked < 500) {
          published++;
          pub.sendToQueue(q, body, { persistent: true }, (err) => {
            if (err) nacked++;
            else confirmed++;
            if (stop && confirmed + nacked === published) resolve();
            else if (!stop) more();
          });
        }
        if (stop && confirmed + nacked === published) resolve();
      };
      more();
    });

    const { probe, pq, seen } = await probeChannel();
    // wait until the load is under way
    while (confirmed < 1000) await new Promise((r) => setTimeout(r, 5));
    const atStart = confirmed;
    const k = 200;
    const rpcs = await probeRpcs(probe, pq, k);
    const duringProbe = confirmed - atStart;
    stop = true;
    await publisher;
    await waitForCount(probe, pq, 0, 10_000);
    expect(rpcs).toBe(k);
    expect(seen).toEqual(Array.from({ length: k }, (_, i) => i));
    // the publisher was confirmed while the probe ran, every message, and all of them are queued
    expect(duringProbe).toBeGreaterThan(0);
    expect(nacked).toBe(0);
    expect(confirmed).toBe(published);
    await waitForCount(pub, q, published, 30_000);
    await pub.deleteQueue(q);
  }, 120_000);
});

