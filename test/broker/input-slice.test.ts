// One client's input is handled in slices (src/connection/input-slice.ts): a single read
// holding thousands of publishes is not handled in one go, another connection's request is
// answered between slices, nothing is lost or reordered by the pauses, and a consumer whose
// socket takes its output keeps getting messages straight from the publish. Driven through
// in-process streams, so each client's bytes arrive as one chunk exactly as written.

import { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferReader } from '../../src/codec/buffer-reader.js';
import { FrameReader } from '../../src/codec/frame-reader.js';
import {
  BASIC_CONSUME,
  BASIC_CONSUME_OK,
  BASIC_DELIVER,
  BASIC_PUBLISH,
  CHANNEL_OPEN,
  CONNECTION_OPEN,
  CONNECTION_OPEN_OK,
  CONNECTION_START,
  CONNECTION_START_OK,
  CONNECTION_TUNE,
  CONNECTION_TUNE_OK,
  decodeMethod,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  QUEUE_DECLARE,
  QUEUE_DECLARE_OK,
  type Method,
} from '../../src/codec/methods.generated.js';
import type { Connection } from '../../src/connection/connection.js';
import { InputSlice, SLICE_MAX_FRAMES } from '../../src/connection/input-slice.js';
import type { RunningBroker } from '../../src/index.js';
import { testBroker, uid, waitFor } from '../helpers/broker.js';
import { frame, headerPayload, methodPayload } from '../helpers/frames.js';

let broker: RunningBroker;

beforeAll(async () => {
  broker = await testBroker({ heartbeat: 0 });
});

afterAll(async () => {
  await broker.close();
});

interface Got {
  readonly channel: number;
  readonly method: Method | null;
  readonly body: Buffer | null;
}

/** A client on an in-process stream: what it pushes reaches the broker as one chunk. */
class StreamClient {
  readonly got: Got[] = [];
  readonly conn: Connection;
  readonly #toBroker: Duplex;
  readonly #reader = new FrameReader(0);

  constructor() {
    this.#toBroker = new Duplex({
      read: () => undefined,
      write: (chunk: Buffer, _enc, cb) => {
        this.#reader.push(chunk, {
          onFrame: (type, channel, payload) => {
            const copy = Buffer.from(payload);
            this.got.push({ channel, method: type === FRAME_METHOD ? decodeMethod(new BufferReader(copy)) : null, body: type === FRAME_BODY ? copy : null });
          },
        });
        cb();
      },
    });
    this.conn = broker.broker.handle(this.#toBroker);
  }

  send(bytes: Buffer): void {
    this.#toBroker.push(bytes);
  }

  async waitFor(id: number, nth = 1): Promise<Method> {
    await waitFor(() => this.got.filter((g) => g.method?.id === id).length >= nth, `method ${id}`);
    return this.got.filter((g) => g.method?.id === id)[nth - 1]!.method!;
  }

  async open(): Promise<void> {
    this.send(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
    await this.waitFor(CONNECTION_START);
    this.send(method(0, { id: CONNECTION_START_OK, clientProperties: new Map(), mechanism: 'PLAIN', response: Buffer.from('\u0000guest\u0000guest'), locale: 'en_US' }));
    await this.waitFor(CONNECTION_TUNE);
    this.send(Buffer.concat([method(0, { id: CONNECTION_TUNE_OK, channelMax: 2047, frameMax: 131072, heartbeat: 0 }), method(0, { id: CONNECTION_OPEN, virtualHost: '/', capabilities: '', insist: false })]));
    await this.waitFor(CONNECTION_OPEN_OK);
  }
}

const method = (channel: number, m: Method): Buffer => frame(FRAME_METHOD, channel, methodPayload(m));

function publishes(queue: string, n: number, size = 16): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const body = Buffer.alloc(size);
    body.writeUInt32BE(i, 0);
    parts.push(
      method(1, { id: BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: queue, mandatory: false, immediate: false }),
      frame(FRAME_HEADER, 1, headerPayload(body.length)),
      frame(FRAME_BODY, 1, body),
    );
  }
  return Buffer.concat(parts);
}

const declare = (channel: number, queue: string, passive: boolean): Buffer =>
  method(channel, { id: QUEUE_DECLARE, ticket: 0, queue, passive, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: new Map() });

