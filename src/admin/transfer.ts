// Moving ready messages from one queue to another inside the broker: `move` (all to one queue)
// and `redrive` (a dead-letter queue's messages back to where each died, read from the first
// entry of its x-death header, or to one named queue; filtered by death reason and count).
// A move is confirmed: each message's removal from the source is queued in the same store
// batch, so the same SQLite transaction, as its insert into the target, and the next batch is
// taken only once that one is durable. A kill -9 at any moment leaves every message in
// exactly one of the two queues. The message keeps its properties and headers (x-death
// included); it arrives as a new message: not redelivered, delivery count 0 (a source's
// x-delivery-count header is dropped), TTLs counted from the move. Bounded: batches of BATCH_MESSAGES / BATCH_BYTES, SCAN_PER_TURN entries looked
// at per event-loop turn, and the walk ends at the last message present when the move began.

import { fieldString, type FieldValue } from '../codec/field-table.js';
import { Message } from '../message.js';
import { parseExpiration } from '../queue/arguments.js';
import type { Queue, QueueEntry, ReadyCursor } from '../queue/queue.js';
import type { VirtualHost } from '../routing/vhost.js';
import type { DurableWaiter } from './durable.js';

/** Messages moved per store batch (one transaction, one fsync), and the bytes that end a batch sooner. */
export const BATCH_MESSAGES = 1000;
export const BATCH_BYTES = 8 * 1024 * 1024;
/** Ready entries looked at in one event-loop turn (skipped ones included). */
export const SCAN_PER_TURN = 20_000;

export const DEATH_REASONS = ['rejected', 'expired', 'maxlen', 'delivery_limit'] as const;

export interface TransferRequest {
  readonly vhost: VirtualHost;
  readonly source: Queue;
  /** The one target; null: each message's first x-death queue (redrive). */
  readonly to: Queue | null;
  /** Redrive filters on the first x-death entry (null: none). */
  readonly reasons: readonly string[] | null;
  readonly minCount: number | null;
  readonly maxCount: number | null;
  /** Most messages to move (or, dry run, to count). */
  readonly limit: number;
  readonly dryRun: boolean;
  /** Whether the user may write to a target queue (AMQP permissions; checked once per target). */
  readonly mayWrite: (q: Queue) => boolean;
  readonly whenDurable: DurableWaiter;
}

export interface TransferResult {
  moved: number;
  skipped: number;
  dry_run: boolean;
  by_target: Record<string, number>;
  skipped_reasons: Record<string, number>;
  /** Set when a store write failed (disk full): the move stopped there. */
  store_failed?: boolean;
}

/** The first (most recent) entry of a message's x-death header. */
export interface Death {
  readonly queue: string;
  readonly reason: string;
  readonly count: number;
}

export function firstDeath(msg: Message): Death | null {
  const x = msg.properties.headers?.get('x-death');
  if (x === undefined || x.type !== 'A') return null;
  const first = x.value[0];
  if (first === undefined || first.type !== 'F') return null;
  const t = first.value;
  return { queue: fieldString(t.get('queue')) ?? '', reason: fieldString(t.get('reason')) ?? '', count: numberOf(t.get('count')) };
}

function numberOf(v: FieldValue | undefined): number {
  if (v === undefined) return 0;
  return typeof v.value === 'number' || typeof v.value === 'bigint' ? Number(v.value) : 0;
}

/**
 * The message as the target gets it: the same bytes (not stored yet) with its own expiration
 * counted again; only an x-delivery-count the source added goes, as on dead-lettering.
 */
export function movedCopy(msg: Message): Message {
  const props = msg.properties;
  let copy: Message;
  if (props.headers?.has('x-delivery-count') === true) {
    const headers = new Map(props.headers);
    headers.delete('x-delivery-count');
    copy = Message.fromProperties(msg.exchange, msg.routingKey, { ...props, headers }, msg.body);
  } else {
    copy = new Message(msg.exchange, msg.routingKey, msg.header, msg.body);
  }
  const exp = props.expiration;
  if (exp !== undefined) {
    try {
      copy.ttl = parseExpiration(exp);
    } catch {
      copy.ttl = -1; // checked when published; a stored one cannot be bad
    }
  }
  return copy;
}

