// The middle of a long backlog, kept as numbers instead of objects. A ready entry whose message
// is safely in the store needs only five numbers to be rebuilt when the head of the queue
// reaches it; at 28 bytes instead of an object of about a hundred, a million of them fit where
// the broker's memory budget says they must. Chunks of typed arrays, first in first out.

const CHUNK = 4096;

class Chunk {
  readonly seq = new Float64Array(CHUNK);
  readonly storeId = new Float64Array(CHUNK);
  readonly size = new Uint32Array(CHUNK);
  readonly bits = new Uint32Array(CHUNK);
  readonly count = new Uint32Array(CHUNK);
}

export class ColdFifo {
  #chunks: Chunk[] = [];
  /** Index of the head record in #chunks[0]. */
  #head = 0;
  /** Index after the last record in the last chunk. */
  #tail = CHUNK;
  #length = 0;
  /** A spare chunk, so a queue hovering at a chunk boundary does not allocate each time. */
  #spare: Chunk | null = null;

  get length(): number {
    return this.#length;
  }

  push(seq: number, size: number, storeId: number, bits: number, count: number): void {
    if (this.#tail === CHUNK) {
      this.#chunks.push(this.#spare ?? new Chunk());
      this.#spare = null;
      this.#tail = 0;
    }
    const c = this.#chunks[this.#chunks.length - 1]!;
    const i = this.#tail++;
    c.seq[i] = seq;
    c.size[i] = size;
    c.storeId[i] = storeId;
    c.bits[i] = bits;
    c.count[i] = count;
    this.#length++;
  }

  // The head record's fields (only while length > 0).
  get seq(): number {
    return this.#chunks[0]!.seq[this.#head]!;
  }

  get size(): number {
    return this.#chunks[0]!.size[this.#head]!;
  }

  get storeId(): number {
    return this.#chunks[0]!.storeId[this.#head]!;
  }

  get bits(): number {
    return this.#chunks[0]!.bits[this.#head]!;
  }

  get count(): number {
    return this.#chunks[0]!.count[this.#head]!;
  }

  /** Calls `fn` with every record's fields, head first, leaving the FIFO as it is. */
  forEach(fn: (seq: number, size: number, storeId: number, bits: number, count: number) => void): void {
    let i = this.#head;
    for (let k = 0; k < this.#chunks.length; k++) {
      const c = this.#chunks[k]!;
      const end = k === this.#chunks.length - 1 ? this.#tail : CHUNK;
      for (; i < end; i++) fn(c.seq[i]!, c.size[i]!, c.storeId[i]!, c.bits[i]!, c.count[i]!);
      i = 0;
    }
  }

  /** Index (0: the head) of the first record whose seq is above `seq`; records are in seq order. */
  indexAfter(seq: number): number {
    let lo = 0;
    let hi = this.#length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqAt(mid) <= seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // Fields of the record at index i (0: the head; i < length), for walking without shifting.
  seqAt(i: number): number {
    const at = this.#head + i;
    return this.#chunks[Math.floor(at / CHUNK)]!.seq[at % CHUNK]!;
  }

  sizeAt(i: number): number {
    const at = this.#head + i;
    return this.#chunks[Math.floor(at / CHUNK)]!.size[at % CHUNK]!;
  }

  storeIdAt(i: number): number {
    const at = this.#head + i;
    return this.#chunks[Math.floor(at / CHUNK)]!.storeId[at % CHUNK]!;
  }

  bitsAt(i: number): number {
    const at = this.#head + i;
    return this.#chunks[Math.floor(at / CHUNK)]!.bits[at % CHUNK]!;
  }

  countAt(i: number): number {
    const at = this.#head + i;
    return this.#chunks[Math.floor(at / CHUNK)]!.count[at % CHUNK]!;
  }

  /** Rewrites the record at index i in place (its seq stays). */
  setAt(i: number, size: number, storeId: number, bits: number, count: number): void {
    const at = this.#head + i;
    const c = this.#chunks[Math.floor(at / CHUNK)]!;
    const k = at % CHUNK;
    c.size[k] = size;
    c.storeId[k] = storeId;
    c.bits[k] = bits;
    c.count[k] = count;
  }

  setBitsAt(i: number, bits: number): void {
    const at = this.#head + i;
    this.#chunks[Math.floor(at / CHUNK)]!.bits[at % CHUNK] = bits;
  }

  /** Drops the head record. */
  shift(): void {
    if (this.#length === 0) return;
    this.#length--;
    if (++this.#head === CHUNK || this.#length === 0) {
      const done = this.#chunks.shift()!;
      this.#spare = done;
      this.#head = 0;
      if (this.#chunks.length === 0) this.#tail = CHUNK;
    }
  }

  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#tail = CHUNK;
    this.#length = 0;
    this.#spare = null;
  }
}
