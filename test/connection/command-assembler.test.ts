// The command assembler: frames in, commands out. Method-only commands, content with zero, one
// or many body frames, the three UNEXPECTED_FRAME errors with RabbitMQ's texts, and a body
// longer than its header declared (the content never completes; the next non-body frame is
// the error, as RabbitMQ does it), and a closing channel's frames assembled without bodies.
import { describe, expect, it } from 'vitest';
import { CommandAssembler } from '../../src/connection/command-assembler.js';
import {
  BASIC_ACK,
  BASIC_PUBLISH,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  QUEUE_DECLARE,
  type Method,
} from '../../src/codec/methods.generated.js';
import { expectConnectionError } from '../helpers/errors.js';
import { headerPayload, methodPayload } from '../helpers/frames.js';

const publish = (routingKey = 'rk'): Method => ({
  id: BASIC_PUBLISH,
  ticket: 0,
  exchange: 'ex',
  routingKey,
  mandatory: false,
  immediate: false,
});
const ack: Method = { id: BASIC_ACK, deliveryTag: 7, multiple: true };
const declare: Method = {
  id: QUEUE_DECLARE,
  ticket: 0,
  queue: 'q',
  passive: false,
  durable: true,
  exclusive: false,
  autoDelete: false,
  nowait: false,
  arguments: new Map(),
};

const EXPECTED_METHOD = 'UNEXPECTED_FRAME - expected method frame, got non method frame instead';
const EXPECTED_HEADER = 'UNEXPECTED_FRAME - expected content header for class 60, got non content header frame instead';
const EXPECTED_BODY = 'UNEXPECTED_FRAME - expected content body, got non content body frame instead';

