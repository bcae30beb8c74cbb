// The writer's acks and delivered-marks, applied as ranges where they form runs.
//
// While a backlog drains, a batch holds the deletes of the messages just acked and the
// delivered-marks of those just delivered, alternating (an ack, then the delivery it made room
// for): del 1, mark 101, del 2, mark 102, ... Taken one op at a time that is three statements a
// message (entry delete, message delete, mark), and each better-sqlite3 run() costs a few
// microseconds of its own. Taken together, the deletes form one run (seq 1, 2, ... with message
// ids 1, 2, ...) and the marks another (101, 102, ...): two range deletes and one range update.
//
// Reordering is safe inside a stretch of batch made only of these two ops: they never concern
// the same entry (an ack clears the entry's queued mark before the batch is encoded, see
// ops.ts encodeOp), and a range statement covers exactly its run's rows (seqs and message ids
// are unique, and a run's are consecutive).
//
// An entry of a message held by one queue is a solo_entries row (schema.ts), one written by an
// older warren or of a shared message an entries row (and a messages row): the op does not say
// which, so the solo_entries statement goes first and the older tables are touched only when it
// changed fewer rows than the run has (rows from before the upgrade; shared messages always).

import { OP_ENTRY_DEL, OP_ENTRY_MARK, type BatchReader } from '../batch.js';

interface Run {
  run(...params: number[]): { readonly changes: number };
}

/** The statements the runs are applied with (worker.ts prepares them). */
export interface EntryStatements {
  /** (queue, seq) */
  readonly entryDel: Run;
  /** (queue, first seq, last seq) */
  readonly entryDelRange: Run;
  /** (message id) */
  readonly messageDel: Run;
  /** (first id, last id) */
  readonly messageDelRange: Run;
  /** (message id): a shared message loses one reference */
  readonly messageRefDec: Run;
  /** (message id): deleted once no queue refers to it */
  readonly messageDelUnreferenced: Run;
  /** (delivery count, queue, seq) */
  readonly entryMark: Run;
  /** (delivery count, queue, first seq, last seq) */
  readonly entryMarkRange: Run;
  /** (message id): a message held by one queue, its entry with it */
  readonly soloDel: Run;
  /** (first id, last id) */
  readonly soloDelRange: Run;
  /** (message id): a solo entry's delivered-mark */
  readonly soloMarkDel: Run;
  /** (first id, last id) */
  readonly soloMarkDelRange: Run;
  /** (delivery count, queue, seq): recorded in solo_marks */
  readonly soloMark: Run;
  /** (delivery count, queue, first seq, last seq) */
  readonly soloMarkRange: Run;
}

export class EntryRuns {
  // The deletes of the current stretch: queue, seq, message id, shared.
  readonly #dq: number[] = [];
  readonly #dseq: number[] = [];
  readonly #did: number[] = [];
  readonly #dmulti: boolean[] = [];
  #nd = 0;
  // The marks: queue, seq, delivery count.
  readonly #mq: number[] = [];
  readonly #mseq: number[] = [];
  readonly #mcount: number[] = [];
  #nm = 0;

  constructor(private readonly st: EntryStatements) {}

  /**
   * Reads the op `op` (its code already read) and every delete or mark right after it, then
   * applies them; the reader is left at the first other op.
   */
  applyFrom(r: BatchReader, op: number): void {
    this.#nd = 0;
    this.#nm = 0;
    for (;;) {
      if (op === OP_ENTRY_DEL) {
        const i = this.#nd++;
        this.#dq[i] = r.u32();
        this.#dseq[i] = r.u64();
        this.#did[i] = r.u64();
        this.#dmulti[i] = r.u8() !== 0;
      } else {
        const i = this.#nm++;
        this.#mq[i] = r.u32();
        this.#mseq[i] = r.u64();
        this.#mcount[i] = r.u32();
      }
      if (r.remaining === 0) break;
      const next = r.buf[r.pos];
      if (next !== OP_ENTRY_DEL && next !== OP_ENTRY_MARK) break;
      op = r.u8();
    }
    this.#deletes();
    this.#marks();
  }

  #deletes(): void {
    const st = this.st;
    const q = this.#dq;
    const seq = this.#dseq;
    const id = this.#did;
    const multi = this.#dmulti;
    const n = this.#nd;
    for (let i = 0; i < n; ) {
      if (multi[i]) {
        st.entryDel.run(q[i]!, seq[i]!);
        st.messageRefDec.run(id[i]!);
        st.messageDelUnreferenced.run(id[i]!);
        i++;
        continue;
      }
      let j = i + 1;
      while (j < n && !multi[j] && q[j] === q[i] && seq[j] === seq[i]! + (j - i) && id[j] === id[i]! + (j - i)) j++;
      if (j - i > 1) {
        const solo = st.soloDelRange.run(id[i]!, id[j - 1]!).changes;
        if (solo > 0) st.soloMarkDelRange.run(id[i]!, id[j - 1]!);
        if (solo < j - i) {
          st.entryDelRange.run(q[i]!, seq[i]!, seq[j - 1]!);
          st.messageDelRange.run(id[i]!, id[j - 1]!);
        }
      } else if (st.soloDel.run(id[i]!).changes > 0) st.soloMarkDel.run(id[i]!);
      else {
        st.entryDel.run(q[i]!, seq[i]!);
        st.messageDel.run(id[i]!);
      }
      i = j;
    }
  }

  #marks(): void {
    const st = this.st;
    const q = this.#mq;
    const seq = this.#mseq;
    const count = this.#mcount;
    const n = this.#nm;
    for (let i = 0; i < n; ) {
      let j = i + 1;
      while (j < n && q[j] === q[i] && seq[j] === seq[i]! + (j - i) && count[j] === count[i]) j++;
      if (j - i > 1) {
        if (st.soloMarkRange.run(count[i]!, q[i]!, seq[i]!, seq[j - 1]!).changes < j - i) st.entryMarkRange.run(count[i]!, q[i]!, seq[i]!, seq[j - 1]!);
      } else if (st.soloMark.run(count[i]!, q[i]!, seq[i]!).changes === 0) st.entryMark.run(count[i]!, q[i]!, seq[i]!);
      i = j;
    }
  }
}
