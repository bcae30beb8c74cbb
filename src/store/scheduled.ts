// A batched store's bookkeeping of scheduled messages (delayed exchanges). The `delayed` table
// holds what is committed; writes on their way to the writer are tracked here, and reads merge
// the two so a message is seen exactly once whatever the writer has done meanwhile. The table
// is read through ScheduledReads (SQLite or PostgreSQL).

import { Message } from '../message.js';
import type { ScheduledMessage, ScheduleKey } from './store.js';
import { OP_DELAYED_DEL, OP_DELAYED_PUT } from './batch.js';
import { SCHED_CANCELLED, SCHED_PENDING, SCHED_SENT, type DelayedOp, type Scheduled } from './ops.js';

/** Rows of scheduled messages read per query (bounds what one read holds when messages are big). */
const SCHEDULED_PAGE = 512;

/** A row of `delayed`: id, due_at, message. */
export type ScheduledRow = [number, number, Buffer];

/** How the book reads the committed `delayed` rows. */
export interface ScheduledReads {
  /** Rows of (vhost, exchange) with id >= below after (fromDue, fromId) in (due_at, id) order, at most limit. */
  page(vhost: string, exchange: string, fromDue: number, fromId: number, below: number, limit: number): ScheduledRow[];
  /**
   * In one snapshot: how many rows (vhost, exchange) has with id >= below, and which of
   * `candidates` are among them.
   */
  count(vhost: string, exchange: string, below: number, candidates: readonly number[]): { readonly count: number; readonly owned: ReadonlySet<number> };
  /** The largest id stored (0: none). */
  maxId(): number;
}

export class ScheduledBook {
  readonly #reads: ScheduledReads;
  /** Queues a write for the next batch (the store's #push). */
  readonly #push: (op: DelayedOp) => void;
  #nextId = 1;
  /** Inserts not known to be committed, and not removed since. */
  readonly #live = new Map<number, Scheduled>();
  /** Deletes not known to be committed. */
  readonly #deleting = new Set<number>();
  /** Exchanges whose scheduled messages are being dropped: rows with ids below the value are gone. */
  readonly #drops = new Map<string, number>();
  /** Inserts that could not be written: kept in memory (their publishers were nacked). */
  readonly #failed = new Map<number, Scheduled>();

  constructor(reads: ScheduledReads, push: (op: DelayedOp) => void) {
    this.#reads = reads;
    this.#push = push;
    this.#nextId = reads.maxId() + 1;
  }

