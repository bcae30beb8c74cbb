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

  constructor(port: MessagePort, flag: SharedArrayBuffer, timeoutMs: number) {
    this.#port = port;
    this.#flag = new Int32Array(flag);
    this.#timeoutMs = timeoutMs;
  }

  call<T>(req: SyncRequest): T {
    const id = this.#nextId++;
    this.#port.postMessage({ ...req, id });
    const deadline = Date.now() + this.#timeoutMs;
    for (;;) {
      const seen = Atomics.load(this.#flag, 0);
      const got = receiveMessageOnPort(this.#port);
      if (got !== undefined) {
        const m = got.message as SyncReply;
        if (m.id !== id) continue;
        if (!m.ok) throw new SyncCallError(m.message);
        return m.value as T;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new SyncCallError(`store read '${req.op}' got no answer from PostgreSQL within ${this.#timeoutMs} ms`);
      Atomics.wait(this.#flag, 0, seen, left);
    }
  }

  /** Worker side: posts the answer, then wakes the caller. */
  static answer(port: MessagePort, flag: Int32Array, reply: SyncReply): void {
    port.postMessage(reply);
    Atomics.add(flag, 0, 1);
    Atomics.notify(flag, 0);
  }
}
