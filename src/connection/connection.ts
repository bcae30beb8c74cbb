// One client connection: the socket's lifecycle, the connection states, frame routing to the
// channel table, batched writes and flow control. The handshake's decisions live in handshake.ts
// (and sasl.ts), heartbeat bookkeeping in liveness.ts. Works over any Duplex (a TCP socket, or a
// stream pair in tests). Hard errors close this connection with connection.close; anything
// unexpected becomes 541 INTERNAL_ERROR for this connection alone and is logged with its stack.

import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { BufferReader } from '../codec/buffer-reader.js';
import type { FieldTable } from '../codec/field-table.js';
import { FrameReader, type FrameHandler } from '../codec/frame-reader.js';
import { decodeMethodFrame } from '../codec/method-frame.js';
import { FrameWriter } from '../codec/frame-writer.js';
import { methodFrameTo08, methodPayloadFrom08 } from '../codec/amqp08.js';
import {
  CHANNEL_OPEN_OK,
  CONNECTION_BLOCKED,
  CONNECTION_CLOSE,
  CONNECTION_UNBLOCKED,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
  type Method,
} from '../codec/methods.generated.js';
import type { PermissionKind } from '../auth/access.js';
import { AmqpError, ConnectionError } from '../errors.js';
import type { VirtualHost } from '../routing/vhost.js';
import type { Store, WriteRange } from '../store/store.js';
import type { FlowSource, FlowWaiter, Queue } from '../queue/queue.js';
import { Channel, type ChannelHost } from './channel.js';
import { ChannelTable } from './channel-table.js';
import { checkPermission, type ConnectionContext } from './context.js';
import { closingConnectionMethod, openConnectionMethod, type ConnectionMethodHost } from './connection-methods.js';
import { Handshake, type HandshakeHost } from './handshake.js';
import type { TlsClient } from './sasl.js';
import { InputGate } from './input-gate.js';
import { InputSlice } from './input-slice.js';
import { errorOutcome } from './error-outcome.js';
import { Liveness } from './liveness.js';
import { Admit, admitFrame } from './frame-admission.js';
import { pinningHandler, type ReadBuffers } from './read-buffers.js';
import { socketEnds } from '../util/address.js';

/** Output queued beyond this (or beyond the connection's buffer) stops deliveries until the socket drains. */
const MAX_PENDING_OUTPUT = 1024 * 1024;
/** How long we wait for close-ok after sending connection.close. */
const CLOSE_TIMEOUT_MS = 3000;
/** After a mistake before tune-ok RabbitMQ waits this long, silent, before dropping the socket (so failed logins cannot be hammered). */
const SILENT_CLOSE_DELAY_MS = 3000;

const enum State {
  AwaitHeader,
  AwaitStartOk,
  AwaitTuneOk,
  AwaitOpen,
  Open,
  Closing,
  /** A handshake mistake: reading stopped, the socket is reset after SILENT_CLOSE_DELAY_MS. */
  Refused,
  Closed,
}

export class Connection implements ChannelHost, FlowWaiter {
  readonly id: number;
  readonly log: Logger;
  readonly writer: FrameWriter;
  readonly #socket: Duplex;
  readonly #ctx: ConnectionContext;
  readonly #reader: FrameReader;
  readonly #frames: FrameHandler; // this, or a wrapper noting what pins the read buffer (ReadBuffers)
  readonly #methodReader = new BufferReader(Buffer.alloc(0));
  readonly #table = new ChannelTable();
  readonly #channels = this.#table.byId;
  readonly #flushHooks = new Set<Channel>();
  #state = State.AwaitHeader;
  readonly #handshake: Handshake;
  readonly #methodHost: ConnectionMethodHost;
  readonly #liveness = new Liveness();
  #writeBlocked = false;
  #flushScheduled = false;
  readonly #slice = new InputSlice();
  /** Reading paused at the end of an input slice, until resumeAfterYield(). */
  #yielded = false;
  /** Negotiated in tune-ok. */
  #channelMax = 0;
  #closeTimer: NodeJS.Timeout | null = null;
  /** Why reading is paused: a resource alarm, flow control, or output the client does not take. */
  readonly #gate: InputGate;

  /** Speaks AMQP 0-8 (as RabbitMQ serves it): the methods that differ are translated at this edge. */
  amqp08 = false;
  username = '';
  vhostName = '';
  #vhost: VirtualHost | null = null;
  clientProperties: FieldTable = new Map();
  consumerCancelNotify = false;
  authenticationFailureClose = false;
  connectionBlockedCapable = false;
  readonly connectedAt = Date.now();
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly overTls: boolean;
  readonly stats = { recvOct: 0, sendOct: 0 };
  /** Message counts of this connection's channels that have closed (open ones keep theirs in Channel.stats). */
  readonly closedChannelStats = this.#table.closedStats;
  /** Our output waiting for the client may reach this before we stop reading it; see config. */
  readonly maxConnectionBuffer: number;
  /** Bytes held for messages still arriving on this connection's channels (the channels keep it). */
  contentHeld = 0;

