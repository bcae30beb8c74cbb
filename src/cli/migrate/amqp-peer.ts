// A small AMQP 0-9-1 client for `warren migrate`, on warren's own codec: one connection, one
// channel, and the methods moving messages needs (passive queue.declare, pipelined basic.get,
// basic.ack, basic.publish with publisher confirms). A message's content header travels as
// bytes, so properties and header tables reach warren exactly as RabbitMQ kept them (no
// client library's idea of field types in between). Every input is bounded: frames by the
// negotiated frame_max, a message body by `maxBodyBytes`, each wait by `timeoutMs`.

import { connect as netConnect, type Socket } from 'node:net';
import { BufferReader } from '../../codec/buffer-reader.js';
import { BufferWriter } from '../../codec/buffer-writer.js';
import { F, type FieldTable } from '../../codec/field-table.js';
import { FrameReader } from '../../codec/frame-reader.js';
import { decodeMethodFrame } from '../../codec/method-frame.js';
import {
  BASIC_ACK,
  BASIC_GET,
  BASIC_GET_EMPTY,
  BASIC_GET_OK,
  BASIC_NACK,
  BASIC_PUBLISH,
  BASIC_RETURN,
  CHANNEL_CLOSE,
  CHANNEL_CLOSE_OK,
  CHANNEL_OPEN,
  CHANNEL_OPEN_OK,
  CONFIRM_SELECT,
  CONFIRM_SELECT_OK,
  CONNECTION_BLOCKED,
  CONNECTION_CLOSE,
  CONNECTION_CLOSE_OK,
  CONNECTION_OPEN,
  CONNECTION_OPEN_OK,
  CONNECTION_START,
  CONNECTION_START_OK,
  CONNECTION_TUNE,
  CONNECTION_TUNE_OK,
  CONNECTION_UNBLOCKED,
  encodeMethod,
  methodName,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  QUEUE_DECLARE,
  QUEUE_DECLARE_OK,
  type Method,
} from '../../codec/methods.generated.js';

const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
/** What we offer in tune-ok at most (RabbitMQ's default). */
const OUR_FRAME_MAX = 131072;

export interface PeerOptions {
  /** amqp://user:pass@host:port (the vhost comes separately). */
  readonly url: string;
  readonly vhost: string;
  /** Longest wait for any one answer. */
  readonly timeoutMs?: number;
  /** Largest message body accepted from the peer. */
  readonly maxBodyBytes?: number;
  /** For the peer's connection list (connection_name). */
  readonly name?: string;
  /** Who the peer is, in messages ("RabbitMQ", "warren"). */
  readonly label?: string;
}

/** One message from basic.get: its routing, its content header's property bytes, its body. */
export interface GotMessage {
  readonly deliveryTag: number;
  readonly redelivered: boolean;
  readonly exchange: string;
  readonly routingKey: string;
  /** Messages left in the queue after this one, as the peer counted them. */
  readonly messageCount: number;
  /** Property flags and property list, as in the content header after class, weight and size. */
  readonly properties: Buffer;
  readonly body: Buffer;
}

/** The peer closed the channel or the connection, or the socket went away. */
export class PeerError extends Error {
  override readonly name = 'PeerError';
  readonly replyCode: number;

  constructor(message: string, replyCode = 0) {
    super(message);
    this.replyCode = replyCode;
  }
}

interface Waiter {
  readonly expect: ReadonlySet<number>;
  readonly resolve: (m: Method, content: GotMessage | null) => void;
  readonly reject: (e: Error) => void;
}

/** Parses amqp://user:pass@host:port; throws with the reason. */
export function parseAmqpUrl(url: string): { host: string; port: number; user: string; password: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(url)} (expected amqp://user:password@host:5672)`);
  }
  if (u.protocol !== 'amqp:') throw new Error(`${JSON.stringify(url)}: only amqp:// URLs are supported`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: u.port === '' ? 5672 : Number(u.port),
    user: u.username === '' ? 'guest' : decodeURIComponent(u.username),
    password: u.password === '' ? 'guest' : decodeURIComponent(u.password),
  };
}

