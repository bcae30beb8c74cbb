// One client connection, its protocol side: the handshake's steps (decided in handshake.ts and
// sasl.ts) moving the connection through its states, frames read from the socket and routed to
// channel 0 or the channel table, reading paused and resumed per input slice, and what channels
// ask of their connection (ChannelHost). Output, heartbeats and the ways a connection ends are
// its socket side (connection-socket.ts). Works over any Duplex (a TCP socket, or a stream pair
// in tests). Hard errors close this connection with connection.close; anything unexpected
// becomes 541 INTERNAL_ERROR for this connection alone and is logged with its stack.

import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { PermissionKind } from '../auth/access.js';
import { methodPayloadFrom08 } from '../codec/amqp08.js';
import { BufferReader } from '../codec/buffer-reader.js';
import type { FieldTable } from '../codec/field-table.js';
import { FrameReader, type FrameHandler } from '../codec/frame-reader.js';
import { decodeMethodFrame } from '../codec/method-frame.js';
import { CHANNEL_OPEN_OK, FRAME_HEARTBEAT, FRAME_METHOD, FRAME_MIN_SIZE, type Method } from '../codec/methods.generated.js';
import { AmqpError } from '../errors.js';
import type { VirtualHost } from '../routing/vhost.js';
import type { Store } from '../store/store.js';
import { socketEnds } from '../util/address.js';
import { Channel, type ChannelHost } from './channel.js';
import { closingConnectionMethod, openConnectionMethod, type ConnectionMethodHost } from './connection-methods.js';
import { AWAIT_HEADER, AWAIT_OPEN, AWAIT_START_OK, AWAIT_TUNE_OK, CLOSING, ConnectionSocket, OPEN, REFUSED, type SocketContext } from './connection-socket.js';
import { checkPermission } from './context.js';
import { Admit, admitFrame } from './frame-admission.js';
import { Handshake, type HandshakeContext, type HandshakeHost } from './handshake.js';
import type { HostedChannel } from './host.js';
import { InputSlice } from './input-slice.js';
import { pinningHandler, type ReadBuffers } from './read-buffers.js';
import type { TlsClient } from './sasl.js';

/**
 * What a connection needs from the broker that accepted it: configuration, the store, users and
 * permissions, vhosts, resource alarms, and the broker's per-turn flush. Broker implements it;
 * tests pass their own.
 */
export interface ConnectionContext extends HandshakeContext, SocketContext {
  readonly log: Logger;
  permits(user: string, vhost: string, kind: PermissionKind, name: string): boolean;
  /** Changes whenever any permission changes. */
  readonly permissionEpoch: number;
  /** Flush this connection's output at the end of the event-loop turn. */
  scheduleFlush(conn: Connection): void;
  /**
   * The connection used up its input slice and paused reading: call its resumeAfterYield()
   * after this turn's output is flushed (without this, it resumes on its own setImmediate).
   */
  yieldInput?(conn: Connection): void;
  connectionClosed(conn: Connection): void;
  /** Throws 530 when the user's max-channels limit is reached (channel.open). */
  admitChannel?(conn: Connection): void;
}

export class Connection extends ConnectionSocket implements ChannelHost {
  readonly #ctx: ConnectionContext;
  readonly #reader: FrameReader;
  readonly #frames: FrameHandler; // this, or a wrapper noting what pins the read buffer (ReadBuffers)
  readonly #methodReader = new BufferReader(Buffer.alloc(0));
  readonly #handshake: Handshake;
  readonly #methodHost: ConnectionMethodHost;
  readonly #slice = new InputSlice();
  /** Reading paused at the end of an input slice, until resumeAfterYield(). */
  #yielded = false;
  /** Negotiated in tune-ok. */
  #channelMax = 0;

  username = '';
  vhostName = '';
  clientProperties: FieldTable = new Map();
  consumerCancelNotify = false;
  authenticationFailureClose = false;
  readonly connectedAt = Date.now();
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  readonly overTls: boolean;
  /** Message counts of this connection's channels that have closed (open ones keep theirs in Channel.stats). */
  readonly closedChannelStats = this.table.closedStats;
  /** Bytes held for messages still arriving on this connection's channels (the channels keep it). */
  contentHeld = 0;

