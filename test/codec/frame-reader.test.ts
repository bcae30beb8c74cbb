// FrameReader: splitting a byte stream into frames however it is chunked, zero-copy for whole
// frames, and RabbitMQ's exact texts for framing errors.

import { describe, expect, it } from 'vitest';
import { BufferWriter } from '../../src/codec/buffer-writer.js';
import { FrameReader, octetsSnippet, erlangBinary, type FrameHandler } from '../../src/codec/frame-reader.js';
import {
  BASIC_PUBLISH,
  encodeBasicProperties,
  encodeMethod,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  QUEUE_DECLARE,
} from '../../src/codec/methods.generated.js';
import { expectCodecError, hex, rawFrame, readFrames, type Frame } from './helpers.js';

function methodPayload(): Buffer {
  const w = new BufferWriter();
  encodeMethod(w, {
    id: QUEUE_DECLARE,
    ticket: 0,
    queue: 'frames-q',
    passive: false,
    durable: true,
    exclusive: false,
    autoDelete: false,
    nowait: false,
    arguments: new Map([['x-max-length', { type: 'I', value: 10 }]]),
  });
  return w.toBuffer();
}

function headerPayload(bodySize: number): Buffer {
  const w = new BufferWriter();
  w.u16(60);
  w.u16(0);
  w.u64(bodySize);
  encodeBasicProperties(w, { contentType: 'text/plain', deliveryMode: 2 });
  return w.toBuffer();
}

/** A stream of method, header, body, heartbeat and another method frame, on several channels. */
function sampleStream(): { bytes: Buffer; frames: Frame[] } {
  const body = Buffer.from('a body of some length, with a frame-end octet \u00ce inside', 'latin1');
  const publish = new BufferWriter();
  encodeMethod(publish, { id: BASIC_PUBLISH, ticket: 0, exchange: 'amq.direct', routingKey: 'rk', mandatory: true, immediate: false });
  const frames: Frame[] = [
    { type: FRAME_METHOD, channel: 1, payload: methodPayload() },
    { type: FRAME_METHOD, channel: 2, payload: publish.toBuffer() },
    { type: FRAME_HEADER, channel: 2, payload: headerPayload(body.length) },
    { type: FRAME_BODY, channel: 2, payload: body },
    { type: FRAME_HEARTBEAT, channel: 0, payload: Buffer.alloc(0) },
    { type: FRAME_BODY, channel: 65535, payload: Buffer.from([0xce, 0xce]) },
    { type: FRAME_METHOD, channel: 3, payload: methodPayload() },
  ];
  return { bytes: Buffer.concat(frames.map((f) => rawFrame(f.type, f.channel, f.payload))), frames };
}

