// Records the largest Buffer allocation made while a fuzz input is handled: Buffer.alloc and
// allocUnsafe are wrapped in this process (Buffer.concat and the codec allocate through them).
// allocUnsafeSlow is recorded apart: only the frame writer's output slab (256 KiB, shared by
// all connections, replaced when full) and the SQLite store's write batches use it, so it
// says nothing about how much one client's input can make warren allocate.
// Fuzz-only instrumentation; never loaded by the broker.

let installed = false;
let largest = 0;
let largestSlow = 0;

/** Wraps the allocators once per process. */
export function installAllocationProbe(): void {
  if (installed) return;
  installed = true;
  const wrap = (name: 'alloc' | 'allocUnsafe' | 'allocUnsafeSlow'): void => {
    const original = Buffer[name] as (size: number, ...rest: unknown[]) => Buffer;
    const slow = name === 'allocUnsafeSlow';
    const wrapped = function (this: unknown, size: number, ...rest: unknown[]): Buffer {
      if (slow) {
        if (size > largestSlow) largestSlow = size;
      } else if (size > largest) largest = size;
      return original.call(Buffer, size, ...rest);
    };
    Object.defineProperty(Buffer, name, { value: wrapped, writable: true, configurable: true });
  };
  wrap('alloc');
  wrap('allocUnsafe');
  wrap('allocUnsafeSlow');
}

/** Largest Buffer.alloc/allocUnsafe since the last reset (bytes). */
export function largestAllocation(): number {
  return largest;
}

/** Largest allocUnsafeSlow (output slabs) since the last reset (bytes). */
export function largestSlabAllocation(): number {
  return largestSlow;
}

export function resetLargestAllocation(): void {
  largest = 0;
  largestSlow = 0;
}