  /** `tls`: the client came through the TLS listener (EXTERNAL is offered); `reads`: see receive(). */
  constructor(id: number, socket: Duplex, ctx: ConnectionContext, tls: TlsClient | null = null, reads: ReadBuffers | null = null) {
    super(id, socket, ctx, reads !== null); // a TCP socket of ours: the writer's slabs may be reused
    this.overTls = tls !== null;
    this.#ctx = ctx;
    // Until tune-ok, as RabbitMQ 3.10 (measured): frame payloads of at most FRAME_MIN_SIZE
    // bytes (4096; FrameReader's limit is frameMax less the 8 bytes of frame overhead).
    this.#reader = new FrameReader(FRAME_MIN_SIZE + 8);
    ({ remoteAddress: this.remoteAddress, remotePort: this.remotePort, localAddress: this.localAddress, localPort: this.localPort } = socketEnds(socket));
    this.#methodHost = { log: this.log, send: (m) => this.send(0, m), endSocket: (reason) => this.endSocket(reason), destroy: () => this.destroy() };
    this.#handshake = new Handshake(ctx, this.#handshakeHost(), this.log, { address: this.remoteAddress, port: this.remotePort }, tls);
    this.#frames = reads === null ? this : pinningHandler(this, reads, this.table, this.#reader);
    if (reads === null) socket.on('data', this.receive);
  }

