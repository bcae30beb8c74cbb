// The delivery-tag ledger: settle one tag, `multiple` up to a tag, tag 0 with multiple for
// all; unknown and already-settled tags; holes left by out-of-order acks; restore after a
// rolled-back transaction keeps tag order. Cross-checked against a sorted-array model.
import { describe, expect, it } from 'vitest';
import { UnackedLedger } from '../../src/connection/unacked.js';
import { QueueEntry } from '../../src/queue/queue.js';
import { message, queue } from '../helpers/model.js';
import { Random } from '../helpers/random.js';

const q = queue('q');

function entry(tag: number): QueueEntry {
  const m = message('k', {}, `m${tag}`);
  const e = new QueueEntry(q, m, tag, m.size, false, 0, 0);
  e.tag = tag;
  return e;
}

function ledger(...tags: number[]): UnackedLedger {
  const l = new UnackedLedger();
  for (const t of tags) l.add(t, entry(t));
  return l;
}

const tagsOf = (entries: readonly QueueEntry[] | null): number[] | null => (entries === null ? null : entries.map((e) => e.tag));

describe('UnackedLedger', () => {
  it('takes a single tag once; a second ack of it is unknown', () => {
    const l = ledger(1, 2, 3, 4, 5);
    expect(tagsOf(l.take(3, false))).toEqual([3]);
    expect(l.size).toBe(4);
    expect(l.take(3, false)).toBeNull();
    expect(l.take(3, true)).toBeNull();
    expect(l.size).toBe(4);
  });

  it('multiple takes every outstanding tag up to and including the tag', () => {
    const l = ledger(1, 2, 3, 4, 5);
    expect(tagsOf(l.take(3, true))).toEqual([1, 2, 3]);
    expect(l.size).toBe(2);
    expect(l.take(2, false)).toBeNull();
    expect(tagsOf(l.take(5, true))).toEqual([4, 5]);
    expect(l.size).toBe(0);
  });

  it('multiple with the first outstanding tag takes just that one', () => {
    const l = ledger(4, 5, 6);
    expect(tagsOf(l.take(4, true))).toEqual([4]);
    expect(tagsOf(l.takeAll())).toEqual([5, 6]);
  });

  it('tag 0 with multiple takes everything; on an empty ledger it takes nothing and is fine', () => {
    const l = ledger(1, 2, 3);
    expect(tagsOf(l.take(0, true))).toEqual([1, 2, 3]);
    expect(l.size).toBe(0);
    expect(l.take(0, true)).toEqual([]);
  });

  it('tag 0 without multiple is unknown', () => {
    expect(ledger(1, 2).take(0, false)).toBeNull();
    expect(new UnackedLedger().take(0, false)).toBeNull();
  });

  it('tags never delivered are unknown, below, between and above the outstanding ones', () => {
    const l = ledger(3, 5, 9); // tags not contiguous (no-ack deliveries used the others)
    for (const t of [1, 2, 4, 6, 8, 10, 1000]) {
      expect(l.take(t, false)).toBeNull();
      expect(l.take(t, true)).toBeNull();
    }
    expect(l.size).toBe(3);
    expect(tagsOf(l.take(5, true))).toEqual([3, 5]);
    expect(tagsOf(l.take(9, false))).toEqual([9]);
  });

  it('out-of-order acks leave holes that multiple skips and that drop off the front', () => {
    const l = ledger(1, 2, 3, 4, 5, 6);
    expect(tagsOf(l.take(2, false))).toEqual([2]);
    expect(tagsOf(l.take(4, false))).toEqual([4]);
    expect(l.size).toBe(4);
    // 4 is settled: multiple up to it is unknown, as in RabbitMQ.
    expect(l.take(4, true)).toBeNull();
    expect(tagsOf(l.take(5, true))).toEqual([1, 3, 5]);
    expect(l.size).toBe(1);
    expect(tagsOf(l.take(1, false))).toBeNull();
    expect(tagsOf(l.takeAll())).toEqual([6]);
  });

  it('settling the head then the next leaves no stale holes', () => {
    const l = ledger(1, 2, 3);
    l.take(2, false);
    l.take(1, false);
    expect(l.size).toBe(1);
    expect(tagsOf(l.take(3, true))).toEqual([3]);
    expect(l.size).toBe(0);
    l.add(4, entry(4));
    expect(tagsOf(l.take(4, false))).toEqual([4]);
  });

  it('takeAll returns outstanding entries in tag order and empties the ledger', () => {
    const l = ledger(1, 2, 3, 4);
    l.take(3, false);
    expect(tagsOf(l.takeAll())).toEqual([1, 2, 4]);
    expect(l.size).toBe(0);
    expect(l.takeAll()).toEqual([]);
  });

  it('restore after a rollback puts entries back in tag order, settleable again', () => {
    const l = ledger(1, 2, 3, 4, 5, 6);
    const first = l.take(2, false)!; // [2]
    const second = l.take(4, true)!; // [1, 3, 4]
    expect(tagsOf(second)).toEqual([1, 3, 4]);
    l.restore(second);
    l.restore(first);
    expect(l.size).toBe(6);
    expect(tagsOf(l.take(3, true))).toEqual([1, 2, 3]);
    expect(tagsOf(l.takeAll())).toEqual([4, 5, 6]);
  });

  it('restore interleaves with tags delivered after the taken ones', () => {
    const l = ledger(1, 2);
    const taken = l.take(2, true)!;
    l.add(3, entry(3));
    l.add(4, entry(4));
    l.take(3, false);
    l.restore(taken);
    expect(l.size).toBe(3);
    expect(tagsOf(l.take(2, false))).toEqual([2]);
    expect(tagsOf(l.takeAll())).toEqual([1, 4]);
  });

  it('restore of nothing changes nothing', () => {
    const l = ledger(1, 2);
    l.take(1, false);
    l.restore([]);
    expect(l.size).toBe(1);
    expect(l.take(1, false)).toBeNull();
    expect(tagsOf(l.takeAll())).toEqual([2]);
  });

  for (const seed of [5, 77, 31337]) {
    it(`agrees with a sorted-array model over random adds, settles and restores (seed ${seed})`, () => {
      const r = new Random(seed);
      const l = new UnackedLedger();
      let model: number[] = [];
      const held: QueueEntry[][] = []; // taken in an open "transaction"
      let nextTag = 1;
      for (let step = 0; step < 3000; step++) {
        const op = r.int(10);
        if (op < 4) {
          nextTag += r.int(3) === 0 ? 2 : 1; // sometimes skip a tag (a no-ack delivery)
          l.add(nextTag, entry(nextTag));
          model.push(nextTag);
        } else if (op < 8) {
          const tag = r.chance(0.1) ? 0 : r.between(0, nextTag + 1);
          const multiple = r.chance(0.4);
          const got = l.take(tag, multiple);
          let expected: number[] | null;
          if (tag === 0 && multiple) expected = model;
          else if (!model.includes(tag)) expected = null;
          else expected = multiple ? model.filter((t) => t <= tag) : [tag];
          expect(tagsOf(got), `take(${tag}, ${multiple})`).toEqual(expected);
          if (expected !== null) {
            model = model.filter((t) => !expected!.includes(t));
            if (r.chance(0.3)) held.push(got!);
          }
        } else if (held.length > 0) {
          const back = held.splice(r.int(held.length), 1)[0]!;
          l.restore(back);
          model = [...model, ...back.map((e) => e.tag)].sort((a, b) => a - b);
        }
        expect(l.size).toBe(model.length);
      }
      expect(tagsOf(l.takeAll())).toEqual(model);
    });
  }
});
