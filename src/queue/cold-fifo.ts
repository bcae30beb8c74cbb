// The middle of a long backlog, kept as numbers instead of objects. A ready entry whose message
// is safely in the store needs only five numbers to be rebuilt when the head of the queue
// reaches it; at 20 bytes instead of an object of about a hundred, a million of them fit where
// the broker's memory budget says they must. Chunks of typed arrays, first in first out.

const CHUNK = 4096;
const I32_MIN = -(2 ** 31);
const I32_MAX = 2 ** 31 - 1;

/**
 * Up to CHUNK records. A queue's records come in seq order and their store ids nearly so, so a
 * chunk keeps both as 32-bit offsets from its first record's (20 bytes a record, not 28: 8 MiB
 * less for a 1M backlog). A record whose offsets do not fit widens the chunk to doubles once.
 */
class Chunk {
  #seqBase = 0;
  #idBase = 0;
  /** Compact form (null once widened). */
  #seqOff: Int32Array | null = new Int32Array(CHUNK);
  #idOff: Int32Array | null = new Int32Array(CHUNK);
  /** Wide form (null until widened). */
  #seqAbs: Float64Array | null = null;
  #idAbs: Float64Array | null = null;
  readonly size = new Uint32Array(CHUNK);
  readonly bits = new Uint32Array(CHUNK);
  readonly count = new Uint32Array(CHUNK);

  get wide(): boolean {
    return this.#seqOff === null;
  }

  get bytes(): number {
    return CHUNK * (this.#seqOff === null ? 28 : 20);
  }

  /** Makes record i's seq and store id the chunk's bases when it is the chunk's first. */
  start(seq: number, storeId: number): void {
    if (this.#seqOff === null) return;
    this.#seqBase = seq;
    this.#idBase = storeId;
  }

  seq(i: number): number {
    return this.#seqOff !== null ? this.#seqBase + this.#seqOff[i]! : this.#seqAbs![i]!;
  }

  storeId(i: number): number {
    return this.#idOff !== null ? this.#idBase + this.#idOff[i]! : this.#idAbs![i]!;
  }

  setSeq(i: number, seq: number): void {
    if (this.#seqOff !== null) {
      const d = seq - this.#seqBase;
      if (d >= I32_MIN && d <= I32_MAX) {
        this.#seqOff[i] = d;
        return;
      }
      this.#widen();
    }
    this.#seqAbs![i] = seq;
  }

  setStoreId(i: number, storeId: number): void {
    if (this.#idOff !== null) {
      const d = storeId - this.#idBase;
      if (d >= I32_MIN && d <= I32_MAX) {
        this.#idOff[i] = d;
        return;
      }
      this.#widen();
    }
    this.#idAbs![i] = storeId;
  }

  #widen(): void {
    const seqAbs = new Float64Array(CHUNK);
    const idAbs = new Float64Array(CHUNK);
    for (let i = 0; i < CHUNK; i++) {
      seqAbs[i] = this.#seqBase + this.#seqOff![i]!;
      idAbs[i] = this.#idBase + this.#idOff![i]!;
    }
    this.#seqAbs = seqAbs;
    this.#idAbs = idAbs;
    this.#seqOff = null;
    this.#idOff = null;
  }
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

  /** Bytes held by the records' arrays (the spare chunk included). */
  get bytes(): number {
    let n = this.#spare?.bytes ?? 0;
    for (const c of this.#chunks) n += c.bytes;
    return n;
  }

  push(seq: number, size: number, storeId: number, bits: number, count: number): void {
    if (this.#tail === CHUNK) {
      const c = this.#spare ?? new Chunk();
      c.start(seq, storeId);
      this.#chunks.push(c);
      this.#spare = null;
      this.#tail = 0;
    }
    const c = this.#chunks[this.#chunks.length - 1]!;
    const i = this.#tail++;
    c.setSeq(i, seq);
    c.size[i] = size;
    c.setStoreId(i, storeId);
    c.bits[i] = bits;
    c.count[i] = count;
    this.#length++;
  }

  // The head record's fields (only while length > 0).
  get seq(): number {
    return this.#chunks[0]!.seq(this.#head);
  }

  get size(): number {
    return this.#chunks[0]!.size[this.#head]!;
  }

  get storeId(): number {
    return this.#chunks[0]!.storeId(this.#head);
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
      for (; i < end; i++) fn(c.seq(i), c.size[i]!, c.storeId(i), c.bits[i]!, c.count[i]!);
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
    return this.#chunks[Math.floor(at / CHUNK)]!.seq(at % CHUNK);
  }

  sizeAt(i: number): number {
    const at = this.#head + i;
    return this.#chunks[Math.floor(at / CHUNK)]!.size[at % CHUNK]!;
  }

  storeIdAt(i: number): number {
    const at = this.#head + i;
    return this.#chunks[Math.floor(at / CHUNK)]!.storeId(at % CHUNK);
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
    c.setStoreId(k, storeId);
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
      // A widened chunk is not kept: the next one starts compact.
      this.#spare = done.wide ? null : done;
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
