// The PostgreSQL store (`--store postgres://...`): the same contract as the SQLite store, for
// several warren nodes sharing one database (lease.ts decides which one writes). The write side
// is BatchedStore's; batches go to worker.ts, which owns the connections. Reads are synchronous
// calls into that worker (sync-call.ts). Bodies stay in the database until a consumer needs
// them, so a backlog larger than memory works as with SQLite.

import { MessageChannel, Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { Message } from '../../message.js';
import { BatchedStore, type BatchReply } from '../batched-store.js';
import { StoreOpenError } from '../data-dir.js';
import type { Definitions, PolicyRecord, QueueKey, ReaderOffsetRecord, StoredEntry, StreamChunkStore, StreamLayout } from '../store.js';
import { decodeTable } from '../ops.js';
import type { ScheduledReads, ScheduledRow } from '../scheduled.js';
import type { Fence } from './apply.js';
import { redactPgUrl } from './hosts.js';
import { SyncCall } from './sync-call.js';
import { workerScript } from '../worker-script.js';
import type { PgWorkerEvent, PgWorkerInit } from './worker.js';

export interface PgStoreOptions {
  /** Lost lease, writer thread failure or a bug handling a commit: `warren start` exits on it. */
  readonly fatal?: (err: unknown, what: string) => void;
  /** The lease this node writes under (nodes); none: a single node. */
  readonly fence?: Fence | null;
  /** The lease's length (ms): a session of ours idle inside a transaction longer is ended by PostgreSQL. */
  readonly leaseMs?: number;
  /** Bound on one synchronous read (ms). */
  readonly readTimeoutMs?: number;
  /** How long a lost connection is sought again (the primary, over the host list) before a batch gives up (ms). */
  readonly reconnectForMs?: number;
  /** --store-ack-wait: how long a batch of delivered inserts may wait for their acks (ms; 0: never). */
  readonly ackWaitMs?: number;
}

/** Long enough for Patroni to promote a standby after the primary's machine died (its ttl, 30 s by default). */
export const RECONNECT_FOR_MS = 60_000;

/** Entries read per round trip when a queue is loaded at start. */
const ENTRY_PAGE = 10_000;

type Row = unknown[];

export class PgStore extends BatchedStore implements StreamChunkStore {
  /** Streams' records are chunks in PostgreSQL (stream/pg-log.ts), so a node taking over has them. */
  readonly keepsStreams = true;
  /** The URL without its password, for logs and status. */
  readonly location: string;
  readonly #worker: Worker;
  readonly #sync: SyncCall;

  /** Internal: open() and warm() make stores. */
  constructor(location: string, worker: Worker, sync: SyncCall, ready: Extract<PgWorkerEvent, { t: 'ready' }>, log: Logger, fatal: ((err: unknown, what: string) => void) | null, ackWaitMs?: number) {
    super({ queues: ready.queues, maxQueueId: ready.maxQueueId, maxMessageId: ready.maxMessageId }, scheduledReads(sync, ready.maxDelayedId), log, fatal, ackWaitMs);
    this.location = location;
    this.#worker = worker;
    this.#sync = sync;
    worker.on('message', (reply: BatchReply | PgWorkerEvent | 'closed') => {
      if (reply === 'closed') return;
      if ('t' in reply) {
        if (reply.t === 'log') this.log[reply.level](reply.message);
        return;
      }
      if (!reply.ok && reply.code === 'FENCED') {
        this.fail(new Error(reply.message), 'this node lost its lease: another node is active; stopping so it never writes again');
        return;
      }
      if (!reply.ok && reply.code === 'UNKNOWN') {
        // Neither confirm nor nack is right for a batch that may or may not be in the database.
        this.fail(new Error(reply.message), 'a store commit has an unknown outcome; stopping so that the state is loaded again from the database');
        return;
      }
      this.handleReply(reply);
    });
    worker.on('error', (err) => this.fail(err, 'store writer thread failed'));
  }

  /** Connects, creates or upgrades the schema, and learns the ids in use. */
  static async open(url: string, log: Logger, options: PgStoreOptions = {}): Promise<PgStore> {
    const s = spawnWorker(url, log, options, false);
    const ready = await s.next<Extract<PgWorkerEvent, { t: 'ready' }>>('ready');
    return s.finish(ready, log, options);
  }

  /**
   * A standby's store, opened ahead of need: worker thread, connections and schema ready, nothing
   * read. `activate(fence)` (once this node holds the lease) reads the ids in use and returns the
   * store; `close()` if it is never needed.
   */
  static async warm(url: string, log: Logger, options: PgStoreOptions = {}): Promise<WarmPgStore> {
    const s = spawnWorker(url, log, options, true);
    await s.next('warm');
    return {
      activate: async (fence: Fence): Promise<PgStore> => {
        const ready = s.next<Extract<PgWorkerEvent, { t: 'ready' }>>('ready');
        s.worker.postMessage({ t: 'activate', fence });
        return s.finish(await ready, log, { ...options, fence });
      },
      close: async (): Promise<void> => {
        await s.worker.terminate();
      },
    };
  }

  loadDefinitions(): Definitions {
    const d = this.#sync.call<Record<string, Row[]>>({ op: 'definitions' });
    const s = (v: unknown): string => buf(v).toString('utf8');
    const t = (v: unknown): string => v as string;
    return {
      exchanges: d['exchanges']!.map((r) => ({ vhost: s(r[0]), name: s(r[1]), type: s(r[2]), autoDelete: r[3] === true, internal: r[4] === true, arguments: decodeTable(buf(r[5])) })),
      queues: d['queues']!.map((r) => ({ vhost: s(r[0]), name: s(r[1]), autoDelete: r[2] === true, arguments: decodeTable(buf(r[3])) })),
      bindings: d['bindings']!.map((r) => ({
        vhost: s(r[0]),
        source: s(r[1]),
        destination: s(r[2]),
        destinationKind: r[3] === 'exchange' ? ('exchange' as const) : ('queue' as const),
        routingKey: s(r[4]),
        arguments: decodeTable(buf(r[5])),
      })),
      users: d['users']!.map((r) => ({ name: s(r[0]), passwordHash: t(r[1]), hashingAlgorithm: t(r[2]), tags: JSON.parse(t(r[3])) as string[] })),
      vhosts: d['vhosts']!.map((r) => ({ name: s(r[0]), description: s(r[1]), tags: JSON.parse(t(r[2])) as string[] })),
      permissions: d['permissions']!.map((r) => ({ user: s(r[0]), vhost: s(r[1]), configure: s(r[2]), write: s(r[3]), read: s(r[4]) })),
      limits: d['limits']!.map((r) => ({ scope: r[0] === 'user' ? ('user' as const) : ('vhost' as const), name: s(r[1]), limits: JSON.parse(t(r[2])) as Record<string, number> })),
      policies: d['policies']!.map((r): PolicyRecord => {
        const v = JSON.parse(t(r[3])) as { pattern: string; 'apply-to': PolicyRecord['applyTo']; priority: number; definition: Record<string, unknown> };
        return { kind: r[0] === 'operator' ? 'operator' : 'policy', vhost: s(r[1]), name: s(r[2]), pattern: v.pattern, applyTo: v['apply-to'], priority: v.priority, definition: v.definition };
      }),
    };
  }

  loadReaderOffsets(): ReaderOffsetRecord[] {
    const s = (v: unknown): string => buf(v).toString('utf8');
    return this.#sync.call<Row[]>({ op: 'readers' }).map((r) => ({ vhost: s(r[0]), stream: s(r[1]), reader: s(r[2]), offset: r[3] as number }));
  }

  *loadEntries(queue: QueueKey): Iterable<StoredEntry> {
    const q = this.queueId(queue);
    if (q === 0) return;
    let after = -1;
    for (;;) {
      const page = this.#sync.call<number[][]>({ op: 'entries', queue: q, after, limit: ENTRY_PAGE });
      for (const r of page) {
        yield { seq: r[0]!, storeId: r[1]!, delivered: (r[2] as unknown) === true, size: r[3]!, multi: (r[4] as unknown) === true, priority: r[5]!, expiresAt: r[6]!, deliveryCount: r[7]! };
      }
      if (page.length < ENTRY_PAGE) return;
      after = page[page.length - 1]![0]!;
    }
  }

  protected readStoredMessage(storeId: number): Message | undefined {
    const r = this.#sync.call<Row | null>({ op: 'message', storeId });
    if (r === null) return undefined;
    const msg = new Message(buf(r[0]).toString('utf8'), buf(r[1]).toString('utf8'), buf(r[2]), buf(r[3]));
    msg.storeId = storeId;
    return msg;
  }

  countMessages(queue: QueueKey): number {
    const q = this.queueId(queue);
    return q === 0 ? 0 : this.#sync.call<number>({ op: 'count', queue: q });
  }

  readStreamChunks(queue: QueueKey, from: number, to: number): { pos: number; records: Buffer }[] {
    return this.readStreamChunksAhead(queue, from, to).take();
  }

  readStreamChunksAhead(queue: QueueKey, from: number, to: number): { take(): { pos: number; records: Buffer }[]; drop(): void } {
    const q = this.queueId(queue);
    if (q === 0) return { take: () => [], drop: () => {} };
    const id = this.#sync.post({ op: 'streamChunks', queue: q, from, to });
    return {
      take: () => this.#sync.wait<Row[]>(id, 'streamChunks').map((r) => ({ pos: r[0] as number, records: buf(r[1]) })),
      drop: () => this.#sync.abandon(id),
    };
  }

  loadStreamLayout(queue: QueueKey): StreamLayout {
    const q = this.queueId(queue);
    if (q === 0) return { segments: [], index: [] };
    const r = this.#sync.call<{ segments: number[][]; index: number[][] }>({ op: 'streamLayout', queue: q });
    return {
      segments: r.segments.map((x) => [x[0]!, x[1]!, x[2]!, x[3]!, x[4]!, x[5]!] as const),
      index: r.index.map((x) => [x[0]!, x[1]!, x[2]!, x[3]!] as const),
    };
  }

  protected sendBatch(id: number, buffer: ArrayBuffer, length: number): void {
    this.#worker.postMessage({ id, buffer, length }, [buffer]);
  }

  protected async release(): Promise<void> {
    await new Promise<void>((resolve) => {
      const done = (m: unknown): void => {
        if (m === 'closed') {
          this.#worker.off('message', done);
          resolve();
        }
      };
      this.#worker.on('message', done);
      this.#worker.postMessage('close');
    });
    await this.#worker.terminate();
  }
}

export interface WarmPgStore {
  activate(fence: Fence): Promise<PgStore>;
  close(): Promise<void>;
}

interface Spawned {
  readonly worker: Worker;
  next<E extends PgWorkerEvent>(t: E['t']): Promise<E>;
  finish(ready: Extract<PgWorkerEvent, { t: 'ready' }>, log: Logger, options: PgStoreOptions): PgStore;
}

function spawnWorker(url: string, log: Logger, options: PgStoreOptions, deferred: boolean): Spawned {
  const openLog = log.child({ component: 'store' });
  const location = redact(url);
  const flag = new SharedArrayBuffer(4);
  const { port1, port2 } = new MessageChannel();
  port1.unref();
  const init: PgWorkerInit = { url, flag, port: port2, fence: options.fence ?? null, txIdleTimeoutMs: options.leaseMs ?? 2000, reconnectForMs: options.reconnectForMs ?? RECONNECT_FOR_MS, deferred };
  const worker = new Worker(workerScript(import.meta.url, 'worker.js'), { workerData: init, transferList: [port2] });
  return {
    worker,
    next: <E extends PgWorkerEvent>(t: E['t']): Promise<E> =>
      new Promise<E>((resolve, reject) => {
        const onMessage = (m: PgWorkerEvent): void => {
          if (m.t === 'log') {
            openLog[m.level](m.message);
            return;
          }
          worker.off('message', onMessage);
          worker.off('error', onError);
          if (m.t === t) resolve(m as E);
          else reject(new StoreOpenError(`cannot open the PostgreSQL store at ${location}: ${m.t === 'error' ? m.message : `unexpected ${m.t}`}`));
        };
        const onError = (e: Error): void => {
          worker.off('message', onMessage);
          reject(new StoreOpenError(`cannot open the PostgreSQL store at ${location}: ${e.message}`));
        };
        worker.on('message', onMessage);
        worker.once('error', onError);
      }).catch(async (e: unknown) => {
        await worker.terminate();
        throw e;
      }),
    finish: (ready, log, opts) => {
      worker.unref();
      const sync = new SyncCall(port1, flag, opts.readTimeoutMs ?? 30_000);
      return new PgStore(location, worker, sync, ready, log.child({ component: 'store' }), opts.fatal ?? null, opts.ackWaitMs);
    },
  };
}

/** A bytea crossed the thread boundary as a Uint8Array: view it as a Buffer, no copy. */
function buf(v: unknown): Buffer {
  const u = v as Uint8Array;
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function scheduledReads(sync: SyncCall, maxId: number): ScheduledReads {
  return {
    page: (vhost, exchange, fromDue, fromId, below, limit) =>
      sync.call<Row[]>({ op: 'scheduledPage', vhost: Buffer.from(vhost), exchange: Buffer.from(exchange), fromDue, fromId, below, limit }).map((r): ScheduledRow => [r[0] as number, r[1] as number, buf(r[2])]),
    count: (vhost, exchange, below, candidates) => {
      const r = sync.call<{ count: number; owned: number[] }>({ op: 'scheduledCount', vhost: Buffer.from(vhost), exchange: Buffer.from(exchange), below, candidates });
      return { count: r.count, owned: new Set(r.owned) };
    },
    maxId: () => maxId,
  };
}

/** postgres://user:secret@host/db -> postgres://user@host/db (host lists too). */
export const redact = redactPgUrl;