export class AmqpPeer {
  readonly #socket: Socket;
  readonly #reader = new FrameReader(OUR_FRAME_MAX);
  readonly #methodReader = new BufferReader(Buffer.alloc(0));
  readonly #writer = new BufferWriter(4096);
  readonly #timeoutMs: number;
  readonly #maxBodyBytes: number;
  #frameMax = OUR_FRAME_MAX;
  /** Replies to synchronous methods and gets, in the order they were asked. */
  readonly #waiters: Waiter[] = [];
  #failure: PeerError | null = null;
  // A message being received: its method, then its header, then its body.
  #content: { method: Method; properties: Buffer | null; size: number; chunks: Buffer[]; got: number } | null = null;
  /** Publisher confirms: called for basic.ack / basic.nack from the peer. */
  onConfirm: (tag: number, multiple: boolean, ok: boolean) => void = () => undefined;
  /** A mandatory publish came back (basic.return). */
  onReturn: (replyCode: number, replyText: string, routingKey: string) => void = () => undefined;
  /** The peer blocked or unblocked us (connection.blocked: a resource alarm). */
  onBlocked: (blocked: boolean, reason: string) => void = () => undefined;
  /** The connection or channel failed (see `failure`). */
  onFailure: () => void = () => undefined;
  #publishSeq = 0;
  readonly user: string;
  readonly #label: string;

