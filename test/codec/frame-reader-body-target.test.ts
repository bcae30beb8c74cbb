// FrameReader with a handler that gives body frames split across chunks a place of their own
// (bodyTarget, the message's body buffer): the payload is copied there as it arrives and the
// frame handed out as that buffer, however the stream is cut; everything else as before.

import { describe, expect, it } from 'vitest';
import { FrameReader, type FrameHandler } from '../../src/codec/frame-reader.js';
import { FRAME_BODY, FRAME_HEARTBEAT, FRAME_METHOD } from '../../src/codec/methods.generated.js';
import { expectCodecError, rawFrame, type Frame } from './helpers.js';

const body = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
const frames: Frame[] = [
  { type: FRAME_METHOD, channel: 1, payload: Buffer.from([0, 60, 0, 40, 1, 2, 3]) },
  { type: FRAME_BODY, channel: 1, payload: body },
  { type: FRAME_HEARTBEAT, channel: 0, payload: Buffer.alloc(0) },
  { type: FRAME_BODY, channel: 2, payload: body.subarray(0, 5) },
  { type: FRAME_BODY, channel: 2, payload: Buffer.alloc(0) },
  { type: FRAME_METHOD, channel: 2, payload: Buffer.from([0, 60, 0, 80]) },
];
const bytes = Buffer.concat(frames.map((f) => rawFrame(f.type, f.channel, f.payload)));

interface Run {
  frames: Frame[];
  /** Frames handed out as the buffer bodyTarget gave for them. */
  inPlace: number;
  asked: { channel: number; size: number }[];
}

function run(chunks: readonly Buffer[], give = true): Run {
  const reader = new FrameReader(131072);
  const r: Run = { frames: [], inPlace: 0, asked: [] };
  const targets = new Set<Buffer>();
  const h: FrameHandler = {
    onFrame(type, channel, payload) {
      if (targets.has(payload)) r.inPlace++;
      r.frames.push({ type, channel, payload: Buffer.from(payload) });
    },
    bodyTarget(channel, size) {
      r.asked.push({ channel, size });
      if (!give) return null;
      const t = Buffer.alloc(size, 0xee);
      targets.add(t);
      return t;
    },
  };
  for (const c of chunks) reader.push(c, h);
  expect(reader.idle).toBe(true);
  return r;
}

describe('FrameReader: body frames copied where the handler says', () => {
  it('cut at every offset: the same frames; a body frame cut inside is handed out as its target', () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = run([Buffer.from(bytes.subarray(0, cut)), Buffer.from(bytes.subarray(cut))]);
      expect(r.frames, `cut at ${cut}`).toEqual(frames);
      // Asked only for a non-empty body frame whose header arrived and whose end did not.
      expect(r.inPlace, `cut at ${cut}`).toBe(r.asked.length);
      for (const a of r.asked) expect(a.size === body.length || a.size === 5, `cut at ${cut}`).toBe(true);
    }
  });

  it('fed one byte at a time: every non-empty body frame goes to its target', () => {
    const r = run([...bytes].map((b) => Buffer.from([b])));
    expect(r.frames).toEqual(frames);
    expect(r.asked).toEqual([
      { channel: 1, size: body.length },
      { channel: 2, size: 5 },
    ]);
    expect(r.inPlace).toBe(2);
  });

  it('frames inside one chunk stay views of it and ask for nothing', () => {
    const r = run([bytes]);
    expect(r.frames).toEqual(frames);
    expect(r.asked).toEqual([]);
  });

  it('a handler that gives no target gets the frame copied into a buffer of its own, as before', () => {
    const r = run([bytes.subarray(0, 30), bytes.subarray(30)], false);
    expect(r.frames).toEqual(frames);
    expect(r.asked.length).toBe(1);
    expect(r.inPlace).toBe(0);
  });

  it('a bad frame-end octet after a body copied to its target: the same FRAME_ERROR as without one', () => {
    const bad = rawFrame(FRAME_BODY, 1, body, 0x41);
    for (const give of [true, false]) {
      const reader = new FrameReader(131072);
      const h: FrameHandler = { onFrame: () => undefined, bodyTarget: (_c, size) => (give ? Buffer.alloc(size) : null) };
      reader.push(bad.subarray(0, 20), h);
      expectCodecError(() => reader.push(bad.subarray(20), h), 'FRAME_ERROR', 'type 3, first 16 octets = <<"0123456789abcdef">>: {invalid_frame_end_marker,65}');
    }
  });

  it('the frame-end octet arriving alone, in the next chunk, completes the frame', () => {
    const one = rawFrame(FRAME_BODY, 3, body);
    const r = run([one.subarray(0, 10), one.subarray(10, one.length - 1), one.subarray(one.length - 1)]);
    expect(r.frames).toEqual([{ type: FRAME_BODY, channel: 3, payload: body }]);
    expect(r.inPlace).toBe(1);
  });
});

describe('FrameReader.bodyRest: reading straight into a body target', () => {
  it('offers the rest of the frame being received, and takes a chunk read there without copying it', () => {
    const payload = Buffer.alloc(40_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
    const stream = Buffer.concat([rawFrame(FRAME_BODY, 1, payload), rawFrame(FRAME_HEARTBEAT, 0, Buffer.alloc(0))]);
    const reader = new FrameReader(131072);
    const got: Frame[] = [];
    let target: Buffer | null = null;
    const h: FrameHandler = {
      onFrame: (type, channel, p) => got.push({ type, channel, payload: Buffer.from(p) }),
      bodyTarget: (_channel, size) => (target = Buffer.alloc(size)),
    };
    expect(reader.bodyRest(1)).toBe(null); // nothing being received
    reader.push(stream.subarray(0, 7 + 1000), h);
    const rest = reader.bodyRest(16 * 1024)!;
    expect(rest.buffer).toBe(target!.buffer);
    expect(rest.length).toBe(payload.length - 1000);
    expect(reader.bodyRest(payload.length)).toBe(null); // less than asked for
    // A read straight into it: the socket wrote the bytes there; the chunk pushed is that memory.
    stream.copy(rest, 0, 7 + 1000, 7 + 31_000);
    reader.push(rest.subarray(0, 30_000), h);
    expect(reader.bodyRest(1)!.byteOffset).toBe(rest.byteOffset + 30_000);
    reader.push(stream.subarray(7 + 31_000), h); // the rest, its frame end and a heartbeat, copied as before
    expect(got).toEqual([
      { type: FRAME_BODY, channel: 1, payload },
      { type: FRAME_HEARTBEAT, channel: 0, payload: Buffer.alloc(0) },
    ]);
    expect(reader.bodyRest(1)).toBe(null);
  });

  it('offers nothing while earlier bytes wait (paused)', () => {
    const reader = new FrameReader(131072);
    const h: FrameHandler = { onFrame: () => reader.pause(), bodyTarget: (_c, size) => Buffer.alloc(size) };
    const stream = Buffer.concat([rawFrame(FRAME_HEARTBEAT, 0, Buffer.alloc(0)), rawFrame(FRAME_BODY, 1, Buffer.alloc(40_000))]);
    reader.push(stream.subarray(0, 100), h);
    expect(reader.paused).toBe(true);
    expect(reader.bodyRest(1)).toBe(null);
  });
});
