// The persistence seam. The broker model calls a Store wherever durability matters: durable
// exchanges, queues and bindings, and persistent messages in durable queues. Implementations:
// memory-store.ts (same contract, nothing on disk) and the SQLite store. This module imports
// nothing from connection/, routing/ or queue/.

import type { FieldTable } from '../codec/field-table.js';
import type { Message } from '../message.js';

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

export interface UserRecord {
  readonly name: string;
  /** base64(salt ++ sha256(salt ++ password)), RabbitMQ's rabbit_password_hashing_sha256. '' = no password login. */
  readonly passwordHash: string;
  readonly hashingAlgorithm: string;
  readonly tags: readonly string[];
}

export interface VhostRecord {
  readonly name: string;
  readonly description: string;
  readonly tags: readonly string[];
}

export interface PermissionRecord {
  readonly user: string;
  readonly vhost: string;
  readonly configure: string;
  readonly write: string;
  readonly read: string;
}

/** Whose limits: a virtual host's (max-connections, max-queues) or a user's (max-connections, max-channels). */
export type LimitScope = 'vhost' | 'user';

/** The limits set on one vhost or user, by RabbitMQ's names; no limits at all: the record is deleted. */
export interface LimitsRecord {
  readonly scope: LimitScope;
  readonly name: string;
  readonly limits: Readonly<Record<string, number>>;
}

/**
 * A named stream reader's committed offset: every delivery to the reader below `offset` was
 * acknowledged, so a consumer resuming under that name starts at `offset`.
 */
export interface ReaderOffsetRecord {
  readonly vhost: string;
  readonly stream: string;
  readonly reader: string;
  readonly offset: number;
}

/** A policy or an operator policy (RabbitMQ's runtime parameters of those two components). */
export type PolicyKind = 'policy' | 'operator';

/** A policy as RabbitMQ defines one; `definition` is its JSON object (keys such as "message-ttl"). */
export interface PolicyRecord {
  readonly kind: PolicyKind;
  readonly vhost: string;
  readonly name: string;
  readonly pattern: string;
  readonly applyTo: 'queues' | 'exchanges' | 'all';
  readonly priority: number;
  readonly definition: Readonly<Record<string, unknown>>;
}

export interface Definitions {
  readonly exchanges: readonly ExchangeRecord[];
  readonly queues: readonly QueueRecord[];
  readonly bindings: readonly BindingRecord[];
  readonly users: readonly UserRecord[];
  readonly vhosts: readonly VhostRecord[];
  readonly permissions: readonly PermissionRecord[];
  readonly limits: readonly LimitsRecord[];
  readonly policies: readonly PolicyRecord[];
}

/**
 * One message's place in one durable queue, as the store tracks it. Implemented by the
 * queue's entries; the `store*` fields belong to the store, which uses them to cancel a write
 * that has not gone out yet (an ack arriving before the insert was sent costs no disk work).
 */
export interface StoreEntry {
  readonly seq: number;
  /** Bytes the message accounts for (header and body). */
  readonly size: number;
  /** Priority level in its queue (0 unless a priority queue). */
  readonly priority: number;
  /** Expiry time, ms since the epoch (0: none). */
  readonly expiresAt: number;
  /** Times it came back unacknowledged. */
  readonly deliveryCount: number;
  storeId: number;
  storeState: number;
  /** The stored message is shared with other queues (fan-out). */
  storeMulti: boolean;
}

/** storeState bits: the entry's insert was sent to the writer. */
export const ENTRY_ON_DISK = 2;
/** storeState bit: the entry's insert is committed. */
export const ENTRY_COMMITTED = 64;
/** storeState of an entry read back from the store at start. */
export const ENTRY_RESTORED = ENTRY_ON_DISK | ENTRY_COMMITTED;

/** An entry read back at start: its body stays on disk until a consumer needs it. */
export interface StoredEntry {
  readonly seq: number;
  readonly storeId: number;
  readonly delivered: boolean;
  readonly size: number;
  readonly multi: boolean;
  readonly priority: number;
  readonly expiresAt: number;
  readonly deliveryCount: number;
}

/** A queue as the store knows it: vhost and name, and an id the store may assign. */
export interface QueueKey {
  readonly vhost: string;
  readonly name: string;
  /** The store's id for the queue (0 until the store assigns one). */
  storeQueueId: number;
}

/** A place in a delayed exchange's schedule: by due time, then by id (the order of scheduling). */
export interface ScheduleKey {
  /** When the message is due, ms since the epoch. */
  readonly dueAt: number;
  readonly id: number;
}

