import { describe, expect, it } from 'vitest';
import { ageCheckIntervalMs, segmentsPastRetention } from '../../src/stream/retention.js';

const seg = (size: number, lastTs: number) => ({ size, lastTs });

describe('segmentsPastRetention', () => {
  const segments = [seg(100, 1_000), seg(100, 2_000), seg(100, 3_000), seg(100, 4_000)];

  it('keeps everything without limits', () => {
    expect(segmentsPastRetention(segments, 400, { maxBytes: null, maxAgeMs: null }, 10_000)).toBe(0);
  });

  it('drops the oldest segments until the log fits its size limit', () => {
    expect(segmentsPastRetention(segments, 400, { maxBytes: 250, maxAgeMs: null }, 0)).toBe(2);
    expect(segmentsPastRetention(segments, 400, { maxBytes: 300, maxAgeMs: null }, 0)).toBe(1);
    expect(segmentsPastRetention(segments, 400, { maxBytes: 400, maxAgeMs: null }, 0)).toBe(0);
  });

  it('drops segments whose newest record is older than the age limit', () => {
    expect(segmentsPastRetention(segments, 400, { maxBytes: null, maxAgeMs: 1_500 }, 4_000)).toBe(2);
  });

  it('applies the size limit first, then the age limit to what is left', () => {
    expect(segmentsPastRetention(segments, 400, { maxBytes: 350, maxAgeMs: 1_500 }, 4_000)).toBe(2);
    expect(segmentsPastRetention(segments, 400, { maxBytes: 150, maxAgeMs: 2_500 }, 4_000)).toBe(3);
  });

  it('never drops the last segment, however far past the limits', () => {
    expect(segmentsPastRetention(segments, 400, { maxBytes: 0, maxAgeMs: 0 }, 1e9)).toBe(3);
    expect(segmentsPastRetention([seg(500, 0)], 500, { maxBytes: 1, maxAgeMs: 1 }, 1e9)).toBe(0);
    expect(segmentsPastRetention([], 0, { maxBytes: 0, maxAgeMs: 0 }, 1e9)).toBe(0);
  });
});

describe('ageCheckIntervalMs', () => {
  it('checks a tenth of the age, between one second and one minute', () => {
    expect(ageCheckIntervalMs(100)).toBe(1_000);
    expect(ageCheckIntervalMs(50_000)).toBe(5_000);
    expect(ageCheckIntervalMs(86_400_000)).toBe(60_000);
  });
});
