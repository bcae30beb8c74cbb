// FrameWriter: what it produces parses back with FrameReader; bodies split at frameMax and large
// ones passed by reference; several writers sharing the slab; slab rollover, mid-frame included.

import { describe, expect, it } from 'vitest';
import { BufferReader } from '../../src/codec/buffer-reader.js';
import { BufferWriter } from '../../src/codec/buffer-writer.js';
import type { FieldTable, FieldValue } from '../../src/codec/field-table.js';
import { COMPACT_AFTER, FrameWriter } from '../../src/codec/frame-writer.js';
import {
  BASIC_DELIVER,
  CONNECTION_START,
  decodeBasicProperties,
  decodeMethod,
  encodeBasicProperties,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  type BasicDeliver,
  type BasicProperties,
  type ConnectionStart,
} from '../../src/codec/methods.generated.js';
import { FakeSink, readFrames, type Frame } from './helpers.js';

function deliver(tag: number, routingKey = 'rk'): BasicDeliver {
  return { id: BASIC_DELIVER, consumerTag: 'ctag', deliveryTag: tag, redelivered: tag % 2 === 0, exchange: 'ex', routingKey };
}

function contentHeader(bodySize: number, props: BasicProperties = { contentType: 'application/octet-stream', deliveryMode: 2 }): Buffer {
  const w = new BufferWriter();
  w.u16(60);
  w.u16(0);
  w.u64(bodySize);
  encodeBasicProperties(w, props);
  return w.toBuffer();
}