/** A message a delayed exchange holds until it is due. */
export interface ScheduledMessage extends ScheduleKey {
  /** The message as it will be routed, with its CC keys and TTL. */
  readonly message: Message;
}

/** Write sequence numbers (from, to], both inclusive of `to`. */
export interface WriteRange {
  readonly from: number;
  readonly to: number;
}

/** A run of stream records as one row of a store that keeps streams (see StreamChunkStore). */
export interface StreamChunk {
  /** The chunk's byte position in its stream's log (a stream's chunks follow each other). */
  readonly pos: number;
  /** First offset of the segment it belongs to (retention removes whole segments). */
  readonly segment: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
  /** ms since the epoch. */
  readonly firstTs: number;
  readonly lastTs: number;
  /** The records, as the stream's log lays them out (stream/record.ts). */
  readonly records: Buffer;
}

/**
 * A chunk handed to the store before it is complete: the log appends to it until the store
 * takes its batch out (`seal`), so one chunk holds what one batch commits.
 */
export interface StreamChunkWrite {
  readonly queue: QueueKey;
  /** The chunk as it is written from now on (the same every call); null: nothing to write (the stream is gone). */
  seal(): StreamChunk | null;
  /** Its batch committed (true), or failed (false: it goes again with the next batch). */
  settled(ok: boolean): void;
}

/** What a store that keeps streams' logs itself (PostgreSQL) finds of one stream at start. */
export interface StreamLayout {
  /** Per segment, in order: first offset, byte position of its start, bytes, records, first and last timestamp. */
  readonly segments: readonly (readonly [segment: number, pos: number, bytes: number, count: number, firstTs: number, lastTs: number])[];
  /** A sparse index, in order: the first chunk of every 64 KiB of each segment (segment, pos, first offset, first timestamp). */
  readonly index: readonly (readonly [segment: number, pos: number, offset: number, ts: number])[];
}

/**
 * A store that keeps streams' records (the PostgreSQL store): their chunks are written in the
 * store's own batches (one transaction, fenced like every write), so a standby that takes
 * over finds them. Other stores leave streams to segment files (stream/log.ts).
 */
export interface StreamChunkStore {
  readonly keepsStreams: true;
  /** Queues a chunk for the next batch; it counts as a write (writeSeq) from now. */
  appendStreamChunk(w: StreamChunkWrite): void;
  /** Bytes appended to a chunk not yet sealed (they count as unsettled, for flow control). */
  noteStreamBytes(n: number): void;
  /** Removes a stream's chunks before byte position `below` (retention). */
  trimStream(queue: QueueKey, below: number): void;
  /** The committed chunks overlapping [from, to), in order, from the one holding `from`. */
  readStreamChunks(queue: QueueKey, from: number, to: number): { pos: number; records: Buffer }[];
  /** The same read, started now and taken later (a read ahead): `take` waits for it, `drop` lets it go. */
  readStreamChunksAhead(queue: QueueKey, from: number, to: number): { take(): { pos: number; records: Buffer }[]; drop(): void };
  loadStreamLayout(queue: QueueKey): StreamLayout;
}

/** Whether a store keeps streams' records itself. */
export function keepsStreams(store: object): store is StreamChunkStore {
  return (store as Partial<StreamChunkStore>).keepsStreams === true;
}

/** What a store that commits in batches has done since it opened (counters, for /metrics). */
export interface StoreBatchStats {
  /** Batches committed (or failed). */
  batches: number;
  /** Messages written (one per message, however many queues hold it). */
  messagesWritten: number;
  /** Queue entries whose insert was dropped because they were acked (or removed) before it went out. */
  insertsCancelled: number;
  /** Batches with nothing left to write (every insert cancelled): durable without the writer. */
  batchesEmpty: number;
  /** Batches held for their deliveries' acks (store/write-hold.ts), and of those ended by the time limit. */
  holds: number;
  holdsExpired: number;
  /** Held writes made durable before their hold ended, because every entry they were for was acked first. */
  writesAckedEarly: number;
  /** Sum over batches of the time from handing the batch to the writer until its reply, seconds. */
  commitSeconds: number;
  /** Of which the writer's own time (transaction and fsync), seconds; 0 where the writer does not say. */
  writerSeconds: number;
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
  saveUser(r: UserRecord): void;
  deleteUser(name: string): void;
  saveVhost(r: VhostRecord): void;
  deleteVhost(name: string): void;
  savePermission(r: PermissionRecord): void;
  deletePermission(user: string, vhost: string): void;
  /** Replaces the limits of a vhost or user; an empty `limits` forgets them. */
  saveLimits(r: LimitsRecord): void;
  /** Creates or replaces a policy (or operator policy). */
  savePolicy(r: PolicyRecord): void;
  deletePolicy(kind: PolicyKind, vhost: string, name: string): void;