describe('FrameReader: chunking', () => {
  const { bytes, frames } = sampleStream();

  it('one chunk holding the whole stream', () => {
    expect(readFrames([bytes])).toEqual(frames);
  });

  it('cut at every offset into two chunks, yields the same frames', () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      // Copies, so that no chunk shares memory with another.
      const got = readFrames([Buffer.from(bytes.subarray(0, cut)), Buffer.from(bytes.subarray(cut))]);
      expect(got, `cut at ${cut}`).toEqual(frames);
    }
  });

  it('cut at every pair of offsets into three chunks, yields the same frames', () => {
    for (let a = 0; a <= bytes.length; a += 3) {
      for (let b = a; b <= bytes.length; b += 5) {
        const got = readFrames([bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)].map((c) => Buffer.from(c)));
        expect(got, `cuts at ${a}, ${b}`).toEqual(frames);
      }
    }
  });

  it('fed one byte at a time, yields the same frames', () => {
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    expect(readFrames(chunks)).toEqual(frames);
  });

  it('empty chunks anywhere change nothing', () => {
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 4) chunks.push(Buffer.alloc(0), Buffer.from(bytes.subarray(i, i + 4)));
    chunks.push(Buffer.alloc(0));
    expect(readFrames(chunks)).toEqual(frames);
  });

  it('is not idle while a frame is half read, idle again once it completes', () => {
    const reader = new FrameReader(131072);
    const seen: number[] = [];
    const h: FrameHandler = { onFrame: (type) => seen.push(type) };
    expect(reader.idle).toBe(true);
    reader.push(bytes.subarray(0, 3), h); // inside a header
    expect(reader.idle).toBe(false);
    reader.push(bytes.subarray(3, 12), h); // inside a payload
    expect(reader.idle).toBe(false);
    expect(seen).toEqual([]);
    reader.push(bytes.subarray(12), h);
    expect(reader.idle).toBe(true);
    expect(seen).toEqual(frames.map((f) => f.type));
  });

  it('frames packed in one chunk are handed out as views of the chunk, not copies', () => {
    const chunk = Buffer.from(bytes);
    const reader = new FrameReader(131072);
    const payloads: Buffer[] = [];
    reader.push(chunk, { onFrame: (_t, _c, p) => payloads.push(p) });
    expect(payloads.length).toBe(frames.length);
    let offset = chunk.byteOffset;
    for (const [i, p] of payloads.entries()) {
      expect(p.buffer).toBe(chunk.buffer);
      expect(p.byteOffset).toBe(offset + 7);
      expect(p.equals(frames[i]!.payload)).toBe(true);
      offset += 8 + p.length;
    }
    // Proof of sharing: writing through the chunk shows in the payload.
    chunk[7] = 0x99;
    expect(payloads[0]![0]).toBe(0x99);
  });

  it('payloads are Buffers with every Buffer method, and say which ArrayBuffer they are in (payloadBuffer)', () => {
    const chunk = Buffer.from(bytes);
    const reader = new FrameReader(131072);
    const seen: { payload: Buffer; buffer: ArrayBufferLike | null }[] = [];
    reader.push(chunk, { onFrame: (_t, _c, p) => seen.push({ payload: p, buffer: reader.payloadBuffer }) });
    for (const [i, { payload, buffer }] of seen.entries()) {
      expect(Buffer.isBuffer(payload)).toBe(true);
      expect(payload instanceof Buffer).toBe(true);
      expect(buffer).toBe(chunk.buffer);
      expect(payload.toString('latin1')).toBe(frames[i]!.payload.toString('latin1'));
      expect(Buffer.compare(payload, frames[i]!.payload)).toBe(0);
      if (payload.length >= 4) expect(payload.readUInt32BE(0)).toBe(frames[i]!.payload.readUInt32BE(0));
      // Buffer's own subarray on a payload is a Buffer view of the same memory.
      const sub = payload.subarray(1);
      expect(Buffer.isBuffer(sub)).toBe(true);
      expect(sub.byteOffset).toBe(payload.byteOffset + Math.min(1, payload.length));
    }
    // A frame completed from two chunks lies in a buffer of its own, and payloadBuffer says so.
    const split = new FrameReader(131072);
    const own: { payload: Buffer; buffer: ArrayBufferLike | null }[] = [];
    const h: FrameHandler = { onFrame: (_t, _c, p) => own.push({ payload: p, buffer: split.payloadBuffer }) };
    const a = Buffer.allocUnsafeSlow(10);
    bytes.copy(a, 0, 0, 10);
    const b = Buffer.allocUnsafeSlow(bytes.length - 10);
    bytes.copy(b, 0, 10);
    split.push(a, h);
    split.push(b, h);
    expect(own[0]!.buffer).toBe(own[0]!.payload.buffer);
    expect(own[0]!.buffer).not.toBe(a.buffer);
    expect(own[0]!.buffer).not.toBe(b.buffer);
    expect(own[1]!.buffer).toBe(b.buffer);
  });

  it('a frame split across chunks is assembled into one buffer of its own', () => {
    const first = rawFrame(FRAME_BODY, 1, Buffer.from('0123456789'));
    const second = rawFrame(FRAME_BODY, 1, Buffer.from('abc'));
    const reader = new FrameReader(4096);
    const got: Buffer[] = [];
    const h: FrameHandler = { onFrame: (_t, _c, p) => got.push(p) };
    const c1 = Buffer.from(first.subarray(0, 10));
    const c2 = Buffer.concat([first.subarray(10), second]);
    reader.push(c1, h);
    reader.push(c2, h);
    expect(got.map((b) => b.toString())).toEqual(['0123456789', 'abc']);
    // The following whole frame, in the second chunk, is still a view of it.
    expect(got[1]!.buffer).toBe(c2.buffer);
    expect(got[1]!.byteOffset).toBe(c2.byteOffset + (first.length - 10) + 7);
    // The split frame was assembled in memory of its own: overwriting both chunks leaves it intact.
    c1.fill(0);
    c2.fill(0);
    expect(got[0]!.toString()).toBe('0123456789');
    expect(got[1]!.toString()).toBe('\0\0\0');
  });

  it('a frame exactly at frameMax is accepted; frameMax 0 means no limit', () => {
    const max = rawFrame(FRAME_BODY, 1, Buffer.alloc(4096 - 8, 7));
    expect(readFrames([max], 4096)[0]!.payload.length).toBe(4088);
    const big = rawFrame(FRAME_BODY, 1, Buffer.alloc(100_000, 1));
    expect(readFrames([big.subarray(0, 5000), big.subarray(5000)], 0)[0]!.payload.length).toBe(100_000);
  });
});

