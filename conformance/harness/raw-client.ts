// A raw-socket AMQP 0-9-1 peer for the things no client library will send.
import * as net from 'node:net';
import { AMQP_HEADER, FRAME_END, FRAME_HEARTBEAT, FRAME_METHOD, Reader, enc, type FieldValue } from './raw-wire.js';
import { sleep } from './util.js';

export interface RawFrame {
  /** 1 method, 2 header, 3 body, 8 heartbeat, or -1 for an 8-byte protocol header sent by the server. */
  type: number;
  channel: number;
  payload: Buffer;
  /** For method frames. */
  classId?: number;
  methodId?: number;
}

export interface CloseInfo {
  code: number;
  text: string;
  classId: number;
  methodId: number;
}

export function parseClose(f: RawFrame): CloseInfo {
  const r = new Reader(f.payload, 4);
  return { code: r.u16(), text: r.shortstr(), classId: r.u16(), methodId: r.u16() };
}

export interface HandshakeOptions {
  user?: string;
  password?: string;
  vhost?: string;
  channelMax?: number;
  frameMax?: number;
  heartbeat?: number;
  /** Client capabilities (default: authentication_failure_close etc. like a modern client). */
  capabilities?: Record<string, FieldValue>;
  /** Stop after sending start-ok (for auth tests). */
  stopAfterStartOk?: boolean;
}

export interface HandshakeResult {
  serverProperties: Record<string, unknown>;
  mechanisms: string;
  locales: string;
  versionMajor: number;
  versionMinor: number;
  tune: { channelMax: number; frameMax: number; heartbeat: number };
}

/**
 * A deliberately dumb AMQP peer: it sends exactly the bytes a test asks for, and exposes every
 * frame the server sends (heartbeats included) in order.
 */
