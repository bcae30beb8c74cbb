// The persistence seam. The broker model calls a Store wherever durability matters: durable
// exchanges, queues and bindings, and persistent messages in durable queues. Implementations:
// memory-store.ts (same contract, nothing on disk) and the SQLite store. This module imports
// nothing from connection/, routing/ or queue/.

import type { FieldTable } from '../codec/field-table.js';

export interface ExchangeRecord {
  readonly vhost: string;
  readonly name: string;
  readonly type: string;
  readonly autoDelete: boolean;
  readonly internal: boolean;
  readonly arguments: FieldTable;
}

export interface QueueRecord {
  readonly vhost: string;
  readonly name: string;
  readonly autoDelete: boolean;
  readonly arguments: FieldTable;
}

export interface BindingRecord {
  readonly vhost: string;
  readonly source: string;
  readonly destination: string;
  readonly destinationKind: 'queue' | 'exchange';
  readonly routingKey: string;
  readonly arguments: FieldTable;
}

export interface Definitions {
  readonly exchanges: readonly ExchangeRecord[];
  readonly queues: readonly QueueRecord[];
  readonly bindings: readonly BindingRecord[];
}

/** What a store needs of a message: its identity and bytes. */
export interface StorableMessage {
  storeId: number;
  readonly exchange: string;
  readonly routingKey: string;
  readonly header: Buffer;
  readonly body: Buffer;
}

/** A message read back from the store, in queue order. */
export interface StoredMessage {
  readonly seq: number;
  readonly delivered: boolean;
  readonly storeId: number;
  readonly exchange: string;
  readonly routingKey: string;
  readonly header: Buffer;
  readonly body: Buffer;
}

/** A queue as the store knows it: vhost and name. */
export interface QueueKey {
  readonly vhost: string;
  readonly name: string;
}

export interface Store {
  /** Durable definitions, at start. */
  loadDefinitions(): Definitions;
  saveExchange(r: ExchangeRecord): void;
  deleteExchange(vhost: string, name: string): void;
  saveQueue(r: QueueRecord): void;
  /** Deletes the queue, its bindings and its messages. */
  deleteQueue(vhost: string, name: string): void;
  saveBinding(r: BindingRecord): void;
  deleteBinding(r: BindingRecord): void;

  /** Stores a message at position `seq` of a durable queue; a message in several queues is stored once. */
  appendMessage(queue: QueueKey, seq: number, msg: StorableMessage): void;
  /** The message at `seq` was acknowledged, dropped or dead-lettered. */
  removeMessage(queue: QueueKey, seq: number): void;
  /** The message at `seq` went to a consumer: after a restart it comes back redelivered. */
  markDelivered(queue: QueueKey, seq: number): void;
  purgeQueue(queue: QueueKey): void;
  /** Messages of a queue in order, starting after `afterSeq`, at most `limit`. */
  readMessages(queue: QueueKey, afterSeq: number, limit: number): StoredMessage[];
  /** Number of messages stored for a queue. */
  countMessages(queue: QueueKey): number;

  /** Sequence number of the last write issued. */
  readonly writeSeq: number;
  /** Highest write sequence known to be durable. */
  readonly durableSeq: number;
  /** Called (with durableSeq) whenever durableSeq advances. */
  onDurable(listener: (durableSeq: number) => void): void;

  close(): void;
}
