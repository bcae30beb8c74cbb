// Records the largest Buffer allocation made while a fuzz input is handled: Buffer.alloc,
// allocUnsafe and allocUnsafeSlow are wrapped in this process (Buffer.concat and most of the
// codec allocate through them). Fuzz-only instrumentation; never loaded by the broker.

let installed = false;
let largest = 0;
let largestEver = 0;

/** Wraps the allocators once per process. */
export function installAllocationProbe(): void {
  if (installed) return;
  installed = true;
  const wrap = (name: 'alloc' | 'allocUnsafe' | 'allocUnsafeSlow'): void => {
    const original = Buffer[name] as (size: number, ...rest: unknown[]) => Buffer;
    const wrapped = function (this: unknown, size: number, ...rest: unknown[]): Buffer {
      if (size > largest) largest = size;
      if (size > largestEver) largestEver = size;
      return original.call(Buffer, size, ...rest);
    };
    Object.defineProperty(Buffer, name, { value: wrapped, writable: true, configurable: true });
  };
  wrap('alloc');
  wrap('allocUnsafe');
  wrap('allocUnsafeSlow');
}

/** Largest allocation since the last reset (bytes). */
export function largestAllocation(): number {
  return largest;
}

export function resetLargestAllocation(): void {
  largest = 0;
}

/** Largest allocation since the probe was installed. */
export function largestAllocationEver(): number {
  return largestEver;
}