  schedule(vhost: string, exchange: string, dueAt: number, msg: Message): number {
    const s: Scheduled = { id: this.#nextId++, dueAt, message: msg, vhost, exchange, state: SCHED_PENDING };
    this.#live.set(s.id, s);
    this.#push({ k: OP_DELAYED_PUT, s });
    return s.id;
  }

  remove(id: number): void {
    if (this.#failed.delete(id)) return;
    const s = this.#live.get(id);
    if (s !== undefined) {
      this.#live.delete(id);
      if (s.state === SCHED_PENDING) {
        // Routed before its insert went out: no disk work at all.
        s.state = SCHED_CANCELLED;
        return;
      }
    }
    this.#deleting.add(id);
    this.#push({ k: OP_DELAYED_DEL, id });
  }

  load(vhost: string, exchange: string, after: ScheduleKey | null, limit: number, maxBytes: number): ScheduledMessage[] {
    if (limit <= 0) return [];
    const afterDue = after?.dueAt ?? Number.MIN_SAFE_INTEGER;
    const afterId = after?.id ?? 0;
    const later = (k: ScheduleKey): boolean => k.dueAt > afterDue || (k.dueAt === afterDue && k.id > afterId);
    const pending: ScheduledMessage[] = [];
    for (const m of [this.#live, this.#failed]) {
      for (const s of m.values()) if (s.vhost === vhost && s.exchange === exchange && later(s)) pending.push(s);
    }
    pending.sort(byDue);
    // From disk as many as could be needed, a page at a time, skipping rows also in memory or being deleted.
    const stored: ScheduledMessage[] = [];
    let bytes = 0;
    const below = this.#drops.get(exchangeKey(vhost, exchange)) ?? 0;
    let fromDue = afterDue;
    let fromId = afterId;
    pages: for (;;) {
      const page = Math.min(SCHEDULED_PAGE, limit - stored.length);
      const rows = this.#reads.page(vhost, exchange, fromDue, fromId, below, page);
      for (const row of rows) {
        const id = row[0];
        if (this.#live.has(id) || this.#deleting.has(id)) continue;
        const s = scheduledFromRow(row);
        stored.push(s);
        bytes += s.message.size;
        if (stored.length >= limit || bytes > maxBytes) break pages;
      }
      if (rows.length < page) break;
      const last = rows[rows.length - 1]!;
      fromDue = last[1];
      fromId = last[0];
    }
    // Merge the two, in order, within the limits.
    const out: ScheduledMessage[] = [];
    bytes = 0;
    let i = 0;
    let j = 0;
    while (out.length < limit && (i < pending.length || j < stored.length)) {
      const next = j >= stored.length || (i < pending.length && byDue(pending[i]!, stored[j]!) < 0) ? pending[i++]! : stored[j++]!;
      bytes += next.message.size;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push({ id: next.id, dueAt: next.dueAt, message: next.message });
    }
    return out;
  }

  count(vhost: string, exchange: string): number {
    const below = this.#drops.get(exchangeKey(vhost, exchange)) ?? 0;
    const candidates = [...this.#deleting];
    for (const s of this.#live.values()) if (s.vhost === vhost && s.exchange === exchange) candidates.push(s.id);
    // One snapshot: the writer may commit meanwhile.
    const { count, owned } = this.#reads.count(vhost, exchange, below, candidates);
    let n = count;
    for (const id of this.#deleting) if (owned.has(id)) n--;
    for (const s of this.#live.values()) if (s.vhost === vhost && s.exchange === exchange && !owned.has(s.id)) n++;
    for (const s of this.#failed.values()) if (s.vhost === vhost && s.exchange === exchange) n++;
    return n;
  }

  /** Returns the id bound of the drop op the caller queues. */
  drop(vhost: string, exchange: string): number {
    for (const m of [this.#live, this.#failed]) {
      for (const [id, s] of m) {
        if (s.vhost !== vhost || s.exchange !== exchange) continue;
        m.delete(id);
        if (s.state === SCHED_PENDING) s.state = SCHED_CANCELLED;
      }
    }
    const below = this.#nextId;
    this.#drops.set(exchangeKey(vhost, exchange), below);
    return below;
  }

  /** A batch with scheduled-message ops committed: those writes are on disk now. */
  settle(ops: readonly DelayedOp[]): void {
    for (const op of ops) {
      if (op.k === OP_DELAYED_PUT) {
        if (this.#live.get(op.s.id) === op.s) this.#live.delete(op.s.id);
      } else if (op.k === OP_DELAYED_DEL) {
        this.#deleting.delete(op.id);
      } else {
        const key = exchangeKey(op.vhost, op.exchange);
        if (this.#drops.get(key) === op.below) this.#drops.delete(key);
      }
    }
  }

  /** An insert's batch failed: given up like a message insert; still wanted ones are routed from memory when due. */
  insertFailed(s: Scheduled): void {
    if (s.state === SCHED_SENT && this.#live.get(s.id) === s) {
      this.#live.delete(s.id);
      this.#failed.set(s.id, s);
    }
  }
}

function exchangeKey(vhost: string, name: string): string {
  return `${vhost}\u0000${name}`;
}

/** A row of `delayed`: header and body stay views into the one buffer SQLite returned. */
function scheduledFromRow(r: ScheduledRow): ScheduledMessage {
  const b = r[2];
  let p = 0;
  const text = (): string => {
    const len = b.readUInt32BE(p);
    p += 4 + len;
    return len === 0 ? '' : b.toString('utf8', p - len, p);
  };
  const exchange = text();
  const routingKey = text();
  const cc = text();
  const ttl = b.readUInt32BE(p) * 0x1_0000_0000 + b.readUInt32BE(p + 4) - 1;
  p += 8;
  const headerLength = b.readUInt32BE(p);
  p += 4 + headerLength;
  const m = new Message(exchange, routingKey, b.subarray(p - headerLength, p), b.subarray(p));
  if (cc !== '') m.ccKeys = JSON.parse(cc) as string[];
  m.ttl = ttl;
  return { id: r[0], dueAt: r[1], message: m };
}

function byDue(a: ScheduleKey, b: ScheduleKey): number {
  return a.dueAt - b.dueAt || a.id - b.id;
}
