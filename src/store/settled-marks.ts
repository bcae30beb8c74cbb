// Delivered-marks of entries settled before their mark went out. markDelivered queues an op that
// holds its entry (the batch's encoding reads the entry's state, seq and delivery count), and the
// op stayed in the pending list and then in its batch until the writer's reply. Once the entry is
// acknowledged the mark writes nothing, but it kept the entry reachable: while a backlog drains,
// every delivered entry, for a batch or two, which is long enough for V8 to promote many of them
// to the old generation (README "The drain's peak memory"). Such ops are replaced where they sit by
// one shared mark of a settled entry: it encodes to nothing and a failed batch's recovery skips it,
// as both did with the op it replaces. The slot stays: each pending op is one write sequence.

import { OP_ENTRY_MARK } from './batch.js';
import { ON_DISK, STATE_MASK, type Op } from './ops.js';
import type { StoreEntry } from './store.js';

/** An entry no longer in any queue (state 0): nothing reads it but its state, nothing writes it. */
const SETTLED_ENTRY: StoreEntry = { seq: 0, size: 0, priority: 0, expiresAt: 0, deliveryCount: 0, storeId: 0, storeState: 0, storeMulti: false };

/** The mark that stands in for a mark of a settled entry. */
export const SETTLED_MARK: Op = { k: OP_ENTRY_MARK, q: 0, e: SETTLED_ENTRY };

/** Pending marks are looked through once this many were settled (and at least a quarter of the pending ops). */
export const SETTLED_SCAN_MIN = 256;

/** Whether `op` is a delivered-mark whose entry is no longer on disk in its queue (acknowledged, or its insert failed). */
export function isSettledMark(op: Op): boolean {
  return op.k === OP_ENTRY_MARK && (op.e.storeState & STATE_MASK) !== ON_DISK;
}

/** Replaces the marks of settled entries among `ops` by SETTLED_MARK, in place; returns how many. */
export function dropSettledMarks(ops: Op[]): number {
  let n = 0;
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op !== SETTLED_MARK && isSettledMark(op)) {
      ops[i] = SETTLED_MARK;
      n++;
    }
  }
  return n;
}
