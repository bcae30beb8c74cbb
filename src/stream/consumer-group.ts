// Consumer groups: consumers of the partitions of one super stream that pass the same
// `x-consumer-group: G` share its partitions as Kafka's consumer groups do. A member is a channel
// (its consumers on several partitions are one member); each partition has exactly one active
// consumer in the group, taken from the members consuming it, and partitions are spread evenly
// over the members: with P partitions and M members each member gets floor(P/M) or ceil(P/M).
// The assignment is sticky: a join, leave or death moves only the partitions it has to.
// This module decides who is active; stream/group-registry.ts starts and stops the consumers.

/** One consumer in a group, as the group sees it. */
export interface GroupConsumer {
  /** The member the consumer belongs to (its channel). */
  readonly member: object;
  /** The partition (0-based) it consumes. */
  readonly partition: number;
}

/** What changed in one rebalance, in the order to apply it: stop these, then start those. */
export interface Rebalance<C extends GroupConsumer> {
  readonly deactivate: readonly C[];
  readonly activate: readonly C[];
}

export class ConsumerGroup<C extends GroupConsumer> {
  readonly name: string;
  /** Consumers by partition, in the order they joined. */
  readonly #byPartition = new Map<number, C[]>();
  /** Members in the order they joined (first consumer), with their number of consumers. */
  readonly #members = new Map<object, number>();
  /** The active consumer of each partition. */
  readonly #active = new Map<number, C>();
  /** Assignment generation: grows by one with every rebalance that changed something. */
  generation = 0;

  constructor(name: string) {
    this.name = name;
  }

  get size(): number {
    return this.#members.size;
  }

  get empty(): boolean {
    return this.#members.size === 0;
  }

  /** Whether `c` is the active consumer of its partition. */
  isActive(c: C): boolean {
    return this.#active.get(c.partition) === c;
  }

  /** The active consumer of each partition, by partition. */
  assignment(): ReadonlyMap<number, C> {
    return this.#active;
  }

  /** Partitions currently held by `member`. */
  partitionsOf(member: object): number[] {
    const out: number[] = [];
    for (const [p, c] of this.#active) if (c.member === member) out.push(p);
    return out.sort((a, b) => a - b);
  }

  join(c: C): Rebalance<C> {
    let list = this.#byPartition.get(c.partition);
    if (list === undefined) {
      list = [];
      this.#byPartition.set(c.partition, list);
    }
    list.push(c);
    this.#members.set(c.member, (this.#members.get(c.member) ?? 0) + 1);
    return this.#rebalance();
  }

  /** `c` was cancelled, or its channel or connection closed. */
  leave(c: C): Rebalance<C> {
    const list = this.#byPartition.get(c.partition);
    const i = list === undefined ? -1 : list.indexOf(c);
    if (i < 0) return { deactivate: [], activate: [] };
    list!.splice(i, 1);
    if (list!.length === 0) this.#byPartition.delete(c.partition);
    const n = (this.#members.get(c.member) ?? 1) - 1;
    if (n === 0) this.#members.delete(c.member);
    else this.#members.set(c.member, n);
    // A leaving consumer stops without being told: it is gone.
    if (this.#active.get(c.partition) === c) this.#active.delete(c.partition);
    return this.#rebalance();
  }

  /**
   * Sticky even assignment. With P partitions that have consumers and M members, r = P mod M
   * members may hold q + 1 = floor(P/M) + 1, the others q. First every partition stays with its
   * owner while the owner is under q, then under q + 1 while fewer than r members are there;
   * what is left goes to the candidate member holding the fewest (ties: the earliest to join).
   */
  #rebalance(): Rebalance<C> {
    const partitions = [...this.#byPartition.keys()].sort((a, b) => a - b);
    const members = [...this.#members.keys()];
    const order = new Map(members.map((m, i) => [m, i]));
    const p = partitions.length;
    const m = members.length;
    const q = m === 0 ? 0 : Math.floor(p / m);
    let extras = m === 0 ? 0 : p % m;
    const count = new Map<object, number>(members.map((x) => [x, 0]));
    const next = new Map<number, C>();
    const keep = (limit: (n: number) => boolean): void => {
      for (const part of partitions) {
        if (next.has(part)) continue;
        const cur = this.#active.get(part);
        if (cur === undefined || !this.#byPartition.get(part)!.includes(cur)) continue;
        const n = count.get(cur.member)!;
        if (!limit(n)) continue;
        if (n === q) extras--;
        next.set(part, cur);
        count.set(cur.member, n + 1);
      }
    };
    keep((n) => n < q);
    keep((n) => n === q && extras > 0);
    for (const part of partitions) {
      if (next.has(part)) continue;
      const candidates = this.#byPartition.get(part)!;
      let best: C | undefined;
      let bestFits = false;
      for (const c of candidates) {
        const n = count.get(c.member)!;
        const fits = n < q || (n === q && extras > 0);
        if (
          best === undefined ||
          (fits && !bestFits) ||
          (fits === bestFits && (n < count.get(best.member)! || (n === count.get(best.member)! && order.get(c.member)! < order.get(best.member)!)))
        ) {
          best = c;
          bestFits = fits;
        }
      }
      const n = count.get(best!.member)!;
      if (n === q && bestFits) extras--;
      next.set(part, best!);
      count.set(best!.member, n + 1);
    }
    const deactivate: C[] = [];
    const activate: C[] = [];
    for (const [part, c] of this.#active) if (next.get(part) !== c) deactivate.push(c);
    for (const [part, c] of next) if (this.#active.get(part) !== c) activate.push(c);
    this.#active.clear();
    for (const [part, c] of next) this.#active.set(part, c);
    if (deactivate.length > 0 || activate.length > 0) this.generation++;
    return { deactivate, activate };
  }
}
