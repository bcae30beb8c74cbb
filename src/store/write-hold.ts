// The write hold: a batch whose inserts were already delivered to a consumer waits briefly
// (--store-ack-wait, 2 ms; and never past HOLD_MAX_BYTES) before it goes to the writer, so that
// acks arriving meanwhile cancel those inserts and the batch often needs no disk write at all.
// An entry still unacknowledged when the hold ends is written and confirmed after its fsync as
// before, so a confirmed message that nobody acknowledged is on disk. RabbitMQ's message store
// does the same on purpose (a message consumed before it is written is never written; its
// confirm means "persisted or consumed by all queues"). BatchedStore decides when to hold; this
// module marks the held entries and keeps the hold's count and timer.

import { OP_ENTRY_PUT } from './batch.js';
import { DELIVERED_EARLY, PENDING_INSERT, STATE_MASK, type Op } from './ops.js';

/** storeState flag: the entry is in the current hold, its ack still awaited. */
export const HELD = 128;

/** Default --store-ack-wait, ms. */
export const ACK_WAIT_MS = 2;

/** A hold ends early once the messages waiting for it exceed this many bytes. */
export const HOLD_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Marks ops[from..to)'s inserts of delivered entries HELD; returns how many. Only those can be
 * cancelled by an ack soon: an insert nobody was given gains nothing from waiting.
 */
export function holdDelivered(ops: readonly Op[], from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const op = ops[i]!;
    if (op.k !== OP_ENTRY_PUT) continue;
    const s = op.e.storeState;
    if ((s & STATE_MASK) === PENDING_INSERT && (s & DELIVERED_EARLY) !== 0) {
      op.e.storeState = s | HELD;
      n++;
    }
  }
  return n;
}

/** Clears HELD from ops[0..to) (a hold that ended with some acks still awaited). */
export function unhold(ops: readonly Op[], to: number): void {
  for (let i = 0; i < to; i++) {
    const op = ops[i]!;
    if (op.k === OP_ENTRY_PUT && (op.e.storeState & HELD) !== 0) op.e.storeState &= ~HELD;
  }
}

/** The current hold: up to which write it covers, how many acks it awaits, and its timer. */
export class WriteHold {
  /** How long a hold may last, ms (0: never hold). */
  readonly waitMs: number;
  /** writeSeq the hold covers up to; 0: no hold. */
  until = 0;
  /** Held entries not acknowledged yet. */
  open = 0;
  #timer: NodeJS.Timeout | null = null;
  readonly #onExpire: () => void;

  constructor(waitMs: number, onExpire: () => void) {
    this.waitMs = waitMs;
    this.#onExpire = onExpire;
  }

  begin(until: number, open: number): void {
    this.until = until;
    this.open = open;
    // One timer a hold (not a message): the bound on how long a delivered insert waits.
    this.#timer = setTimeout(this.#expire, this.waitMs);
  }

  /** Ends the hold; returns the write sequence it covered (0 if none). */
  end(): number {
    const until = this.until;
    this.until = 0;
    this.open = 0;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    return until;
  }

  readonly #expire = (): void => {
    this.#timer = null;
    this.#onExpire();
  };
}
