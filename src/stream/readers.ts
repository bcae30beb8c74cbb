// Named stream readers: the broker keeps, for each (vhost, stream, reader name), the committed
// offset, the highest offset below which every delivery to that reader has been acknowledged
// (the next one to deliver when the reader resumes). A consumer passing `x-stream-reader: R`
// holds the reader while it consumes; only the holder's acks move the offset, so it never runs
// ahead of an unacknowledged delivery, and a consumer group's partition changing hands cannot
// be moved by the previous owner's late acks. Offsets are written to the store, coalesced to
// one write per reader per event-loop turn (acks come in bursts), and read back at start.

import { ChannelError } from '../errors.js';
import type { ReaderOffsetRecord, Store } from '../store/store.js';

/** Longest reader name (a short string's length): every input is bounded. */
export const MAX_READER_NAME = 255;

export interface Reader {
  readonly vhost: string;
  readonly stream: string;
  readonly name: string;
  /** Next offset to deliver: every delivery below it was acknowledged. */
  committed: number;
  /** The consumer (or group) using the reader now, or null. */
  holder: object | null;
  /** When the committed offset last moved, ms since the epoch (0: not since start). */
  committedAt: number;
}

const key = (vhost: string, stream: string, name: string): string => `${vhost}\u0000${stream}\u0000${name}`;
const streamKey = (vhost: string, stream: string): string => `${vhost}\u0000${stream}`;

export class StreamReaders {
  readonly #store: Store;
  readonly #readers = new Map<string, Reader>();
  /** Readers of each stream, for listing and for dropping a stream's readers. */
  readonly #byStream = new Map<string, Set<Reader>>();
  readonly #dirty = new Set<Reader>();
  #flushQueued = false;

  constructor(store: Store) {
    this.#store = store;
  }

  /** At start: the offsets the store kept. */
  restore(records: Iterable<ReaderOffsetRecord>): void {
    for (const r of records) this.#add({ vhost: r.vhost, stream: r.stream, name: r.reader, committed: r.offset, holder: null, committedAt: 0 });
  }

  get(vhost: string, stream: string, name: string): Reader | undefined {
    return this.#readers.get(key(vhost, stream, name));
  }

  /** The readers of one stream, by name. */
  list(vhost: string, stream: string): Reader[] {
    return [...(this.#byStream.get(streamKey(vhost, stream)) ?? [])].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Every reader (for /metrics). */
  all(): IterableIterator<Reader> {
    return this.#readers.values();
  }

  /**
   * `holder` starts reading as `name`: returns the reader, created at `startIfNew()` when it is
   * new (stored at once, so a restart before the first ack resumes there too). A reader held
   * by someone else is refused (405), unless `shared` (a consumer group hands it over itself).
   */
  attach(vhost: string, stream: string, name: string, holder: object, startIfNew: () => number, shared = false): Reader {
    let r = this.get(vhost, stream, name);
    if (r === undefined) {
      r = { vhost, stream, name, committed: startIfNew(), holder: null, committedAt: 0 };
      this.#add(r);
      this.#markDirty(r);
    } else if (r.holder !== null && r.holder !== holder && !shared) {
      throw new ChannelError('RESOURCE_LOCKED', `stream reader '${name}' of queue '${stream}' in vhost '${vhost}' is in use by another consumer`);
    }
    r.holder = holder;
    return r;
  }

  /** `holder` stopped reading (cancelled, channel or connection closed, group handed it on). */
  detach(r: Reader, holder: object): void {
    if (r.holder === holder) r.holder = null;
  }

  /**
   * The holder's deliveries below `offset` are all acknowledged. Anyone else's acks (a
   * previous holder's, late) are ignored, and the offset never goes back.
   */
  commit(r: Reader, holder: object, offset: number): void {
    if (r.holder !== holder || offset <= r.committed) return;
    r.committed = offset;
    r.committedAt = Date.now();
    this.#markDirty(r);
  }

  /** Its holder moves the reader (a consumer that named an x-stream-offset): back or forward. */
  move(r: Reader, holder: object, offset: number): void {
    if (r.holder !== holder || offset === r.committed) return;
    r.committed = offset;
    r.committedAt = Date.now();
    this.#markDirty(r);
  }

  /** Operator reset: refused while a consumer holds the reader (as Kafka refuses it for an active group). */
  reset(r: Reader, offset: number): void {
    if (r.holder !== null) {
      throw new ChannelError('RESOURCE_LOCKED', `stream reader '${r.name}' of queue '${r.stream}' in vhost '${r.vhost}' is in use by a consumer; cancel it first`);
    }
    r.committed = offset;
    r.committedAt = Date.now();
    this.#markDirty(r);
  }

  /** Operator delete: the next consumer under this name starts afresh. */
  delete(r: Reader): void {
    if (r.holder !== null) {
      throw new ChannelError('RESOURCE_LOCKED', `stream reader '${r.name}' of queue '${r.stream}' in vhost '${r.vhost}' is in use by a consumer; cancel it first`);
    }
    this.#remove(r);
    this.#dirty.delete(r);
    this.#store.deleteReaderOffset(r.vhost, r.stream, r.name);
  }

  /** The stream was deleted: its readers go (the store forgets them with the stream). */
  dropStream(vhost: string, stream: string): void {
    const set = this.#byStream.get(streamKey(vhost, stream));
    if (set === undefined) return;
    for (const r of [...set]) {
      this.#remove(r);
      this.#dirty.delete(r);
    }
  }

  /** Writes every pending offset now (before shutdown). */
  flush(): void {
    for (const r of this.#dirty) {
      if (this.#readers.get(key(r.vhost, r.stream, r.name)) === r) this.#store.saveReaderOffset({ vhost: r.vhost, stream: r.stream, reader: r.name, offset: r.committed });
    }
    this.#dirty.clear();
  }

  #markDirty(r: Reader): void {
    this.#dirty.add(r);
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    setImmediate(() => {
      this.#flushQueued = false;
      this.flush();
    });
  }

  #add(r: Reader): void {
    this.#readers.set(key(r.vhost, r.stream, r.name), r);
    const sk = streamKey(r.vhost, r.stream);
    let set = this.#byStream.get(sk);
    if (set === undefined) {
      set = new Set();
      this.#byStream.set(sk, set);
    }
    set.add(r);
  }

  #remove(r: Reader): void {
    this.#readers.delete(key(r.vhost, r.stream, r.name));
    const sk = streamKey(r.vhost, r.stream);
    const set = this.#byStream.get(sk);
    set?.delete(r);
    if (set?.size === 0) this.#byStream.delete(sk);
  }
}
