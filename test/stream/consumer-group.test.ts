import { describe, expect, it } from 'vitest';
import { ConsumerGroup, type GroupConsumer } from '../../src/stream/consumer-group.js';

interface C extends GroupConsumer {
  readonly id: string;
}

/** A member consuming every one of `partitions` partitions. */
function member(group: ConsumerGroup<C>, name: string, partitions: number): C[] {
  const m = { name };
  const out: C[] = [];
  for (let p = 0; p < partitions; p++) {
    const c = { member: m, partition: p, id: `${name}/${p}` };
    group.join(c);
    out.push(c);
  }
  return out;
}

function owners(group: ConsumerGroup<C>): string[] {
  return [...group.assignment().entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c.id);
}

function counts(group: ConsumerGroup<C>): number[] {
  const n = new Map<object, number>();
  for (const c of group.assignment().values()) n.set(c.member, (n.get(c.member) ?? 0) + 1);
  return [...n.values()].sort();
}

describe('ConsumerGroup', () => {
  it('gives every partition to the only member', () => {
    const g = new ConsumerGroup<C>('g');
    member(g, 'a', 4);
    expect(owners(g)).toEqual(['a/0', 'a/1', 'a/2', 'a/3']);
  });

  it('spreads 4 partitions over 3 members as 2/1/1, one active consumer per partition', () => {
    const g = new ConsumerGroup<C>('g');
    member(g, 'a', 4);
    member(g, 'b', 4);
    member(g, 'c', 4);
    expect(counts(g)).toEqual([1, 1, 2]);
    expect(g.assignment().size).toBe(4);
  });

  it('is sticky: a join moves only the partitions the newcomer takes', () => {
    const g = new ConsumerGroup<C>('g');
    member(g, 'a', 6);
    member(g, 'b', 6);
    const before = owners(g);
    const c = member(g, 'c', 6);
    const after = owners(g);
    const moved = before.filter((id, i) => after[i] !== id);
    expect(moved.length).toBe(2);
    for (let i = 0; i < 6; i++) if (before[i] !== after[i]) expect(after[i]!.startsWith('c/')).toBe(true);
    expect(counts(g)).toEqual([2, 2, 2]);
    expect(c.filter((x) => g.isActive(x)).length).toBe(2);
  });

  it('a member leaving (or dying) hands its partitions to the others, evenly', () => {
    const g = new ConsumerGroup<C>('g');
    member(g, 'a', 4);
    const b = member(g, 'b', 4);
    member(g, 'c', 4);
    const held = b.filter((x) => g.isActive(x)).map((x) => x.partition);
    const gen = g.generation;
    let activated: number[] = [];
    for (const x of b) {
      const r = g.leave(x);
      expect(r.deactivate).toEqual([]);
      activated.push(...r.activate.map((y) => y.partition));
    }
    activated = activated.sort();
    expect(activated).toEqual(held.sort());
    expect(counts(g)).toEqual([2, 2]);
    expect(g.assignment().size).toBe(4);
    expect(g.generation).toBeGreaterThan(gen);
  });

  it('reports deactivations before the new owners when a join takes partitions away', () => {
    const g = new ConsumerGroup<C>('g');
    member(g, 'a', 2);
    const m = { name: 'b' };
    g.join({ member: m, partition: 0, id: 'b/0' });
    const r = g.join({ member: m, partition: 1, id: 'b/1' });
    expect(r.deactivate.map((c) => c.id)).toHaveLength(1);
    expect(r.activate.map((c) => c.id)).toHaveLength(1);
    expect(r.deactivate[0]!.partition).toBe(r.activate[0]!.partition);
    expect(counts(g)).toEqual([1, 1]);
  });

  it('only members consuming a partition can hold it', () => {
    const g = new ConsumerGroup<C>('g');
    const a = { name: 'a' };
    const b = { name: 'b' };
    g.join({ member: a, partition: 0, id: 'a/0' });
    g.join({ member: b, partition: 1, id: 'b/1' });
    g.join({ member: b, partition: 2, id: 'b/2' });
    expect(owners(g)).toEqual(['a/0', 'b/1', 'b/2']);
  });

  it('the last member leaving empties the group', () => {
    const g = new ConsumerGroup<C>('g');
    const a = member(g, 'a', 3);
    for (const c of a) g.leave(c);
    expect(g.empty).toBe(true);
    expect(g.assignment().size).toBe(0);
    expect(g.leave(a[0]!)).toEqual({ deactivate: [], activate: [] });
  });

  it('stays even under random joins and leaves', () => {
    const g = new ConsumerGroup<C>('g');
    const live: C[][] = [];
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let step = 0; step < 300; step++) {
      if (live.length === 0 || (rnd(3) > 0 && live.length < 9)) live.push(member(g, `m${step}`, 8));
      else for (const c of live.splice(rnd(live.length), 1)[0]!) g.leave(c);
      const cs = counts(g);
      expect(g.assignment().size).toBe(live.length === 0 ? 0 : 8);
      if (cs.length > 0) expect(cs[cs.length - 1]! - cs[0]!).toBeLessThanOrEqual(1);
      expect(cs.length).toBe(Math.min(live.length, 8));
    }
  });
});
