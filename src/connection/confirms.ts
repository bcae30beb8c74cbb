// Publisher-confirm bookkeeping of one channel (confirm.select): each publish gets a sequence
// number and becomes confirmable once the store writes it needed are durable. Acks go out in
// order and coalesced (multiple=true); a publish whose writes failed, or that a queue refused,
// is nacked after an ack for everything before it.

import type { FrameWriter } from '../codec/frame-writer.js';
import { BASIC_ACK, BASIC_NACK } from '../codec/methods.generated.js';
import type { WriteRange } from '../store/store.js';
import { Deque } from '../util/deque.js';

export class Confirms {
  #next = 1;
  /** Highest sequence number already acked or nacked to the client. */
  #reported = 0;
  /** Highest sequence number confirmable (everything up to it is settled). */
  #ready = 0;
  readonly #waitSeq = new Deque<number>();
  readonly #waitStore = new Deque<number>();
  /** Output in order: +tag = ack everything up to tag, -tag = nack tag. */
  #out: number[] = [];
  /** Where the last write() left off, to tell a multiple ack from a single one. */
  #lastWritten = 0;

  nextSeq(): number {
    return this.#next++;
  }

  /**
   * Publish `seq` is routed; it needs store write `storeSeq` durable (0: nothing to wait for).
   * `refused`: a queue refused it (x-overflow reject-publish), so it is nacked in its turn.
   */
  settle(seq: number, storeSeq: number, durableSeq: number, refused = false): void {
    if (this.#waitSeq.length === 0 && storeSeq <= durableSeq) {
      if (refused) this.#nack(seq);
      this.#ready = seq;
    } else {
      this.#waitSeq.push(seq);
      this.#waitStore.push(refused ? -storeSeq - 1 : storeSeq);
    }
  }

  advance(durableSeq: number, failed: WriteRange | null): void {
    while (this.#waitStore.length > 0) {
      const stored = this.#waitStore.peek()!;
      const refused = stored < 0;
      const storeSeq = refused ? -stored - 1 : stored;
      if (storeSeq > durableSeq) break;
      this.#waitStore.shift();
      const seq = this.#waitSeq.shift()!;
      if (refused || (failed !== null && storeSeq > failed.from && storeSeq <= failed.to)) this.#nack(seq);
      this.#ready = seq;
    }
  }

  /** Emits the ack for everything ready before `seq`, then the nack for it. */
  #nack(seq: number): void {
    if (this.#ready > this.#reported) this.#out.push(this.#ready);
    this.#out.push(-seq);
    this.#reported = seq;
  }

  get waiting(): boolean {
    return this.#waitSeq.length > 0;
  }

  /** The acks and nacks to send now, in order (see #out). */
  take(): number[] {
    if (this.#ready > this.#reported) {
      this.#out.push(this.#ready);
      this.#reported = this.#ready;
    }
    const out = this.#out;
    if (out.length > 0) this.#out = [];
    return out;
  }

  /** Writes the acks and nacks now due on `channel`; returns whether it wrote any. */
  write(writer: FrameWriter, channel: number): boolean {
    const out = this.take();
    if (out.length === 0) return false;
    let last = this.#lastWritten;
    for (const t of out) {
      if (t > 0) writer.method(channel, { id: BASIC_ACK, deliveryTag: t, multiple: t - last > 1 });
      else writer.method(channel, { id: BASIC_NACK, deliveryTag: -t, multiple: false, requeue: false });
      last = Math.abs(t);
    }
    this.#lastWritten = last;
    return true;
  }
}
