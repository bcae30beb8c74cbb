// Store with nothing on disk: definitions and messages live in maps and every write is durable
// at once. Used when no data directory is wanted (embedded brokers, fast tests) and as the
// reference implementation that the store contract tests run against. State survives a
// Broker restart only within one process (pass the same instance to the new Broker).

import { tableToJson } from '../codec/field-table.js';
import type { Message } from '../message.js';
import type {
  BindingRecord,
  Definitions,
  ExchangeRecord,
  QueueKey,
  LimitsRecord,
  PolicyKind,
  PolicyRecord,
  ReaderOffsetRecord,
  PermissionRecord,
  QueueRecord,
  Store,
  UserRecord,
  VhostRecord,
  ScheduledMessage,
  ScheduleKey,
  StoredEntry,
  StoreEntry,
  WriteRange,
} from './store.js';

interface MemoryEntry {
  delivered: boolean;
  storeId: number;
  size: number;
  priority: number;
  expiresAt: number;
  deliveryCount: number;
}

interface MemoryBody {
  readonly message: Message;
  refs: number;
}

interface MemoryScheduled extends ScheduledMessage {
  readonly schedule: MemorySchedule;
  removed: boolean;
}

/** One exchange's scheduled messages: sorted lazily, when a load finds new ones appended. */
interface MemorySchedule {
  items: MemoryScheduled[];
  sorted: boolean;
  removed: number;
}

const qk = (vhost: string, name: string): string => `${vhost}\u0000${name}`;

function byDue(a: ScheduleKey, b: ScheduleKey): number {
  return a.dueAt - b.dueAt || a.id - b.id;
}

/** Identity of a binding record, shared by the stores. */
export function bindingRecordKey(r: BindingRecord): string {
  return [r.vhost, r.source, r.destinationKind, r.destination, r.routingKey, JSON.stringify(tableToJson(r.arguments))].join('\u0000');
}

export class MemoryStore implements Store {
  readonly #exchanges = new Map<string, ExchangeRecord>();
  readonly #queues = new Map<string, QueueRecord>();
  readonly #bindings = new Map<string, BindingRecord>();
  readonly #users = new Map<string, UserRecord>();
  readonly #vhosts = new Map<string, VhostRecord>();
  readonly #permissions = new Map<string, PermissionRecord>();
  readonly #limits = new Map<string, LimitsRecord>();
  readonly #policies = new Map<string, PolicyRecord>();
  readonly #readers = new Map<string, ReaderOffsetRecord>();
  readonly #messages = new Map<string, Map<number, MemoryEntry>>();
  readonly #bodies = new Map<number, MemoryBody>();
  readonly #schedules = new Map<string, MemorySchedule>();
  readonly #scheduled = new Map<number, MemoryScheduled>();
  #nextScheduledId = 1;
  #nextId = 1;
  #writeSeq = 0;

