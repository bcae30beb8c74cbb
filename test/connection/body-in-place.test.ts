// A large body is copied once: into a buffer of its size, allocated when its content header
// arrives (reserveBody, when the connection's buffer has room) or when its one frame starts
// (bodyTarget), with the frame reader writing split frames straight into it. `retained` says
// whether a frame's payload is still referenced, so the connection may read into its buffer again.

import { describe, expect, it } from 'vitest';
import { BASIC_PUBLISH, FRAME_BODY, FRAME_HEADER, FRAME_METHOD, QUEUE_DECLARE, type Method } from '../../src/codec/methods.generated.js';
import { CommandAssembler } from '../../src/connection/command-assembler.js';
import type { ChannelHost } from '../../src/connection/host.js';
import { IncomingContent } from '../../src/connection/incoming-content.js';
import { headerPayload, methodPayload } from '../helpers/frames.js';

const publish: Method = { id: BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: 'q', mandatory: false, immediate: false };
const declare: Method = { id: QUEUE_DECLARE, ticket: 0, queue: 'q', passive: false, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: new Map() };

function started(bodySize: number): CommandAssembler {
  const a = new CommandAssembler();
  a.push(FRAME_METHOD, methodPayload(publish));
  a.push(FRAME_HEADER, headerPayload(bodySize));
  return a;
}

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + (i >>> 8)) & 0xff;
  return b;
}

describe('a body assembled in place', () => {
  it('one split frame: the target is the body buffer, exactly its size, and becomes the body', () => {
    const a = started(100);
    const target = a.bodyTarget(100)!;
    expect(target.length).toBe(100);
    expect(target.buffer.byteLength).toBe(100);
    pattern(100).copy(target); // what the frame reader does
    expect(a.push(FRAME_BODY, target)).toBe(true);
    expect(a.body.buffer).toBe(target.buffer);
    expect(a.body.equals(pattern(100))).toBe(true);
    expect(a.retained).toBe(true); // the body is its own, the header still a view of its frame
  });

  it('reserved at the declared size: frames, in place or views, fill one buffer that never grows', () => {
    const a = started(3000);
    a.reserveBody();
    expect(a.buffered).toBe(3000);
    const src = pattern(3000);
    const chunk = Buffer.concat([Buffer.alloc(10), src.subarray(0, 1000)]);
    expect(a.push(FRAME_BODY, chunk.subarray(10))).toBe(false); // a view of a read: copied in
    expect(a.retained).toBe(false);
    const t = a.bodyTarget(1500)!; // split across reads: the reader copies it in place
    src.copy(t, 0, 1000, 2500);
    expect(a.push(FRAME_BODY, t)).toBe(false);
    expect(a.buffered).toBe(3000);
    expect(a.push(FRAME_BODY, Buffer.from(src.subarray(2500)))).toBe(true);
    expect(a.body.equals(src)).toBe(true);
    expect(a.body.buffer.byteLength).toBe(3000);
    expect(a.body.buffer).toBe(t.buffer);
    expect(a.buffered).toBe(0);
  });

  it('no target when no body is expected, when it is not kept, or for more than remains', () => {
    const a = new CommandAssembler();
    expect(a.bodyTarget(10)).toBeNull();
    a.push(FRAME_METHOD, methodPayload(publish));
    expect(a.bodyTarget(10)).toBeNull();
    a.push(FRAME_HEADER, headerPayload(10));
    expect(a.bodyTarget(11)).toBeNull();
    a.discardBody();
    expect(a.bodyTarget(10)).toBeNull();
    const b = started(1000);
    b.discardBodies();
    expect(b.bodyTarget(10)).toBeNull();
  });

  it('growing by doubling (not reserved), a frame that does not fit is not given a target', () => {
    const a = started(3000);
    expect(a.bodyTarget(1000)).toBeNull();
    a.push(FRAME_BODY, pattern(1000));
    const held = a.buffered;
    const t = a.bodyTarget(held - 1000);
    if (held > 1000) expect(t!.length).toBe(held - 1000);
    expect(a.bodyTarget(held - 1000 + 1)).toBeNull();
  });
});

