// ReadBuffers: a connection reads into an arena of its own, again from its start while nothing
// handed out of it is kept, into its free rest while something is, and into a new arena (twice
// the size while reads fill it, up to 64 KiB) once the rest is small. pinningHandler decides
// "kept" per frame.

import { describe, expect, it } from 'vitest';
import type { FrameHandler } from '../../src/codec/frame-reader.js';
import { FRAME_BODY, FRAME_HEADER } from '../../src/codec/methods.generated.js';
import { KEPT, KEPT_UNTIL_COMPLETE, NOT_KEPT, pinningHandler, ReadBuffers, type Kept } from '../../src/connection/read-buffers.js';

describe('ReadBuffers', () => {
  it('the first arena (the handshake) counts as pinned: never read into again from its start', () => {
    const r = new ReadBuffers();
    expect(r.pinned).toBe(true);
    const b1 = r.first();
    r.read(100, b1);
    expect(r.next().byteOffset).toBe(b1.byteOffset + 100);
  });

  it('reads into the same memory again while nothing of it is kept', () => {
    const r = new ReadBuffers();
    r.pinned = false;
    const b1 = r.first();
    const got = r.read(100, b1);
    expect(got.length).toBe(100);
    expect(got.buffer).toBe(b1.buffer);
    const b2 = r.next();
    expect(b2.buffer).toBe(b1.buffer);
    expect(b2.byteOffset).toBe(b1.byteOffset);
  });

  it('doubles the arena while reads fill it, up to 64 KiB', () => {
    const r = new ReadBuffers();
    r.pinned = false;
    let b = r.first();
    const sizes: number[] = [b.length];
    for (let i = 0; i < 8; i++) {
      r.read(b.length, b);
      b = r.next();
      sizes.push(b.length);
    }
    expect(sizes).toEqual([2048, 4096, 8192, 16384, 32768, 65536, 65536, 65536, 65536]);
  });

  it('while pinned, the next read goes after the kept bytes; a new arena once the rest is under 1 KiB', () => {
    const r = new ReadBuffers();
    const b1 = r.first();
    const kept = r.read(500, b1);
    kept.fill(0x4b);
    r.pinned = true;
    const b2 = r.next();
    expect(b2.buffer).toBe(b1.buffer);
    expect(b2.byteOffset).toBe(b1.byteOffset + 500);
    expect(b2.length).toBe(2048 - 500);
    r.read(600, b2);
    const b3 = r.next(); // 948 left: too little
    expect(b3.buffer).not.toBe(b1.buffer);
    expect(r.pinned).toBe(false);
    expect(r.current).toBe(b3.buffer);
    r.read(b3.length, b3).fill(0);
    expect(kept.every((x) => x === 0x4b)).toBe(true);
  });
});

describe('pinningHandler', () => {
  function setup(kept: boolean | Kept, throws = false, detached: number[] = [], canDetach = true): { r: ReadBuffers; h: FrameHandler; seen: Buffer[] } {
    const r = new ReadBuffers();
    r.pinned = false;
    const seen: Buffer[] = [];
    const inner: FrameHandler = {
      onFrame(_t, _c, p) {
        seen.push(p);
        if (throws) throw new Error('boom');
      },
      bodyTarget: (_c, size) => Buffer.alloc(size),
    };
    const keeps = (): Kept => (kept === true ? KEPT : kept === false ? NOT_KEPT : kept);
    const detachHeader = (ch: number): boolean => {
      detached.push(ch);
      return canDetach;
    };
    return { r, h: pinningHandler(inner, r, { keeps, detachHeader }), seen };
  }

  it('a frame of the arena that is not kept leaves it free; one that is kept pins it', () => {
    const free = setup(false);
    const chunk = free.r.read(100, free.r.first());
    free.h.onFrame(FRAME_BODY, 1, chunk.subarray(7, 20));
    expect(free.r.pinned).toBe(false);
    expect(free.seen.length).toBe(1);
    const kept = setup(true);
    kept.h.onFrame(FRAME_BODY, 1, kept.r.read(100, kept.r.first()).subarray(7, 20));
    expect(kept.r.pinned).toBe(true);
  });

  it('frames in other memory do not count; a handler that throws leaves the arena pinned', () => {
    const s = setup(true);
    s.h.onFrame(FRAME_BODY, 1, Buffer.alloc(10));
    expect(s.r.pinned).toBe(false);
    const t = setup(false, true);
    expect(() => t.h.onFrame(FRAME_BODY, 1, t.r.read(50, t.r.first()).subarray(7, 20))).toThrow('boom');
    expect(t.r.pinned).toBe(true);
  });

  it('a content held until complete: the read ending inside it copies its header out and the arena is read into again', () => {
    const detached: number[] = [];
    const s = setup(KEPT_UNTIL_COMPLETE, false, detached);
    const b1 = s.r.first();
    s.h.onFrame(FRAME_HEADER, 3, s.r.read(100, b1).subarray(7, 40));
    expect(s.r.pinned).toBe(false);
    expect([...s.r.held]).toEqual([3]);
    const b2 = s.r.next();
    expect(detached).toEqual([3]);
    expect(s.r.held.size).toBe(0);
    expect(b2.buffer).toBe(b1.buffer);
    expect(b2.byteOffset).toBe(b1.byteOffset);
  });

  it('a held header that cannot be copied out pins the arena; a held content completing as kept pins it, in other memory too', () => {
    const s = setup(KEPT_UNTIL_COMPLETE, false, [], false);
    const b1 = s.r.first();
    s.h.onFrame(FRAME_HEADER, 3, s.r.read(100, b1).subarray(7, 40));
    expect(s.r.next().byteOffset).toBe(b1.byteOffset + 100);
    let k: Kept = KEPT_UNTIL_COMPLETE;
    const r = new ReadBuffers();
    r.pinned = false;
    const h = pinningHandler({ onFrame() {} }, r, { keeps: () => k, detachHeader: () => true });
    h.onFrame(FRAME_HEADER, 5, r.read(100, r.first()).subarray(7, 40));
    k = KEPT;
    h.onFrame(FRAME_BODY, 5, Buffer.alloc(10)); // its body, copied elsewhere: the message holds the header
    expect(r.pinned).toBe(true);
    expect(r.held.size).toBe(0);
  });

  it('a held content completing copied out (a publish to a stream) leaves the arena free', () => {
    let k: Kept = KEPT_UNTIL_COMPLETE;
    const r = new ReadBuffers();
    r.pinned = false;
    const h = pinningHandler({ onFrame() {} }, r, { keeps: () => k, detachHeader: () => true });
    const b1 = r.first();
    const chunk = r.read(200, b1);
    h.onFrame(FRAME_HEADER, 5, chunk.subarray(7, 40));
    k = NOT_KEPT;
    h.onFrame(FRAME_BODY, 5, chunk.subarray(48, 150));
    expect(r.pinned).toBe(false);
    expect(r.held.size).toBe(0);
    expect(r.next().byteOffset).toBe(b1.byteOffset);
  });

  it('passes bodyTarget on', () => {
    expect(setup(false).h.bodyTarget!(1, 12)!.length).toBe(12);
  });
});