  loadDefinitions(): Definitions {
    return {
      exchanges: [...this.#exchanges.values()],
      queues: [...this.#queues.values()],
      bindings: [...this.#bindings.values()],
      users: [...this.#users.values()],
      vhosts: [...this.#vhosts.values()],
      permissions: [...this.#permissions.values()],
      limits: [...this.#limits.values()],
      policies: [...this.#policies.values()],
    };
  }

  saveUser(r: UserRecord): void {
    this.#users.set(r.name, r);
    this.#writeSeq++;
  }

  deleteUser(name: string): void {
    this.#users.delete(name);
    this.#writeSeq++;
  }

  saveVhost(r: VhostRecord): void {
    this.#vhosts.set(r.name, r);
    this.#writeSeq++;
  }

  deleteVhost(name: string): void {
    this.#vhosts.delete(name);
    this.#writeSeq++;
  }

  savePermission(r: PermissionRecord): void {
    this.#permissions.set(qk(r.user, r.vhost), r);
    this.#writeSeq++;
  }

  deletePermission(user: string, vhost: string): void {
    this.#permissions.delete(qk(user, vhost));
    this.#writeSeq++;
  }

  saveLimits(r: LimitsRecord): void {
    if (Object.keys(r.limits).length === 0) this.#limits.delete(qk(r.scope, r.name));
    else this.#limits.set(qk(r.scope, r.name), r);
    this.#writeSeq++;
  }

  saveReaderOffset(r: ReaderOffsetRecord): void {
    this.#readers.set(qk(qk(r.vhost, r.stream), r.reader), r);
    this.#writeSeq++;
  }

  deleteReaderOffset(vhost: string, stream: string, reader: string): void {
    this.#readers.delete(qk(qk(vhost, stream), reader));
    this.#writeSeq++;
  }

  loadReaderOffsets(): ReaderOffsetRecord[] {
    return [...this.#readers.values()];
  }

  savePolicy(r: PolicyRecord): void {
    this.#policies.set(qk(r.kind, qk(r.vhost, r.name)), r);
    this.#writeSeq++;
  }

  deletePolicy(kind: PolicyKind, vhost: string, name: string): void {
    this.#policies.delete(qk(kind, qk(vhost, name)));
    this.#writeSeq++;
  }

  saveExchange(r: ExchangeRecord): void {
    this.#exchanges.set(qk(r.vhost, r.name), r);
    this.#writeSeq++;
  }

  deleteExchange(vhost: string, name: string): void {
    this.#exchanges.delete(qk(vhost, name));
    for (const [k, b] of this.#bindings) {
      if (b.vhost === vhost && (b.source === name || (b.destinationKind === 'exchange' && b.destination === name))) this.#bindings.delete(k);
    }
    this.#writeSeq++;
  }

  saveQueue(r: QueueRecord): void {
    const key = qk(r.vhost, r.name);
    this.#queues.set(key, r);
    if (!this.#messages.has(key)) this.#messages.set(key, new Map());
    this.#writeSeq++;
  }

  deleteQueue(vhost: string, name: string): void {
    this.#purge(qk(vhost, name));
    this.#queues.delete(qk(vhost, name));
    this.#messages.delete(qk(vhost, name));
    for (const [k, r] of this.#readers) if (r.vhost === vhost && r.stream === name) this.#readers.delete(k);
    for (const [k, b] of this.#bindings) {
      if (b.vhost === vhost && b.destinationKind === 'queue' && b.destination === name) this.#bindings.delete(k);
    }
    this.#writeSeq++;
  }

  saveBinding(r: BindingRecord): void {
    this.#bindings.set(bindingRecordKey(r), r);
    this.#writeSeq++;
  }

  deleteBinding(r: BindingRecord): void {
    this.#bindings.delete(bindingRecordKey(r));
    this.#writeSeq++;
  }

  appendMessage(queue: QueueKey, entry: StoreEntry, msg: Message): void {
    const entries = this.#messages.get(qk(queue.vhost, queue.name));
    if (entries === undefined) return;
    if (msg.storeId === 0) {
      msg.storeId = this.#nextId++;
      msg.detach(); // kept for good (see Store.appendMessage)
      this.#bodies.set(msg.storeId, { message: msg, refs: 0 });
    }
    const body = this.#bodies.get(msg.storeId)!;
    body.refs++;
    msg.storeRefs = body.refs;
    entry.storeId = msg.storeId;
    entries.set(entry.seq, {
      delivered: false,
      storeId: msg.storeId,
      size: entry.size,
      priority: entry.priority,
      expiresAt: entry.expiresAt,
      deliveryCount: entry.deliveryCount,
    });
    this.#writeSeq++;
  }

  removeMessage(queue: QueueKey, entry: StoreEntry): void {
    const entries = this.#messages.get(qk(queue.vhost, queue.name));
    const e = entries?.get(entry.seq);
    if (e === undefined) return;
    entries!.delete(entry.seq);
    this.#release(e.storeId);
    this.#writeSeq++;
  }

  /** Keyed by queue and seq, this store never holds entry objects. */
  isSettled(_entry: StoreEntry): boolean {
    return true;
  }

  markDelivered(queue: QueueKey, entry: StoreEntry): void {
    const e = this.#messages.get(qk(queue.vhost, queue.name))?.get(entry.seq);
    if (e) {
      e.delivered = true;
      e.deliveryCount = entry.deliveryCount;
    }
  }

  #purge(key: string): void {
    const entries = this.#messages.get(key);
    if (!entries) return;
    for (const e of entries.values()) this.#release(e.storeId);
    entries.clear();
    this.#writeSeq++;
  }

  loadEntries(queue: QueueKey): StoredEntry[] {
    const entries = this.#messages.get(qk(queue.vhost, queue.name));
    if (!entries) return [];
    return [...entries]
      .sort((a, b) => a[0] - b[0])
      .map(([seq, e]) => ({
        seq,
        storeId: e.storeId,
        delivered: e.delivered,
        size: e.size,
        multi: (this.#bodies.get(e.storeId)?.refs ?? 0) > 1,
        priority: e.priority,
        expiresAt: e.expiresAt,
        deliveryCount: e.deliveryCount,
      }));
  }

  readMessages(storeIds: readonly number[]): (Message | undefined)[] {
    return storeIds.map((id) => this.readMessage(id));
  }

  readMessage(storeId: number): Message | undefined {
    return this.#bodies.get(storeId)?.message;
  }

  countMessages(queue: QueueKey): number {
    return this.#messages.get(qk(queue.vhost, queue.name))?.size ?? 0;
  }

  scheduleMessage(vhost: string, exchange: string, dueAt: number, msg: Message): number {
    const key = qk(vhost, exchange);
    let schedule = this.#schedules.get(key);
    if (schedule === undefined) {
      schedule = { items: [], sorted: true, removed: 0 };
      this.#schedules.set(key, schedule);
    }
    const id = this.#nextScheduledId++;
    const item: MemoryScheduled = { id, dueAt, message: msg, schedule, removed: false };
    const last = schedule.items[schedule.items.length - 1];
    if (last !== undefined && byDue(last, item) > 0) schedule.sorted = false;
    schedule.items.push(item);
    this.#scheduled.set(id, item);
    this.#writeSeq++;
    return id;
  }

  removeScheduled(id: number): void {
    const item = this.#scheduled.get(id);
    if (item === undefined) return;
    this.#scheduled.delete(id);
    item.removed = true;
    item.schedule.removed++;
    this.#writeSeq++;
  }

  loadScheduled(vhost: string, exchange: string, after: ScheduleKey | null, limit: number, maxBytes = Infinity): ScheduledMessage[] {
    const schedule = this.#schedules.get(qk(vhost, exchange));
    if (schedule === undefined) return [];
    if (!schedule.sorted || schedule.removed * 2 > schedule.items.length) {
      // Appends in due order keep it sorted; otherwise one sort of mostly sorted runs.
      schedule.items = schedule.items.filter((i) => !i.removed).sort(byDue);
      schedule.sorted = true;
      schedule.removed = 0;
    }
    const items = schedule.items;
    let lo = 0;
    if (after !== null) {
      let hi = items.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (byDue(items[mid]!, after) <= 0) lo = mid + 1;
        else hi = mid;
      }
    }
    const out: ScheduledMessage[] = [];
    let bytes = 0;
    for (let i = lo; i < items.length && out.length < limit; i++) {
      const item = items[i]!;
      if (item.removed) continue;
      bytes += item.message.size;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push({ id: item.id, dueAt: item.dueAt, message: item.message });
    }
    return out;
  }

  countScheduled(vhost: string, exchange: string): number {
    const schedule = this.#schedules.get(qk(vhost, exchange));
    return schedule === undefined ? 0 : schedule.items.length - schedule.removed;
  }

  dropScheduled(vhost: string, exchange: string): void {
    const key = qk(vhost, exchange);
    const schedule = this.#schedules.get(key);
    if (schedule === undefined) return;
    for (const item of schedule.items) this.#scheduled.delete(item.id);
    this.#schedules.delete(key);
    this.#writeSeq++;
  }

  get writeSeq(): number {
    return this.#writeSeq;
  }

  get durableSeq(): number {
    return this.#writeSeq;
  }

  onDurable(_listener: (durableSeq: number, failed: WriteRange | null) => void): void {
    // Every write is durable when issued: there is nothing to wait for.
  }

  close(): void {}

  #release(storeId: number): void {
    const b = this.#bodies.get(storeId);
    if (b && --b.refs <= 0) this.#bodies.delete(storeId);
  }
}
