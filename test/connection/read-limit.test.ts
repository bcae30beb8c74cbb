// FrameReader.readLimit with ReadBuffers, fed by a simulated socket that copies the byte stream
// into whatever buffer the connection offers for each read (as the kernel does): large body
// frames that come at a regular distance are read straight into their bodies, the reads in
// between stop where the next payload starts; and whatever the reads return, every frame comes
// out byte for byte as sent.

import { describe, expect, it } from 'vitest';
import { FrameReader, type FrameHandler } from '../../src/codec/frame-reader.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from '../../src/codec/methods.generated.js';
import { NOT_KEPT, pinningHandler, ReadBuffers } from '../../src/connection/read-buffers.js';
import { rawFrame, type Frame } from '../codec/helpers.js';

const FRAME_MAX = 131072;

/** A publish: method, content header, body in frames of at most `maxPayload` bytes. */
function message(i: number, bodySize: number, maxPayload = FRAME_MAX - 8, routingKey = 'q'): Frame[] {
  const method = Buffer.concat([Buffer.from([0, 60, 0, 40, 0, 0, 0, routingKey.length]), Buffer.from(routingKey), Buffer.from([0])]);
  const header = Buffer.alloc(14);
  header.writeUInt16BE(60, 0);
  header.writeUInt32BE(bodySize, 8);
  const body = Buffer.alloc(bodySize);
  for (let k = 0; k < bodySize; k++) body[k] = (k * 31 + i * 7) & 0xff;
  const frames: Frame[] = [
    { type: FRAME_METHOD, channel: 1, payload: method },
    { type: FRAME_HEADER, channel: 1, payload: header },
  ];
  for (let off = 0; off < bodySize; off += maxPayload) frames.push({ type: FRAME_BODY, channel: 1, payload: body.subarray(off, Math.min(off + maxPayload, bodySize)) });
  return frames;
}

/** A small deterministic generator (the cuts must be the same on every run). */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

interface Fed {
  frames: Frame[];
  reads: number;
  /** Bytes the "socket" wrote straight into a body target rather than into the read arena. */
  direct: number;
}

/** Feeds `stream` through ReadBuffers and a FrameReader; each read returns at most cap() bytes. */
function feed(stream: Buffer, cap: () => number = () => Infinity): Fed {
  const reader = new FrameReader(FRAME_MAX);
  const reads = new ReadBuffers();
  const fed: Fed = { frames: [], reads: 0, direct: 0 };
  const inner: FrameHandler = {
    onFrame: (type, channel, payload) => fed.frames.push({ type, channel, payload: Buffer.from(payload) }),
    bodyTarget: (_channel, size) => Buffer.alloc(size, 0xee),
  };
  // Nothing handed out is kept (onFrame copies it): the arena is read into again.
  const h = pinningHandler(inner, reads, { keeps: () => NOT_KEPT, detachHeader: () => true }, reader);
  let pos = 0;
  let buf = reads.first();
  while (pos < stream.length) {
    const n = Math.max(1, Math.min(buf.length, stream.length - pos, cap()));
    stream.copy(buf, 0, pos, pos + n);
    if (buf.buffer !== reads.current) fed.direct += n;
    pos += n;
    fed.reads++;
    const chunk = reads.read(n, buf);
    // As the socket passes it on: the arena's ArrayBuffer with a read into it, none with a read into a body.
    expect(reads.lastBuffer).toBe(buf.buffer === reads.current ? reads.current : undefined);
    reader.push(chunk, h, reads.lastBuffer);
    buf = reads.next();
  }
  expect(reader.idle).toBe(true);
  return fed;
}

const bytesOf = (frames: Frame[]): Buffer => Buffer.concat(frames.map((f) => rawFrame(f.type, f.channel, f.payload)));

/** The same frames, compared as bytes (toEqual on megabytes of buffers takes minutes). */
function expectSame(got: Frame[], want: Frame[], what = ''): void {
  expect(got.map((f) => [f.type, f.channel, f.payload.length]), what).toEqual(want.map((f) => [f.type, f.channel, f.payload.length]));
  expect(bytesOf(got).equals(bytesOf(want)), what).toBe(true);
}

