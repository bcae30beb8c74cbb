// Pausing the frame reader mid-chunk (flow control, resource alarms): frames after the pause
// point wait, in order, and come out on resume, even when resume pauses again.

import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../src/codec/frame-reader.js';

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const b = Buffer.alloc(8 + payload.length);
  b[0] = type;
  b.writeUInt16BE(channel, 1);
  b.writeUInt32BE(payload.length, 3);
  payload.copy(b, 7);
  b[7 + payload.length] = 0xce;
  return b;
}

describe('FrameReader pause/resume', () => {
  it('holds the frames after a pause and hands them out in order on resume', () => {
    const reader = new FrameReader(131072);
    const seen: string[] = [];
    const handler = {
      onFrame(_t: number, _c: number, p: Buffer): void {
        seen.push(p.toString());
        if (p.toString() === 'b' || p.toString() === 'd') reader.pause();
      },
    };
    const stream = Buffer.concat(['a', 'b', 'c', 'd', 'e'].map((s) => frame(3, 1, Buffer.from(s))));
    reader.push(stream.subarray(0, 20), handler);
    reader.push(stream.subarray(20), handler);
    expect(seen).toEqual(['a', 'b']);
    expect(reader.paused).toBe(true);
    reader.resume(handler);
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    reader.resume(handler);
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(reader.idle).toBe(true);
  });
});
