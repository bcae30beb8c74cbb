// Large bodies through real clients: 64 KiB, 1 MiB and 3 MiB messages arrive byte for byte and in
// order, also over a connection whose frame_max (4096) cuts them into hundreds of frames, and
// fanned out to slow, fast, requeueing and durable queues at once. Against
// warren, a publisher flooding 64 KiB messages into a queue whose consumer does not read is
// paused by flow control once about 16 MiB are ready (the limit counts bytes, not only 8192
// messages); RabbitMQ (no management plugin on the reference node) runs the portable part only.

import type { ConsumeMessage } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Clients, enc, httpPortOf, raw, RawClient, rawConnect, startBroker, uid, waitFor, type BrokerUnderTest } from './harness.js';

const KIB = 1024;
const MIB = 1024 * KIB;

let broker: BrokerUnderTest;
let clients: Clients;
let httpPort: number | null = null;
const raws: RawClient[] = [];

beforeAll(async () => {
  broker = await startBroker({ args: ['--http-port', '0'] });
  clients = new Clients(broker.url);
  if (!broker.external) {
    httpPort = httpPortOf(broker);
  }
});

afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  await clients.closeAll();
});

afterAll(async () => {
  await broker.stop();
});

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

/** A body whose every byte depends on its message and position, so a misplaced slice shows. */
function pattern(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7 + (i >>> 12)) & 0xff;
  return b;
}

async function roundTrip(socketOptions?: Record<string, unknown>): Promise<void> {
  const conn = await clients.connect(socketOptions);
  const ch = await conn.createChannel();
  const q = uid('large');
  await ch.assertQueue(q, { exclusive: true });
  const sizes = [64 * KIB, MIB, 3 * MIB, 64 * KIB + 1, 131_064, 131_065];
  const sent = sizes.map((s, i) => pattern(s, i));
  const got: Buffer[] = [];
  await ch.consume(q, (m) => m && got.push(m.content), { noAck: true });
  for (const b of sent) ch.sendToQueue(q, b);
  await waitFor(() => got.length === sent.length, `${sent.length} large deliveries`, 30_000);
  expect(got.map((b) => b.length)).toEqual(sizes);
  for (let i = 0; i < sent.length; i++) expect(got[i]!.equals(sent[i]!), `message ${i} (${sizes[i]} bytes) intact`).toBe(true);
}

