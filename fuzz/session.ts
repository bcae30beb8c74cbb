// A bare AMQP peer on a TCP socket for the fuzzers: sends whatever bytes it is given and records
// what the server answers (frames, decoded methods, the reply codes of every close), plus the
// bytes of a normal handshake and of a graceful connection.close.

import { connect, type Socket } from 'node:net';
import { BufferReader } from '../src/codec/buffer-reader.js';
import { FrameReader } from '../src/codec/frame-reader.js';
import { decodeMethodFrame } from '../src/codec/method-frame.js';
import {
  CHANNEL_CLOSE,
  CONNECTION_CLOSE,
  CONNECTION_CLOSE_OK,
  CONNECTION_OPEN,
  CONNECTION_OPEN_OK,
  CONNECTION_START_OK,
  CONNECTION_TUNE_OK,
  FRAME_METHOD,
  REPLY_CODES,
  type Method,
} from '../src/codec/methods.generated.js';
import { encodeMethodPayload, frame } from './corpus.js';

export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
const KNOWN_CODES: ReadonlySet<number> = new Set(Object.values(REPLY_CODES));

export function methodFrame(channel: number, m: Method): Buffer {
  return frame(FRAME_METHOD, channel, encodeMethodPayload(m));
}

/** Everything a client sends to get an open connection (start-ok, tune-ok, open), after the header. */
export function handshakeBytes(frameMax = 131072): Buffer {
  return Buffer.concat([
    PROTOCOL_HEADER,
    methodFrame(0, { id: CONNECTION_START_OK, clientProperties: new Map(), mechanism: 'PLAIN', response: Buffer.from('\u0000guest\u0000guest'), locale: 'en_US' }),
    methodFrame(0, { id: CONNECTION_TUNE_OK, channelMax: 64, frameMax, heartbeat: 0 }),
    methodFrame(0, { id: CONNECTION_OPEN, virtualHost: '/', capabilities: '', insist: false }),
  ]);
}

export const CLOSE_BYTES = methodFrame(0, { id: CONNECTION_CLOSE, replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });

export interface ServerClose {
  readonly channel: number;
  readonly code: number;
  readonly text: string;
}

export class WireSession {
  readonly socket: Socket;
  readonly methods: Array<{ channel: number; method: Method }> = [];
  readonly closes: ServerClose[] = [];
  /** What the server sent that this peer could not parse (a server bug). */
  readonly garbage: string[] = [];
  readonly ended: Promise<void>;
  isEnded = false;
  #waiters: Array<() => void> = [];
  readonly #reader = new FrameReader(0);
  readonly #methodReader = new BufferReader(Buffer.alloc(0));

  private constructor(socket: Socket) {
    this.socket = socket;
    this.ended = new Promise((resolve) => {
      socket.once('close', () => {
        this.isEnded = true;
        this.#wake();
        resolve();
      });
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.#reader.push(chunk, this);
      } catch (e) {
        if (this.garbage.length < 3) this.garbage.push((e as Error).message);
        socket.destroy();
      }
      this.#wake();
    });
  }

  static connect(port: number): Promise<WireSession> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1', noDelay: true });
      s.once('connect', () => resolve(new WireSession(s)));
      s.once('error', reject);
    });
  }

  onFrame(type: number, channel: number, payload: Buffer): void {
    if (type !== FRAME_METHOD) return;
    let m: Method;
    try {
      m = decodeMethodFrame(this.#methodReader, payload);
    } catch (e) {
      if (this.garbage.length < 3) this.garbage.push(`undecodable method from the server: ${(e as Error).message}`);
      return;
    }
    this.methods.push({ channel, method: m });
    if (m.id === CONNECTION_CLOSE || m.id === CHANNEL_CLOSE) {
      const c = m as Extract<Method, { replyCode: number }>;
      this.closes.push({ channel, code: c.replyCode, text: c.replyText });
      // Answer as a client would, so the server can finish its side.
      if (m.id === CONNECTION_CLOSE) this.send(methodFrame(0, { id: CONNECTION_CLOSE_OK }));
    }
  }

  send(bytes: Buffer): void {
    if (!this.isEnded && !this.socket.destroyed) this.socket.write(bytes);
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  /** Resolves true when `cond` holds, false after `ms` or when the socket ended first. */
  until(cond: () => boolean, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const deadline = setTimeout(() => resolve(cond()), ms);
      const check = (): void => {
        if (cond()) {
          clearTimeout(deadline);
          resolve(true);
        } else if (this.isEnded) {
          clearTimeout(deadline);
          resolve(cond());
        } else this.#waiters.push(check);
      };
      check();
    });
  }

  has(id: number): boolean {
    return this.methods.some((m) => m.method.id === id);
  }

  /** The session ended as AMQP says: close-ok for our close, or the server's own close. */
  get closedCleanly(): boolean {
    return this.has(CONNECTION_CLOSE_OK) || this.methods.some((m) => m.method.id === CONNECTION_CLOSE);
  }

  get openOk(): boolean {
    return this.has(CONNECTION_OPEN_OK);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Closes the server sent with a code outside the spec's list. (541 with no text is what
   * RabbitMQ answers to properties it cannot decode, and warren copies it; warren's own
   * internal errors are caught by their error-level log line instead.)
   */
  badCloses(): ServerClose[] {
    return this.closes.filter((c) => !KNOWN_CODES.has(c.code) || (c.text === '' && c.code !== REPLY_CODES.INTERNAL_ERROR));
  }
}
