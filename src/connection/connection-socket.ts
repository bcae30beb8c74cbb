// The socket side of one client connection (Connection, connection.ts, adds the protocol
// side): output written in batches with the channels' flush hooks and the socket's
// backpressure, why reading is paused (input-gate.ts), heartbeats and the deadlines of the
// broker's tick, and every way a connection ends: a hard error answered with connection.close,
// the silent refusal of a handshake mistake, a reset, and the teardown that releases it all.

import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { methodFrameTo08 } from '../codec/amqp08.js';
import { FrameWriter } from '../codec/frame-writer.js';
import { CONNECTION_BLOCKED, CONNECTION_CLOSE, CONNECTION_UNBLOCKED, type Method } from '../codec/methods.generated.js';
import type { BrokerConfig } from '../config.js';
import { ConnectionError } from '../errors.js';
import type { FlowSource, FlowWaiter } from '../queue/queue.js';
import type { VirtualHost } from '../routing/vhost.js';
import type { Store, WriteRange } from '../store/store.js';
import { ChannelTable } from './channel-table.js';
import { errorOutcome } from './error-outcome.js';
import type { HostedChannel } from './host.js';
import { InputGate } from './input-gate.js';
import { Liveness } from './liveness.js';

// The connection's states, in the order it goes through them.
export const AWAIT_HEADER = 0;
export const AWAIT_START_OK = 1;
export const AWAIT_TUNE_OK = 2;
export const AWAIT_OPEN = 3;
export const OPEN = 4;
export const CLOSING = 5;
/** A handshake mistake: reading stopped, the socket is reset after SILENT_CLOSE_DELAY_MS. */
export const REFUSED = 6;
export const CLOSED = 7;

/** Output queued beyond this (or beyond the connection's buffer) stops deliveries until the socket drains. */
const MAX_PENDING_OUTPUT = 1024 * 1024;
/** How long we wait for close-ok after sending connection.close. */
const CLOSE_TIMEOUT_MS = 3000;
/** After a mistake before tune-ok RabbitMQ waits this long, silent, before dropping the socket (so failed logins cannot be hammered). */
const SILENT_CLOSE_DELAY_MS = 3000;

/** What the socket side needs from the broker (a part of ConnectionContext). */
export interface SocketContext {
  readonly config: BrokerConfig;
  readonly store: Store;
  readonly log: Logger;
  /** The active resource alarms ('memory', 'disk'). */
  readonly alarms: ReadonlySet<string>;
}

export abstract class ConnectionSocket implements FlowWaiter {
  readonly id: number;
  readonly log: Logger;
  readonly writer: FrameWriter;
  readonly stats = { recvOct: 0, sendOct: 0 };
  /** Our output waiting for the client may reach this before we stop reading it; see config. */
  readonly maxConnectionBuffer: number;
  /** Speaks AMQP 0-8 (as RabbitMQ serves it): the methods that differ are translated at this edge. */
  amqp08 = false;
  connectionBlockedCapable = false;
  protected readonly socket: Duplex;
  protected readonly table = new ChannelTable();
  protected readonly liveness = new Liveness();
  /** Why reading is paused: a resource alarm, flow control, or output the client does not take. */
  protected readonly gate: InputGate;
  protected state = AWAIT_HEADER;
  /** Set by connection.open; its exclusive queues go with the connection. */
  protected openVhost: VirtualHost | null = null;
  readonly #ctx: SocketContext;
  readonly #flushHooks = new Set<HostedChannel>();
  #writeBlocked = false;
  #flushScheduled = false;
  #closeTimer: NodeJS.Timeout | null = null;

