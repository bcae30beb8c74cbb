// How much of one client's input is handled before the others get a turn. libuv reads a ready
// socket up to 32 times (64 KiB each) in one go, and warren handled all of it (every publish,
// its routing and deliveries) before serving anyone else: a flat-out publisher made a probe on
// another connection wait tens of milliseconds. A slice ends after SLICE_MS of work or
// SLICE_MAX_FRAMES frames in one event-loop turn; the connection then pauses reading (the
// socket too, so TCP backpressure holds) and resumes after the turn's output is flushed.

/** A slice's length; the clock is read every SLICE_CHECK_EVERY frames, not per frame. */
export const SLICE_MS = 0.5;
export const SLICE_MAX_FRAMES = 4096;
const SLICE_CHECK_EVERY = 32;

// Event-loop turns, numbered while someone is counting (one setImmediate per turn).
let turn = 0;
let turnScheduled = false;
const nextTurn = (): void => {
  turnScheduled = false;
  turn++;
};

function currentTurn(): number {
  if (!turnScheduled) {
    turnScheduled = true;
    setImmediate(nextTurn);
  }
  return turn;
}

export class InputSlice {
  #frames = 0;
  #start = 0;
  #turn = -1;

  /** Counts one frame handled; true when the slice is used up (yield after this frame). */
  count(): boolean {
    const n = ++this.#frames;
    if (n % SLICE_CHECK_EVERY !== 0) return false;
    const t = performance.now();
    const now = currentTurn();
    if (this.#turn !== now) {
      // The first look in a new turn starts a slice: earlier turns' frames do not count.
      this.#turn = now;
      this.#start = t;
      this.#frames = 0;
      return false;
    }
    return n >= SLICE_MAX_FRAMES || t - this.#start >= SLICE_MS;
  }

  /** After a yield: the next frames start a new slice. */
  reset(): void {
    this.#frames = 0;
    this.#turn = -1;
  }
}