function patterned(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function flushFrames(w: FrameWriter, frameMax = w.frameMax): { sink: FakeSink; frames: Frame[] } {
  const sink = new FakeSink();
  const pending = w.pendingBytes;
  w.flush(sink);
  expect(sink.bytes().length).toBe(pending);
  expect(w.pendingBytes).toBe(0);
  expect(w.hasPending).toBe(false);
  return { sink, frames: readFrames([sink.bytes()], frameMax) };
}

function decodePayload(f: Frame) {
  const r = new BufferReader(f.payload);
  const m = decodeMethod(r);
  expect(r.remaining).toBe(0);
  return m;
}

/** Checks method + header + body frames of one delivery and returns the reassembled body. */
function expectContent(frames: Frame[], channel: number, m: BasicDeliver, header: Buffer, maxPayload: number): Buffer {
  expect(frames[0]!.type).toBe(FRAME_METHOD);
  expect(frames[0]!.channel).toBe(channel);
  expect(decodePayload(frames[0]!)).toEqual(m);
  expect(frames[1]!.type).toBe(FRAME_HEADER);
  expect(frames[1]!.channel).toBe(channel);
  expect(frames[1]!.payload.equals(header)).toBe(true);
  const bodies = frames.slice(2);
  for (const b of bodies) {
    expect(b.type).toBe(FRAME_BODY);
    expect(b.channel).toBe(channel);
    expect(b.payload.length).toBeGreaterThan(0);
    expect(b.payload.length).toBeLessThanOrEqual(maxPayload);
  }
  return Buffer.concat(bodies.map((b) => b.payload));
}

describe('FrameWriter: frames parse back', () => {
  it('method frame', () => {
    const w = new FrameWriter(131072);
    w.method(7, deliver(42));
    const { frames, sink } = flushFrames(w);
    expect(sink.chunks.length).toBe(1);
    expect(frames.length).toBe(1);
    expect(frames[0]!.type).toBe(FRAME_METHOD);
    expect(frames[0]!.channel).toBe(7);
    expect(decodePayload(frames[0]!)).toEqual(deliver(42));
  });

  it('heartbeat frame is exactly 08 0000 00000000 ce', () => {
    const w = new FrameWriter(131072);
    w.heartbeat();
    const sink = new FakeSink();
    w.flush(sink);
    expect(sink.bytes().toString('hex')).toBe('080000' + '00000000' + 'ce');
  });

  it('raw bytes go out verbatim, between frames', () => {
    const w = new FrameWriter(131072);
    const protocolHeader = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');
    w.raw(protocolHeader);
    w.heartbeat();
    const sink = new FakeSink();
    w.flush(sink);
    const out = sink.bytes();
    expect(out.subarray(0, 8).equals(protocolHeader)).toBe(true);
    expect(readFrames([out.subarray(8)])).toEqual([{ type: FRAME_HEARTBEAT, channel: 0, payload: Buffer.alloc(0) }]);
  });

  it('content: method, header as given, body in one frame when it fits', () => {
    const w = new FrameWriter(131072);
    const body = patterned(1000);
    const header = contentHeader(body.length);
    w.content(3, deliver(1), header, body);
    const { frames } = flushFrames(w);
    expect(frames.length).toBe(3);
    expect(expectContent(frames, 3, deliver(1), header, 131072 - 8).equals(body)).toBe(true);
    expect(decodeBasicProperties(new BufferReader(frames[1]!.payload, 12))).toEqual({ contentType: 'application/octet-stream', deliveryMode: 2 });
  });

  it('content with an empty body has no body frame', () => {
    const w = new FrameWriter(4096);
    const header = contentHeader(0);
    w.content(1, deliver(1), header, Buffer.alloc(0));
    const { frames } = flushFrames(w);
    expect(frames.map((f) => f.type)).toEqual([FRAME_METHOD, FRAME_HEADER]);
  });

  it.each([
    [4096, 4088, 1],
    [4096, 4089, 2],
    [4096, 10_000, 3],
    [4096, 3 * 4088, 3],
    [131072, 131064 * 2 + 1, 3],
    [16384, 100_000, 7],
  ])('frameMax %i, body %i bytes: %i body frames, each within frameMax, concatenating to the body', (frameMax, size, count) => {
    const w = new FrameWriter(frameMax);
    const body = patterned(size, frameMax);
    const header = contentHeader(body.length);
    w.content(9, deliver(5), header, body);
    const { frames } = flushFrames(w, frameMax);
    expect(frames.length).toBe(2 + count);
    expect(expectContent(frames, 9, deliver(5), header, frameMax - 8).equals(body)).toBe(true);
    // All but the last body frame are full.
    for (const f of frames.slice(2, -1)) expect(f.payload.length).toBe(frameMax - 8);
  });

  it('frameMax 0 (no limit): the body goes out in one frame', () => {
    const w = new FrameWriter(0);
    const body = patterned(300_000);
    const header = contentHeader(body.length);
    w.content(1, deliver(1), header, body);
    const { frames } = flushFrames(w, 0);
    expect(frames.length).toBe(3);
    expect(expectContent(frames, 1, deliver(1), header, Infinity).equals(body)).toBe(true);
  });

  it('body() alone, several bodies in a row', () => {
    const w = new FrameWriter(4096);
    const bodies = [patterned(10), patterned(5000, 1), patterned(9000, 2), patterned(1, 3)];
    for (const b of bodies) w.body(2, b);
    const { frames } = flushFrames(w, 4096);
    expect(frames.every((f) => f.type === FRAME_BODY && f.channel === 2)).toBe(true);
    expect(frames.map((f) => f.payload.length)).toEqual([10, 4088, 912, 4088, 4088, 824, 1]);
    expect(Buffer.concat(frames.map((f) => f.payload)).equals(Buffer.concat(bodies))).toBe(true);
  });
});

describe('FrameWriter: large bodies by reference', () => {
  it('a body of 8 KiB or more is handed to the sink itself, not a copy', () => {
    const w = new FrameWriter(131072);
    const body = patterned(8 * 1024);
    w.content(1, deliver(1), contentHeader(body.length), body);
    const { sink, frames } = flushFrames(w);
    expect(sink.chunks.some((c) => c === body)).toBe(true);
    expect(frames.length).toBe(3);
    expect(frames[2]!.payload.equals(body)).toBe(true);
    // Corked: several chunks in one batch.
    expect(sink.corks).toBe(1);
    expect(sink.uncorks).toBe(1);
    expect(sink.writesWhileCorked).toBe(sink.chunks.length);
  });

  it('a large body split at frameMax is handed over as views of the body', () => {
    const w = new FrameWriter(16384);
    const body = patterned(40_000);
    w.body(1, body);
    const { sink, frames } = flushFrames(w, 16384);
    const views = sink.chunks.filter((c) => c.buffer === body.buffer && c.byteOffset >= body.byteOffset && c.byteOffset < body.byteOffset + body.length);
    // 16376 + 16376 are by reference; the 7248-byte tail is below 8 KiB and copied.
    expect(views.map((v) => v.length)).toEqual([16376, 16376]);
    expect(views[0]!.byteOffset).toBe(body.byteOffset);
    expect(Buffer.concat(frames.map((f) => f.payload)).equals(body)).toBe(true);
  });

  it('a body under 8 KiB is copied: changing it after writing does not change the output', () => {
    const w = new FrameWriter(131072);
    const body = Buffer.alloc(8 * 1024 - 1, 0x41);
    w.body(1, body);
    body.fill(0x42);
    const { sink, frames } = flushFrames(w);
    expect(sink.chunks.some((c) => c.buffer === body.buffer && c.byteOffset === body.byteOffset)).toBe(false);
    expect(frames[0]!.payload.every((b) => b === 0x41)).toBe(true);
  });
});

describe('FrameWriter: flushing', () => {
  it('one chunk is written without cork; write()’s result is returned', () => {
    const w = new FrameWriter(131072);
    w.heartbeat();
    const sink = new FakeSink();
    sink.write = function (c: Buffer) {
      this.chunks.push(c);
      return false;
    };
    expect(w.flush(sink)).toBe(false);
    expect(sink.corks).toBe(0);
    expect(sink.chunks.length).toBe(1);
  });

  it('nothing pending: flush writes nothing and returns true', () => {
    const w = new FrameWriter(131072);
    const sink = new FakeSink();
    expect(w.hasPending).toBe(false);
    expect(w.flush(sink)).toBe(true);
    expect(sink.chunks.length).toBe(0);
    expect(sink.corks).toBe(0);
  });

  it('pendingBytes counts exactly what flush will write', () => {
    const w = new FrameWriter(4096);
    w.method(1, deliver(1));
    expect(w.pendingBytes).toBeGreaterThan(8);
    w.body(1, patterned(20_000));
    w.heartbeat();
    expect(w.hasPending).toBe(true);
    const pending = w.pendingBytes;
    const sink = new FakeSink();
    w.flush(sink);
    expect(sink.bytes().length).toBe(pending);
  });

  it('a second flush only writes what came after the first', () => {
    const w = new FrameWriter(131072);
    w.method(1, deliver(1));
    const first = flushFrames(w).frames;
    w.method(1, deliver(2));
    const second = flushFrames(w).frames;
    expect(first.map(decodePayload)).toEqual([deliver(1)]);
    expect(second.map(decodePayload)).toEqual([deliver(2)]);
  });

  it('discard drops everything pending', () => {
    const w = new FrameWriter(131072);
    w.method(1, deliver(1));
    w.body(1, patterned(20_000));
    w.discard();
    expect(w.pendingBytes).toBe(0);
    const sink = new FakeSink();
    w.flush(sink);
    expect(sink.chunks.length).toBe(0);
    w.method(1, deliver(3));
    expect(flushFrames(w).frames.map(decodePayload)).toEqual([deliver(3)]);
  });

  it('a method that fails to encode leaves no trace in the output', () => {
    const w = new FrameWriter(131072);
    const other = new FrameWriter(131072);
    w.method(1, deliver(1));
    expect(() => w.method(1, deliver(2, 'k'.repeat(256)))).toThrow(/short string too long/);
    other.heartbeat();
    w.method(1, deliver(3));
    expect(() => w.method(1, deliver(4, 'é'.repeat(200)))).toThrow(/short string too long/);
    w.method(1, deliver(5));
    expect(flushFrames(w).frames.map(decodePayload)).toEqual([deliver(1), deliver(3), deliver(5)]);
    expect(flushFrames(other).frames.map((f) => f.type)).toEqual([FRAME_HEARTBEAT]);
  });

  it('flushed chunks stay valid after more writing (a writer that does not recycle: its slabs are never reused)', () => {
    const w = new FrameWriter(131072);
    w.method(1, deliver(1));
    const sink = new FakeSink();
    w.flush(sink);
    const snapshot = Buffer.from(sink.bytes());
    for (let i = 0; i < 200; i++) w.body(1, patterned(4000, i)); // 800 KB: several slabs
    w.discard();
    expect(Buffer.concat(sink.chunks).equals(snapshot)).toBe(true);
  });
});

describe('FrameWriter: several writers share the slab', () => {
  it('A writes, B writes, A again: each flush has only its own frames, in order', () => {
    const a = new FrameWriter(131072);
    const b = new FrameWriter(131072);
    a.method(1, deliver(1, 'a1'));
    b.method(2, deliver(1, 'b1'));
    a.method(1, deliver(2, 'a2'));
    a.body(1, patterned(100, 1));
    b.heartbeat();
    b.method(2, deliver(2, 'b2'));
    a.heartbeat();
    const fa = flushFrames(a).frames;
    const fb = flushFrames(b).frames;
    expect(fa.map((f) => f.type)).toEqual([FRAME_METHOD, FRAME_METHOD, FRAME_BODY, FRAME_HEARTBEAT]);
    expect([decodePayload(fa[0]!), decodePayload(fa[1]!)]).toEqual([deliver(1, 'a1'), deliver(2, 'a2')]);
    expect(fa[2]!.payload.equals(patterned(100, 1))).toBe(true);
    expect(fb.map((f) => f.type)).toEqual([FRAME_METHOD, FRAME_HEARTBEAT, FRAME_METHOD]);
    expect([decodePayload(fb[0]!), decodePayload(fb[2]!)]).toEqual([deliver(1, 'b1'), deliver(2, 'b2')]);
  });

  it('interleaved content with by-reference bodies, flushed in the other order', () => {
    const a = new FrameWriter(16384);
    const b = new FrameWriter(4096);
    const bodyA = patterned(50_000, 1);
    const bodyB = patterned(9000, 2);
    const hA = contentHeader(bodyA.length);
    const hB = contentHeader(bodyB.length, {});
    a.content(1, deliver(1), hA, bodyA.subarray(0, 20_000));
    b.content(5, deliver(7), hB, bodyB);
    a.body(1, bodyA.subarray(20_000));
    const fb = flushFrames(b, 4096).frames;
    const fa = flushFrames(a, 16384).frames;
    expect(expectContent(fb, 5, deliver(7), hB, 4088).equals(bodyB)).toBe(true);
    expect(expectContent(fa, 1, deliver(1), hA, 16376).equals(bodyA)).toBe(true);
  });
});

describe('FrameWriter: output for a socket that already holds a lot (a slow reader)', () => {
  /** ArrayBuffers a set of chunks keeps alive. */
  const pinned = (chunks: Buffer[]) => new Set(chunks.map((c) => c.buffer));

  it('below COMPACT_AFTER the chunks are views of the shared slab', () => {
    const a = new FrameWriter(131072);
    const b = new FrameWriter(131072);
    a.method(1, deliver(1));
    b.method(2, deliver(2));
    const sa = new FakeSink();
    const sb = new FakeSink();
    a.flush(sa, COMPACT_AFTER - 1);
    b.flush(sb, 0);
    // Both views sit in one slab: the slow reader's output pins the other connection's bytes.
    expect(pinned(sa.chunks)).toEqual(pinned(sb.chunks));
  });

  it('at COMPACT_AFTER the slab views are copied into a buffer of their own, bytes unchanged', () => {
    const slow = new FrameWriter(131072);
    const other = new FrameWriter(131072);
    const header = contentHeader(300);
    for (let i = 1; i <= 20; i++) {
      slow.content(1, deliver(i), header, patterned(300, i));
      other.method(2, deliver(i, 'other'));
    }
    const expected = new FakeSink();
    const copy = new FrameWriter(131072);
    for (let i = 1; i <= 20; i++) copy.content(1, deliver(i), header, patterned(300, i));
    copy.flush(expected);
    const sink = new FakeSink();
    const pending = slow.pendingBytes;
    slow.flush(sink, COMPACT_AFTER);
    const otherSink = new FakeSink();
    other.flush(otherSink);
    expect(sink.chunks.length).toBe(1);
    expect(sink.chunks[0]!.length).toBe(pending);
    expect(sink.bytes().equals(expected.bytes())).toBe(true);
    // The slow reader no longer keeps the shared slab alive.
    for (const buf of pinned(otherSink.chunks)) expect(pinned(sink.chunks).has(buf)).toBe(false);
  });

  it('bodies queued by reference stay by reference, the slab views around them are copied', () => {
    const w = new FrameWriter(16384);
    const big = patterned(40_000, 3);
    const header = contentHeader(big.length);
    w.content(1, deliver(1), header, big);
    w.method(1, deliver(2));
    const sink = new FakeSink();
    w.flush(sink, COMPACT_AFTER * 4);
    const frames = readFrames([sink.bytes()], 16384);
    expect(expectContent(frames.slice(0, 5), 1, deliver(1), header, 16376).equals(big)).toBe(true);
    expect(decodePayload(frames[5]!)).toEqual(deliver(2));
    const views = sink.chunks.filter((c) => c.buffer === big.buffer);
    expect(views.map((v) => v.length)).toEqual([16376, 16376]);
    // Everything else went out as copies: nothing but the body and fresh buffers is referenced.
    const others = sink.chunks.filter((c) => c.buffer !== big.buffer);
    for (const c of others) expect(c.byteOffset === 0 || c.length < 4096).toBe(true);
    expect(sink.corks).toBe(1);
  });
});

describe('FrameWriter: slab rollover', () => {
  it('more than 256 KiB through one writer before flushing still yields correct frames', () => {
    const w = new FrameWriter(131072);
    const expected: { m: BasicDeliver; body: Buffer }[] = [];
    let total = 0;
    for (let i = 0; total < 600 * 1024; i++) {
      const body = patterned(3000 + ((i * 977) % 5000), i); // all below 8 KiB: copied into the slab
      const m = deliver(i + 1, `rk-${i}`);
      w.content(1, m, contentHeader(body.length), body);
      expected.push({ m, body });
      total += body.length;
    }
    const { frames, sink } = flushFrames(w);
    expect(sink.chunks.length).toBeGreaterThan(1); // it did cross into new slabs
    expect(frames.length).toBe(expected.length * 3);
    expected.forEach(({ m, body }, i) => {
      const three = frames.slice(i * 3, i * 3 + 3);
      expect(expectContent(three, 1, m, contentHeader(body.length), 131064).equals(body)).toBe(true);
    });
  });

  it('a frame bigger than a whole slab', () => {
    const w = new FrameWriter(1024 * 1024);
    const header = contentHeader(1, { headers: new Map([['big', { type: 'S', value: 'h'.repeat(300_000) }]]) });
    w.content(1, deliver(1), header, Buffer.from('x'));
    const { frames } = flushFrames(w, 1024 * 1024);
    expect(expectContent(frames, 1, deliver(1), header, 1024 * 1024).toString()).toBe('x');
  });

  it('methods with tables that cross the slab boundary mid-frame encode correctly', () => {
    // A slab fills up at some unknown point; frames of ~2 KB whose sizes vary by a byte each time
    // make the boundary fall inside the table (the frame's bulk) at least once per slab.
    const w = new FrameWriter(131072);
    const b = new FrameWriter(131072);
    let written = 0;
    for (let i = 0; written < 3 * 256 * 1024; i++) {
      const props: FieldTable = new Map<string, FieldValue>([
        ['product', { type: 'S', value: 'warren' }],
        ['pad', { type: 'S', value: 'p'.repeat(1500 + (i % 211)) }],
        ['capabilities', { type: 'F', value: new Map<string, FieldValue>([['basic.nack', { type: 't', value: true }], ['list', { type: 'A', value: [{ type: 'I', value: i }] }]]) }],
      ]);
      const m: ConnectionStart = {
        id: CONNECTION_START,
        versionMajor: 0,
        versionMinor: 9,
        serverProperties: props,
        mechanisms: Buffer.from('PLAIN AMQPLAIN'),
        locales: Buffer.from('en_US'),
      };
      w.method(0, m);
      b.heartbeat(); // another connection's bytes in between
      written += w.pendingBytes;
      const { frames } = flushFrames(w);
      expect(frames.length, `iteration ${i}`).toBe(1);
      expect(decodePayload(frames[0]!), `iteration ${i}`).toEqual(m);
    }
    const hb = flushFrames(b).frames;
    expect(hb.every((f) => f.type === FRAME_HEARTBEAT)).toBe(true);
  });
});

describe('FrameWriter.deliver (the basic.deliver frame copied from a template and patched)', () => {
  it('writes the same bytes as content() with a BasicDeliver, whatever changes between calls', () => {
    const header = contentHeader(5);
    const body = patterned(5);
    const cases: [number, string, number, boolean, string, string][] = [
      [1, 'ctag', 1, false, 'ex', 'rk'],
      [1, 'ctag', 2, true, 'ex', 'rk'],
      [1, 'ctag', 2 ** 32 + 7, false, 'ex', 'rk'],
      [1, 'ctag', Number.MAX_SAFE_INTEGER, true, 'ex', 'rk'],
      [2, 'ctag', 9, false, 'ex', 'rk'],
      [2, 'other-consumer-tag', 10, false, 'ex', 'rk'],
      [2, 'other-consumer-tag', 11, false, '', 'rk'],
      [2, 'other-consumer-tag', 12, false, '', 'another.key'],
      [2, 'ünïcode-tag', 13, true, 'éx', 'ключ'],
      [1, 'ctag', 14, false, 'ex', 'rk'],
    ];
    for (const [channel, consumerTag, deliveryTag, redelivered, exchange, routingKey] of cases) {
      const a = new FrameWriter(131072);
      const b = new FrameWriter(131072);
      // Warm the template with other values first (twice: it is built on a repeat), so a stale
      // one would show; then the case once (encoded) and again (from its template).
      a.deliver(3, 'warm', 1, false, 'x', 'y', header, body);
      a.deliver(3, 'warm', 2, false, 'x', 'y', header, body);
      flushFrames(a);
      for (let k = 0; k < 3; k++) {
        a.deliver(channel, consumerTag, deliveryTag + k, redelivered, exchange, routingKey, header, body);
        b.content(channel, { id: BASIC_DELIVER, consumerTag, deliveryTag: deliveryTag + k, redelivered, exchange, routingKey }, header, body);
        const got = flushFrames(a).sink.bytes();
        const want = flushFrames(b).sink.bytes();
        expect(got.equals(want)).toBe(true);
      }
    }
  });

  it('consumers taking turns (a fan-out) and more keys than templates kept: the same bytes as content()', () => {
    const a = new FrameWriter(131072);
    const b = new FrameWriter(131072);
    const header = contentHeader(16);
    let tag = 0;
    for (let round = 0; round < 6; round++) {
      // 10 consumers in turn, then 20 in turn (more than the 16 templates kept).
      const consumers = round < 3 ? 10 : 20;
      for (let c = 0; c < consumers; c++) {
        tag++;
        const redelivered = tag % 7 === 0;
        a.deliver(1 + (c % 2), `c${c}`, tag, redelivered, 'fan', '', header, patterned(16, tag));
        b.content(1 + (c % 2), { id: BASIC_DELIVER, consumerTag: `c${c}`, deliveryTag: tag, redelivered, exchange: 'fan', routingKey: '' }, header, patterned(16, tag));
      }
    }
    expect(flushFrames(a).sink.bytes().equals(flushFrames(b).sink.bytes())).toBe(true);
  });

  it('reuses the template across deliveries and slab rollovers: every frame decodes to what was sent', () => {
    const w = new FrameWriter(4096);
    const sent: BasicDeliver[] = [];
    for (let i = 1; i <= 600; i++) {
      // Mostly one routing key (the template), some runs of others, some alternating.
      const m = deliver(i * 1_000_003, i % 50 === 0 ? `rk-${i}` : i > 500 && i % 2 === 0 ? 'other' : 'rk');
      sent.push(m);
      w.deliver(1, m.consumerTag, m.deliveryTag, m.redelivered, m.exchange, m.routingKey, contentHeader(700), patterned(700, i));
    }
    const { frames } = flushFrames(w, 4096);
    const methods = frames.filter((f) => f.type === FRAME_METHOD).map(decodePayload);
    expect(methods).toEqual(sent);
    const bodies = frames.filter((f) => f.type === FRAME_BODY);
    expect(bodies.map((f) => f.payload.equals(patterned(700, bodies.indexOf(f) + 1)))).toEqual(sent.map(() => true));
  });
});

/** A sink that copies what it is given, as a socket does, and says how much it still holds. */
class CopyingSink extends FakeSink {
  writableLength = 0;
  override write(chunk: Buffer): boolean {
    return super.write(Buffer.from(chunk));
  }
}

describe('FrameWriter: full slabs written into again', () => {
  /** Content frames of about `bytes` through `w`, flushed to `sink` every `per` messages; the slabs the flushes used. */
  function run(w: FrameWriter, sink: FakeSink, bytes: number, per: number, seed: number): { slabs: Set<ArrayBufferLike>; sent: Buffer[] } {
    const slabs = new Set<ArrayBufferLike>();
    const sent: Buffer[] = [];
    const spy: FakeSink = Object.assign(Object.create(sink) as FakeSink, {
      write: (c: Buffer) => {
        slabs.add(c.buffer);
        return sink.write(c);
      },
    });
    for (let i = 0, n = 0; n < bytes; i++) {
      const body = patterned(1000 + (i % 300), seed + i);
      w.content(1, deliver(i + 1), contentHeader(body.length), body);
      sent.push(body);
      n += body.length;
      if ((i + 1) % per === 0) w.flush(spy);
    }
    w.flush(spy);
    return { slabs, sent };
  }

  function bodiesIn(sink: FakeSink): Buffer[] {
    return readFrames([sink.bytes()], 131072)
      .filter((f) => f.type === FRAME_BODY)
      .map((f) => f.payload);
  }

  it('a writer whose sink copies and holds nothing reuses the same few slabs, every byte as written', () => {
    const w = new FrameWriter(131072, true);
    const sink = new CopyingSink();
    const { slabs, sent } = run(w, sink, 3 * 1024 * 1024, 50, 1); // 3 MiB: 12 slabs' worth
    expect(slabs.size).toBeLessThanOrEqual(3);
    const got = bodiesIn(sink);
    expect(got.length).toBe(sent.length);
    sent.forEach((b, i) => expect(got[i]!.equals(b)).toBe(true));
  });

  it('a slab whose bytes a sink still holds (writableLength > 0) is not written into again', () => {
    const held = new FrameWriter(131072, true);
    const heldSink = new FakeSink(); // keeps the views themselves, as a socket's queue does
    const holding = Object.assign(heldSink, { writableLength: 1 });
    held.content(1, deliver(1), contentHeader(5), Buffer.from('keep!'));
    held.flush(holding);
    const snapshot = Buffer.from(heldSink.bytes());
    const w = new FrameWriter(131072, true);
    run(w, new CopyingSink(), 3 * 1024 * 1024, 50, 2);
    expect(Buffer.concat(heldSink.chunks).equals(snapshot)).toBe(true);
  });

  it('a writer that does not recycle keeps the slabs it flushed from being reused', () => {
    const plain = new FrameWriter(131072);
    const sink = new FakeSink();
    plain.content(1, deliver(1), contentHeader(5), Buffer.from('plain'));
    plain.flush(sink);
    const snapshot = Buffer.from(sink.bytes());
    run(new FrameWriter(131072, true), new CopyingSink(), 3 * 1024 * 1024, 50, 3);
    expect(Buffer.concat(sink.chunks).equals(snapshot)).toBe(true);
  });

  it('unflushed bytes of another writer in a full slab keep it from being reused until they are flushed', () => {
    const other = new FrameWriter(131072, true);
    other.content(1, deliver(1), contentHeader(6), Buffer.from('later!'));
    const w = new FrameWriter(131072, true);
    run(w, new CopyingSink(), 3 * 1024 * 1024, 50, 4);
    const sink = new CopyingSink();
    other.flush(sink);
    expect(bodiesIn(sink).map((b) => b.toString())).toEqual(['later!']);
  });
});

describe('FrameWriter.afterWrite', () => {
  /** A sink that holds what it is given until told to write some of it (a socket's queue). */
  class HoldingSink extends FakeSink {
    writableLength = 0;
    override write(chunk: Buffer): boolean {
      super.write(chunk);
      this.writableLength += chunk.length;
      return true;
    }
    /** The kernel took n more bytes. */
    took(n: number): void {
      this.writableLength -= n;
    }
  }

  function waiter(log: string[], name: string): { written(): void } {
    return { written: () => log.push(name) };
  }

  it('tells a waiter once the sink has written every byte queued before it, in order', () => {
    const w = new FrameWriter(131072, true);
    const sink = new HoldingSink();
    const log: string[] = [];
    const body = patterned(64 * 1024);
    w.deliver(1, 'c', 1, false, '', 'q', contentHeader(body.length), body);
    w.afterWrite(waiter(log, 'a'));
    const first = w.pendingBytes;
    w.flush(sink);
    expect(sink.bytes().length).toBe(first); // pendingBytes counted every byte handed over
    expect(log).toEqual([]);
    w.deliver(1, 'c', 2, false, '', 'q', contentHeader(body.length), body);
    w.afterWrite(waiter(log, 'b'));
    w.flush(sink);
    sink.took(first - 1);
    w.afterWrite(waiter(log, 'c')); // checks again, but nothing is due
    expect(log).toEqual([]);
    sink.took(1);
    w.heartbeat();
    w.flush(sink);
    expect(log).toEqual(['a']);
    sink.took(sink.writableLength);
    w.afterWrite(waiter(log, 'd')); // everything written and nothing pending: told at once
    expect(log).toEqual(['a', 'b', 'c', 'd']);
  });

  it('never tells when the sink keeps what it is given, or once the output is discarded', () => {
    const log: string[] = [];
    const kept = new FrameWriter(131072, false);
    kept.heartbeat();
    kept.afterWrite(waiter(log, 'kept'));
    kept.flush(new HoldingSink());
    kept.afterWrite(waiter(log, 'kept2'));
    const w = new FrameWriter(131072, true);
    const sink = new HoldingSink();
    w.heartbeat();
    w.afterWrite(waiter(log, 'gone'));
    w.flush(sink);
    w.discard();
    sink.took(sink.writableLength);
    w.heartbeat();
    w.flush(sink);
    expect(log).toEqual([]);
  });
});