export class RawClient {
  private buf = Buffer.alloc(0);
  private queue: RawFrame[] = [];
  private waiters: Array<() => void> = [];
  /** Every byte received, for tests on the raw response (e.g. the protocol header). */
  received = Buffer.alloc(0);
  /** All frames ever received (including those already consumed). */
  readonly allFrames: RawFrame[] = [];
  closed = false;
  /** Did the socket end with an error (e.g. ECONNRESET) rather than a clean FIN? */
  socketError: Error | undefined;
  readonly whenClosed: Promise<void>;
  private parsedAny = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
      this.wake();
    });
    socket.on('error', (e) => {
      this.socketError = e;
    });
    this.whenClosed = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
  }

  static connect(host: string, port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      s.setNoDelay(true);
      s.once('connect', () => {
        s.removeListener('error', reject);
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private parse(): void {
    for (;;) {
      if (!this.parsedAny && this.buf.length >= 4 && this.buf.subarray(0, 4).toString('latin1') === 'AMQP') {
        if (this.buf.length < 8) return;
        const f: RawFrame = { type: -1, channel: 0, payload: this.buf.subarray(0, 8) };
        this.buf = this.buf.subarray(8);
        this.parsedAny = true;
        this.queue.push(f);
        this.allFrames.push(f);
        continue;
      }
      if (this.buf.length < 7) return;
      const size = this.buf.readUInt32BE(3);
      if (this.buf.length < 7 + size + 1) return;
      const f: RawFrame = {
        type: this.buf.readUInt8(0),
        channel: this.buf.readUInt16BE(1),
        payload: Buffer.from(this.buf.subarray(7, 7 + size)),
      };
      if (f.type === FRAME_METHOD && size >= 4) {
        f.classId = f.payload.readUInt16BE(0);
        f.methodId = f.payload.readUInt16BE(2);
      }
      this.buf = this.buf.subarray(8 + size);
      this.parsedAny = true;
      this.queue.push(f);
      this.allFrames.push(f);
    }
  }

  write(data: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  sendProtocolHeader(header: Buffer = AMQP_HEADER): void {
    this.write(header);
  }

  static frame(type: number, channel: number, payload: Buffer, end = FRAME_END, sizeOverride?: number): Buffer {
    const h = Buffer.alloc(7);
    h.writeUInt8(type, 0);
    h.writeUInt16BE(channel, 1);
    h.writeUInt32BE(sizeOverride ?? payload.length, 3);
    return Buffer.concat([h, payload, Buffer.from([end])]);
  }

  sendFrame(type: number, channel: number, payload: Buffer, end = FRAME_END): void {
    this.write(RawClient.frame(type, channel, payload, end));
  }

  static methodPayload(classId: number, methodId: number, args: Buffer = Buffer.alloc(0)): Buffer {
    return Buffer.concat([enc.u16(classId), enc.u16(methodId), args]);
  }

  sendMethod(channel: number, classId: number, methodId: number, args: Buffer = Buffer.alloc(0)): void {
    this.sendFrame(FRAME_METHOD, channel, RawClient.methodPayload(classId, methodId, args));
  }

  sendHeartbeat(): void {
    this.sendFrame(FRAME_HEARTBEAT, 0, Buffer.alloc(0));
  }

  /** Content header for basic (class 60) with no properties, or with a raw property block. */
  static contentHeader(bodySize: number, flags = 0, props: Buffer = Buffer.alloc(0), classId = 60): Buffer {
    return Buffer.concat([enc.u16(classId), enc.u16(0), enc.u64(bodySize), enc.u16(flags), props]);
  }

  /** Next frame from the server (heartbeats included). Rejects if the socket closes first. */
  async nextFrame(timeoutMs = 10_000): Promise<RawFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.queue.shift();
      if (f) return f;
      if (this.closed) throw new Error('socket closed by server');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame from server within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Next non-heartbeat frame. */
  async nextNonHeartbeat(timeoutMs = 10_000): Promise<RawFrame> {
    for (;;) {
      const f = await this.nextFrame(timeoutMs);
      if (f.type !== FRAME_HEARTBEAT) return f;
    }
  }

  async expectMethod(channel: number, classId: number, methodId: number, timeoutMs = 10_000): Promise<RawFrame> {
    const f = await this.nextNonHeartbeat(timeoutMs);
    if (f.type !== FRAME_METHOD || f.channel !== channel || f.classId !== classId || f.methodId !== methodId) {
      const extra =
        f.type === FRAME_METHOD && (f.classId === 10 || f.classId === 20) && (f.methodId === 50 || f.methodId === 40)
          ? ` ${JSON.stringify(parseClose(f))}`
          : '';
      throw new Error(
        `expected method ${classId}/${methodId} on channel ${channel}, got frame type ${f.type} channel ${f.channel} ` +
          `method ${f.classId}/${f.methodId}${extra}`,
      );
    }
    return f;
  }

  async handshake(opts: HandshakeOptions = {}): Promise<HandshakeResult> {
    this.sendProtocolHeader();
    const start = await this.expectMethod(0, 10, 10);
    const r = new Reader(start.payload, 4);
    const versionMajor = r.u8();
    const versionMinor = r.u8();
    const serverProperties = r.table();
    const mechanisms = r.longstr();
    const locales = r.longstr();
    const user = opts.user ?? 'guest';
    const password = opts.password ?? 'guest';
    const clientProps = enc.table({
      product: 'warren-conformance-raw',
      capabilities: opts.capabilities ?? {
        authentication_failure_close: true,
        'basic.nack': true,
        consumer_cancel_notify: true,
        'connection.blocked': true,
        publisher_confirms: true,
        exchange_exchange_bindings: true,
      },
    });
    const response = Buffer.from(`\u0000${user}\u0000${password}`, 'utf8');
    this.sendMethod(
      0,
      10,
      11,
      Buffer.concat([clientProps, enc.shortstr('PLAIN'), enc.longstr(response), enc.shortstr('en_US')]),
    );
    const tuneResult = { channelMax: 0, frameMax: 0, heartbeat: 0 };
    const result: HandshakeResult = {
      serverProperties,
      mechanisms,
      locales,
      versionMajor,
      versionMinor,
      tune: tuneResult,
    };
    if (opts.stopAfterStartOk) return result;
    const tune = await this.expectMethod(0, 10, 30);
    const tr = new Reader(tune.payload, 4);
    tuneResult.channelMax = tr.u16();
    tuneResult.frameMax = tr.u32();
    tuneResult.heartbeat = tr.u16();
    this.sendMethod(
      0,
      10,
      31,
      Buffer.concat([
        enc.u16(opts.channelMax ?? tuneResult.channelMax),
        enc.u32(opts.frameMax ?? tuneResult.frameMax),
        enc.u16(opts.heartbeat ?? 0),
      ]),
    );
    this.sendMethod(0, 10, 40, Buffer.concat([enc.shortstr(opts.vhost ?? '/'), enc.shortstr(''), enc.u8(0)]));
    await this.expectMethod(0, 10, 41);
    return result;
  }

  async openChannel(channel: number): Promise<void> {
    this.sendMethod(channel, 20, 10, enc.shortstr(''));
    await this.expectMethod(channel, 20, 11);
  }

  /**
   * Wait until the server ends the conversation. Returns the connection.close it sent (if any; we
   * answer it with close-ok) and whether the socket then closed. Frames before the close are in `frames`.
   */
  async waitForConnectionClose(
    timeoutMs = 10_000,
  ): Promise<{ close: CloseInfo | undefined; frames: RawFrame[]; socketClosed: boolean }> {
    const frames: RawFrame[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let f: RawFrame;
      try {
        f = await this.nextFrame(Math.max(1, deadline - Date.now()));
      } catch (err) {
        if (this.closed) return { close: undefined, frames, socketClosed: true };
        throw err;
      }
      if (f.type === FRAME_METHOD && f.channel === 0 && f.classId === 10 && f.methodId === 50) {
        const close = parseClose(f);
        this.sendMethod(0, 10, 51);
        const socketClosed = await Promise.race([
          this.whenClosed.then(() => true),
          sleep(Math.max(1, deadline - Date.now())).then(() => false),
        ]);
        return { close, frames, socketClosed };
      }
      frames.push(f);
    }
  }

  /** Wait for the next channel.close on `channel` (answering close-ok). */
  async expectChannelClose(channel: number, timeoutMs = 10_000): Promise<CloseInfo> {
    for (;;) {
      const f = await this.nextNonHeartbeat(timeoutMs);
      if (f.type === FRAME_METHOD && f.channel === channel && f.classId === 20 && f.methodId === 40) {
        this.sendMethod(channel, 20, 41);
        return parseClose(f);
      }
      if (f.type === FRAME_METHOD && f.channel === 0 && f.classId === 10 && f.methodId === 50) {
        throw new Error(`expected channel.close, got connection.close ${JSON.stringify(parseClose(f))}`);
      }
    }
  }

  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    return Promise.race([this.whenClosed.then(() => true), sleep(timeoutMs).then(() => false)]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Common raw method argument builders. */
export const raw = {
  queueDeclare(
    name: string,
    flags: { passive?: boolean; durable?: boolean; exclusive?: boolean; autoDelete?: boolean; noWait?: boolean } = {},
    args: Record<string, FieldValue> = {},
  ): Buffer {
    return Buffer.concat([
      enc.u16(0),
      enc.shortstr(name),
      enc.bits(!!flags.passive, !!flags.durable, !!flags.exclusive, !!flags.autoDelete, !!flags.noWait),
      enc.table(args),
    ]);
  },
  basicPublish(exchange: string, routingKey: string, mandatory = false, immediate = false): Buffer {
    return Buffer.concat([enc.u16(0), enc.shortstr(exchange), enc.shortstr(routingKey), enc.bits(mandatory, immediate)]);
  },
  basicGet(queue: string, noAck = true): Buffer {
    return Buffer.concat([enc.u16(0), enc.shortstr(queue), enc.bits(noAck)]);
  },
};

/** Open a raw client to the broker and complete the handshake. */
export async function rawConnect(broker: { host: string; port: number }, opts: HandshakeOptions = {}): Promise<RawClient> {
  const c = await RawClient.connect(broker.host, broker.port);
  await c.handshake(opts);
  return c;
}
