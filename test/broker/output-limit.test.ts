// A connection's memory is bounded whatever its client does (maxConnectionBuffer): output the
// client does not read (basic.return, get-ok, deliveries) stops the broker reading that client
// once it passes the limit, and reading resumes when the output drains; messages arriving on
// several channels at once may hold only the limit together (one message alone may be as large
// as the max message size). Driven by a raw socket against an in-process broker; the limit
// under test is the broker's own accounting (pendingOutput, contentHeld).

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from '../../src/connection/connection.js';
import {
  BASIC_CONSUME,
  BASIC_GET,
  BASIC_GET_OK,
  BASIC_PUBLISH,
  BASIC_RETURN,
  CHANNEL_CLOSE,
  CHANNEL_OPEN,
  CHANNEL_OPEN_OK,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  QUEUE_DECLARE,
  QUEUE_DECLARE_OK,
  type Method,
} from '../../src/codec/methods.generated.js';
import type { RunningBroker } from '../../src/index.js';
import { Clients, uid, waitFor } from '../helpers/broker.js';
import { frame, headerPayload, methodPayload } from '../helpers/frames.js';
import { RawClient } from '../helpers/raw-client.js';

const LIMIT = 256 * 1024;
/** Past the limit by at most what one frame's handling writes, plus a few small frames. */
const SLACK = 64 * 1024;

let broker: RunningBroker;
let clients: Clients;
const raws: RawClient[] = [];

beforeAll(async () => {
  broker = await startWithLimit();
  clients = new Clients(broker.url);
});

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  await clients.closeAll();
});

afterAll(async () => {
  await broker.close();
});

async function startWithLimit(): Promise<RunningBroker> {
  const { startBroker } = await import('../../src/index.js');
  return startBroker({ maxConnectionBuffer: LIMIT, heartbeat: 0 });
}

async function rawClient(): Promise<RawClient> {
  const c = await RawClient.open(broker.port, 0);
  raws.push(c);
  c.sendMethod(1, { id: CHANNEL_OPEN, outOfBand: '' });
  await c.waitForMethod(CHANNEL_OPEN_OK);
  return c;
}

/** The broker's side of a raw client's connection. */
function serverSide(c: RawClient): Connection {
  const port = c.socket.localPort;
  const conn = [...broker.broker.connections].find((x) => x.remotePort === port);
  if (conn === undefined) throw new Error('no such connection on the broker');
  return conn;
}

const publish = (routingKey: string, mandatory: boolean): Method => ({ id: BASIC_PUBLISH, ticket: 0, exchange: '', routingKey, mandatory, immediate: false });

function publishFrames(channel: number, routingKey: string, body: Buffer, mandatory = false): Buffer {
  return Buffer.concat([
    frame(FRAME_METHOD, channel, methodPayload(publish(routingKey, mandatory))),
    frame(FRAME_HEADER, channel, headerPayload(body.length)),
    frame(FRAME_BODY, channel, body),
  ]);
}

function count(c: RawClient, id: number): number {
  let n = 0;
  for (const f of c.frames) if (f.method?.id === id) n++;
  return n;
}

/**
 * Writes `batch` `times` over while the client reads nothing, until the broker stops reading
 * it; meanwhile samples the broker's pending output. Returns the largest sample.
 */
async function floodUntilPaused(c: RawClient, batch: Buffer, times: number): Promise<{ conn: Connection; maxPending: number }> {
  const conn = serverSide(c);
  c.socket.pause(); // never read
  for (let i = 0; i < times; i++) c.socket.write(batch);
  let maxPending = 0;
  await waitFor(() => {
    maxPending = Math.max(maxPending, conn.pendingOutput);
    return conn.outputFull;
  }, 'the broker to stop reading the client');
  maxPending = Math.max(maxPending, conn.pendingOutput);
  return { conn, maxPending };
}