describe('input slices', () => {
  it('a slice ends within SLICE_MAX_FRAMES (and one clock look) in one turn, and starts again after reset', () => {
    const s = new InputSlice();
    let n = 0;
    while (!s.count()) n++;
    expect(n).toBeLessThan(SLICE_MAX_FRAMES + 32);
    s.reset();
    expect(s.count()).toBe(false);
  });

  it('a read of 6,000 publishes is handled in slices; another client is answered in between; all arrive in order', async () => {
    const q = uid('slices');
    const n = 6000; // 18,000 frames in one chunk
    const consumer = new StreamClient();
    await consumer.open();
    consumer.send(Buffer.concat([method(1, { id: CHANNEL_OPEN, outOfBand: '' }), declare(1, q, false)]));
    await consumer.waitFor(QUEUE_DECLARE_OK);
    const publisher = new StreamClient();
    await publisher.open();
    const probe = new StreamClient();
    await probe.open();
    probe.send(method(1, { id: CHANNEL_OPEN, outOfBand: '' }));
    await waitFor(() => probe.got.length >= 4, 'channel.open-ok');

    const yields: number[] = [];
    const queue = broker.broker.vhosts.get('/')!.queues.get(q)!;
    const b = broker.broker as unknown as { yieldInput(c: Connection): void };
    const original = b.yieldInput.bind(b);
    b.yieldInput = (c) => {
      if (c === publisher.conn) yields.push(queue.messageCount);
      original(c);
    };
    try {
      publisher.send(Buffer.concat([method(1, { id: CHANNEL_OPEN, outOfBand: '' }), publishes(q, n)]));
      probe.send(declare(1, q, true));
      const ok = await probe.waitFor(QUEUE_DECLARE_OK);
      await waitFor(() => queue.messageCount === n, `${n} messages queued (have ${queue.messageCount})`);
      // The probe was answered after the publisher's first slice, not after its whole read.
      expect(ok.id === QUEUE_DECLARE_OK && ok.messageCount).toBeLessThan(n);
      expect(ok.id === QUEUE_DECLARE_OK && ok.messageCount).toBeGreaterThan(0);
      // Every slice handled at most SLICE_MAX_FRAMES (+ one look) frames: 3 frames a message.
      expect(yields.length).toBeGreaterThanOrEqual(Math.floor((3 * n) / (SLICE_MAX_FRAMES + 32)));
      let last = 0;
      for (const y of [...yields, n]) {
        expect(y - last).toBeLessThanOrEqual(Math.ceil((SLICE_MAX_FRAMES + 32) / 3));
        last = y;
      }
    } finally {
      b.yieldInput = original;
    }
    // Nothing lost or reordered by the pauses.
    consumer.send(method(1, { id: BASIC_CONSUME, ticket: 0, queue: q, consumerTag: 'c', noLocal: false, noAck: true, exclusive: false, nowait: false, arguments: new Map() }));
    await consumer.waitFor(BASIC_CONSUME_OK);
    await waitFor(() => consumer.got.filter((g) => g.body !== null).length === n, `${n} deliveries`);
    const seq = consumer.got.filter((g) => g.body !== null).map((g) => g.body!.readUInt32BE(0));
    expect(seq).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(consumer.got.filter((g) => g.method?.id === BASIC_DELIVER)).toHaveLength(n);
    expect(publisher.conn.isOpen).toBe(true);
  });

  it('a consumer whose socket takes everything gets each message straight from its publish, though a turn writes past the high-water mark', async () => {
    // A slice's deliveries (1 KiB each: over 16 KiB a slice) pass the stream's high-water mark, so
    // write() says false though the sink took them all at once. Were that taken for
    // backpressure, the next slice (handled in the same turn, before 'drain') would queue.
    const q = uid('straight');
    const n = 6000;
    const consumer = new StreamClient();
    await consumer.open();
    consumer.send(Buffer.concat([method(1, { id: CHANNEL_OPEN, outOfBand: '' }), declare(1, q, false)]));
    await consumer.waitFor(QUEUE_DECLARE_OK);
    consumer.send(method(1, { id: BASIC_CONSUME, ticket: 0, queue: q, consumerTag: 'c', noLocal: false, noAck: true, exclusive: false, nowait: false, arguments: new Map() }));
    await consumer.waitFor(BASIC_CONSUME_OK);
    const publisher = new StreamClient();
    await publisher.open();
    const queue = broker.broker.vhosts.get('/')!.queues.get(q)!;
    let mostReady = 0;
    let yields = 0;
    const enqueue = queue.enqueue.bind(queue);
    queue.enqueue = (msg) => {
      const r = enqueue(msg);
      mostReady = Math.max(mostReady, queue.messageCount);
      return r;
    };
    const b = broker.broker as unknown as { yieldInput(c: Connection): void };
    const original = b.yieldInput.bind(b);
    b.yieldInput = (c) => {
      if (c === publisher.conn) yields++;
      original(c);
    };
    try {
      publisher.send(Buffer.concat([method(1, { id: CHANNEL_OPEN, outOfBand: '' }), publishes(q, n, 1024)]));
      await waitFor(() => consumer.got.filter((g) => g.body !== null).length === n, `${n} deliveries`);
    } finally {
      b.yieldInput = original;
    }
    expect(yields).toBeGreaterThanOrEqual(3); // several slices, each flushed before the next
    expect(mostReady).toBe(0);
    const seq = consumer.got.filter((g) => g.body !== null).map((g) => g.body!.readUInt32BE(0));
    expect(seq).toEqual(Array.from({ length: n }, (_, i) => i));
  });
});