  private constructor(socket: Socket, user: string, options: PeerOptions) {
    this.#socket = socket;
    this.user = user;
    this.#label = `${options.label ?? 'the broker'} (${options.url.replace(/\/\/[^@]*@/, '//')}, vhost '${options.vhost}')`;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#maxBodyBytes = options.maxBodyBytes ?? 512 * 1024 * 1024;
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#reader.push(chunk, this);
      } catch (e) {
        this.#fail(new PeerError(`bad frame from ${options.url.replace(/\/\/[^@]*@/, '//')}: ${(e as Error).message}`));
      }
    });
    socket.on('error', (e) => this.#fail(new PeerError(`connection to ${this.#label} failed: ${e.message}`)));
    socket.on('close', () => this.#fail(new PeerError(`${this.#label} closed the connection`)));
  }

  /** Connects, logs in with PLAIN, opens the vhost and channel 1. */
  static async connect(options: PeerOptions): Promise<AmqpPeer> {
    const { host, port, user, password } = parseAmqpUrl(options.url);
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new PeerError(`no answer from ${host}:${port} within ${options.timeoutMs ?? 30_000} ms`));
      }, options.timeoutMs ?? 30_000);
      s.once('connect', () => {
        clearTimeout(timer);
        s.setNoDelay(true);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new PeerError(`cannot connect to ${host}:${port}: ${e.message}`));
      });
    });
    const peer = new AmqpPeer(socket, user, options);
    try {
      await peer.#handshake(user, password, options);
    } catch (e) {
      socket.destroy();
      throw e;
    }
    return peer;
  }

  async #handshake(user: string, password: string, options: PeerOptions): Promise<void> {
    const start = this.#expect([CONNECTION_START]);
    this.#socket.write(PROTOCOL_HEADER);
    await start;
    const capabilities: FieldTable = new Map([
      ['publisher_confirms', F.bool(true)],
      ['connection.blocked', F.bool(true)],
      ['authentication_failure_close', F.bool(true)],
    ]);
    const clientProperties: FieldTable = new Map([
      ['product', F.str('warren migrate')],
      ['capabilities', F.table(capabilities)],
      ['connection_name', F.str(options.name ?? 'warren migrate')],
    ]);
    // A refused login arrives as connection.close, which fails every waiter.
    const tune = this.#expect([CONNECTION_TUNE]);
    this.#send({ id: CONNECTION_START_OK, clientProperties, mechanism: 'PLAIN', response: Buffer.from(`\0${user}\0${password}`), locale: 'en_US' }, 0);
    const t = (await tune).method;
    if (t.id !== CONNECTION_TUNE) throw new PeerError(`${this.#label} refused the login`);
    this.#frameMax = t.frameMax === 0 ? OUR_FRAME_MAX : Math.min(t.frameMax, OUR_FRAME_MAX);
    this.#reader.frameMax = this.#frameMax;
    // No heartbeats: the socket is never idle for long while migrating, and a stall is caught by timeoutMs.
    this.#send({ id: CONNECTION_TUNE_OK, channelMax: 1, frameMax: this.#frameMax, heartbeat: 0 }, 0);
    await this.#call({ id: CONNECTION_OPEN, virtualHost: options.vhost, capabilities: '', insist: false }, [CONNECTION_OPEN_OK], 0);
    await this.#call({ id: CHANNEL_OPEN, outOfBand: '' }, [CHANNEL_OPEN_OK]);
  }

  /** Messages and consumers of a queue (passive declare); a PeerError with 404 when it does not exist. */
  async queueCounts(queue: string): Promise<{ messages: number; consumers: number }> {
    const ok = await this.#call({ id: QUEUE_DECLARE, ticket: 0, queue, passive: true, durable: false, exclusive: false, autoDelete: false, nowait: false, arguments: new Map() }, [QUEUE_DECLARE_OK]);
    if (ok.method.id !== QUEUE_DECLARE_OK) throw new PeerError('unexpected reply');
    return { messages: ok.method.messageCount, consumers: ok.method.consumerCount };
  }

  /** Asks for one message (manual ack); answers come in the order asked, so gets may be pipelined. */
  get(queue: string): Promise<GotMessage | null> {
    return this.#call({ id: BASIC_GET, ticket: 0, queue, noAck: false }, [BASIC_GET_OK, BASIC_GET_EMPTY]).then((r) => r.content);
  }

  ack(deliveryTag: number, multiple: boolean): void {
    this.#send({ id: BASIC_ACK, deliveryTag, multiple });
  }

  async confirmSelect(): Promise<void> {
    await this.#call({ id: CONFIRM_SELECT, nowait: false }, [CONFIRM_SELECT_OK]);
  }

  /** Publishes with the given content-header property bytes; returns the confirm sequence number. */
  publish(exchange: string, routingKey: string, properties: Buffer, body: Buffer, mandatory: boolean): number {
    if (this.#failure) throw this.#failure;
    this.#send({ id: BASIC_PUBLISH, ticket: 0, exchange, routingKey, mandatory, immediate: false });
    const w = this.#writer;
    w.reset();
    this.#frameHead(FRAME_HEADER, 1);
    w.u16(60);
    w.u16(0);
    w.u64(body.length);
    w.bytes(properties);
    this.#frameEnd();
    this.#socket.write(w.toBuffer());
    const room = this.#frameMax - 8;
    for (let at = 0; at < body.length; at += room) {
      const part = body.subarray(at, Math.min(body.length, at + room));
      const head = Buffer.allocUnsafe(7);
      head.writeUInt8(FRAME_BODY, 0);
      head.writeUInt16BE(1, 1);
      head.writeUInt32BE(part.length, 3);
      this.#socket.write(head);
      this.#socket.write(part);
      this.#socket.write(Buffer.from([FRAME_END]));
    }
    return ++this.#publishSeq;
  }

  /** True while the socket holds more than it can pass on: wait for drained() before writing more. */
  get backedUp(): boolean {
    return this.#socket.writableNeedDrain;
  }

  drained(): Promise<void> {
    if (!this.#socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => this.#socket.once('drain', () => resolve()));
  }

  /** Closes politely (channel and connection); unacknowledged gets go back to their queue. */
  async close(): Promise<void> {
    if (this.#failure) {
      this.#socket.destroy();
      return;
    }
    try {
      await this.#call({ id: CONNECTION_CLOSE, replyCode: 200, replyText: 'Goodbye', classId: 0, methodId: 0 }, [CONNECTION_CLOSE_OK], 0);
    } catch {
      // closing anyway
    }
    this.#socket.destroy();
  }

  /** Drops the connection without closing it, as a killed process would. */
  destroy(): void {
    this.#socket.destroy();
  }

  get failure(): PeerError | null {
    return this.#failure;
  }

  // ---- frames in ---------------------------------------------------------------------------

  onFrame(type: number, channel: number, payload: Buffer): void {
    if (type === FRAME_HEARTBEAT) return;
    if (type === FRAME_METHOD) {
      const m = decodeMethodFrame(this.#methodReader, payload);
      this.#onMethod(channel, m);
      return;
    }
    const c = this.#content;
    if (c === null) throw new Error(`content frame (type ${type}) without a method`);
    if (type === FRAME_HEADER) {
      if (payload.length < 14) throw new Error('short content header');
      const size = Number(payload.readBigUInt64BE(4));
      if (size > this.#maxBodyBytes) throw new Error(`message body of ${size} bytes is larger than the limit of ${this.#maxBodyBytes}`);
      c.properties = Buffer.from(payload.subarray(12));
      c.size = size;
    } else if (type === FRAME_BODY) {
      if (c.properties === null || c.got + payload.length > c.size) throw new Error('unexpected content body');
      c.chunks.push(Buffer.from(payload));
      c.got += payload.length;
    }
    if (c.properties !== null && c.got === c.size) {
      this.#content = null;
      this.#contentDone(c.method, c.properties, c.chunks.length === 1 ? c.chunks[0]! : Buffer.concat(c.chunks, c.size));
    }
  }

  #onMethod(channel: number, m: Method): void {
    switch (m.id) {
      case CONNECTION_CLOSE:
        this.#send({ id: CONNECTION_CLOSE_OK }, 0);
        this.#fail(new PeerError(`${this.#label} closed the connection: ${m.replyCode} ${m.replyText}`, m.replyCode));
        this.#socket.end();
        return;
      case CHANNEL_CLOSE:
        this.#send({ id: CHANNEL_CLOSE_OK }, channel);
        this.#fail(new PeerError(`${this.#label} closed the channel: ${m.replyCode} ${m.replyText}`, m.replyCode));
        return;
      case CONNECTION_BLOCKED:
        this.onBlocked(true, m.reason);
        return;
      case CONNECTION_UNBLOCKED:
        this.onBlocked(false, '');
        return;
      case BASIC_ACK:
        this.onConfirm(m.deliveryTag, m.multiple, true);
        return;
      case BASIC_NACK:
        this.onConfirm(m.deliveryTag, m.multiple, false);
        return;
      case BASIC_GET_OK:
      case BASIC_RETURN:
        this.#content = { method: m, properties: null, size: 0, chunks: [], got: 0 };
        return;
      default:
        this.#settle(m, null);
    }
  }

  #contentDone(m: Method, properties: Buffer, body: Buffer): void {
    if (m.id === BASIC_RETURN) {
      this.onReturn(m.replyCode, m.replyText, m.routingKey);
      return;
    }
    if (m.id !== BASIC_GET_OK) return;
    this.#settle(m, { deliveryTag: m.deliveryTag, redelivered: m.redelivered, exchange: m.exchange, routingKey: m.routingKey, messageCount: m.messageCount, properties, body });
  }

  #settle(m: Method, content: GotMessage | null): void {
    const w = this.#waiters.shift();
    if (w === undefined || !w.expect.has(m.id)) {
      this.#fail(new PeerError(`unexpected ${methodName(m.id)} from ${this.#label}`));
      return;
    }
    w.resolve(m, content);
  }

  // ---- frames out --------------------------------------------------------------------------

  #frameHead(type: number, channel: number): void {
    const w = this.#writer;
    w.u8(type);
    w.u16(channel);
    w.u32(0);
  }

  #frameEnd(): void {
    const w = this.#writer;
    w.buf.writeUInt32BE(w.pos - 7, 3);
    w.u8(FRAME_END);
  }

  #send(m: Method, channel = 1): void {
    const w = this.#writer;
    w.reset();
    this.#frameHead(FRAME_METHOD, channel);
    encodeMethod(w, m);
    this.#frameEnd();
    this.#socket.write(w.toBuffer());
  }

  #expect(ids: readonly number[]): Promise<{ method: Method; content: GotMessage | null }> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiters.push({ expect: new Set(ids), resolve: (method, content) => resolve({ method, content }), reject });
    });
  }

  /** Sends a method and waits for its reply, bounded by timeoutMs. */
  #call(m: Method, replies: readonly number[], channel = 1): Promise<{ method: Method; content: GotMessage | null }> {
    const p = this.#expect(replies);
    this.#send(m, channel);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const e = new PeerError(`no answer from ${this.#label} to ${methodName(m.id)} within ${this.#timeoutMs} ms`);
        this.#fail(e);
        reject(e);
      }, this.#timeoutMs);
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  #fail(e: PeerError): void {
    const first = this.#failure === null;
    if (first) this.#failure = e;
    for (const w of this.#waiters.splice(0)) w.reject(this.#failure!);
    this.#socket.destroy();
    if (first) this.onFailure();
  }
}
