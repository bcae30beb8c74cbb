// The store's writer thread runs under Linux's SCHED_BATCH policy. With the broker on one core,
// a batch posted to the writer woke it and the kernel let it preempt the event loop at once
// (a woken thread is favoured), so the loop sat off the core for the writer's SQLite work,
// up to a 4 ms tick, in the middle of serving other connections: beside a flat-out persistent
// publisher, another connection's RPC p99 was 12.6-14.0 ms against 4.6-5.4 ms with the writer
// at SCHED_BATCH (2026-12-05, README "Latency under load"). A SCHED_BATCH thread keeps its
// fair share of the CPU (its nice value is untouched, unlike SCHED_IDLE it is never starved);
// it only gives up preempting on wake-up. Node has no call for it, so util-linux's chrt sets
// it for this one thread, once, when the writer starts.

import { execFileSync } from 'node:child_process';
import { thisThread } from '../../util/thread-priority.js';

/** Puts the calling thread under SCHED_BATCH; returns null, or why it was not done (the
 *  writer works the same either way, so a failure only costs latency). */
export function writerToBatchPolicy(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  try {
    // this thread's id, which chrt -p takes for one thread
    const tid = thisThread();
    if (tid === null) return 'no thread id in /proc/thread-self';
    execFileSync('chrt', ['--batch', '--pid', '0', String(tid)], { stdio: 'ignore', timeout: 5000 });
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