describe('CommandAssembler', () => {
  it('a method without content is complete at once', () => {
    const a = new CommandAssembler();
    expect(a.push(FRAME_METHOD, methodPayload(declare))).toBe(true);
    expect(a.method).toEqual(declare);
    expect(a.inContent).toBe(false);
    expect(a.push(FRAME_METHOD, methodPayload(ack))).toBe(true);
    expect(a.method).toEqual(ack);
  });

  it('basic.ack on its fast path decodes as the generic decoder does, and keeps nothing of its frame', () => {
    const a = new CommandAssembler();
    for (const m of [
      { id: BASIC_ACK, deliveryTag: 1, multiple: false },
      { id: BASIC_ACK, deliveryTag: 2 ** 40 + 5, multiple: true },
      { id: BASIC_ACK, deliveryTag: Number.MAX_SAFE_INTEGER, multiple: false },
    ] as const) {
      const payload = methodPayload(m);
      expect(a.push(FRAME_METHOD, payload)).toBe(true);
      expect(a.method).toEqual(m);
      expect(a.retained).toBe(false);
      // Overwriting the frame afterwards changes nothing: the ack was read out of it.
      payload.fill(0);
      expect(a.method).toEqual(m);
    }
    // Bits other than multiple are ignored, as by the generic decoder.
    const odd = methodPayload({ id: BASIC_ACK, deliveryTag: 9, multiple: false });
    odd[12] = 0xfe;
    expect(a.push(FRAME_METHOD, odd)).toBe(true);
    expect(a.method).toEqual({ id: BASIC_ACK, deliveryTag: 9, multiple: false });
    // A payload of another length goes the generic way (and its error).
    const long = Buffer.concat([methodPayload(ack), Buffer.from([0])]);
    expect(() => a.push(FRAME_METHOD, long)).toThrow(/cannot decode/);
  });

  it('content with a zero body size completes at the header, with an empty body', () => {
    const a = new CommandAssembler();
    expect(a.push(FRAME_METHOD, methodPayload(publish()))).toBe(false);
    expect(a.inContent).toBe(true);
    const header = headerPayload(0, { contentType: 'text/plain' });
    expect(a.push(FRAME_HEADER, header)).toBe(true);
    expect(a.method).toEqual(publish());
    expect(a.header.equals(header)).toBe(true);
    expect(a.body.length).toBe(0);
    expect(a.bodySize).toBe(0);
    expect(a.inContent).toBe(false);
  });

  it('content with one body frame hands out that frame without copying', () => {
    const a = new CommandAssembler();
    a.push(FRAME_METHOD, methodPayload(publish()));
    expect(a.push(FRAME_HEADER, headerPayload(5))).toBe(false);
    expect(a.bodySize).toBe(5);
    const body = Buffer.from('hello');
    expect(a.push(FRAME_BODY, body)).toBe(true);
    expect(a.body).toBe(body);
  });

  it('content with many body frames joins them in order', () => {
    const a = new CommandAssembler();
    a.push(FRAME_METHOD, methodPayload(publish()));
    a.push(FRAME_HEADER, headerPayload(10));
    const parts = [Buffer.from('abc'), Buffer.from('def'), Buffer.from('ghij')];
    expect(a.push(FRAME_BODY, parts[0]!)).toBe(false);
    expect(a.push(FRAME_BODY, parts[1]!)).toBe(false);
    expect(a.push(FRAME_BODY, parts[2]!)).toBe(true);
    expect(a.body.toString()).toBe('abcdefghij');
    // The joined body does not alias the frames it came from.
    parts[0]!.fill(0);
    expect(a.body.toString()).toBe('abcdefghij');
  });

  it('a body in several frames is copied as it arrives: it pins none of the read chunks, and `buffered` says what it holds', () => {
    const a = new CommandAssembler();
    a.push(FRAME_METHOD, methodPayload(publish()));
    a.push(FRAME_HEADER, headerPayload(3000));
    expect(a.buffered).toBe(0);
    // Each frame a small view into a large socket chunk.
    const chunk = Buffer.alloc(65536, 0x61);
    expect(a.push(FRAME_BODY, chunk.subarray(0, 1000))).toBe(false);
    const held = a.buffered;
    expect(held).toBeGreaterThanOrEqual(1000);
    expect(held).toBeLessThanOrEqual(2000); // at most twice what arrived
    expect(a.push(FRAME_BODY, chunk.subarray(1000, 2500))).toBe(false);
    expect(a.buffered).toBeGreaterThanOrEqual(2500);
    expect(a.buffered).toBeLessThanOrEqual(3000); // never more than declared
    expect(a.push(FRAME_BODY, chunk.subarray(2500, 3000))).toBe(true);
    expect(a.buffered).toBe(0);
    expect(a.body.length).toBe(3000);
    expect(a.body.buffer).not.toBe(chunk.buffer);
    expect(a.body.buffer.byteLength).toBe(3000);
    expect(a.body.equals(chunk.subarray(0, 3000))).toBe(true);
  });

  it('a header declaring a huge body costs nothing until its bytes arrive', () => {
    const a = new CommandAssembler();
    a.push(FRAME_METHOD, methodPayload(publish()));
    a.push(FRAME_HEADER, headerPayload(128 * 1024 * 1024));
    expect(a.push(FRAME_BODY, Buffer.from('x'))).toBe(false);
    expect(a.buffered).toBeLessThan(16);
    a.discardBodies();
    expect(a.buffered).toBe(0);
  });

  it('empty body frames do not advance the content', () => {
    const a = new CommandAssembler();
    a.push(FRAME_METHOD, methodPayload(publish()));
    a.push(FRAME_HEADER, headerPayload(2));
    expect(a.push(FRAME_BODY, Buffer.alloc(0))).toBe(false);
    expect(a.push(FRAME_BODY, Buffer.from('ab'))).toBe(true);
    expect(a.body.toString()).toBe('ab');
  });

  it('assembles command after command, each with its own content', () => {
    const a = new CommandAssembler();
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      a.push(FRAME_METHOD, methodPayload(publish(`k${i}`)));
      a.push(FRAME_HEADER, headerPayload(4));
      a.push(FRAME_BODY, Buffer.from('xy'));
      expect(a.push(FRAME_BODY, Buffer.from(`z${i}`))).toBe(true);
      got.push(`${(a.method as { routingKey: string }).routingKey}:${a.body.toString()}`);
      expect(a.push(FRAME_METHOD, methodPayload(ack))).toBe(true);
    }
    expect(got).toEqual(['k0:xyz0', 'k1:xyz1', 'k2:xyz2']);
  });

  it('reads a 64-bit body size', () => {
    const a = new CommandAssembler();
    a.push(FRAME_METHOD, methodPayload(publish()));
    a.push(FRAME_HEADER, headerPayload(2 ** 33 + 5));
    expect(a.bodySize).toBe(2 ** 33 + 5);
  });

  describe('UNEXPECTED_FRAME (505, row 45)', () => {
    it('a header or body frame where a method is expected', () => {
      expectConnectionError(() => new CommandAssembler().push(FRAME_HEADER, headerPayload(1)), 505, EXPECTED_METHOD);
      expectConnectionError(() => new CommandAssembler().push(FRAME_BODY, Buffer.from('x')), 505, EXPECTED_METHOD);
      // Also right after a completed content.
      const a = new CommandAssembler();
      a.push(FRAME_METHOD, methodPayload(publish()));
      a.push(FRAME_HEADER, headerPayload(1));
      a.push(FRAME_BODY, Buffer.from('x'));
      expectConnectionError(() => a.push(FRAME_BODY, Buffer.from('y')), 505, EXPECTED_METHOD);
    });

    it('a method or body frame where the content header is expected', () => {
      const a = new CommandAssembler();
      a.push(FRAME_METHOD, methodPayload(publish()));
      expectConnectionError(() => a.push(FRAME_METHOD, methodPayload(ack)), 505, EXPECTED_HEADER);
      const b = new CommandAssembler();
      b.push(FRAME_METHOD, methodPayload(publish()));
      expectConnectionError(() => b.push(FRAME_BODY, Buffer.from('x')), 505, EXPECTED_HEADER);
    });

    it('a method or header frame where a body frame is expected', () => {
      const a = new CommandAssembler();
      a.push(FRAME_METHOD, methodPayload(publish()));
      a.push(FRAME_HEADER, headerPayload(3));
      a.push(FRAME_BODY, Buffer.from('a'));
      expectConnectionError(() => a.push(FRAME_METHOD, methodPayload(ack)), 505, EXPECTED_BODY);
      const b = new CommandAssembler();
      b.push(FRAME_METHOD, methodPayload(publish()));
      b.push(FRAME_HEADER, headerPayload(3));
      expectConnectionError(() => b.push(FRAME_HEADER, headerPayload(3)), 505, EXPECTED_BODY);
    });

    it('a header for another class than the method', () => {
      const a = new CommandAssembler();
      a.push(FRAME_METHOD, methodPayload(publish()));
      expectConnectionError(
        () => a.push(FRAME_HEADER, headerPayload(1, {}, 50)),
        505,
        'UNEXPECTED_FRAME - expected content header for class 60, got one for class 50 instead',
      );
    });
  });

  describe('a body longer than declared (row 18)', () => {
    it('never completes; the next non-body frame is the 505 "expected content body"', () => {
      const a = new CommandAssembler();
      a.push(FRAME_METHOD, methodPayload(publish()));
      a.push(FRAME_HEADER, headerPayload(5));
      expect(a.push(FRAME_BODY, Buffer.from('12345678'))).toBe(false);
      expect(a.push(FRAME_BODY, Buffer.from('more'))).toBe(false);
      expect(a.inContent).toBe(true);
      expectConnectionError(() => a.push(FRAME_METHOD, methodPayload(ack)), 505, EXPECTED_BODY);
    });

    it('also when the overflow comes in a later frame', () => {
      const a = new CommandAssembler();
      a.push(FRAME_METHOD, methodPayload(publish()));
      a.push(FRAME_HEADER, headerPayload(5));
      expect(a.push(FRAME_BODY, Buffer.from('123'))).toBe(false);
      expect(a.push(FRAME_BODY, Buffer.from('456'))).toBe(false);
      expect(a.push(FRAME_BODY, Buffer.from('7'))).toBe(false);
      expectConnectionError(() => a.push(FRAME_HEADER, headerPayload(1)), 505, EXPECTED_BODY);
    });
  });

  it('a content header shorter than 14 bytes is a frame error', () => {
    const a = new CommandAssembler();
    a.push(FRAME_METHOD, methodPayload(publish()));
    expectConnectionError(() => a.push(FRAME_HEADER, Buffer.alloc(4)), 501, 'FRAME_ERROR - type 2, all octets = <<0,0,0,0>>: unknown_frame');
  });

  it('discardBodies: the rest of a half-sent message is consumed without keeping it, and framing is still checked', () => {
    const a = new CommandAssembler();
    a.push(FRAME_METHOD, methodPayload(publish()));
    a.push(FRAME_HEADER, headerPayload(6));
    a.push(FRAME_BODY, Buffer.from('abc'));
    a.discardBodies();
    expect(a.inContent).toBe(true);
    expect(a.push(FRAME_BODY, Buffer.from('def'))).toBe(true);
    expect(a.method?.id).toBe(BASIC_PUBLISH);
    expect(a.body.length).toBe(0);
    expect(a.push(FRAME_METHOD, methodPayload(publish()))).toBe(false);
    a.push(FRAME_HEADER, headerPayload(2));
    expect(a.push(FRAME_BODY, Buffer.from('zz'))).toBe(true);
    expect(a.body.length).toBe(0);
    expect(a.push(FRAME_METHOD, methodPayload(ack))).toBe(true);
    expectConnectionError(() => a.push(FRAME_BODY, Buffer.from('stray')), 505, EXPECTED_METHOD);
  });
});