describe('FrameReader: errors', () => {
  const push = (frameMax: number, ...chunks: Buffer[]) => () => {
    const reader = new FrameReader(frameMax);
    for (const c of chunks) reader.push(c, { onFrame: () => {} });
  };

  it('oversized frame: FRAME_ERROR with RabbitMQ text, before the payload arrives', () => {
    const head = hex('03 0001 00002710'); // body frame, channel 1, size 10000
    expectCodecError(push(4096, head), 'FRAME_ERROR', 'type 3, all octets = <<>>: {frame_too_large,10000,4088}');
    // The same when the 7-byte header is split across chunks.
    expectCodecError(push(4096, head.subarray(0, 4), head.subarray(4)), 'FRAME_ERROR', 'type 3, all octets = <<>>: {frame_too_large,10000,4088}');
    // One byte over the limit.
    expectCodecError(push(4096, hex('01 0000 00000ff9')), 'FRAME_ERROR', 'type 1, all octets = <<>>: {frame_too_large,4089,4088}');
  });

  it('bad frame-end octet: FRAME_ERROR naming the payload and the octet', () => {
    const bad = rawFrame(FRAME_METHOD, 0, Buffer.from([0, 20, 0, 10, 0]), 0);
    const text = 'type 1, all octets = <<0,20,0,10,0>>: {invalid_frame_end_marker,0}';
    expectCodecError(push(4096, bad), 'FRAME_ERROR', text);
    // Split frame (copied path) and byte-by-byte.
    expectCodecError(push(4096, bad.subarray(0, 9), bad.subarray(9)), 'FRAME_ERROR', text);
    expectCodecError(push(4096, ...[...bad].map((b) => Buffer.from([b]))), 'FRAME_ERROR', text);
    // After a good frame in the same chunk.
    expectCodecError(push(4096, Buffer.concat([rawFrame(FRAME_HEARTBEAT, 0, Buffer.alloc(0)), bad])), 'FRAME_ERROR', text);
  });

  it('bad frame-end octet on a longer payload quotes its first 16 octets', () => {
    const payload = Buffer.from(Array.from({ length: 20 }, (_, i) => i));
    const bad = rawFrame(FRAME_BODY, 1, payload, 0xcf);
    expectCodecError(
      push(4096, bad),
      'FRAME_ERROR',
      'type 3, first 16 octets = <<0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15>>: {invalid_frame_end_marker,207}',
    );
  });

  it('unknown frame type: FRAME_ERROR unknown_frame', () => {
    expectCodecError(push(4096, rawFrame(9, 0, Buffer.alloc(0))), 'FRAME_ERROR', 'type 9, all octets = <<>>: unknown_frame');
    expectCodecError(push(4096, hex('09 0000 00'), hex('000000 ce')), 'FRAME_ERROR', 'type 9, all octets = <<>>: unknown_frame');
    // Type 4 (the old 0-8 "oob" frames) and 0 are unknown too.
    expectCodecError(push(4096, rawFrame(0, 0, Buffer.alloc(0))), 'FRAME_ERROR', 'type 0, all octets = <<>>: unknown_frame');
    expectCodecError(push(4096, rawFrame(4, 7, Buffer.alloc(0))), 'FRAME_ERROR', 'type 4, all octets = <<>>: unknown_frame');
  });

  // The texts below were checked against RabbitMQ 3.10.8 by sending these frames after a
  // handshake and reading its connection.close: it reads an unknown frame whole and quotes it, and
  // checks the size, then the end octet, then the type.
  it('unknown frame type quotes the payload, as RabbitMQ does', () => {
    expectCodecError(push(4096, rawFrame(9, 0, Buffer.from([1, 2, 3]))), 'FRAME_ERROR', 'type 9, all octets = <<1,2,3>>: unknown_frame');
    expectCodecError(
      push(4096, rawFrame(9, 0, Buffer.from('this is a printable payload!'))),
      'FRAME_ERROR',
      'type 9, first 16 octets = <<"this is a printa">>: unknown_frame',
    );
    // Split across chunks: same text.
    const f = rawFrame(9, 0, Buffer.from([1, 2, 3]));
    expectCodecError(push(4096, f.subarray(0, 4), f.subarray(4, 9), f.subarray(9)), 'FRAME_ERROR', 'type 9, all octets = <<1,2,3>>: unknown_frame');
  });

  it('unknown frame type: an oversized one is frame_too_large, a bad end octet is invalid_frame_end_marker', () => {
    expectCodecError(push(131072, hex('09 0000 00030d40')), 'FRAME_ERROR', 'type 9, all octets = <<>>: {frame_too_large,200000,131064}');
    expectCodecError(push(4096, rawFrame(9, 0, Buffer.from([1]), 0)), 'FRAME_ERROR', 'type 9, all octets = <<1>>: {invalid_frame_end_marker,0}');
  });

  it('an unknown frame type is only reported once the whole frame is in', () => {
    const reader = new FrameReader(4096);
    const f = rawFrame(9, 0, Buffer.from([1, 2, 3]));
    reader.push(f.subarray(0, f.length - 1), { onFrame: () => {} });
    expect(reader.idle).toBe(false);
    expectCodecError(() => reader.push(f.subarray(f.length - 1), { onFrame: () => {} }), 'FRAME_ERROR', /unknown_frame/);
  });

  it('frames before the bad one are still delivered', () => {
    const reader = new FrameReader(4096);
    const seen: number[] = [];
    const stream = Buffer.concat([rawFrame(FRAME_METHOD, 1, Buffer.from([1])), rawFrame(FRAME_BODY, 1, Buffer.from([2])), rawFrame(9, 0, Buffer.alloc(0))]);
    expectCodecError(() => reader.push(stream, { onFrame: (t) => seen.push(t) }), 'FRAME_ERROR');
    expect(seen).toEqual([FRAME_METHOD, FRAME_BODY]);
  });
});

