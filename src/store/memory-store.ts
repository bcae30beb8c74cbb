// Store with nothing on disk: definitions and messages live in maps, every write is "durable"
// at once. Used when no data directory is wanted (embedded brokers, fast tests) and as the
// reference implementation of the Store contract.

import type {
  BindingRecord,
  Definitions,
  ExchangeRecord,
  QueueKey,
  QueueRecord,
  Store,
  StorableMessage,
  StoredMessage,
} from './store.js';
import { tableToJson } from '../codec/field-table.js';

interface MemoryEntry {
  delivered: boolean;
  storeId: number;
}

interface MemoryBody {
  exchange: string;
  routingKey: string;
  header: Buffer;
  body: Buffer;
  refs: number;
}

const qk = (vhost: string, name: string): string => `${vhost}\u0000${name}`;
const bk = (r: BindingRecord): string =>
  [r.vhost, r.source, r.destinationKind, r.destination, r.routingKey, JSON.stringify(tableToJson(r.arguments))].join('\u0000');

export class MemoryStore implements Store {
  readonly #exchanges = new Map<string, ExchangeRecord>();
  readonly #queues = new Map<string, QueueRecord>();
  readonly #bindings = new Map<string, BindingRecord>();
  readonly #messages = new Map<string, Map<number, MemoryEntry>>();
  readonly #bodies = new Map<number, MemoryBody>();
  #nextId = 1;
  #writeSeq = 0;

  loadDefinitions(): Definitions {
    return { exchanges: [...this.#exchanges.values()], queues: [...this.#queues.values()], bindings: [...this.#bindings.values()] };
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
    this.#queues.set(qk(r.vhost, r.name), r);
    if (!this.#messages.has(qk(r.vhost, r.name))) this.#messages.set(qk(r.vhost, r.name), new Map());
    this.#writeSeq++;
  }

  deleteQueue(vhost: string, name: string): void {
    this.purgeQueue({ vhost, name });
    this.#queues.delete(qk(vhost, name));
    this.#messages.delete(qk(vhost, name));
    for (const [k, b] of this.#bindings) {
      if (b.vhost === vhost && b.destinationKind === 'queue' && b.destination === name) this.#bindings.delete(k);
    }
    this.#writeSeq++;
  }

  saveBinding(r: BindingRecord): void {
    this.#bindings.set(bk(r), r);
    this.#writeSeq++;
  }

  deleteBinding(r: BindingRecord): void {
    this.#bindings.delete(bk(r));
    this.#writeSeq++;
  }

  appendMessage(queue: QueueKey, seq: number, msg: StorableMessage): void {
    const entries = this.#messages.get(qk(queue.vhost, queue.name));
    if (entries === undefined) return;
    if (msg.storeId === 0) {
      msg.storeId = this.#nextId++;
      this.#bodies.set(msg.storeId, { exchange: msg.exchange, routingKey: msg.routingKey, header: msg.header, body: msg.body, refs: 0 });
    }
    this.#bodies.get(msg.storeId)!.refs++;
    entries.set(seq, { delivered: false, storeId: msg.storeId });
    this.#writeSeq++;
  }

  removeMessage(queue: QueueKey, seq: number): void {
    const entries = this.#messages.get(qk(queue.vhost, queue.name));
    const e = entries?.get(seq);
    if (e === undefined) return;
    entries!.delete(seq);
    this.#release(e.storeId);
    this.#writeSeq++;
  }

  markDelivered(queue: QueueKey, seq: number): void {
    const e = this.#messages.get(qk(queue.vhost, queue.name))?.get(seq);
    if (e) e.delivered = true;
  }

  purgeQueue(queue: QueueKey): void {
    const entries = this.#messages.get(qk(queue.vhost, queue.name));
    if (!entries) return;
    for (const e of entries.values()) this.#release(e.storeId);
    entries.clear();
    this.#writeSeq++;
  }

  readMessages(queue: QueueKey, afterSeq: number, limit: number): StoredMessage[] {
    const entries = this.#messages.get(qk(queue.vhost, queue.name));
    if (!entries) return [];
    const out: StoredMessage[] = [];
    const seqs = [...entries.keys()].filter((s) => s > afterSeq).sort((a, b) => a - b);
    for (const seq of seqs.slice(0, limit)) {
      const e = entries.get(seq)!;
      const b = this.#bodies.get(e.storeId)!;
      out.push({ seq, delivered: e.delivered, storeId: e.storeId, exchange: b.exchange, routingKey: b.routingKey, header: b.header, body: b.body });
    }
    return out;
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

  onDurable(_listener: (durableSeq: number) => void): void {
    // Every write is durable when issued: there is nothing to wait for.
  }

  close(): void {}

  #release(storeId: number): void {
    const b = this.#bodies.get(storeId);
    if (b && --b.refs <= 0) this.#bodies.delete(storeId);
  }
}
