// Synchronous calls into the store's worker thread. The Store interface reads synchronously
// (start-up, a body of a long backlog read back, counts), as the SQLite store can; PostgreSQL's
// driver is asynchronous. So this thread posts the request on a MessagePort and sleeps on a
// shared counter (Atomics.wait) until the worker has posted the answer and bumped the counter,
// then takes the answer off the port without its event loop (receiveMessageOnPort). Every call
// is bounded in time; a late answer to a call that timed out is recognised by its id and dropped.

import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

export interface SyncRequest {
  readonly op: string;
  readonly [k: string]: unknown;
}

export type SyncReply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly message: string };

export class SyncCallError extends Error {
  override readonly name = 'SyncCallError';
}

export class SyncCall {
  readonly #port: MessagePort;
  readonly #flag: Int32Array;
  readonly #timeoutMs: number;
  #nextId = 1;
  /** Posted requests whose answers are still wanted, and answers taken off the port early. */
  readonly #waiting = new Set<number>();
  readonly #kept = new Map<number, SyncReply>();

  constructor(port: MessagePort, flag: SharedArrayBuffer, timeoutMs: number) {
    this.#port = port;
    this.#flag = new Int32Array(flag);
    this.#timeoutMs = timeoutMs;
  }

  call<T>(req: SyncRequest): T {
    return this.wait<T>(this.post(req), req.op);
  }

  /**
   * Sends a request without waiting (a read ahead): its answer is kept when another call takes
   * it off the port, until `wait(id)` collects it or `abandon(id)` lets it go.
   */
  post(req: SyncRequest): number {
    const id = this.#nextId++;
    this.#waiting.add(id);
    this.#port.postMessage({ ...req, id });
    return id;
  }

  /** The answer was not needed after all: dropped when it comes. */
  abandon(id: number): void {
    this.#waiting.delete(id);
    this.#kept.delete(id);
  }

  /** Blocks until the answer to `post`'s `id` is in (bounded by the timeout). */
  wait<T>(id: number, op = 'read'): T {
    const deadline = Date.now() + this.#timeoutMs;
    try {
      for (;;) {
        let m = this.#kept.get(id);
        if (m === undefined) {
          const seen = Atomics.load(this.#flag, 0);
          const got = receiveMessageOnPort(this.#port);
          if (got !== undefined) {
            const r = got.message as SyncReply;
            if (r.id !== id) {
              // Another posted request's answer (a read ahead): kept for its wait.
              if (this.#waiting.has(r.id)) this.#kept.set(r.id, r);
              continue;
            }
            m = r;
          } else {
            const left = deadline - Date.now();
            if (left <= 0) throw new SyncCallError(`store read '${op}' got no answer from PostgreSQL within ${this.#timeoutMs} ms`);
            Atomics.wait(this.#flag, 0, seen, left);
            continue;
          }
        }
        if (!m.ok) throw new SyncCallError(m.message);
        return m.value as T;
      }
    } finally {
      this.abandon(id);
    }
  }

  /** Worker side: posts the answer, then wakes the caller. */
  static answer(port: MessagePort, flag: Int32Array, reply: SyncReply): void {
    port.postMessage(reply);
    Atomics.add(flag, 0, 1);
    Atomics.notify(flag, 0);
  }
}
