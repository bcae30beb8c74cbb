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
  PermissionRecord,
  QueueRecord,
  Store,
  UserRecord,
  VhostRecord,
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

const qk = (vhost: string, name: string): string => `${vhost}\u0000${name}`;

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
  readonly #messages = new Map<string, Map<number, MemoryEntry>>();
  readonly #bodies = new Map<number, MemoryBody>();
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

  readMessage(storeId: number): Message | undefined {
    return this.#bodies.get(storeId)?.message;
  }

  countMessages(queue: QueueKey): number {
    return this.#messages.get(qk(queue.vhost, queue.name))?.size ?? 0;
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