describe('ReadBuffers: reads straight into a body', () => {
  it('reads into the body frame rest the reader offers (from 16 KiB), leaving the arena as it was', () => {
    const r = new ReadBuffers();
    r.pinned = false;
    const body = Buffer.alloc(100_000);
    let rest: Buffer | null = null;
    r.reader = { bodyRest: (min) => (rest !== null && rest.length >= min ? rest : null) };
    const a = r.first();
    r.read(100, a);
    const b = r.next();
    expect(b.buffer).toBe(a.buffer); // nothing offered: the arena
    rest = body.subarray(1000);
    const d = r.next();
    expect(d).toBe(rest);
    const got = r.read(5000, d);
    expect(got.buffer).toBe(body.buffer);
    expect(got.byteOffset).toBe(body.byteOffset + 1000);
    expect(got.length).toBe(5000);
    rest = body.subarray(90_000); // 10,000 bytes: below 16 KiB, read into the arena
    const e = r.next();
    expect(e.buffer).toBe(a.buffer);
    expect(e.byteOffset).toBe(a.byteOffset);
  });
});

describe('ReadBuffers: what a read is passed on as', () => {
  it('a read into the arena: a Buffer over the arena at the read\'s place, with the arena\'s ArrayBuffer as lastBuffer; a read into a body: the buffer handed out, no lastBuffer', () => {
    const r = new ReadBuffers();
    const body = Buffer.alloc(50_000);
    let rest: Buffer | null = null;
    r.reader = { bodyRest: (min) => (rest !== null && rest.length >= min ? rest : null), readLimit: () => 0 };
    const a = r.first();
    a.write('hello', 0, 'latin1');
    const got = r.read(5, a);
    expect(Buffer.isBuffer(got)).toBe(true);
    expect(got.toString('latin1')).toBe('hello');
    expect(got.buffer).toBe(a.buffer);
    expect(r.lastBuffer).toBe(a.buffer);
    const b = r.next(); // pinned (the first arena): after the first read's bytes
    expect(b.byteOffset).toBe(a.byteOffset + 5);
    b.write('world', 0, 'latin1');
    const got2 = r.read(3, b);
    expect([got2.byteOffset, got2.length, got2.toString('latin1')]).toEqual([a.byteOffset + 5, 3, 'wor']);
    expect(r.lastBuffer).toBe(a.buffer);
    rest = body.subarray(100);
    const d = r.next();
    expect(d).toBe(rest);
    expect(r.read(d.length, d)).toBe(d); // filled: passed on as it was handed out
    expect(r.lastBuffer).toBeUndefined();
    const e = r.next();
    expect(e).toBe(rest);
    const part = r.read(10, e);
    expect([part.buffer, part.byteOffset, part.length]).toEqual([body.buffer, body.byteOffset + 100, 10]);
    expect(r.lastBuffer).toBeUndefined();
    rest = null;
    expect(r.next().buffer).toBe(a.buffer); // the arena again
  });

  it('a limited read into the arena is a view of it of the limit\'s length', () => {
    const r = new ReadBuffers();
    r.pinned = false;
    r.reader = { bodyRest: () => null, readLimit: () => 70 };
    const a = r.first();
    r.read(a.length, a);
    const b = r.next();
    expect([b.buffer, b.byteOffset, b.length]).toEqual([a.buffer, a.byteOffset, 70]);
  });
});
