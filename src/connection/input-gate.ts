// When a connection stops reading its socket: while a resource alarm is on (publishers are
// blocked; connection.blocked tells clients that can hear it), while queues it publishes into
// are congested (flow control), and while its own output waiting for the client is over the
// connection's buffer limit (a client that does not read). Reading resumes only when none holds.
// The gate decides; the connection pauses, resumes and sends through InputGateHost.

import type { Logger } from 'pino';
import type { FlowSource, FlowWaiter } from '../queue/queue.js';

export interface InputGateHost extends FlowWaiter {
  readonly log: Logger;
  /** Alarm and flow pauses apply only to an open connection. */
  isOpen(): boolean;
  /** connection.blocked with `reason`, or connection.unblocked for null (to clients that announced they hear them). */
  sendBlocked(reason: string | null): void;
  pauseInput(): void;
  resumeInput(): void;
  /** True when the connection consumes from `source` (a queue). */
  consumesFrom(source: FlowSource): boolean;
}

export class InputGate {
  readonly #host: InputGateHost;
  /** Queues (or the store) we wait on before reading again; null when not throttled. */
  #throttledBy: Set<FlowSource> | null = null;
  #blockedByAlarm = false;
  #outputFull = false;
  /** When reading last stopped for output the client did not take (Date.now()). */
  #outputFullSince = 0;

  constructor(host: InputGateHost) {
    this.#host = host;
  }

  /** Reading is paused for any reason. */
  get paused(): boolean {
    return this.#throttledBy !== null || this.#blockedByAlarm || this.#outputFull;
  }

  get outputFull(): boolean {
    return this.#outputFull;
  }

  get inFlow(): boolean {
    return this.#throttledBy !== null;
  }

  blockForAlarm(reason: string): void {
    if (this.#blockedByAlarm || !this.#host.isOpen()) return;
    this.#host.log.info({ reason }, 'publisher blocked by a resource alarm');
    this.#host.sendBlocked(reason);
    const was = this.paused;
    this.#blockedByAlarm = true;
    if (!was) this.#host.pauseInput();
  }

  /** The alarms cleared: read again and tell the client. */
  unblockAfterAlarm(): void {
    if (!this.#blockedByAlarm) return;
    this.#blockedByAlarm = false;
    if (!this.#host.isOpen()) return;
    this.#host.sendBlocked(null);
    if (!this.paused) this.#host.resumeInput();
    this.#host.log.info('publisher unblocked');
  }

  throttle(queue: FlowSource): void {
    if (this.#throttledBy?.has(queue) === true || !this.#host.isOpen()) return;
    // Never pause a client that consumes from the same queue: it may be waiting to write
    // before it reads again, and then neither side would move.
    if (this.#host.consumesFrom(queue)) return;
    const was = this.paused;
    (this.#throttledBy ??= new Set()).add(queue);
    if (!was) {
      this.#host.pauseInput();
      this.#host.log.debug({ queue: queue.name }, 'flow: publisher paused while the queue drains');
    }
    queue.addFlowWaiter(this.#host);
  }

  /** `queue` drained: read again unless something else still holds us. */
  resumeFlow(queue: FlowSource): void {
    const set = this.#throttledBy;
    if (set === null || !set.delete(queue) || set.size > 0) return;
    this.#throttledBy = null;
    if (!this.paused) this.#host.resumeInput();
  }

  /** Output went over the limit: stop reading. */
  fillOutput(): void {
    if (this.#outputFull) return;
    const was = this.paused;
    this.#outputFull = true;
    this.#outputFullSince = Date.now();
    if (!was) this.#host.pauseInput();
  }

  /** Output drained below the limit: read again unless something else still holds us. */
  drainOutput(): void {
    if (!this.#outputFull) return;
    this.#outputFull = false;
    if (!this.paused) this.#host.resumeInput();
  }

  /**
   * True when reading has been stopped for output the client does not take for `timeoutS`
   * seconds or more (0: never), so the connection can be dropped and its buffer freed.
   */
  outputStuck(now: number, timeoutS: number): boolean {
    return this.#outputFull && timeoutS > 0 && now - this.#outputFullSince >= timeoutS * 1000;
  }

  /** The connection is gone: stop waiting on queues. */
  clear(): void {
    if (this.#throttledBy !== null) for (const q of this.#throttledBy) q.removeFlowWaiter(this.#host);
    this.#throttledBy = null;
  }
}
