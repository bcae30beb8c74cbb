// StreamEnv.openLog: the segment size a stream gets from its arguments. Under
// x-max-length-bytes, unless the client set the size, a segment is a twentieth of the limit
// (whole segments are removed, so the stream holds at most about 105 % of it).

import { describe, expect, it } from 'vitest';
import { F, type FieldTable } from '../../src/codec/field-table.js';
import { StreamEnv } from '../../src/stream/env.js';
import type { StreamQueue } from '../../src/stream/stream-queue.js';

function segmentOf(args: FieldTable): number {
  const env = new StreamEnv(null, null);
  const q = { vhost: '/', name: 's', arguments: args } as unknown as StreamQueue;
  const log = env.openLog(q, true);
  const size = log.settings.maxSegmentBytes;
  env.dropLog(q);
  return size;
}

describe('StreamEnv segment size', () => {
  it('is RabbitMQ default without limits, a twentieth of x-max-length-bytes (at least 1 MiB), or what the client set', () => {
    expect(segmentOf(new Map())).toBe(500_000_000);
    expect(segmentOf(new Map([['x-max-length-bytes', F.long(1024 ** 3)]]))).toBe(Math.floor(1024 ** 3 / 20));
    expect(segmentOf(new Map([['x-max-length-bytes', F.long(4 * 1024 * 1024)]]))).toBe(1024 * 1024);
    expect(segmentOf(new Map([['x-max-length-bytes', F.long(1024 ** 3)], ['x-stream-max-segment-size-bytes', F.long(300_000_000)]]))).toBe(300_000_000);
  });
});
