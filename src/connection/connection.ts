// One client connection: the socket's lifecycle, the connection states, frame routing to the
// channel table, batched writes and flow control. The handshake's decisions live in handshake.ts
// (and sasl.ts), heartbeat bookkeeping in liveness.ts. Works over any Duplex (a TCP socket, or a
// stream pair in tests). Hard errors close this connection with connection.close; anything
// unexpected becomes 541 INTERNAL_ERROR for this connection alone and is logged with its stack.

import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { BufferReader } from '../codec/buffer-reader.js';
import type { FieldTable } from '../codec/field-table.js';
import { FrameReader, octetsSnippet } from '../codec/frame-reader.js';
import { decodeMethodFrame } from '../codec/method-frame.js';
import { FrameWriter } from '../codec/frame-writer.js';
import {
  CHANNEL_OPEN,
  CHANNEL_OPEN_OK,
  CONNECTION_BLOCKED,
  CONNECTION_CLOSE,
  CONNECTION_CLOSE_OK,
  CONNECTION_OPEN,
  CONNECTION_START_OK,
  CONNECTION_TUNE_OK,
  CONNECTION_UNBLOCKED,
  CONNECTION_UPDATE_SECRET,
  CONNECTION_UPDATE_SECRET_OK,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  type Method,
} from '../codec/methods.generated.js';
import type { PermissionKind } from '../auth/access.js';
import { AmqpError, ChannelError, ConnectionError } from '../errors.js';
import type { VirtualHost } from '../routing/vhost.js';
import type { Store, WriteRange } from '../store/store.js';
import type { FlowWaiter, Queue } from '../queue/queue.js';
import { Channel, type ChannelHost } from './channel.js';
import { closeReason } from './close-reason.js';
import type { ConnectionContext } from './context.js';
import { Handshake, type HandshakeHost } from './handshake.js';
import type { TlsClient } from './sasl.js';
import { InputGate } from './input-gate.js';
import { Liveness, Tick } from './liveness.js';

export type { ConnectionContext } from './context.js';

/** Output queued beyond this (or beyond the connection's buffer) stops deliveries until the socket drains. */
const MAX_PENDING_OUTPUT = 1024 * 1024;
/** How long we wait for close-ok after sending connection.close. */
const CLOSE_TIMEOUT_MS = 3000;

const enum State {
  AwaitHeader,
  AwaitStartOk,
  AwaitTuneOk,
  AwaitOpen,
  Open,
  Closing,
  Closed,
}

export class Connection implements ChannelHost, FlowWaiter {
  readonly id: number;
  readonly log: Logger;
  readonly writer: FrameWriter;
  readonly #socket: Duplex;
  readonly #ctx: ConnectionContext;
  readonly #reader: FrameReader;
  readonly #methodReader = new BufferReader(Buffer.alloc(0));
  readonly #channels = new Map<number, Channel>();
  readonly #flushHooks = new Set<Channel>();
  /** Channels to call back once the frames of the current read are handled (see afterInput). */
  #afterInput: Channel[] = [];
  #state = State.AwaitHeader;
  readonly #handshake: Handshake;
  readonly #liveness = new Liveness();
  #writeBlocked = false;
  #flushScheduled = false;
  /** Negotiated in tune-ok. */
  #channelMax = 0;
  #closeTimer: NodeJS.Timeout | null = null;
  /** Why reading is paused: flow control, or a resource alarm (connection.blocked was sent if the client can hear it). */
  readonly #gate = new InputGate();

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
  readonly closedChannelStats = { channels: 0, published: 0, delivered: 0, acked: 0 };
  /** Our output waiting for the client may reach this before we stop reading it; see config. */
  readonly maxConnectionBuffer: number;
  /** Bytes held for messages still arriving on this connection's channels (the channels keep it). */
  contentHeld = 0;

