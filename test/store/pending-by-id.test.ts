// PendingById against a Map: the same sets (ids only growing), deletes (in order, out of order,
// of ids never set or already deleted) and reads must give the same answers, across growth,
// compaction in place and shrinking after a burst; and the arrays must point at nothing deleted.
import { describe, expect, it } from 'vitest';
import { PendingById } from '../../src/store/pending-by-id.js';
import { Random } from '../helpers/random.js';

function expectSame(p: PendingById<string>, model: Map<number, string>, maxId: number): void {
  expect(p.size).toBe(model.size);
  // Nothing deleted may stay referenced, not even beyond the live slots (see pending-by-id.ts)
  expect(p.referenced).toBe(model.size);
  const wrong: number[] = [];
  for (let id = 0; id <= maxId + 1; id++) if (p.get(id) !== model.get(id)) wrong.push(id);
  expect(wrong).toEqual([]);
}

describe('PendingById', () => {
  it('finds what was set, and forgets what was deleted', () => {
    const p = new PendingById<string>();
    expect(p.get(1)).toBeUndefined();
    expect(p.delete(1)).toBe(false);
    p.set(3, 'c');
    p.set(5, 'e');
    p.set(9, 'i');
    expect(p.size).toBe(3);
    expect(p.get(5)).toBe('e');
    expect(p.get(4)).toBeUndefined();
    expect(p.delete(5)).toBe(true);
    expect(p.delete(5)).toBe(false);
    expect(p.get(5)).toBeUndefined();
    expect(p.delete(3)).toBe(true);
    expect(p.get(9)).toBe('i');
    expect(p.delete(9)).toBe(true);
    expect(p.size).toBe(0);
    p.set(10, 'j');
    expect(p.get(10)).toBe('j');
    expect(p.get(9)).toBeUndefined();
  });

  it('refuses an id that is not above every id set before', () => {
    const p = new PendingById<string>();
    p.set(7, 'g');
    expect(() => p.set(7, 'again')).toThrow(/not above/);
    expect(() => p.set(2, 'b')).toThrow(/not above/);
    // Deleting everything does not lower the bar for the ids that follow
    p.delete(7);
    p.set(8, 'h');
    expect(p.get(8)).toBe('h');
  });

  it('behaves as a Map under random sets and deletes, through growth, compaction and shrinking', () => {
    for (const seed of [1, 2, 3, 42]) {
      const rnd = new Random(seed);
      const p = new PendingById<string>();
      const model = new Map<number, string>();
      let next = 1;
      // Phases: a steady churn, a burst that grows the arrays well past their start, a drain.
      for (const [steps, setShare] of [
        [3000, 0.5],
        [6000, 0.8],
        [8000, 0.3],
        [3000, 0.5],
      ] as const) {
        for (let s = 0; s < steps; s++) {
          if (rnd.next() < setShare) {
            next += rnd.between(1, 3); // ids only grow, with gaps
            p.set(next, `m${next}`);
            model.set(next, `m${next}`);
          } else {
            // Mostly the oldest (a batch going out), sometimes any (an ack), or one not there
            const oldest = model.keys().next().value;
            const r = rnd.next();
            const id = oldest === undefined || r < 0.4 ? rnd.between(oldest ?? 0, next + 2) : oldest;
            const deleted = p.delete(id);
            if (deleted !== model.delete(id)) expect({ id, deleted }).toEqual({ id, deleted: !deleted });
          }
          if (s % 997 === 0) expectSame(p, model, next);
        }
        expectSame(p, model, next);
      }
    }
  });
});