  /** Sets a stream reader's committed offset (durable with the next batch). */
  saveReaderOffset(r: ReaderOffsetRecord): void;
  /** Forgets a stream reader; deleting the stream (deleteQueue) forgets all of its readers. */
  deleteReaderOffset(vhost: string, stream: string, reader: string): void;
  /** Every stored reader offset, at start. */
  loadReaderOffsets(): ReaderOffsetRecord[];

  // Message writes issued in one event-loop turn become durable together (one batch, one
  // transaction): a move (admin/transfer.ts) deletes from the source and inserts into the target
  // in one turn, so a crash leaves each message in exactly one queue.
  /**
   * Stores a message at the entry's position of a durable queue; a message in several queues is
   * stored once. The message may still be a view of the socket read it came in (a queue
   * deep in a backlog does not keep it): a store that holds it beyond its commit, or hands it
   * out to be kept, copies it out first (Message.detach).
   */
  appendMessage(queue: QueueKey, entry: StoreEntry, msg: Message): void;
  /** The entry was acknowledged, dropped or dead-lettered. */
  removeMessage(queue: QueueKey, entry: StoreEntry): void;
  /** The entry went to a consumer (or came back, with a higher deliveryCount): after a restart it comes back redelivered. */
  markDelivered(queue: QueueKey, entry: StoreEntry): void;
  /**
   * Whether the store is done with the entry object: its insert is committed and no write
   * involving it is pending, so the queue may drop the object and rebuild it later from its
   * fields (seq, size, storeId, storeState, storeMulti, deliveryCount).
   */
  isSettled(entry: StoreEntry): boolean;
  /** The entries of a durable queue at start, in order, without bodies (streamed, not all at once). */
  loadEntries(queue: QueueKey): Iterable<StoredEntry>;
  /** A stored message, for an entry whose body was dropped from memory. */
  readMessage(storeId: number): Message | undefined;
  /**
   * Several stored messages, in the order of `storeIds` (undefined where one is missing): the
   * next bodies of a backlog, read together (a range read instead of a query each).
   */
  readMessages(storeIds: readonly number[]): (Message | undefined)[];
  /** Messages stored for a queue (inspection and tests). */
  countMessages(queue: QueueKey): number;

  /**
   * Holds `msg` for the delayed exchange `exchange` until `dueAt` (ms since the epoch), with its
   * CC keys and TTL. Returns its id; ids only grow, so they order messages due at the same time.
   */
  scheduleMessage(vhost: string, exchange: string, dueAt: number, msg: Message): number;
  /** A scheduled message was routed: forgotten in the same batch as the writes its routing made. */
  removeScheduled(id: number): void;
  /**
   * An exchange's scheduled messages after `after` (null: from the first) in (dueAt, id) order:
   * at most `limit`, and no more than `maxBytes` of messages once the first is taken.
   * Includes writes not yet durable.
   */
  loadScheduled(vhost: string, exchange: string, after: ScheduleKey | null, limit: number, maxBytes?: number): ScheduledMessage[];
  /** How many messages an exchange has scheduled. */
  countScheduled(vhost: string, exchange: string): number;
  /** The exchange was deleted: forgets every message scheduled for it so far. */
  dropScheduled(vhost: string, exchange: string): void;

  /** Sequence number of the last write issued. */
  readonly writeSeq: number;
  /** Highest write sequence known to be durable. */
  readonly durableSeq: number;
  /**
   * Body bytes of messages written but not yet durable (held in memory until they are), for
   * stores that commit in the background; publishers are paused while it is high
   * (connection/store-flow.ts).
   */
  readonly unsettledBytes?: number;
  /** Batch counters, for stores that commit in batches. */
  readonly batchStats?: Readonly<StoreBatchStats> | undefined;
  /**
   * Called whenever durableSeq advances. `failed` names a range of writes that could not be
   * made durable (disk full): publishes that needed them are nacked.
   */
  onDurable(listener: (durableSeq: number, failed: WriteRange | null) => void): void;
  /**
   * For stores that commit in the background: called after each commit, whether or not it made
   * a write that someone numbered (writeSeq) durable, since unsettledBytes may have dropped.
   * Publishers paused by the store's flow control wait for this, not for onDurable: a write
   * nobody read writeSeq for (a publish without confirms) moves no sequence a wrapper sees.
   */
  onSettled?(listener: () => void): void;

  /** Waits for every write issued to be durable, then releases the store. */
  close(): Promise<void> | void;
}
