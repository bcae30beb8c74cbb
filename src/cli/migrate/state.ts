// The state file of `warren migrate`: for each queue being moved, fingerprints of messages
// warren has confirmed whose ack RabbitMQ may not have taken yet. It is written before each
// ack goes out and trimmed once a later reply from RabbitMQ shows the ack arrived, so it holds
// at most about one window of messages. A rerun after a kill acks those messages on RabbitMQ
// (they come back redelivered) instead of publishing them to warren a second time. Written by
// rename, not fsynced: it covers a killed or disconnected migration, not a machine crash.

import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

export interface QueueKey {
  readonly vhost: string;
  readonly queue: string;
}

/** Fingerprints left over from an earlier run, taken one at a time. */
export class Leftovers {
  readonly #counts = new Map<string, number>();

  constructor(fps: readonly string[]) {
    for (const fp of fps) this.#counts.set(fp, (this.#counts.get(fp) ?? 0) + 1);
  }

  get size(): number {
    let n = 0;
    for (const c of this.#counts.values()) n += c;
    return n;
  }

  take(fp: string): boolean {
    const c = this.#counts.get(fp);
    if (c === undefined) return false;
    if (c === 1) this.#counts.delete(fp);
    else this.#counts.set(fp, c - 1);
    return true;
  }

  /** Redelivered messages come back first; past them nothing is a leftover. */
  clear(): void {
    this.#counts.clear();
  }
}

interface StateDoc {
  version: 1;
  source: string;
  /** "vhost\u0000queue" -> fingerprints */
  pending: Record<string, string[]>;
}

const MAX_STATE_BYTES = 64 * 1024 * 1024;

export class MigrationState {
  readonly path: string | null;
  readonly #source: string;
  readonly #pending = new Map<string, string[]>();
  #dirty = false;

  /** Reads the file if there is one; `path` null keeps the state in memory only. */
  constructor(path: string | null, source: string) {
    this.path = path;
    this.#source = source;
    if (path === null) return;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new Error(`state file ${path}: ${(e as Error).message}`);
    }
    if (text.length > MAX_STATE_BYTES) throw new Error(`state file ${path} is larger than ${MAX_STATE_BYTES} bytes; is it a migration state file?`);
    let doc: StateDoc;
    try {
      doc = JSON.parse(text) as StateDoc;
    } catch {
      throw new Error(`state file ${path} is not JSON; remove it to start afresh`);
    }
    if (doc?.version !== 1 || typeof doc.pending !== 'object' || doc.pending === null) throw new Error(`state file ${path} is not a warren migrate state file`);
    if (doc.source !== source) throw new Error(`state file ${path} belongs to a migration from ${doc.source}, not ${source}; use another --state file`);
    for (const [k, fps] of Object.entries(doc.pending)) {
      if (Array.isArray(fps) && fps.every((f) => typeof f === 'string')) this.#pending.set(k, fps);
    }
  }

  static keyOf(k: QueueKey): string {
    return `${k.vhost}\u0000${k.queue}`;
  }

  /** Messages an earlier run may have moved without RabbitMQ taking the ack; forgets them here. */
  takePending(k: QueueKey): Leftovers {
    const fps = this.#pending.get(MigrationState.keyOf(k)) ?? [];
    return new Leftovers(fps);
  }

  get pendingCount(): number {
    let n = 0;
    for (const fps of this.#pending.values()) n += fps.length;
    return n;
  }

  /** Records confirmed messages before their ack is sent; written at once. */
  addPending(k: QueueKey, fps: readonly string[]): void {
    const key = MigrationState.keyOf(k);
    const list = this.#pending.get(key) ?? [];
    list.push(...fps);
    this.#pending.set(key, list);
    this.#dirty = true;
    this.flush();
  }

  /** RabbitMQ has taken the acks of these. */
  dropPending(k: QueueKey, fps: readonly string[]): void {
    const key = MigrationState.keyOf(k);
    const list = this.#pending.get(key);
    if (list === undefined) return;
    const drop = new Leftovers(fps);
    const kept = list.filter((fp) => !drop.take(fp));
    if (kept.length === 0) this.#pending.delete(key);
    else this.#pending.set(key, kept);
    this.#dirty = true;
  }

  /** Forgets a queue's leftovers once it has been moved (they were acked or found gone). */
  finishQueue(k: QueueKey): void {
    if (this.#pending.delete(MigrationState.keyOf(k))) this.#dirty = true;
  }

  flush(): void {
    if (this.path === null || !this.#dirty) return;
    const doc: StateDoc = { version: 1, source: this.#source, pending: Object.fromEntries(this.#pending) };
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(doc));
    renameSync(tmp, this.path);
    this.#dirty = false;
  }

  /** Removes the file after a migration that finished with nothing pending. */
  remove(): void {
    if (this.path !== null && this.#pending.size === 0) rmSync(this.path, { force: true });
  }
}