  /** The handshake advances this connection through these (created once per connection). */
  #handshakeHost(): HandshakeHost {
    return {
      send: (m) => this.send(0, m),
      writeRaw: (bytes) => this.writer.raw(bytes),
      refuse: () => this.refuse(),
      endSocket: () => this.endSocket(),
      closeWith: (e) => this.closeWith(e),
      started: (protocol) => {
        this.state = AWAIT_START_OK;
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
        this.state = AWAIT_TUNE_OK;
      },
      tuned: (t) => {
        this.#channelMax = t.channelMax;
        this.liveness.heartbeat = t.heartbeat;
        this.#reader.frameMax = t.frameMax;
        this.writer.frameMax = t.frameMax;
        this.state = AWAIT_OPEN;
      },
      opened: (vhost, vhostName) => {
        this.openVhost = vhost;
        this.vhostName = vhostName;
        this.state = OPEN;
        this.startHeartbeats();
      },
    };
  }

  protected override flushAtTurnEnd(): void {
    this.#ctx.scheduleFlush(this);
  }

  protected override gone(): void {
    this.#ctx.connectionClosed(this);
  }

  // ---- ChannelHost -----------------------------------------------------------------------

  get vhost(): VirtualHost {
    return this.openVhost!;
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

  afterInput(ch: HostedChannel): void {
    this.table.afterInput(ch);
  }

  checkPermission(kind: PermissionKind, resource: 'queue' | 'exchange', name: string): void {
    checkPermission(this.#ctx, this.username, this.vhostName, kind, resource, name);
  }

  get permissionEpoch(): number {
    return this.#ctx.permissionEpoch;
  }

  // ---- inspection ------------------------------------------------------------------------

  get channels(): ReadonlyMap<number, Channel> {
    return this.table.byId;
  }

  get isOpen(): boolean {
    return this.state === OPEN;
  }

  get heartbeat(): number {
    return this.liveness.heartbeat;
  }

  get frameMax(): number {
    return this.writer.frameMax;
  }

  get channelMax(): number {
    return this.#channelMax;
  }

  // ---- input -----------------------------------------------------------------------------

  /** A read: from 'data', or from the socket's callback when it reads into ReadBuffers (`ab`: its ArrayBuffer, when known). */
  readonly receive = (chunk: Buffer, ab?: ArrayBufferLike): void => {
    this.liveness.readSinceCheck = true;
    this.stats.recvOct += chunk.length;
    if (this.state >= REFUSED) return;
    try {
      if (this.state === AWAIT_HEADER) {
        const rest = this.#handshake.readHeader(chunk);
        if (rest === null || rest.length === 0) return;
        chunk = rest;
        ab = undefined;
      }
      this.#reader.push(chunk, this.#frames, ab);
      // Frames read with a channel.close are handled before its close-ok, yield or not.
      if (!this.#yielded) this.table.inputHandled();
    } catch (e) {
      this.onError(e);
    }
  };

  /** Where a body frame split across reads goes (FrameHandler.bodyTarget). */
  bodyTarget(channel: number, size: number): Buffer | null {
    return this.state === OPEN ? this.table.bodyTarget(channel, size) : null;
  }

  onFrame(type: number, channel: number, payload: Buffer): void {
    if (this.#slice.count() && !this.#yielded) this.#yieldInput();
    if (this.amqp08 && type === FRAME_METHOD) payload = methodPayloadFrom08(payload);
    // Nearly every frame: an open connection, a frame for a channel (admitFrame lets it through).
    if (channel !== 0 && type !== FRAME_HEARTBEAT && this.state === OPEN) {
      const ch = this.table.get(channel);
      if (ch !== undefined) {
        this.#toChannel(ch, type, payload);
        return;
      }
    }
    const admit = admitFrame(type, channel, payload, this.state < AWAIT_OPEN, this.state === AWAIT_OPEN);
    if (admit === Admit.Heartbeat) return;
    if (admit === Admit.Refuse) {
      this.log.warn({ type, channel }, 'frame before the handshake completed');
      this.refuse();
      return;
    }
    if (admit === Admit.Connection) {
      this.#onConnectionMethod(decodeMethodFrame(this.#methodReader, payload));
      return;
    }
    if (this.state !== OPEN) return; // closing: ignore
    const ch = this.table.get(channel);
    if (ch !== undefined) {
      this.#toChannel(ch, type, payload);
      return;
    }
    this.table.checkOpening(type, payload, this.#channelMax);
    this.#openChannel(channel);
  }

  #toChannel(ch: Channel, type: number, payload: Buffer): void {
    ch.handleFrame(type, payload);
    // A client that does not read (returns, get-oks, deliveries, confirms piling up for it)
    // stops being read, as TCP backpressure would stop it, until its output drains.
    if (this.writer.pendingBytes + this.socket.writableLength > this.maxConnectionBuffer) this.gate.fillOutput();
  }

  #openChannel(id: number): void {
    this.#ctx.admitChannel?.(this);
    const ch = new Channel(id, this, this.log.child({ channel: id }));
    this.table.add(ch);
    this.send(id, { id: CHANNEL_OPEN_OK, channelId: Buffer.alloc(0) });
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
    if (this.state === CLOSING) return closingConnectionMethod(m, this.#methodHost);
    if (this.state === AWAIT_START_OK) return this.#handshake.onMethod(m, 'starting');
    if (this.state === AWAIT_TUNE_OK) return this.#handshake.onMethod(m, 'tuning');
    if (this.state === AWAIT_OPEN) return this.#handshake.onMethod(m, 'opening');
    openConnectionMethod(m, this.#methodHost);
  }

  // ---- paced input -----------------------------------------------------------------------

  protected override pauseInput(): void {
    this.#reader.pause();
    this.socket.pause();
  }

  protected override resumeInput(): void {
    // Refused and closed connections never read again; a yield resumes on its own.
    if (this.state >= REFUSED || this.#yielded) return;
    this.socket.resume();
    try {
      this.#reader.resume(this.#frames);
      if (!this.#yielded) this.table.inputHandled();
    } catch (e) {
      this.onError(e);
    }
  }

  /** This client's input slice is used up: stop reading until others had their turn. */
  #yieldInput(): void {
    this.#yielded = true;
    this.#reader.pause();
    this.socket.pause();
    if (this.#ctx.yieldInput !== undefined) this.#ctx.yieldInput(this);
    else setImmediate(() => this.resumeAfterYield());
  }

  /** A new slice: read again, unless a gate (flow, alarm, output) still holds the input. */
  resumeAfterYield(): void {
    if (!this.#yielded) return;
    this.#yielded = false;
    this.#slice.reset();
    if (!this.gate.paused) this.resumeInput();
  }
}