describe('FrameReader.readLimit: reads stop where the next large body starts', () => {
  it('one-frame bodies (64 KiB): after the first two messages each body is read straight into place, two reads a message', () => {
    const n = 40;
    const frames = Array.from({ length: n }, (_, i) => message(i, 65536)).flat();
    const fed = feed(bytesOf(frames));
    expectSame(fed.frames, frames);
    expect(fed.direct).toBeGreaterThanOrEqual((n - 2) * 65536);
    expect(fed.reads).toBeLessThanOrEqual(2 * n + 4);
  });

  it('bodies of several frames (1 MiB at frame_max 131072): after the first two messages every large frame goes straight into place, its first too', () => {
    const n = 6;
    const frames = Array.from({ length: n }, (_, i) => message(i, 1048576)).flat();
    const fed = feed(bytesOf(frames));
    expectSame(fed.frames, frames);
    // Two distances are learned (8 bytes between frames; the body's 64-byte last frame, the
    // next method and header before the next message's first frame): reads stop at both, so
    // only the 64-byte frames are read into the arena. With one distance a read of 64 KiB
    // after each last frame brought half of the next message's first frame, to be copied.
    // (Here 14 KiB in all went into the arena, most of it before the distances were known; with
    // one distance, 190 KiB.)
    expect(n * 1048576 - fed.direct).toBeLessThan(32 * 1024);
    // Two reads a large frame, one more at each message's end.
    expect(fed.reads).toBeLessThanOrEqual(n * 17 + 8);
  });

  it('one-frame bodies whose distance alternates (two routing keys): still read straight into place, at most three reads a message', () => {
    const n = 40;
    const frames = Array.from({ length: n }, (_, i) => message(i, 65536, FRAME_MAX - 8, i % 2 === 0 ? 'a' : 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb')).flat();
    const fed = feed(bytesOf(frames));
    expectSame(fed.frames, frames);
    expect(fed.direct).toBeGreaterThanOrEqual((n - 3) * 65536);
    expect(fed.reads).toBeLessThanOrEqual(3 * n + 4);
  });

  it('a shorter distance seen only at first is forgotten: then two reads a message again', () => {
    const long = 'k'.repeat(100);
    const frames = [
      ...Array.from({ length: 3 }, (_, i) => message(i, 65536, FRAME_MAX - 8, 'a')),
      ...Array.from({ length: 400 }, (_, i) => message(3 + i, 65536, FRAME_MAX - 8, long)),
    ].flat();
    const fed = feed(bytesOf(frames));
    expectSame(fed.frames, frames);
    // Three reads a message while the short distance is kept (128 frames), then two; kept for
    // good it would be three reads for each of the 400.
    expect(fed.reads).toBeLessThanOrEqual(2 * 403 + 128 + 16);
    expect(fed.direct).toBeGreaterThanOrEqual(400 * 65536);
  });

  it('without limits (no large frames spanning reads) reads are as before', () => {
    const frames = Array.from({ length: 200 }, (_, i) => message(i, 100)).flat();
    const fed = feed(bytesOf(frames));
    expectSame(fed.frames, frames);
    expect(fed.direct).toBe(0);
    expect(fed.reads).toBeLessThan(20);
  });

  it('whatever each read returns, and when the distance between bodies changes, every frame comes out byte for byte', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const rnd = prng(seed);
      const frames: Frame[] = [];
      for (let i = 0; i < 30; i++) {
        const size = [100, 20_000, 65536, 70_000, 300_000][Math.floor(rnd() * 5)]!;
        const key = 'k'.repeat(1 + Math.floor(rnd() * 3) * 50); // a different gap now and then
        frames.push(...message(i, size, rnd() < 0.5 ? FRAME_MAX - 8 : 50_000, key));
        if (rnd() < 0.2) frames.push({ type: FRAME_HEARTBEAT, channel: 0, payload: Buffer.alloc(0) });
      }
      const caps = [() => Infinity, () => 1 + Math.floor(rnd() * 100_000), () => 1 + Math.floor(rnd() * 300)];
      const fed = feed(bytesOf(frames), caps[seed % 3]);
      expectSame(fed.frames, frames, `seed ${seed}`);
    }
  });

  it('bodies more than 4 KiB apart teach no distance: no limit, and every frame still comes out byte for byte', () => {
    // A 6,000-byte method frame between messages puts their bodies 6 KiB and more apart.
    const far = { type: FRAME_METHOD, channel: 1, payload: Buffer.alloc(6000, 7) };
    const reader = new FrameReader(FRAME_MAX);
    const h: FrameHandler = { onFrame: () => undefined, bodyTarget: (_c, size) => Buffer.alloc(size) };
    const stream = bytesOf([...message(0, 65536), far, ...message(1, 65536), far, ...message(2, 65536)]);
    const first = bytesOf([...message(0, 65536), far]).length;
    reader.push(stream.subarray(0, first + 100), h);
    reader.push(stream.subarray(first + 100, 2 * first - 1), h); // the second body up to its frame-end octet
    expect(reader.readLimit()).toBe(0);
    for (let seed = 1; seed <= 3; seed++) {
      const rnd = prng(seed);
      const frames: Frame[] = [];
      for (let i = 0; i < 30; i++) {
        frames.push(...message(i, 65536 + Math.floor(rnd() * 3) * 70_000));
        if (rnd() < 0.5) frames.push(far);
      }
      expectSame(feed(bytesOf(frames), seed === 1 ? () => Infinity : () => 1 + Math.floor(rnd() * 100_000)).frames, frames, `seed ${seed}`);
    }
  });

  it('no limit while paused or while bytes read earlier wait', () => {
    const reader = new FrameReader(FRAME_MAX);
    const h: FrameHandler = { onFrame: () => undefined, bodyTarget: (_c, size) => Buffer.alloc(size) };
    const stream = bytesOf([...message(0, 65536), ...message(1, 65536), ...message(2, 65536)]);
    const one = stream.length / 3;
    // The first message whole, the second up to inside its body: a gap is learned.
    reader.push(stream.subarray(0, one - 10), h);
    reader.push(stream.subarray(one - 10, one + 100), h);
    reader.push(stream.subarray(one + 100, 2 * one - 1), h); // its body up to the frame-end octet
    expect(reader.readLimit()).toBe(1 + (one - 65536 - 1)); // the end octet, then up to the next payload
    reader.pause();
    expect(reader.readLimit()).toBe(0);
  });
});