describe('large messages', () => {
  it('64 KiB to 3 MiB bodies arrive intact and in order (amqplib, frame_max 131072)', async () => {
    await roundTrip();
  });

  it('the same over frame_max 4096: bodies cut into hundreds of frames each way', async () => {
    await roundTrip({ frameMax: 4096 });
  });

  it('small and large bodies mixed, kept in a queue and then consumed, arrive byte for byte', async () => {
    // warren reads a connection into the same buffer again once nothing read into it is kept:
    // small bodies are views of it (kept), large ones are copied out. Kept messages, read amid
    // large ones, must not be overwritten by later reads.
    const conn = await clients.connect();
    const ch = await conn.createChannel();
    const q = uid('mixed');
    await ch.assertQueue(q, { exclusive: true });
    const cycle = [16, 700, 5000, 40 * KIB, 64 * KIB, 64 * KIB + 1, 200 * KIB, MIB, 3];
    const sent: Buffer[] = [];
    for (let round = 0; round < 5; round++) for (const size of cycle) sent.push(pattern(size, sent.length));
    for (const b of sent) ch.sendToQueue(q, b);
    await waitFor(async () => (await ch.checkQueue(q)).messageCount === sent.length, `${sent.length} messages ready`, 30_000);
    const got: Buffer[] = [];
    await ch.prefetch(7);
    await ch.consume(q, (m) => {
      if (m === null) return;
      got.push(m.content);
      ch.ack(m);
    });
    // Meanwhile more of the same, consumed as they come.
    for (let i = 0; i < cycle.length * 3; i++) {
      const b = pattern(cycle[i % cycle.length]!, sent.length);
      sent.push(b);
      ch.sendToQueue(q, b);
    }
    await waitFor(() => got.length === sent.length, `${sent.length} deliveries`, 30_000);
    for (let i = 0; i < sent.length; i++) expect(got[i]!.equals(sent[i]!), `message ${i} (${sent[i]!.length} bytes) intact`).toBe(true);
  });

  it('runs of same-size large bodies published back to back, the publish changing shape between runs, arrive byte for byte', async () => {
    // warren learns how far apart large body frames come (the method and content header between
    // them) and stops its reads where the next body should start, to read that body straight
    // into place; a run whose header is longer or shorter, or whose bodies take several frames,
    // must come out the same.
    const conn = await clients.connect();
    const ch = await conn.createChannel();
    const q = uid('runs');
    await ch.assertQueue(q, { exclusive: true });
    const runs: { size: number; pad: number; n: number }[] = [
      { size: 64 * KIB, pad: 0, n: 40 },
      { size: 64 * KIB, pad: 300, n: 40 },
      { size: 64 * KIB, pad: 7, n: 20 },
      { size: 300 * KIB, pad: 0, n: 12 },
      { size: 40 * KIB, pad: 1000, n: 30 },
      { size: MIB + 5, pad: 3, n: 4 },
    ];
    const sent: Buffer[] = [];
    const got: Buffer[] = [];
    await ch.consume(q, (m) => m && got.push(m.content), { noAck: true });
    for (const run of runs) {
      for (let i = 0; i < run.n; i++) {
        const b = pattern(run.size, sent.length);
        sent.push(b);
        ch.sendToQueue(q, b, run.pad > 0 ? { headers: { pad: 'p'.repeat(run.pad) } } : {});
      }
    }
    await waitFor(() => got.length === sent.length, `${sent.length} deliveries`, 30_000);
    for (let i = 0; i < sent.length; i++) expect(got[i]!.equals(sent[i]!), `message ${i} (${sent[i]!.length} bytes) intact`).toBe(true);
  });

  it('one large body fanned out to slow, fast, requeueing and durable queues arrives byte for byte everywhere', async () => {
    // warren gives a large body's buffer back for later messages once every queue is done with
    // it and every socket it went out on has written it. A consumer that stops reading holds its
    // deliveries in the broker's output while the others finish theirs and more are published:
    // a buffer given back too early would reach it overwritten by a later message.
    const fastConn = await clients.connect();
    const pub = await clients.channel();
    const x = uid('fan-large');
    await pub.assertExchange(x, 'fanout', { autoDelete: true });
    const qs = { slow: uid('slow'), fast: uid('fast'), requeue: uid('requeue'), durable: uid('durable') };
    for (const [k, q] of Object.entries(qs)) {
      await pub.assertQueue(q, { durable: k === 'durable', autoDelete: false });
      await pub.bindQueue(q, x, '');
    }
    const got: Record<string, Map<number, Buffer>> = { slow: new Map(), fast: new Map(), requeue: new Map(), durable: new Map() };
    const keep = (name: string, m: ConsumeMessage): void => {
      got[name]!.set(m.properties.headers!['i'] as number, m.content);
    };
    // The slow consumer (no-ack) stops reading: deliveries pile up in the kernel, then in the
    // broker's output.
    const slow = await rawConnect(broker);
    raws.push(slow);
    await slow.openChannel(1);
    slow.sendMethod(1, 60, 20, Buffer.concat([enc.u16(0), enc.shortstr(qs.slow), enc.shortstr('slow'), enc.bits(false, true, false, false), enc.table({})]));
    await slow.nextFrame(); // consume-ok
    slow.socket.pause();
    const fast = await clients.channel(fastConn);
    await fast.prefetch(3);
    await fast.consume(qs.fast, (m) => m && (keep('fast', m), fast.ack(m)));
    const rq = await clients.channel(fastConn);
    await rq.prefetch(2);
    await rq.consume(qs.requeue, (m) => {
      if (m === null) return;
      if (!m.fields.redelivered) return rq.nack(m, false, true);
      keep('requeue', m);
      rq.ack(m);
    });
    const dur = await clients.channel(fastConn);
    await dur.consume(qs.durable, (m) => m && (keep('durable', m), dur.ack(m)));
    // Mostly one size, so that the buffers of finished messages are soon taken again.
    const sizes = [64 * KIB, 64 * KIB, 64 * KIB, 256 * KIB, 64 * KIB, 64 * KIB, 100_003, 40 * KIB];
    const n = 160; // about 14 MiB per queue, more than the slow consumer's socket takes
    const sent = Array.from({ length: n }, (_, i) => pattern(sizes[i % sizes.length]!, i));
    for (let i = 0; i < n; i++) {
      pub.publish(x, '', sent[i]!, { headers: { i }, persistent: i % 4 === 0 });
      if (i % 8 === 7) await waitFor(() => got['fast']!.size > i - 8, 'the fast consumer to keep up', 30_000);
    }
    await waitFor(() => ['fast', 'requeue', 'durable'].every((k) => got[k]!.size === n), 'fast, requeue and durable deliveries', 60_000);
    slow.socket.resume();
    // Its deliveries in order (a no-ack consumer of one queue): method, header, body frames.
    const slowBodies = (): Buffer[] => {
      const bodies: Buffer[][] = [];
      for (const f of slow.allFrames) {
        if (f.channel !== 1) continue;
        if (f.type === 1 && f.classId === 60 && f.methodId === 60) bodies.push([]);
        else if (f.type === 3) bodies[bodies.length - 1]!.push(f.payload);
      }
      return bodies.map((parts) => Buffer.concat(parts));
    };
    await waitFor(() => slowBodies().filter((b, i) => b.length === sizes[i % sizes.length]).length === n, 'the slow consumer, once it reads', 60_000);
    slowBodies().forEach((b, i) => got['slow']!.set(i, b));
    for (const q of Object.values(qs)) await pub.deleteQueue(q);
    for (const [name, byIndex] of Object.entries(got)) {
      for (let i = 0; i < n; i++) {
        expect(byIndex.get(i)?.equals(sent[i]!), `${name}: message ${i} intact`).toBe(true);
      }
    }
  }, 60_000);

  it("deliveries still in a slow consumer's socket when it closes its channel arrive intact, though another consumer took and acked them", async () => {
    // The closed channel's unacked messages go back to the queue while its deliveries may
    // still wait in the broker's output to that client; another consumer then takes and acks
    // them. Their buffers must not be used for later messages before that output is written.
    const pub = await clients.channel();
    const q = uid('requeued-large');
    await pub.assertQueue(q, { autoDelete: false });
    const body = (i: number): Buffer => {
      const b = pattern(64 * KIB, i);
      b.writeUInt32BE(i, 0);
      return b;
    };
    const slow = await rawConnect(broker);
    raws.push(slow);
    await slow.openChannel(1);
    slow.sendMethod(1, 60, 20, Buffer.concat([enc.u16(0), enc.shortstr(q), enc.shortstr('slow'), enc.bits(false, false, false, false), enc.table({})]));
    await slow.nextFrame(); // consume-ok
    slow.socket.pause();
    const n = 160; // 10 MiB, more than the slow consumer's socket takes
    for (let i = 0; i < n; i++) pub.sendToQueue(q, body(i));
    await waitFor(async () => (await pub.checkQueue(q)).messageCount < n, 'deliveries to the slow consumer', 30_000);
    slow.sendMethod(1, 20, 40, Buffer.concat([enc.u16(200), enc.shortstr('bye'), enc.u16(0), enc.u16(0)]));
    const fast = await clients.channel();
    await fast.prefetch(8);
    const seen = new Set<number>();
    await fast.consume(q, (m) => {
      if (m === null) return;
      seen.add(m.content.readUInt32BE(0));
      fast.ack(m);
    });
    await waitFor(() => seen.size === n, 'every message to the fast consumer', 30_000);
    // More of the same size, into buffers the acked ones gave back (or not, while held).
    for (let i = n; i < 2 * n; i++) pub.sendToQueue(q, body(i));
    await waitFor(() => seen.size === 2 * n, 'the later messages', 30_000);
    slow.socket.resume();
    await waitFor(() => slow.allFrames.some((f) => f.type === 1 && f.classId === 20 && f.methodId === 41), 'close-ok', 30_000);
    const bodies: Buffer[][] = [];
    for (const f of slow.allFrames) {
      if (f.channel !== 1) continue;
      if (f.type === 1 && f.classId === 60 && f.methodId === 60) bodies.push([]);
      else if (f.type === 3) bodies[bodies.length - 1]!.push(f.payload);
    }
    expect(bodies.length).toBeGreaterThan(0);
    for (const [k, parts] of bodies.entries()) {
      const b = Buffer.concat(parts);
      expect(b.equals(body(k)), `slow delivery ${k} intact`).toBe(true);
    }
    await pub.deleteQueue(q);
  }, 60_000);

  it('a flood of 64 KiB publishes behind a consumer that does not read: paused at about 16 MiB ready', async () => {
    if (broker.external) return; // needs the management API
    const setup = await clients.channel();
    const q = uid('unread-large');
    await setup.assertQueue(q, { exclusive: false, autoDelete: true });
    // A consumer without prefetch that never reads: its socket fills, the backlog is the queue's.
    const reader = await rawConnect(broker);
    raws.push(reader);
    await reader.openChannel(1);
    reader.socket.pause();
    reader.sendMethod(1, 60, 20, Buffer.concat([enc.u16(0), enc.shortstr(q), enc.shortstr('slow'), enc.bits(false, true, false, false), enc.table({})]));
    const pub = await rawConnect(broker);
    raws.push(pub);
    await pub.openChannel(1);
    const body = Buffer.alloc(64 * KIB, 0x6c);
    const one = Buffer.concat([
      RawClient.frame(1, 1, RawClient.methodPayload(60, 40, raw.basicPublish('', q, false))),
      RawClient.frame(2, 1, RawClient.contentHeader(body.length)),
      RawClient.frame(3, 1, body),
    ]);
    for (let i = 0; i < 1024; i++) pub.write(one); // 64 MiB
    const port = pub.socket.localPort;
    await waitFor(async () => {
      const conns = await api<{ peer_port: number; state: string }[]>('/api/connections');
      return conns.find((c) => c.peer_port === port)?.state === 'flow';
    }, 'the publisher to be paused by flow control', 30_000);
    const { message_bytes_ready } = await api<{ message_bytes_ready: number }>(`/api/queues/%2F/${q}`);
    // 16 MiB mark, plus what the publisher's socket reads already held when it was paused.
    expect(message_bytes_ready).toBeGreaterThan(8 * MIB);
    expect(message_bytes_ready).toBeLessThanOrEqual(20 * MIB);
    expect(pub.closed).toBe(false);
  });
});
