// Deque against a plain array: the same operations must leave the same contents, at every
// capacity, after growth and with the head wrapped around the end of the ring.
import { describe, expect, it } from 'vitest';
import { Deque } from '../../src/util/deque.js';
import { Random } from '../helpers/random.js';

function expectSame(d: Deque<number>, model: number[]): void {
  expect(d.length).toBe(model.length);
  expect(d.toArray()).toEqual(model);
  expect([...d]).toEqual(model);
  expect(d.peek()).toBe(model[0]);
  expect(d.peekLast()).toBe(model[model.length - 1]);
  for (let i = 0; i < model.length; i++) expect(d.get(i)).toBe(model[i]);
}

describe('Deque basics', () => {
  it('is empty when new', () => {
    const d = new Deque<number>();
    expect(d.length).toBe(0);
    expect(d.shift()).toBeUndefined();
    expect(d.pop()).toBeUndefined();
    expect(d.peek()).toBeUndefined();
    expect(d.peekLast()).toBeUndefined();
    expect(d.toArray()).toEqual([]);
  });

  it('push and shift are FIFO, unshift and shift LIFO', () => {
    const d = new Deque<number>();
    d.push(1);
    d.push(2);
    d.unshift(0);
    d.unshift(-1);
    expectSame(d, [-1, 0, 1, 2]);
    expect(d.shift()).toBe(-1);
    expect(d.pop()).toBe(2);
    expectSame(d, [0, 1]);
  });

  it('grows past its initial capacity keeping order, also with a wrapped head', () => {
    const d = new Deque<number>(16);
    const model: number[] = [];
    // Wrap the head: unshift puts it at the end of the ring.
    for (let i = 0; i < 5; i++) {
      d.unshift(-i);
      model.unshift(-i);
    }
    for (let i = 0; i < 100; i++) {
      d.push(i);
      model.push(i);
      expectSame(d, model);
    }
  });

  it('rounds a requested capacity up and still works at odd sizes', () => {
    for (const cap of [0, 1, 15, 16, 17, 33, 100]) {
      const d = new Deque<number>(cap);
      for (let i = 0; i < 40; i++) d.push(i);
      expect(d.toArray()).toEqual(Array.from({ length: 40 }, (_, i) => i));
    }
  });

  it('get out of range is undefined; set out of range throws RangeError', () => {
    const d = new Deque<number>();
    d.push(7);
    expect(d.get(-1)).toBeUndefined();
    expect(d.get(1)).toBeUndefined();
    expect(() => d.set(1, 9)).toThrow(RangeError);
    expect(() => d.set(-1, 9)).toThrow(RangeError);
    d.set(0, 9);
    expect(d.toArray()).toEqual([9]);
  });

  it('insert clamps its index: <= 0 goes to the front, >= length to the back', () => {
    const d = new Deque<number>();
    d.push(1);
    d.push(2);
    d.insert(-5, 0);
    d.insert(99, 3);
    d.insert(2, 15);
    expect(d.toArray()).toEqual([0, 1, 15, 2, 3]);
  });

  it('removeAt returns the item and closes the gap; out of range is undefined', () => {
    const d = new Deque<number>();
    for (let i = 0; i < 6; i++) d.push(i);
    expect(d.removeAt(6)).toBeUndefined();
    expect(d.removeAt(-1)).toBeUndefined();
    expect(d.removeAt(0)).toBe(0);
    expect(d.removeAt(2)).toBe(3);
    expect(d.removeAt(3)).toBe(5);
    expect(d.toArray()).toEqual([1, 2, 4]);
    expect(d.peekLast()).toBe(4);
  });

  it('clear empties it and it is usable afterwards', () => {
    const d = new Deque<number>();
    for (let i = 0; i < 50; i++) d.push(i);
    d.clear();
    expectSame(d, []);
    d.unshift(1);
    d.push(2);
    expectSame(d, [1, 2]);
  });

  it('insert and removeAt work when the live region wraps around the ring end', () => {
    const d = new Deque<number>(16);
    const model: number[] = [];
    // Move the head near the end of the 16-slot ring, then fill so the region wraps.
    for (let i = 0; i < 12; i++) d.push(i);
    for (let i = 0; i < 12; i++) d.shift();
    for (let i = 0; i < 14; i++) {
      d.push(100 + i);
      model.push(100 + i);
    }
    for (const [at, v] of [
      [3, 1],
      [10, 2],
      [0, 3],
      [model.length, 4],
    ] as const) {
      d.insert(at, v);
      model.splice(at, 0, v);
      expectSame(d, model);
    }
    for (const at of [5, 0, 12, 3]) {
      expect(d.removeAt(at)).toBe(model.splice(at, 1)[0]);
      expectSame(d, model);
    }
  });
});

describe('Deque vs array model, randomised (fixed seeds)', () => {
  const ops = ['push', 'unshift', 'shift', 'pop', 'insert', 'removeAt', 'set', 'get', 'clear'] as const;

  for (const seed of [1, 2, 3, 42, 1234]) {
    it(`seed ${seed}: 4000 mixed operations agree`, () => {
      const r = new Random(seed);
      const d = new Deque<number>(r.pick([1, 16, 20, 64]));
      const model: number[] = [];
      let next = 0;
      for (let step = 0; step < 4000; step++) {
        // Bias towards growth for the first half, then towards shrinking, so the ring both
        // grows several times and wraps while large.
        const growBias = step < 2000 ? 0.6 : 0.35;
        let op = r.pick(ops);
        if (op === 'clear' && r.chance(0.9)) op = 'get';
        if ((op === 'shift' || op === 'pop' || op === 'removeAt') && r.chance(growBias)) op = r.pick(['push', 'unshift', 'insert']);
        const at = r.between(-2, model.length + 2);
        switch (op) {
          case 'push':
            d.push(next);
            model.push(next++);
            break;
          case 'unshift':
            d.unshift(next);
            model.unshift(next++);
            break;
          case 'shift':
            expect(d.shift()).toBe(model.shift());
            break;
          case 'pop':
            expect(d.pop()).toBe(model.pop());
            break;
          case 'insert': {
            d.insert(at, next);
            model.splice(Math.max(0, Math.min(at, model.length)), 0, next++);
            break;
          }
          case 'removeAt': {
            const expected = at >= 0 && at < model.length ? model.splice(at, 1)[0] : undefined;
            expect(d.removeAt(at)).toBe(expected);
            break;
          }
          case 'set':
            if (at >= 0 && at < model.length) {
              d.set(at, next);
              model[at] = next++;
            } else {
              expect(() => d.set(at, 0)).toThrow(RangeError);
            }
            break;
          case 'get':
            expect(d.get(at)).toBe(at >= 0 && at < model.length ? model[at] : undefined);
            break;
          case 'clear':
            d.clear();
            model.length = 0;
            break;
        }
        expect(d.length).toBe(model.length);
        if (step % 50 === 0) expectSame(d, model);
      }
      expectSame(d, model);
    });
  }
});

describe('Deque: empty deques share nothing they write to', () => {
  it('deques that were never pushed to, or were cleared, fill independently', () => {
    const a = new Deque<number>();
    const b = new Deque<number>();
    a.push(1);
    expect([a.toArray(), b.toArray()]).toEqual([[1], []]);
    a.clear();
    b.clear();
    b.unshift(2);
    a.push(3);
    a.insert(0, 4);
    expect([a.toArray(), b.toArray()]).toEqual([[4, 3], [2]]);
    expect(new Deque<number>().toArray()).toEqual([]);
  });
});
