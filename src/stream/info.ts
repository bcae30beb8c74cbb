// A stream's sizes as the management API, the CLI and /metrics show them: messages, bytes on
// disk, segments, first and last offset, the offset readers can read up to, and the time of the
// first message kept.

import { StreamQueue } from './stream-queue.js';

export interface StreamFigures {
  readonly messages: number;
  readonly bytes: number;
  readonly segments: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  readonly committedOffset: number;
  /** ms since the epoch; 0 when empty. */
  readonly firstTimestamp: number;
}

/** The figures of a stream, or null for any other queue. */
export function streamFigures(q: object): StreamFigures | null {
  if (!(q instanceof StreamQueue)) return null;
  const s = q.log.stats();
  return { ...s, committedOffset: q.log.committedOffset };
}

/** Fields added to a stream's /api/queues object (its `messages` counts the log, not deliveries). */
export function streamJson(q: object): Record<string, unknown> | null {
  const f = streamFigures(q);
  if (f === null) return null;
  return {
    messages: f.messages,
    messages_ready: f.messages,
    message_bytes_ready: f.bytes,
    stream: {
      messages: f.messages,
      bytes: f.bytes,
      segments: f.segments,
      first_offset: f.firstOffset,
      last_offset: f.lastOffset,
      committed_offset: f.committedOffset,
      first_timestamp: f.firstTimestamp === 0 ? null : new Date(f.firstTimestamp).toISOString(),
    },
  };
}