interface Pick {
  readonly e: QueueEntry;
  readonly frozen: boolean;
  readonly msg: Message;
  readonly target: Queue;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs a move or redrive to its end (or its limit); see the module comment. */
export async function transfer(r: TransferRequest): Promise<TransferResult> {
  const result: TransferResult = { moved: 0, skipped: 0, dry_run: r.dryRun, by_target: {}, skipped_reasons: {} };
  const skip = (why: string): void => {
    result.skipped++;
    result.skipped_reasons[why] = (result.skipped_reasons[why] ?? 0) + 1;
  };
  const writable = new Map<Queue, boolean>();
  const redrive = r.to === null || r.reasons !== null || r.minCount !== null || r.maxCount !== null;
  /** The target for a message, or why it stays. */
  const targetOf = (msg: Message): Queue | string => {
    const death = redrive ? firstDeath(msg) : null;
    if (redrive) {
      if (death === null) {
        if (r.to === null || r.reasons !== null || r.minCount !== null || r.maxCount !== null) return 'no_x_death';
      } else {
        if (r.reasons !== null && !r.reasons.includes(death.reason)) return 'reason';
        if ((r.minCount !== null && death.count < r.minCount) || (r.maxCount !== null && death.count > r.maxCount)) return 'count';
      }
    }
    const target = r.to ?? r.vhost.getQueue(death!.queue);
    if (target === undefined || target.deleted) return 'target_missing';
    if (target === r.source) return 'same_queue';
    if (target.exclusiveOwner !== null) return 'target_exclusive';
    if (target.settings.queueType === 'stream') return 'target_stream'; // its log is written apart from the store
    let ok = writable.get(target);
    if (ok === undefined) writable.set(target, (ok = r.mayWrite(target)));
    return ok ? target : 'target_refused';
  };

  const source = r.source;
  const endSeq = source.lastSeq;
  let cursor: ReadyCursor | null = null;
  let counted = 0; // moved, or for a dry run would be moved
  for (;;) {
    if (source.deleted) break;
    const picks: Pick[] = [];
    let bytes = 0;
    let scanned = 0;
    let more = false;
    source.walkReady(cursor, (e, frozen, level) => {
      if (scanned >= SCAN_PER_TURN || counted + picks.length >= r.limit || picks.length >= BATCH_MESSAGES || bytes >= BATCH_BYTES) {
        more = counted + picks.length < r.limit;
        return false;
      }
      scanned++;
      cursor = { level, seq: e.seq };
      // Arrived after the move began: in the last level (0) everything after it did too.
      if (e.seq > endSeq) return level !== 0;
      const msg = source.messageOf(e);
      if (msg === undefined) {
        skip('missing');
        return true;
      }
      const t = targetOf(msg);
      if (typeof t === 'string') {
        skip(t);
        return true;
      }
      picks.push({ e, frozen, msg, target: t });
      bytes += e.size;
      return true;
    });
    if (r.dryRun) {
      for (const p of picks) {
        if (!p.target.accepts(p.e.size)) skip('target_full');
        else count(result, p.target);
      }
      counted = result.moved;
    } else {
      // All in this turn: each withdrawal and its target's insert land in the same store batch.
      for (const p of picks) {
        if (p.target.deleted) skip('target_missing');
        else if (!p.target.accepts(p.e.size)) skip('target_full');
        else if (source.withdraw(p.e, p.frozen)) {
          p.target.enqueue(movedCopy(p.msg));
          count(result, p.target);
        }
      }
      counted = result.moved;
      if (picks.length > 0 && !(await r.whenDurable())) {
        result.store_failed = true;
        break;
      }
    }
    if (!more) break;
    await nextTurn();
  }
  return result;
}

function count(result: TransferResult, target: Queue): void {
  result.moved++;
  result.by_target[target.name] = (result.by_target[target.name] ?? 0) + 1;
}
