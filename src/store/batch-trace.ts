// Per-batch timestamps of the store's write path, for bench/store-timeline.ts: where the time
// between a publish and its confirm goes (issue 14, scenario h). Off unless the broker runs with
// WARREN_STORE_TRACE=<file>; then each batch sent to the writer appends one record of
// TRACE_FIELDS float64s (little-endian) to that file, written every TRACE_FLUSH records and at
// close. Times are milliseconds since the epoch (performance.timeOrigin + performance.now(), the
// same clock on both threads) so the writer's stamps line up with the event loop's.

import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/** One record, in this order. */
export const TRACE_FIELDS = [
  'id',
  'messages', // messages inserted by the batch
  'ops', // writes in the batch (inserts, entries, deletes, ...)
  'firstPush', // first write of the batch queued on the event loop (its first publish parsed)
  'lastPush', // last write queued before the batch went out
  'sent', // handed to the writer (postMessage)
  'writerGot', // the writer thread took it up
  'applied', // the writer's statements done, before COMMIT
  'committed', // COMMIT returned (with synchronous=FULL, after its fsync)
  'synced', // a writer that syncs after COMMIT: its sync returned (0: the COMMIT synced)
  'writerOnCpu', // ms the writer thread ran from took-up to its reply (/proc/thread-self/schedstat)
  'writerWaitCpu', // ms it was runnable but waited for the core meanwhile
  'replyGot', // the reply reached the event loop
  'listenersDone', // durable listeners ran (confirms queued on their connections)
] as const;

export const TRACE_ENV = 'WARREN_STORE_TRACE';
const TRACE_FLUSH = 512;

/** This thread's [ms on a CPU, ms runnable but waiting for one] so far (Linux; zeros elsewhere). */
export function threadCpuTimes(): [number, number] {
  try {
    const f = readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ');
    return [Number(f[0]) / 1e6, Number(f[1]) / 1e6];
  } catch {
    return [0, 0];
  }
}

export function traceNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The writer's stamps for one batch, carried back in its reply. */
export type WriterStamps = readonly [got: number, applied: number, committed: number, synced: number, onCpu: number, waitCpu: number];

export class BatchTrace {
  readonly #fd: number;
  readonly #buf = new Float64Array(TRACE_FIELDS.length * TRACE_FLUSH);
  #n = 0;
  /** The batch being filled (first and last write queued), then the one in flight. */
  firstPush = 0;
  lastPush = 0;
  #sentFirst = 0;
  #sentLast = 0;
  #sentAt = 0;
  #sentMessages = 0;
  #sentOps = 0;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** The trace the environment asks for, or null (the usual case). */
  static fromEnv(): BatchTrace | null {
    const path = process.env[TRACE_ENV];
    if (path === undefined || path === '') return null;
    return new BatchTrace(openSync(path, 'w'));
  }

  /** A write was queued: stamps the batch being filled. */
  pushed(): void {
    const now = traceNow();
    if (this.firstPush === 0) this.firstPush = now;
    this.lastPush = now;
  }

  sent(messages: number, ops: number): void {
    this.#sentFirst = this.firstPush;
    this.#sentLast = this.lastPush;
    this.#sentAt = traceNow();
    this.#sentMessages = messages;
    this.#sentOps = ops;
    this.firstPush = 0;
    this.lastPush = 0;
  }

  /** The reply to the batch in flight arrived and its listeners ran. */
  replied(id: number, replyGot: number, writer: WriterStamps | undefined): void {
    const b = this.#buf;
    let i = this.#n * TRACE_FIELDS.length;
    b[i++] = id;
    b[i++] = this.#sentMessages;
    b[i++] = this.#sentOps;
    b[i++] = this.#sentFirst;
    b[i++] = this.#sentLast;
    b[i++] = this.#sentAt;
    b[i++] = writer?.[0] ?? 0;
    b[i++] = writer?.[1] ?? 0;
    b[i++] = writer?.[2] ?? 0;
    b[i++] = writer?.[3] ?? 0;
    b[i++] = writer?.[4] ?? 0;
    b[i++] = writer?.[5] ?? 0;
    b[i++] = replyGot;
    b[i++] = traceNow();
    if (++this.#n === TRACE_FLUSH) this.#flush();
  }

  #flush(): void {
    if (this.#n === 0) return;
    writeSync(this.#fd, new Uint8Array(this.#buf.buffer, 0, this.#n * TRACE_FIELDS.length * 8));
    this.#n = 0;
  }

  close(): void {
    this.#flush();
    closeSync(this.#fd);
  }
}