describe('which payloads stay referenced', () => {
  it('basic.publish keeps nothing of its frame; other methods may', () => {
    const a = new CommandAssembler();
    a.push(FRAME_METHOD, methodPayload(publish));
    expect(a.retained).toBe(false);
    const b = new CommandAssembler();
    b.push(FRAME_METHOD, methodPayload(declare));
    expect(b.retained).toBe(true);
  });

  it('a content header is a view for small bodies (held until the content completes) and a copy from 32 KiB', () => {
    const small = new CommandAssembler();
    small.push(FRAME_METHOD, methodPayload(publish));
    const h1 = headerPayload(32 * 1024 - 1);
    small.push(FRAME_HEADER, h1);
    expect(small.retained).toBe(false);
    expect(small.holdsView).toBe(true);
    expect(small.header).toBe(h1);
    const large = new CommandAssembler();
    large.push(FRAME_METHOD, methodPayload(publish));
    const h2 = headerPayload(32 * 1024);
    large.push(FRAME_HEADER, h2);
    expect(large.retained).toBe(false);
    expect(large.holdsView).toBe(false);
    expect(large.header.equals(h2)).toBe(true);
    h2.fill(0);
    expect(large.header.readUInt32BE(8)).toBe(32 * 1024);
  });

  it('a body in one frame is the frame (kept); a body in several is copied, the header view still kept until detached', () => {
    const one = started(5);
    const p = Buffer.from('hello');
    one.push(FRAME_BODY, p);
    expect(one.body).toBe(p);
    expect(one.retained).toBe(true);
    const two = started(5);
    two.push(FRAME_BODY, Buffer.from('he'));
    expect(two.retained).toBe(false);
    expect(two.holdsView).toBe(true);
    two.push(FRAME_BODY, Buffer.from('llo'));
    expect(two.retained).toBe(true); // the message holds the header frame
    expect(two.holdsView).toBe(false);
    expect(two.body.toString()).toBe('hello');
    const three = started(5);
    const h = three.header;
    three.push(FRAME_BODY, Buffer.from('he'));
    three.detachHeader(); // the read ended here: the header is copied out
    expect(three.holdsView).toBe(false);
    expect(three.header).not.toBe(h);
    expect(three.header.equals(h)).toBe(true);
    three.push(FRAME_BODY, Buffer.from('llo'));
    expect(three.retained).toBe(false);
  });

  it('release(): a completed command copied out wherever it went keeps nothing', () => {
    const one = started(5);
    one.push(FRAME_BODY, Buffer.from('hello'));
    expect(one.retained).toBe(true);
    one.release();
    expect(one.retained).toBe(false);
    expect(one.header.length + one.body.length).toBe(0);
  });
});

describe('IncomingContent reserves a body of several frames when it takes at most half the room left', () => {
  function host(over: Partial<ChannelHost> = {}): ChannelHost {
    return { maxMessageSize: 1 << 27, maxConnectionBuffer: 4 << 20, contentHeld: 0, frameMax: 4096, ...over } as unknown as ChannelHost;
  }

  it('several frames, room in the buffer: the whole body at once, counted as held', () => {
    const h = host();
    const a = started(100_000);
    new IncomingContent(h).check(a);
    expect(a.buffered).toBe(100_000);
    expect(h.contentHeld).toBe(100_000);
  });

  it('a body in one frame is not reserved (it may stay a view of its read)', () => {
    const h = host();
    const a = started(4088);
    new IncomingContent(h).check(a);
    expect(a.buffered).toBe(0);
  });

  it('more than half of what the buffer has left: grown as it arrives, as before', () => {
    const h = host({ contentHeld: (4 << 20) - 199_999 });
    const a = started(100_000);
    new IncomingContent(h).check(a);
    expect(a.buffered).toBe(0);
    const big = started(128 << 20);
    new IncomingContent(host()).check(big);
    expect(big.buffered).toBe(0);
  });
});