describe('erlangBinary / octetsSnippet', () => {
  it('prints printable text in quotes and anything else as byte values', () => {
    expect(erlangBinary(Buffer.from('abc'))).toBe('<<"abc">>');
    expect(erlangBinary(Buffer.from('a"b\\c'))).toBe('<<"a\\"b\\\\c">>');
    expect(erlangBinary(Buffer.from([97, 0]))).toBe('<<97,0>>');
    expect(erlangBinary(Buffer.alloc(0))).toBe('<<>>');
    expect(octetsSnippet(Buffer.alloc(16, 1))).toBe(`all octets = <<${Array(16).fill(1).join(',')}>>`);
    expect(octetsSnippet(Buffer.alloc(17, 1))).toBe(`first 16 octets = <<${Array(16).fill(1).join(',')}>>`);
  });
});

describe('erlangBinary', () => {
  it("prints binaries as Erlang's ~p does (seen on RabbitMQ 3.10.8)", () => {
    expect(erlangBinary(Buffer.from('hello'))).toBe('<<"hello">>');
    expect(erlangBinary(Buffer.from('a\nb\t"\\\x1b'))).toBe('<<"a\\nb\\t\\"\\\\\\e">>');
    expect(erlangBinary(Buffer.from([97, 0]))).toBe('<<97,0>>');
    expect(erlangBinary(Buffer.from([127]))).toBe('<<127>>');
    expect(erlangBinary(Buffer.alloc(0))).toBe('<<>>');
  });
});
