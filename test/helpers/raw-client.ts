// A bare AMQP client on a TCP socket, for what real clients will not do: go silent after the
// handshake, or send frames by hand. It records every frame the server sends, decoded.

import { connect, type Socket } from 'node:net';
import { BufferReader } from '../../src/codec/buffer-reader.js';
import { FrameReader } from '../../src/codec/frame-reader.js';
import {
  CONNECTION_OPEN,
  CONNECTION_OPEN_OK,
  CONNECTION_START,
  CONNECTION_START_OK,
  CONNECTION_TUNE,
  CONNECTION_TUNE_OK,
  decodeMethod,
  FRAME_METHOD,
  type Method,
} from '../../src/codec/methods.generated.js';
import { waitFor } from './broker.js';
import { frame, methodPayload } from './frames.js';

export interface ReceivedFrame {
  readonly type: number;
  readonly channel: number;
  readonly payload: Buffer;
  /** Decoded, for method frames. */
  readonly method: Method | null;
}

export class RawClient {
  readonly socket: Socket;
  readonly frames: ReceivedFrame[] = [];
  /** Resolves when the server closes the socket (or it errors). */
  readonly closed: Promise<void>;
  isClosed = false;
  readonly #reader = new FrameReader(0);

  private constructor(socket: Socket) {
    this.socket = socket;
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        resolve();
      });
    });
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      this.#reader.push(chunk, {
        onFrame: (type, channel, payload) => {
          const copy = Buffer.from(payload);
          const method = type === FRAME_METHOD ? decodeMethod(new BufferReader(copy)) : null;
          this.frames.push({ type, channel, payload: copy, method });
        },
      });
    });
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    const socket = connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Connects and completes the handshake (PLAIN guest/guest, vhost '/') with this heartbeat. */
  static async open(port: number, heartbeat: number): Promise<RawClient> {
    const c = await RawClient.connect(port);
    c.socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
    await c.waitForMethod(CONNECTION_START);
    c.sendMethod(0, {
      id: CONNECTION_START_OK,
      clientProperties: new Map(),
      mechanism: 'PLAIN',
      response: Buffer.from('\u0000guest\u0000guest'),
      locale: 'en_US',
    });
    await c.waitForMethod(CONNECTION_TUNE);
    c.sendMethod(0, { id: CONNECTION_TUNE_OK, channelMax: 2047, frameMax: 131072, heartbeat });
    c.sendMethod(0, { id: CONNECTION_OPEN, virtualHost: '/', capabilities: '', insist: false });
    await c.waitForMethod(CONNECTION_OPEN_OK);
    return c;
  }

  sendMethod(channel: number, m: Method): void {
    this.socket.write(frame(FRAME_METHOD, channel, methodPayload(m)));
  }

  async waitForMethod(id: number): Promise<Method> {
    await waitFor(() => this.frames.some((f) => f.method?.id === id) || this.isClosed, `method ${id}`);
    const f = this.frames.find((x) => x.method?.id === id);
    if (f === undefined) throw new Error(`socket closed before method ${id} arrived`);
    return f.method!;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
