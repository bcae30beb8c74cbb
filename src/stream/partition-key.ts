// Which partition of a super stream a key belongs to. The key's UTF-8 bytes are hashed with
// MurmurHash3 x86_32 (seed 104729, the seed RabbitMQ's stream clients use), and the hash picks
// one of N partitions by jump consistent hashing (Lamping and Veach, 2014) driven by a 32-bit
// generator. Stable across restarts and versions; growing N to N+1 moves about 1/(N+1) of the
// keys, all of them to the new partition (plain `hash mod N` would move almost every key).
// Allocation-free for keys up to 1 KiB (routing keys are at most 255 bytes).

const SEED = 104729;
const SCRATCH = Buffer.allocUnsafeSlow(1024);

/** MurmurHash3 x86_32 of `bytes[0, length)`, as an unsigned 32-bit number. */
export function murmur3(bytes: Uint8Array, length = bytes.length, seed = SEED): number {
  let h = seed | 0;
  const blocks = length & ~3;
  for (let i = 0; i < blocks; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = length & 3;
  if (tail !== 0) {
    let k = 0;
    if (tail === 3) k ^= bytes[blocks + 2]! << 16;
    if (tail >= 2) k ^= bytes[blocks + 1]! << 8;
    k ^= bytes[blocks]!;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= length;
  return fmix(h) >>> 0;
}

/** MurmurHash3's finaliser. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * Jump consistent hash of a 32-bit hash into [0, n). The generator: state starts at the hash;
 * each step state = state * 1664525 + 1013904223 (mod 2^32) and r = (fmix(state) + 1) / 2^32,
 * uniform in (0, 1]; the next candidate is floor((b + 1) / r). Each key's sequence depends on the
 * key alone, which is what makes the placement move only to new partitions as n grows.
 */
export function jumpHash(hash: number, n: number): number {
  let b = -1;
  let j = 0;
  let state = hash >>> 0;
  while (j < n) {
    b = j;
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const r = ((fmix(state) >>> 0) + 1) / 4294967296;
    j = Math.floor((b + 1) / r);
  }
  return b;
}

/** The partition (0..n-1) of `key` in a super stream of n partitions. */
export function partitionOf(key: string, n: number): number {
  if (n <= 1) return 0;
  // A UTF-8 string takes at most 3 bytes per UTF-16 unit: check before writing into the scratch.
  if (key.length * 3 <= SCRATCH.length) return jumpHash(murmur3(SCRATCH, SCRATCH.write(key, 0, 'utf8')), n);
  return jumpHash(murmur3(Buffer.from(key, 'utf8')), n);
}