  /** `tls`: the client came through the TLS listener (EXTERNAL is offered, with its certificate). */
  constructor(id: number, socket: Duplex, ctx: ConnectionContext, tls: TlsClient | null = null) {
    this.id = id;
    this.overTls = tls !== null;
    this.#socket = socket;
    this.#ctx = ctx;
    this.log = ctx.log.child({ conn: id });
    this.#reader = new FrameReader(ctx.config.frameMax);
    this.writer = new FrameWriter(ctx.config.frameMax);
    this.maxConnectionBuffer = ctx.config.maxConnectionBuffer;
    const s = socket as Duplex & { remoteAddress?: string; remotePort?: number; localAddress?: string; localPort?: number; setNoDelay?: (b: boolean) => void };
    this.remoteAddress = s.remoteAddress ?? 'local';
    this.remotePort = s.remotePort ?? 0;
    this.localAddress = s.localAddress ?? 'local';
    this.localPort = s.localPort ?? 0;
    s.setNoDelay?.(true);
    this.#handshake = new Handshake(ctx, this.#handshakeHost(), this.log, this.remoteAddress, tls);
    socket.on('data', this.#onData);
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
      destroy: () => this.#destroy(),
      endSocket: () => this.#endSocket(),
      closeWith: (e) => this.#closeWith(e),
      started: () => (this.#state = State.AwaitStartOk),
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
    if (this.#channels.get(ch.id) === ch) {
      this.#channels.delete(ch.id);
      this.#retire(ch);
    }
    this.#flushHooks.delete(ch);
  }

  afterInput(ch: Channel): void {
    this.#afterInput.push(ch);
  }

  /** The frames of one read are handled: what waited for that (a client close's close-ok) goes. */
  #inputHandled(): void {
    if (this.#afterInput.length === 0) return;
    const chs = this.#afterInput;
    this.#afterInput = [];
    for (const ch of chs) ch.afterInput();
  }

  checkPermission(kind: PermissionKind, resource: 'queue' | 'exchange', name: string): void {
    // The default exchange is 'amq.default' to permissions, as in RabbitMQ.
    const n = resource === 'exchange' && name === '' ? 'amq.default' : name;
    if (!this.#ctx.permits(this.username, this.vhostName, kind, n)) {
      throw new ChannelError('ACCESS_REFUSED', `access to ${resource} '${n}' in vhost '${this.vhostName}' refused for user '${this.username}'`);
    }
  }

  get permissionEpoch(): number {
    return this.#ctx.permissionEpoch;
  }

  get alarmed(): boolean {
    return this.#ctx.alarms.size > 0;
  }

  blockForAlarm(): void {
    if (this.#gate.blockedByAlarm || this.#state !== State.Open) return;
    const reason = this.#ctx.alarms.has('memory') ? 'low on memory' : 'low on disk space';
    this.log.info({ reason }, 'publisher blocked by a resource alarm');
    if (this.connectionBlockedCapable) this.#send(0, { id: CONNECTION_BLOCKED, reason });
    if (this.#gate.blockForAlarm()) this.#pauseInput();
  }

  /** The alarms cleared: read again and tell the client. */
  unblockAfterAlarm(): void {
    if (!this.#gate.blockedByAlarm) return;
    const resume = this.#gate.unblockAfterAlarm();
    if (this.#state !== State.Open) return;
    if (this.connectionBlockedCapable) this.#send(0, { id: CONNECTION_UNBLOCKED });
    if (resume) this.#resumeInput();
    this.log.info('publisher unblocked');
  }

  /** Stops reading: frames already received but not handled wait in the frame reader. */
  #pauseInput(): void {
    this.#reader.pause();
    this.#socket.pause();
  }

  #resumeInput(): void {
    if (this.#state === State.Closed) return;
    this.#socket.resume();
    try {
      this.#reader.resume(this);
      this.#inputHandled();
    } catch (e) {
      this.#onError(e);
    }
  }

  get blockedByAlarm(): boolean {
    return this.#gate.blockedByAlarm;
  }

  throttle(queue: Queue): void {
    if (this.#gate.isThrottledBy(queue) || this.#state !== State.Open) return;
    // Never pause a client that consumes from the same queue: it may be waiting to write
    // before it reads again, and then neither side would move.
    for (const ch of this.#channels.values()) {
      for (const c of ch.consumers.values()) if (c.queue === queue) return;
    }
    if (this.#gate.throttle(queue)) {
      this.#pauseInput();
      this.log.debug({ queue: queue.name }, 'flow: publisher paused while the queue drains');
    }
    queue.addFlowWaiter(this);
  }

  resumeFlow(queue: Queue): void {
    if (this.#gate.resumeFlow(queue)) this.#resumeInput();
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
    if (!this.writer.flush(this.#socket)) this.#writeBlocked = true;
    // Under the socket's own high-water mark there will be no 'drain': read again now.
    else if (this.#gate.drainOutput()) this.#resumeInput();
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
      if (this.#gate.drainOutput()) this.#resumeInput();
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
    this.writer.method(channel, m);
    this.scheduleFlush();
  }

  // ---- input -----------------------------------------------------------------------------

  readonly #onData = (chunk: Buffer): void => {
    this.#liveness.readSinceTick = true;
    this.stats.recvOct += chunk.length;
    if (this.#state === State.Closed) return;
    try {
      if (this.#state === State.AwaitHeader) {
        const rest = this.#handshake.readHeader(chunk);
        if (rest === null || rest.length === 0) return;
        chunk = rest;
      }
      this.#reader.push(chunk, this);
      this.#inputHandled();
    } catch (e) {
      this.#onError(e);
    }
  };

  onFrame(type: number, channel: number, payload: Buffer): void {
    if (type === FRAME_HEARTBEAT) {
      if (channel !== 0) throw new ConnectionError('UNEXPECTED_FRAME', `type ${type}, ${octetsSnippet(payload)}`);
      return;
    }
    if (this.#state < State.AwaitOpen) {
      // Before tune-ok only the handshake's own methods may come; RabbitMQ drops anything else.
      if (channel !== 0 || type !== FRAME_METHOD) {
        this.log.warn({ type, channel }, 'frame before the handshake completed; closing the socket');
        this.#destroy();
        return;
      }
    } else if (channel !== 0 && this.#state === State.AwaitOpen) {
      throw new ConnectionError('UNEXPECTED_FRAME', `type ${type}, ${octetsSnippet(payload)}`);
    }
    if (channel === 0) {
      if (type !== FRAME_METHOD) {
        throw new ConnectionError('UNEXPECTED_FRAME', 'expected method frame, got non method frame instead');
      }
      this.#onConnectionMethod(decodeMethodFrame(this.#methodReader, payload));
      return;
    }
    if (this.#state !== State.Open) return; // closing: ignore
    const ch = this.#channels.get(channel);
    if (ch !== undefined) {
      ch.handleFrame(type, payload);
      // A client that does not read (returns, get-oks, deliveries, confirms piling up for it)
      // stops being read, as TCP backpressure would stop it, until its output drains.
      if (this.writer.pendingBytes + this.#socket.writableLength > this.maxConnectionBuffer && this.#gate.fillOutput()) this.#pauseInput();
      return;
    }
    // A number nobody holds: like RabbitMQ's reader, a new channel (refused over channel_max)
    // that expects a method, and that method must be channel.open.
    if (this.#channels.size >= this.#channelMax) {
      throw new ConnectionError(
        'NOT_ALLOWED',
        `number of channels opened (${this.#channels.size}) has reached the negotiated channel_max (${this.#channelMax})`,
      );
    }
    if (type !== FRAME_METHOD) throw new ConnectionError('UNEXPECTED_FRAME', 'expected method frame, got non method frame instead');
    const id = payload.length >= 4 ? payload.readUInt32BE(0) : 0;
    if (id !== CHANNEL_OPEN) {
      throw new ConnectionError('CHANNEL_ERROR', "expected 'channel.open'", { classId: id >>> 16, methodId: id & 0xffff });
    }
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
    if (this.#state === State.Closing) {
      if (m.id === CONNECTION_CLOSE_OK) this.#destroy();
      else if (m.id === CONNECTION_CLOSE) {
        this.#send(0, { id: CONNECTION_CLOSE_OK });
        this.#endSocket();
      }
      return;
    }
    switch (this.#state) {
      case State.AwaitStartOk:
        if (m.id !== CONNECTION_START_OK) return this.#handshake.unexpected(m);
        return this.#handshake.startOk(m.mechanism, m.response, m.clientProperties);
      case State.AwaitTuneOk:
        if (m.id !== CONNECTION_TUNE_OK) return this.#handshake.unexpected(m);
        return this.#handshake.tuneOk(m.channelMax, m.frameMax, m.heartbeat);
      case State.AwaitOpen:
        if (m.id === CONNECTION_CLOSE) break;
        if (m.id !== CONNECTION_OPEN) return this.#handshake.unexpected(m);
        return this.#handshake.open(m.virtualHost, this.remotePort);
      default:
        break;
    }
    switch (m.id) {
      case CONNECTION_CLOSE:
        this.log.info({ code: m.replyCode, text: m.replyText }, 'client closed the connection');
        this.#send(0, { id: CONNECTION_CLOSE_OK });
        this.#endSocket('client closed the connection');
        return;
      case CONNECTION_CLOSE_OK:
        return;
      case CONNECTION_UPDATE_SECRET:
        this.#send(0, { id: CONNECTION_UPDATE_SECRET_OK });
        return;
      case CONNECTION_BLOCKED:
      case CONNECTION_UNBLOCKED:
        return;
      default:
        throw new ConnectionError('CHANNEL_ERROR', 'unexpected method in connection state running');
    }
  }

  // ---- heartbeats ------------------------------------------------------------------------

  /** Called once a second by the broker. */
  tick(now: number): void {
    if (this.#state === State.Closed) return;
    if (this.#state === State.Open) {
      for (const ch of this.#channels.values()) ch.checkAckTimeout(now, this.#ctx.config.consumerTimeout);
    }
    // The handshake deadline runs until tune-ok; heartbeats apply from then on.
    switch (this.#liveness.tick(this.#state < State.AwaitOpen, this.#gate.paused)) {
      case Tick.HandshakeTimeout:
        this.log.warn('closing connection: handshake not completed within 10 s');
        this.#destroy();
        return;
      case Tick.PeerSilent:
        this.log.warn(`missed heartbeats from client, timeout: ${this.#liveness.heartbeat}s; closing`);
        this.#destroy();
        return;
      case Tick.SendHeartbeat:
        if (this.#writeBlocked) return; // it would only wait behind what the client is not reading
        this.writer.heartbeat();
        this.scheduleFlush();
        return;
      case Tick.None:
        return;
    }
  }

  // ---- errors and closing ----------------------------------------------------------------

  #onError(e: unknown): void {
    if (this.#state === State.Closed) return;
    const reason = closeReason(e, this.log);
    if (reason === null) this.#destroy();
    else this.#closeWith(reason);
  }

  /** Hard error or shutdown: send connection.close, release everything, await close-ok. */
  #closeWith(e: ConnectionError): void {
    if (this.#state === State.Closing || this.#state === State.Closed) return;
    const level = e.codeName === 'CONNECTION_FORCED' ? 'info' : 'warn';
    this.log[level]({ code: e.replyCode, text: e.replyText, classId: e.classId, methodId: e.methodId }, 'closing connection');
    this.#send(0, { id: CONNECTION_CLOSE, replyCode: e.replyCode, replyText: e.replyText, classId: e.classId, methodId: e.methodId });
    this.#releaseChannels();
    this.#state = State.Closing;
    this.#closeTimer = setTimeout(() => this.#destroy(), CLOSE_TIMEOUT_MS);
    this.#closeTimer.unref();
  }

  /** Broker shutdown: 320 CONNECTION_FORCED, as RabbitMQ sends it. */
  forceClose(reason = 'shutdown'): void {
    if (this.#state < State.Open) {
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

  /** Keeps a closing channel's counts (for the broker-wide totals of the HTTP API and /metrics). */
  #retire(ch: Channel): void {
    const t = this.closedChannelStats;
    t.channels++;
    t.published += ch.stats.published;
    t.delivered += ch.stats.delivered;
    t.acked += ch.stats.acked;
  }

  #releaseChannels(): void {
    for (const ch of this.#channels.values()) ch.release();
  }

  /** Releases everything the connection holds; idempotent. */
  #teardown(reason: string): void {
    if (this.#state === State.Closed) return;
    const wasOpen = this.#state === State.Open || this.#state === State.Closing;
    this.#releaseChannels();
    for (const ch of this.#channels.values()) this.#retire(ch);
    this.#channels.clear();
    this.#flushHooks.clear();
    for (const q of this.#gate.clear()) q.removeFlowWaiter(this);
    this.#state = State.Closed;
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    if (this.#vhost) this.#vhost.removeExclusiveQueues(this);
    if (wasOpen) this.log.info({ reason }, 'connection closed');
    this.#ctx.connectionClosed(this);
  }
}
