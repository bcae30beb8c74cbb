/**
 * A stream's size and age limits, shared by both log back-ends (files and PostgreSQL): which of
 * the oldest segments have to go. Each back-end removes them its own way.
 */

export interface RetentionLimits {
  maxBytes: number | null;
  maxAgeMs: number | null;
}

interface AgedSegment {
  size: number;
  /** Timestamp (ms) of the segment's newest record. */
  lastTs: number;
}

/**
 * How many segments, oldest first, lie past the limits: first while the log is over `maxBytes`,
 * then while the oldest left is older than `maxAgeMs`. The last segment always stays, since it is
 * the one being appended to.
 */
export function segmentsPastRetention(
  segments: readonly AgedSegment[],
  totalBytes: number,
  limits: RetentionLimits,
  now: number,
): number {
  let drop = 0;
  const keepLast = segments.length - 1;
  if (limits.maxBytes !== null) {
    let total = totalBytes;
    while (drop < keepLast && total > limits.maxBytes) total -= segments[drop++]!.size;
  }
  if (limits.maxAgeMs !== null) {
    const cutoff = now - limits.maxAgeMs;
    while (drop < keepLast && segments[drop]!.lastTs < cutoff) drop++;
  }
  return drop;
}

/** How often a quiet stream's age is checked (age is also checked on each roll). */
export function ageCheckIntervalMs(maxAgeMs: number): number {
  return Math.min(Math.max(maxAgeMs / 10, 1000), 60_000);
}