  /** `tls`: the client came through the TLS listener (EXTERNAL is offered); `reads`: see receive(). */
  constructor(id: number, socket: Duplex, ctx: ConnectionContext, tls: TlsClient | null = null, reads: ReadBuffers | null = null) {
    this.id = id;
    this.overTls = tls !== null;
    this.#socket = socket;
    this.#ctx = ctx;
    this.log = ctx.log.child({ conn: id });
    // Until tune-ok, as RabbitMQ 3.10 (measured): frame payloads of at most FRAME_MIN_SIZE
    // bytes (4096; FrameReader's limit is frameMax less the 8 bytes of frame overhead).
    this.#reader = new FrameReader(FRAME_MIN_SIZE + 8);
    this.writer = new FrameWriter(ctx.config.frameMax, reads !== null); // a TCP socket of ours: its slabs may be reused
    this.maxConnectionBuffer = ctx.config.maxConnectionBuffer;
    ({ remoteAddress: this.remoteAddress, remotePort: this.remotePort, localAddress: this.localAddress, localPort: this.localPort } = socketEnds(socket));
    (socket as Duplex & { setNoDelay?: (b: boolean) => void }).setNoDelay?.(true);
    this.#gate = new InputGate({
      log: this.log,
      isOpen: () => this.#state === State.Open,
      sendBlocked: (reason) => {
        if (this.connectionBlockedCapable) this.#send(0, reason === null ? { id: CONNECTION_UNBLOCKED } : { id: CONNECTION_BLOCKED, reason });
      },
      pauseInput: () => this.#pauseInput(),
      resumeInput: () => this.#resumeInput(),
      consumesFrom: (queue) => this.#table.consumesFrom(queue),
      resumeFlow: (queue) => this.resumeFlow(queue),
    });
    this.#methodHost = { log: this.log, send: (m) => this.#send(0, m), endSocket: (reason) => this.#endSocket(reason), destroy: () => this.#destroy() };
    this.#handshake = new Handshake(ctx, this.#handshakeHost(), this.log, { address: this.remoteAddress, port: this.remotePort }, tls);
    this.#frames = reads === null ? this : pinningHandler(this, reads, this.#table, this.#reader);
    if (reads === null) socket.on('data', this.receive);
    socket.on('drain', this.#onDrain);
    socket.on('error', this.#onSocketError);
    socket.on('close', this.#onSocketClose);
    socket.on('end', this.#onSocketEnd);
  }

  /** The handshake advances this connection through these (created once per connection). */
  #handshakeHost(): HandshakeHost {
    return {
      send: (m) => this.#send(0, m),
      writeRaw: (bytes) => this.writer.raw(bytes),
      refuse: () => this.#refuse(),
      endSocket: () => this.#endSocket(),
      closeWith: (e) => this.#closeWith(e),
      started: (protocol) => {
        this.#state = State.AwaitStartOk;
        this.amqp08 = protocol === '0-8';
      },
      greeted: (clientProperties, caps) => {
        this.clientProperties = clientProperties;
        this.consumerCancelNotify = caps.consumerCancelNotify;
        this.authenticationFailureClose = caps.authenticationFailureClose;
        this.connectionBlockedCapable = caps.connectionBlocked;
      },
      loggedIn: (user) => {
        this.username = user;
        this.#state = State.AwaitTuneOk;
      },
      tuned: (t) => {
        this.#channelMax = t.channelMax;
        this.#liveness.heartbeat = t.heartbeat;
        this.#reader.frameMax = t.frameMax;
        this.writer.frameMax = t.frameMax;
        this.#state = State.AwaitOpen;
      },
      opened: (vhost, vhostName) => {
        this.#vhost = vhost;
        this.vhostName = vhostName;
        this.#state = State.Open;
        this.#startHeartbeats();
      },
    };
  }

  // ---- ChannelHost -----------------------------------------------------------------------

  get vhost(): VirtualHost {
    return this.#vhost!;
  }

  get store(): Store {
    return this.#ctx.store;
  }

  get maxMessageSize(): number {
    return this.#ctx.config.maxMessageSize;
  }

  get consumerMaxPerChannel(): number | null {
    return this.#ctx.config.consumerMaxPerChannel;
  }

  get writable(): boolean {
    return !this.#writeBlocked && this.writer.pendingBytes < MAX_PENDING_OUTPUT && this.writer.pendingBytes < this.maxConnectionBuffer;
  }

  scheduleFlush(): void {
    if (this.#flushScheduled || this.#state === State.Closed) return;
    this.#flushScheduled = true;
    this.#ctx.scheduleFlush(this);
  }

  wantsFlushHook(ch: Channel): void {
    this.#flushHooks.add(ch);
    this.scheduleFlush();
  }

  channelClosed(ch: Channel): void {
    this.#table.remove(ch);
    this.#flushHooks.delete(ch);
  }

  afterInput(ch: Channel): void {
    this.#table.afterInput(ch);
  }

  checkPermission(kind: PermissionKind, resource: 'queue' | 'exchange', name: string): void {
    checkPermission(this.#ctx, this.username, this.vhostName, kind, resource, name);
  }

  get permissionEpoch(): number {
    return this.#ctx.permissionEpoch;
  }

  get alarmed(): boolean {
    return this.#ctx.alarms.size > 0;
  }

  blockForAlarm(): void {
    this.#gate.blockForAlarm(this.#ctx.alarms.has('memory') ? 'low on memory' : 'low on disk space');
  }

  unblockAfterAlarm(): void {
    this.#gate.unblockAfterAlarm();
  }

  /** Stops reading: frames already received but not handled wait in the frame reader. */
  #pauseInput(): void {
    this.#reader.pause();
    this.#socket.pause();
  }

  #resumeInput(): void {
    // Refused and closed connections never read again; a yield resumes on its own.
    if (this.#state >= State.Refused || this.#yielded) return;
    this.#socket.resume();
    try {
      this.#reader.resume(this.#frames);
      if (!this.#yielded) this.#table.inputHandled();
    } catch (e) {
      this.#onError(e);
    }
  }

  /** This client's input slice is used up: stop reading until others had their turn. */
  #yieldInput(): void {
    this.#yielded = true;
    this.#reader.pause();
    this.#socket.pause();
    if (this.#ctx.yieldInput !== undefined) this.#ctx.yieldInput(this);
    else setImmediate(() => this.resumeAfterYield());
  }

  /** A new slice: read again, unless a gate (flow, alarm, output) still holds the input. */
  resumeAfterYield(): void {
    if (!this.#yielded) return;
    this.#yielded = false;
    this.#slice.reset();
    if (!this.#gate.paused) this.#resumeInput();
  }

  throttle(queue: FlowSource): void {
    this.#gate.throttle(queue);
  }

  resumeFlow(queue: FlowSource): void {
    this.#gate.resumeFlow(queue);
  }

  /** True while reading is paused because the client does not take its output. */
  get outputFull(): boolean {
    return this.#gate.outputFull;
  }

  /** True while reading is paused by flow control. */
  get inFlow(): boolean {
    return this.#gate.inFlow;
  }

  // ---- inspection ------------------------------------------------------------------------

  get channels(): ReadonlyMap<number, Channel> {
    return this.#channels;
  }

  get isOpen(): boolean {
    return this.#state === State.Open;
  }

  get heartbeat(): number {
    return this.#liveness.heartbeat;
  }

  get frameMax(): number {
    return this.writer.frameMax;
  }

  get channelMax(): number {
    return this.#channelMax;
  }

  get blockedByBackpressure(): boolean {
    return this.#writeBlocked;
  }

  /** Bytes of output not yet taken by the client: encoded here, or held by the socket. */
  get pendingOutput(): number {
    return this.writer.pendingBytes + this.#socket.writableLength;
  }

  // ---- output ----------------------------------------------------------------------------

  /** Writes everything pending in one batch (called by the broker once per event-loop turn). */
  flush(): void {
    this.#flushScheduled = false;
    if (this.#state === State.Closed) return;
    if (this.#flushHooks.size > 0) this.runFlushHooks(this.#ctx.store.durableSeq);
    if (!this.writer.hasPending) return;
    this.stats.sendOct += this.writer.pendingBytes;
    this.#liveness.wrote(this.writer.pendingBytes);
    // write() says false past the high-water mark even when the kernel took it all: blocked only while bytes wait.
    if (!this.writer.flush(this.#socket, this.#socket.writableLength) && this.#socket.writableLength > 0) this.#writeBlocked = true;
    else this.#gate.drainOutput();
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
      for (const ch of this.#channels.values()) ch.resume();
      this.#gate.drainOutput();
    });
  };

  /**
   * Runs work started outside frame handling (socket events, timers, the broker's tick and
   * flush): a bug there closes this connection with 541, never the broker.
   */
  guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.#onError(e);
    }
  }

  #send(channel: number, m: Method): void {
    const frame08 = this.amqp08 ? methodFrameTo08(channel, m) : null;
    if (frame08 === null) this.writer.method(channel, m);
    else this.writer.raw(frame08);
    this.scheduleFlush();
  }

  // ---- input -----------------------------------------------------------------------------

  /** A read: from 'data', or from the socket's callback when it reads into ReadBuffers. */
  readonly receive = (chunk: Buffer): void => {
    this.#liveness.readSinceCheck = true;
    this.stats.recvOct += chunk.length;
    if (this.#state >= State.Refused) return;
    try {
      if (this.#state === State.AwaitHeader) {
        const rest = this.#handshake.readHeader(chunk);
        if (rest === null || rest.length === 0) return;
        chunk = rest;
      }
      this.#reader.push(chunk, this.#frames);
      // Frames read with a channel.close are handled before its close-ok, yield or not.
      if (!this.#yielded) this.#table.inputHandled();
    } catch (e) {
      this.#onError(e);
    }
  };

  /** Where a body frame split across reads goes (FrameHandler.bodyTarget). */
  bodyTarget(channel: number, size: number): Buffer | null {
    return this.#state === State.Open ? this.#table.bodyTarget(channel, size) : null;
  }

  onFrame(type: number, channel: number, payload: Buffer): void {
    if (this.#slice.count() && !this.#yielded) this.#yieldInput();
    if (this.amqp08 && type === FRAME_METHOD) payload = methodPayloadFrom08(payload);
    const admit = admitFrame(type, channel, payload, this.#state < State.AwaitOpen, this.#state === State.AwaitOpen);
    if (admit === Admit.Heartbeat) return;
    if (admit === Admit.Refuse) {
      this.log.warn({ type, channel }, 'frame before the handshake completed');
      this.#refuse();
      return;
    }
    if (admit === Admit.Connection) {
      this.#onConnectionMethod(decodeMethodFrame(this.#methodReader, payload));
      return;
    }
    if (this.#state !== State.Open) return; // closing: ignore
    const ch = this.#channels.get(channel);
    if (ch !== undefined) {
      ch.handleFrame(type, payload);
      // A client that does not read (returns, get-oks, deliveries, confirms piling up for it)
      // stops being read, as TCP backpressure would stop it, until its output drains.
      if (this.writer.pendingBytes + this.#socket.writableLength > this.maxConnectionBuffer) this.#gate.fillOutput();
      return;
    }
    this.#table.checkOpening(type, payload, this.#channelMax);
    this.#openChannel(channel);
  }

  #openChannel(id: number): void {
    this.#ctx.admitChannel?.(this);
    const ch = new Channel(id, this, this.log.child({ channel: id }));
    this.#channels.set(id, ch);
    this.#send(id, { id: CHANNEL_OPEN_OK, channelId: Buffer.alloc(0) });
  }

  #onConnectionMethod(m: Method): void {
    try {
      this.#connectionMethod(m);
    } catch (e) {
      if (e instanceof AmqpError) e.at(m.id);
      throw e;
    }
  }

  #connectionMethod(m: Method): void {
    if (this.#state === State.Closing) return closingConnectionMethod(m, this.#methodHost);
    if (this.#state === State.AwaitStartOk) return this.#handshake.onMethod(m, 'starting');
    if (this.#state === State.AwaitTuneOk) return this.#handshake.onMethod(m, 'tuning');
    if (this.#state === State.AwaitOpen) return this.#handshake.onMethod(m, 'opening');
    openConnectionMethod(m, this.#methodHost);
  }

  // ---- liveness --------------------------------------------------------------------------

  /** Called once a second by the broker. */
  tick(now: number): void {
    if (this.#state === State.Closed) return;
    if (this.#state === State.Open) for (const ch of this.#channels.values()) ch.checkAckTimeout(now, this.#ctx.config.consumerTimeout);
    // The handshake deadline runs until tune-ok; heartbeats (own timers) from connection.open.
    if (this.#state < State.AwaitOpen && this.#liveness.handshakeExpired()) {
      this.log.warn('closing connection: handshake not completed within 10 s');
      this.#reset();
    } else if (this.#gate.outputStuck(now, this.#ctx.config.pausedOutputTimeout)) {
      this.log.warn({ pendingOutput: this.pendingOutput }, `closing connection: its output was not taken for ${this.#ctx.config.pausedOutputTimeout}s (paused output timeout)`);
      this.#reset();
    }
  }

  /** connection.open: heartbeats start (see liveness.ts for their timing). */
  #startHeartbeats(): void {
    this.#liveness.start({
      sendHeartbeat: () => {
        if (this.#writeBlocked) return; // it would only wait behind what the client is not reading
        this.writer.heartbeat();
        this.scheduleFlush();
      },
      peerSilent: () => this.#safely(() => {
        this.log.warn({ pendingOutput: this.pendingOutput }, `missed heartbeats from client, timeout: ${this.#liveness.heartbeat}s`);
        this.#reset();
      }),
      paused: () => this.#gate.paused,
      outputTaken: () => (this.#gate.outputFull ? this.stats.sendOct - this.#socket.writableLength : -1),
    });
  }

  // ---- errors and closing ----------------------------------------------------------------

  #onError(e: unknown): void {
    if (this.#state >= State.Refused) return;
    const outcome = errorOutcome(e, this.#state < State.AwaitOpen);
    if (outcome.kind === 'reset') {
      this.log.warn({ reason: outcome.reason }, 'undecodable frame from the client; closing the socket');
      this.#reset();
    } else if (outcome.kind === 'refuse') {
      this.log.warn({ reason: outcome.reason }, 'bad frame before the handshake completed');
      this.#refuse();
    } else {
      if (outcome.internal) this.log.error({ err: e }, 'internal error while handling this connection; closing it with 541');
      this.#closeWith(outcome.error);
    }
  }

  /** Hard error or shutdown: send connection.close, release everything, await close-ok. */
  #closeWith(e: ConnectionError): void {
    if (this.#state >= State.Closing) return;
    const level = e.codeName === 'CONNECTION_FORCED' ? 'info' : 'warn';
    this.log[level]({ code: e.replyCode, text: e.replyText, classId: e.classId, methodId: e.methodId }, 'closing connection');
    this.#send(0, { id: CONNECTION_CLOSE, replyCode: e.replyCode, replyText: e.replyText, classId: e.classId, methodId: e.methodId });
    this.#table.releaseAll();
    this.#state = State.Closing;
    this.#closeTimer = setTimeout(() => this.#destroy(), CLOSE_TIMEOUT_MS);
    this.#closeTimer.unref();
  }

  /** Broker shutdown: 320 CONNECTION_FORCED, as RabbitMQ sends it. */
  forceClose(reason = 'shutdown'): void {
    if (this.#state < State.Open || this.#state === State.Refused) {
      this.#destroy();
      return;
    }
    this.#closeWith(new ConnectionError('CONNECTION_FORCED', `broker forced connection closure with reason '${reason}'`));
  }

  /** Closes with a hard error from outside (management API, tests). */
  closeWithError(e: ConnectionError): void {
    this.#closeWith(e);
  }

  readonly #onSocketError = (err: Error): void => {
    this.log.debug({ err: err.message }, 'socket error');
    this.#destroy();
  };

  readonly #onSocketEnd = (): void => {
    // The client half-closed: nothing more will arrive, so finish our side.
    this.#safely(() => this.#endSocket('client closed the socket'));
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
  #endSocket(reason = 'closed'): void {
    if (this.#state === State.Closed) return;
    this.flush();
    this.#teardown(reason);
    this.#socket.end();
  }

  #destroy(): void {
    this.#teardown('closed');
    this.#socket.destroy();
  }

  /** Drops the socket with a TCP reset, as RabbitMQ's sockets do (linger 0) when it gives up on a client. */
  #reset(): void {
    this.#teardown('closed');
    const s = this.#socket as Duplex & { resetAndDestroy?: () => void; readyState?: string };
    if (s.resetAndDestroy !== undefined && s.readyState === 'open') s.resetAndDestroy();
    else s.destroy();
  }

  /** A mistake before tune-ok: say nothing, stop reading, and reset the socket after a delay, as RabbitMQ does. */
  #refuse(): void {
    if (this.#state >= State.Refused) return;
    this.#state = State.Refused;
    this.#pauseInput();
    this.#closeTimer = setTimeout(() => this.#reset(), SILENT_CLOSE_DELAY_MS);
    this.#closeTimer.unref();
  }

  /** Releases everything the connection holds; idempotent. */
  #teardown(reason: string): void {
    if (this.#state === State.Closed) return;
    const wasOpen = this.#state === State.Open || this.#state === State.Closing;
    this.#table.clear();
    this.#flushHooks.clear();
    this.#gate.clear();
    this.#liveness.stop();
    this.#state = State.Closed;
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    if (this.#vhost) this.#vhost.removeExclusiveQueues(this);
    if (wasOpen) this.log.info({ reason }, 'connection closed');
    this.#ctx.connectionClosed(this);
  }
}
