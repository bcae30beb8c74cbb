// V8's platform threads run at a lower priority than the event loop. On a busy core the kernel
// shares time between runnable threads of equal priority, and V8's platform threads (concurrent
// marking, parallel scavenges, sweeping) ran stretches of 2-5 ms while the event loop, runnable,
// waited: that is where a probe beside a flat-out persistent publisher lost its milliseconds
// (perf sched, 2026-12-05, README "Latency under load"). Ten nice steps lower, such a thread gets
// about a tenth of a contended core and is preempted when the loop wakes; with a core to spare it
// runs as before. On Linux a nice value belongs to one thread, so each is set by its thread id.
// The SQLite writer is not lowered: a backlog's drain then held far more memory (worker.ts).

import { readdirSync, readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** How many nice steps below the event loop a helper thread runs. */
export const HELPER_NICE_STEPS = 10;
const NICE_MAX = 19;

function lower(tid: number): void {
  const now = getPriority(tid);
  const to = Math.min(NICE_MAX, now + HELPER_NICE_STEPS);
  if (to !== now) setPriority(tid, to);
}

/** The calling thread's id ("<pid>/task/<tid>" in /proc/thread-self; Linux), or null. */
export function thisThread(): number | null {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isInteger(tid) && tid > 0 ? tid : null;
  } catch {
    return null;
  }
}

/**
 * Lowers every thread of this process but the calling one, as they are now: called by the
 * event loop's thread at start-up, that is V8's platform threads (started with the process).
 * Threads started later take the nice value of the thread that starts them, the event loop's.
 * Returns how many were lowered, or why none were.
 */
export function lowerOtherThreads(): number | string {
  if (process.platform !== 'linux') return 'not Linux';
  const self = thisThread();
  if (self === null) return 'no /proc/thread-self';
  let n = 0;
  let failure: string | null = null;
  for (const name of readdirSync('/proc/self/task')) {
    const tid = Number(name);
    if (tid === self) continue;
    try {
      lower(tid);
      n++;
    } catch (e) {
      // a thread that ended meanwhile (ESRCH) is no failure
      if (!(e as Error).message.includes('ESRCH')) failure = (e as Error).message;
    }
  }
  return failure ?? n;
}
