// A batch between the event loop and a store's writer: what the event loop keeps of a batch
// handed over until its reply (BatchedStore), the writer's reply, and the batch's buffer size.

import type { Message } from '../message.js';
import { OP_DELAYED_PUT, OP_MESSAGE_PUT, OP_STREAM_CHUNK } from './batch.js';
import type { DelayedOp, Op } from './ops.js';
import type { WriterStamps } from './batch-trace.js';

export interface InFlight {
  readonly id: number;
  readonly ops: Op[];
  /** writeSeq covered by this batch. */
  readonly upTo: number;
  /** Messages in this batch by id, still readable until committed. */
  readonly messages: Map<number, Message>;
  /** Scheduled-message ops in this batch, to settle their bookkeeping once committed. */
  readonly delayed: DelayedOp[];
}

/**
 * A writer's answer to one batch. `buffer`: the batch's buffer transferred back for the next
 * batch, so a busy store does not allocate (and free) a buffer of a batch's size per commit.
 */
export type BatchReply =
  | { readonly id: number; readonly ok: true; readonly buffer?: ArrayBuffer; readonly writerUs?: number; readonly stamps?: WriterStamps }
  | { readonly id: number; readonly ok: false; readonly code: string; readonly message: string; readonly buffer?: ArrayBuffer; readonly writerUs?: number; readonly stamps?: WriterStamps };

/** A handed-back batch buffer larger than this is let go (one huge message must not stay pinned). */
export const SPARE_MAX = 16 * 1024 * 1024;

export function estimateSize(ops: readonly Op[]): number {
  let n = 1024;
  for (const op of ops) {
    if (op.k === OP_MESSAGE_PUT) n += op.m.size + 600;
    else if (op.k === OP_DELAYED_PUT) n += op.s.message.size + 1200;
    // Sealed here, when the batch is taken out (as encoding would).
    else if (op.k === OP_STREAM_CHUNK) n += (op.w.seal()?.records.length ?? 0) + 64;
    else n += 64;
  }
  return n;
}