describe('output a client does not read (maxConnectionBuffer)', () => {
  it('mandatory unroutable publishes: reading stops at the limit and resumes when the returns are read; every message comes back', async () => {
    const c = await rawClient();
    const n = 20_000; // 20 MiB of returns: more than loopback's socket buffers absorb, 80x the limit
    const one = publishFrames(1, uid('nowhere'), Buffer.alloc(1024, 0x61), true);
    const { conn, maxPending } = await floodUntilPaused(c, Buffer.concat(Array<Buffer>(100).fill(one)), n / 100);
    expect(maxPending).toBeLessThanOrEqual(LIMIT + SLACK);
    // The broker left the rest unread: the client's own writes back up.
    expect(conn.stats.recvOct).toBeLessThan(one.length * n);
    // Reading the returns lets the broker read the publishes again, until all are returned.
    let max = maxPending;
    c.socket.resume();
    await waitFor(() => {
      max = Math.max(max, conn.pendingOutput);
      return count(c, BASIC_RETURN) === n;
    }, `${n} basic.return (have ${count(c, BASIC_RETURN)})`, 30_000);
    expect(max).toBeLessThanOrEqual(LIMIT + SLACK);
    expect(conn.outputFull).toBe(false);
    expect(conn.isOpen).toBe(true);
  });

  it('basic.get of large messages: a few gets are worth a lot of output, and still stop at the limit', async () => {
    const setup = await clients.connect();
    const ch = await setup.channel();
    const q = uid('big');
    await ch.assertQueue(q, { autoDelete: false });
    const body = Buffer.alloc(64 * 1024, 0x62);
    for (let i = 0; i < 256; i++) ch.sendToQueue(q, body);
    await waitFor(() => broker.broker.vhosts.get('/')!.queues.get(q)!.messageCount === 256, '256 messages queued');

    const c = await rawClient();
    const get = frame(FRAME_METHOD, 1, methodPayload({ id: BASIC_GET, ticket: 0, queue: q, noAck: true }));
    // 256 gets in one write: 16 MiB of get-ok for 6 KiB asked.
    const { conn, maxPending } = await floodUntilPaused(c, Buffer.concat(Array<Buffer>(256).fill(get)), 1);
    expect(maxPending).toBeLessThanOrEqual(LIMIT + body.length + SLACK);
    c.socket.resume();
    await waitFor(() => count(c, BASIC_GET_OK) === 256, '256 get-ok', 30_000);
    expect(conn.outputFull).toBe(false);
    await ch.deleteQueue(q);
  });

  it('a consumer without prefetch that does not read gets no more deliveries than the limit', async () => {
    const setup = await clients.connect();
    const ch = await setup.channel();
    const q = uid('unread');
    await ch.assertQueue(q, { autoDelete: false });
    // 24 MiB: more than loopback's socket buffers on both sides can absorb.
    const body = Buffer.alloc(2048, 0x63);
    for (let i = 0; i < 12_000; i++) ch.sendToQueue(q, body);
    const queue = (): { messageCount: number } => broker.broker.vhosts.get('/')!.queues.get(q)!;
    await waitFor(() => queue().messageCount === 12_000, '12,000 messages queued', 30_000);

    const c = await rawClient();
    const conn = serverSide(c);
    c.socket.pause();
    c.sendMethod(1, { id: BASIC_CONSUME, ticket: 0, queue: q, consumerTag: 'greedy', noLocal: false, noAck: false, exclusive: false, nowait: false, arguments: new Map() });
    // The broker stops delivering once the socket backs up: most messages stay in the queue.
    await waitFor(() => conn.blockedByBackpressure, 'the consumer socket to back up', 30_000);
    expect(conn.pendingOutput).toBeLessThanOrEqual(LIMIT + SLACK);
    expect(queue().messageCount).toBeGreaterThan(0);
    await ch.deleteQueue(q);
  });

  it('a second, well-behaved client on the same broker is served meanwhile', async () => {
    const c = await rawClient();
    const one = publishFrames(1, uid('nowhere'), Buffer.alloc(1024), true);
    await floodUntilPaused(c, Buffer.concat(Array<Buffer>(100).fill(one)), 200);
    const good = await clients.connect();
    const ch = await good.channel();
    const q = uid('good');
    await ch.assertQueue(q, { exclusive: true });
    ch.sendToQueue(q, Buffer.from('still here'));
    await waitFor(() => broker.broker.vhosts.get('/')!.queues.get(q)?.messageCount === 1, 'the good message queued');
    const m = await ch.get(q, { noAck: true });
    expect(m && m.content.toString()).toBe('still here');
  });
});

describe('messages arriving on several channels at once (maxConnectionBuffer)', () => {
  it('together may hold the limit; the one that goes over is refused with 406 and the others complete', async () => {
    const c = await rawClient();
    for (const ch of [2, 3]) {
      c.sendMethod(ch, { id: CHANNEL_OPEN, outOfBand: '' });
    }
    await waitFor(() => count(c, CHANNEL_OPEN_OK) === 3, 'channels 2 and 3 open');
    c.sendMethod(1, { id: QUEUE_DECLARE, ticket: 0, queue: 'held', passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: new Map() });
    await c.waitForMethod(QUEUE_DECLARE_OK);
    const conn = serverSide(c);
    const part = Buffer.alloc(100 * 1024, 0x64);
    const size = 200 * 1024;
    // Three messages of 200 KiB, each half sent: 300 KiB held at once, over the 256 KiB limit.
    for (const ch of [1, 2, 3]) {
      c.socket.write(Buffer.concat([frame(FRAME_METHOD, ch, methodPayload(publish('held', false))), frame(FRAME_HEADER, ch, headerPayload(size)), frame(FRAME_BODY, ch, part)]));
    }
    const close = await c.waitForMethod(CHANNEL_CLOSE);
    expect(c.frames.find((f) => f.method?.id === CHANNEL_CLOSE)?.channel).toBe(3);
    expect(close).toMatchObject({
      replyCode: 406,
      replyText: `PRECONDITION_FAILED - messages arriving at once on this connection hold ${300 * 1024} bytes, more than configured max connection buffer ${LIMIT}`,
      classId: 60,
      methodId: 40,
    });
    expect(conn.contentHeld).toBe(200 * 1024);
    // The other two complete.
    for (const ch of [1, 2]) c.socket.write(frame(FRAME_BODY, ch, part));
    await waitFor(() => broker.broker.vhosts.get('/')!.queues.get('held')?.messageCount === 2, 'two messages queued');
    expect(conn.contentHeld).toBe(0);
    expect(conn.isOpen).toBe(true);
  });

  it('one message alone may be larger than the limit (up to the max message size)', async () => {
    const c = await rawClient();
    c.sendMethod(1, { id: QUEUE_DECLARE, ticket: 0, queue: 'large', passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: new Map() });
    await c.waitForMethod(QUEUE_DECLARE_OK);
    const conn = serverSide(c);
    const size = 4 * LIMIT;
    const part = Buffer.alloc(size / 16, 0x65);
    c.socket.write(Buffer.concat([frame(FRAME_METHOD, 1, methodPayload(publish('large', false))), frame(FRAME_HEADER, 1, headerPayload(size))]));
    for (let i = 0; i < 16; i++) c.socket.write(frame(FRAME_BODY, 1, part));
    await waitFor(() => broker.broker.vhosts.get('/')!.queues.get('large')?.messageCount === 1, 'the large message queued');
    expect(conn.contentHeld).toBe(0);
    expect(count(c, CHANNEL_CLOSE)).toBe(0);
  });
});
