// A clock read on the hot path without a system call: the broker's one-second tick advances it,
// so it is exact to about a second (enough for consumer timeouts).

export const coarseClock = { now: Date.now() };

export function tickClock(): number {
  coarseClock.now = Date.now();
  return coarseClock.now;
}
