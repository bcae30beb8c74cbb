// Buffers for large message bodies, used again once nothing refers to a body any more instead
// of being left to the garbage collector. Each large body was a new buffer outside the JS heap,
// and that external allocation (hundreds of MiB a second under large messages) is what started
// V8's full collections several times a second. Sizes are rounded up to one of 8 steps per power
// of two from 32 KiB (at most 1/8 more than asked; 64 KiB and 1 MiB are steps), and the free
// buffers are bounded in bytes; beyond that a given-back buffer is left to the collector.
// Giving back a buffer that something still reads corrupts a body: BodyLease counts who holds it.

/** Bodies this large come from the pool (smaller ones are views of the socket reads, or copies). */
export const POOL_MIN = 32 * 1024;
/** Larger bodies get a buffer of their own, as before. */
export const POOL_MAX = 16 * 1024 * 1024;
/** Bytes of free buffers kept at most. */
const FREE_MAX_BYTES = 16 * 1024 * 1024;

const free = new Map<number, Buffer[]>();
let freeBytes = 0;

/** Counters for tests and diagnostics. */
export const bodyPoolStats = { taken: 0, reused: 0, given: 0, dropped: 0 };

/** The buffer size `size` is rounded up to (8 steps per power of two). */
export function poolSize(size: number): number {
  const step = 1 << Math.max(0, 28 - Math.clz32(size)); // 2 ** (bit length - 4), a shift rather than Math.pow
  return Math.ceil(size / step) * step;
}

/** A buffer of at least `size` bytes for a body (its first `size` bytes are the body). */
export function takeBody(size: number): Buffer {
  if (size < POOL_MIN || size > POOL_MAX) return Buffer.allocUnsafeSlow(size);
  bodyPoolStats.taken++;
  const n = poolSize(size);
  const list = free.get(n);
  const b = list?.pop();
  if (b !== undefined) {
    freeBytes -= n;
    bodyPoolStats.reused++;
    return b;
  }
  return Buffer.allocUnsafeSlow(n); // not from Node's pool: a buffer of its own
}

/** Whether `buf` (as takeBody returned it) may be given back. */
export function isPooled(buf: Buffer): boolean {
  return buf.length >= POOL_MIN && buf.length <= POOL_MAX && buf.byteOffset === 0 && buf.buffer.byteLength === buf.length && poolSize(buf.length) === buf.length;
}

/** Gives back a buffer from takeBody that nothing refers to any more. */
export function giveBody(buf: Buffer): void {
  const n = buf.length;
  if (!isPooled(buf)) return;
  bodyPoolStats.given++;
  if (freeBytes + n > FREE_MAX_BYTES) evictOther(n);
  if (freeBytes + n > FREE_MAX_BYTES) {
    bodyPoolStats.dropped++;
    return;
  }
  let list = free.get(n);
  if (list === undefined) free.set(n, (list = []));
  list.push(buf);
  freeBytes += n;
}

/** Frees room by dropping buffers of other sizes (sizes no longer in use must not hold the pool). */
function evictOther(keep: number): void {
  for (const [n, list] of free) {
    if (n === keep) continue;
    freeBytes -= n * list.length;
    free.delete(n);
    if (freeBytes + keep <= FREE_MAX_BYTES) return;
  }
}

/** Empties the pool (tests). */
export function clearBodyPool(): void {
  free.clear();
  freeBytes = 0;
}

/**
 * A pooled body and how many hold it: the publish while it routes, and each queue that keeps
 * the message in memory until its consumer is done (acked, or written to a no-ack consumer's
 * socket). The last release gives the buffer back. A holder that cannot say when it is done
 * never releases: the buffer is then left to the collector, which is always safe.
 */
export class BodyLease {
  holds = 1;
  readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }
}