  /** `recycleOutput`: the socket copies what it is given, so the writer's slabs may be reused. */
  constructor(id: number, socket: Duplex, ctx: SocketContext, recycleOutput: boolean) {
    this.id = id;
    this.socket = socket;
    this.#ctx = ctx;
    this.log = ctx.log.child({ conn: id });
    this.writer = new FrameWriter(ctx.config.frameMax, recycleOutput);
    this.maxConnectionBuffer = ctx.config.maxConnectionBuffer;
    (socket as Duplex & { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
    this.gate = new InputGate({
      log: this.log,
      isOpen: () => this.state === OPEN,
      sendBlocked: (reason) => {
        if (this.connectionBlockedCapable) this.send(0, reason === null ? { id: CONNECTION_UNBLOCKED } : { id: CONNECTION_BLOCKED, reason });
      },
      pauseInput: () => this.pauseInput(),
      resumeInput: () => this.resumeInput(),
      consumesFrom: (queue) => this.table.consumesFrom(queue),
      resumeFlow: (queue) => this.resumeFlow(queue),
    });
    socket.on('drain', this.#onDrain);
    socket.on('error', this.#onSocketError);
    socket.on('close', this.#onSocketClose);
    socket.on('end', this.#onSocketEnd);
  }

  /** Stops reading: frames already received but not handled wait in the frame reader. */
  protected abstract pauseInput(): void;
  /** Reads again (unless the connection is refused, closed or yielding its turn). */
  protected abstract resumeInput(): void;
  /** Asks the broker to call flush() at the end of this event-loop turn. */
  protected abstract flushAtTurnEnd(): void;
  /** Tells the broker the connection is gone. */
  protected abstract gone(): void;

  // ---- output ----------------------------------------------------------------------------

  /** The socket is not backed up: deliveries may be written. */
  get writable(): boolean {
    return !this.#writeBlocked && this.writer.pendingBytes < MAX_PENDING_OUTPUT && this.writer.pendingBytes < this.maxConnectionBuffer;
  }

  scheduleFlush(): void {
    if (this.#flushScheduled || this.state === CLOSED) return;
    this.#flushScheduled = true;
    this.flushAtTurnEnd();
  }

  wantsFlushHook(ch: HostedChannel): void {
    this.#flushHooks.add(ch);
    this.scheduleFlush();
  }

  channelClosed(ch: HostedChannel): void {
    this.table.remove(ch);
    this.#flushHooks.delete(ch);
  }

  /** Writes everything pending in one batch (called by the broker once per event-loop turn). */
  flush(): void {
    this.#flushScheduled = false;
    if (this.state === CLOSED) return;
    if (this.#flushHooks.size > 0) this.runFlushHooks(this.#ctx.store.durableSeq);
    if (!this.writer.hasPending) return;
    this.stats.sendOct += this.writer.pendingBytes;
    this.liveness.wrote(this.writer.pendingBytes);
    // write() says false past the high-water mark even when the kernel took it all: blocked only while bytes wait.
    if (!this.writer.flush(this.socket, this.socket.writableLength) && this.socket.writableLength > 0) this.#writeBlocked = true;
    else this.gate.drainOutput();
  }

  /** Lets channels write confirms and commit-oks that are due. */
  runFlushHooks(durableSeq: number, failed: WriteRange | null = null): void {
    for (const ch of this.#flushHooks) {
      if (!ch.flushHook(durableSeq, failed)) this.#flushHooks.delete(ch);
    }
  }

  readonly #onDrain = (): void => {
    this.#writeBlocked = false;
    this.guard(() => {
      for (const ch of this.table.byId.values()) ch.resume();
      this.gate.drainOutput();
    });
  };

  protected send(channel: number, m: Method): void {
    const frame08 = this.amqp08 ? methodFrameTo08(channel, m) : null;
    if (frame08 === null) this.writer.method(channel, m);
    else this.writer.raw(frame08);
    this.scheduleFlush();
  }

  get blockedByBackpressure(): boolean {
    return this.#writeBlocked;
  }

  /** Bytes of output not yet taken by the client: encoded here, or held by the socket. */
  get pendingOutput(): number {
    return this.writer.pendingBytes + this.socket.writableLength;
  }

  // ---- paused input ----------------------------------------------------------------------

  throttle(queue: FlowSource): void {
    this.gate.throttle(queue);
  }

  resumeFlow(queue: FlowSource): void {
    this.gate.resumeFlow(queue);
  }

  /** A resource alarm is on: publishers are to be blocked (see blockForAlarm). */
  get alarmed(): boolean {
    return this.#ctx.alarms.size > 0;
  }

  blockForAlarm(): void {
    this.gate.blockForAlarm(this.#ctx.alarms.has('memory') ? 'low on memory' : 'low on disk space');
  }

  unblockAfterAlarm(): void {
    this.gate.unblockAfterAlarm();
  }

  /** True while reading is paused because the client does not take its output. */
  get outputFull(): boolean {
    return this.gate.outputFull;
  }

  /** True while reading is paused by flow control. */
  get inFlow(): boolean {
    return this.gate.inFlow;
  }

  // ---- liveness --------------------------------------------------------------------------

  /** Called once a second by the broker. */
  tick(now: number): void {
    if (this.state === CLOSED) return;
    if (this.state === OPEN) for (const ch of this.table.byId.values()) ch.checkAckTimeout(now, this.#ctx.config.consumerTimeout);
    // The handshake deadline runs until tune-ok; heartbeats (own timers) from connection.open.
    if (this.state < AWAIT_OPEN && this.liveness.handshakeExpired()) {
      this.log.warn('closing connection: handshake not completed within 10 s');
      this.#reset();
    } else if (this.gate.outputStuck(now, this.#ctx.config.pausedOutputTimeout)) {
      this.log.warn({ pendingOutput: this.pendingOutput }, `closing connection: its output was not taken for ${this.#ctx.config.pausedOutputTimeout}s (paused output timeout)`);
      this.#reset();
    }
  }

  /** connection.open: heartbeats start (see liveness.ts for their timing). */
  protected startHeartbeats(): void {
    this.liveness.start({
      sendHeartbeat: () => {
        if (this.#writeBlocked) return; // it would only wait behind what the client is not reading
        this.writer.heartbeat();
        this.scheduleFlush();
      },
      peerSilent: () => this.#safely(() => {
        this.log.warn({ pendingOutput: this.pendingOutput }, `missed heartbeats from client, timeout: ${this.liveness.heartbeat}s`);
        this.#reset();
      }),
      paused: () => this.gate.paused,
      outputTaken: () => (this.gate.outputFull ? this.stats.sendOct - this.socket.writableLength : -1),
    });
  }

  // ---- errors and closing ----------------------------------------------------------------

  /**
   * Runs work started outside frame handling (socket events, timers, the broker's tick and
   * flush): a bug there closes this connection with 541, never the broker.
   */
  guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.onError(e);
    }
  }

  protected onError(e: unknown): void {
    if (this.state >= REFUSED) return;
    const outcome = errorOutcome(e, this.state < AWAIT_OPEN);
    if (outcome.kind === 'reset') {
      this.log.warn({ reason: outcome.reason }, 'undecodable frame from the client; closing the socket');
      this.#reset();
    } else if (outcome.kind === 'refuse') {
      this.log.warn({ reason: outcome.reason }, 'bad frame before the handshake completed');
      this.refuse();
    } else {
      if (outcome.internal) this.log.error({ err: e }, 'internal error while handling this connection; closing it with 541');
      this.closeWith(outcome.error);
    }
  }

  /** Hard error or shutdown: send connection.close, release everything, await close-ok. */
  protected closeWith(e: ConnectionError): void {
    if (this.state >= CLOSING) return;
    const level = e.codeName === 'CONNECTION_FORCED' ? 'info' : 'warn';
    this.log[level]({ code: e.replyCode, text: e.replyText, classId: e.classId, methodId: e.methodId }, 'closing connection');
    this.send(0, { id: CONNECTION_CLOSE, replyCode: e.replyCode, replyText: e.replyText, classId: e.classId, methodId: e.methodId });
    this.table.releaseAll();
    this.state = CLOSING;
    this.#closeTimer = setTimeout(() => this.destroy(), CLOSE_TIMEOUT_MS);
    this.#closeTimer.unref();
  }

  /** Broker shutdown: 320 CONNECTION_FORCED, as RabbitMQ sends it. */
  forceClose(reason = 'shutdown'): void {
    if (this.state < OPEN || this.state === REFUSED) {
      this.destroy();
      return;
    }
    this.closeWith(new ConnectionError('CONNECTION_FORCED', `broker forced connection closure with reason '${reason}'`));
  }

  /** Closes with a hard error from outside (management API, tests). */
  closeWithError(e: ConnectionError): void {
    this.closeWith(e);
  }

  readonly #onSocketError = (err: Error): void => {
    this.log.debug({ err: err.message }, 'socket error');
    this.destroy();
  };

  readonly #onSocketEnd = (): void => {
    // The client half-closed: nothing more will arrive, so finish our side.
    this.#safely(() => this.endSocket('client closed the socket'));
  };

  readonly #onSocketClose = (): void => {
    this.#safely(() => this.#teardown('socket closed'));
  };

  /** For teardown paths, where closing with 541 is no longer possible: log and carry on. */
  #safely(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log.error({ err: e }, 'internal error while releasing a closed connection');
    }
  }

  /** Flushes what is pending, then ends the socket. */
  protected endSocket(reason = 'closed'): void {
    if (this.state === CLOSED) return;
    this.flush();
    this.#teardown(reason);
    this.socket.end();
  }

  protected destroy(): void {
    this.#teardown('closed');
    this.socket.destroy();
  }

  /** Drops the socket with a TCP reset, as RabbitMQ's sockets do (linger 0) when it gives up on a client. */
  #reset(): void {
    this.#teardown('closed');
    const s = this.socket as Duplex & { resetAndDestroy?: () => void; readyState?: string };
    if (s.resetAndDestroy !== undefined && s.readyState === 'open') s.resetAndDestroy();
    else s.destroy();
  }

  /** A mistake before tune-ok: say nothing, stop reading, and reset the socket after a delay, as RabbitMQ does. */
  protected refuse(): void {
    if (this.state >= REFUSED) return;
    this.state = REFUSED;
    this.pauseInput();
    this.#closeTimer = setTimeout(() => this.#reset(), SILENT_CLOSE_DELAY_MS);
    this.#closeTimer.unref();
  }

  /** Releases everything the connection holds; idempotent. */
  #teardown(reason: string): void {
    if (this.state === CLOSED) return;
    const wasOpen = this.state === OPEN || this.state === CLOSING;
    this.table.clear();
    this.#flushHooks.clear();
    this.gate.clear();
    this.liveness.stop();
    this.state = CLOSED;
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    if (this.openVhost) this.openVhost.removeExclusiveQueues(this);
    if (wasOpen) this.log.info({ reason }, 'connection closed');
    this.gone();
  }
}
