// A minimal AMQP 0-9-1 client on a raw socket, for stream rates amqplib cannot drive (its
// per-message cost caps a consumer near 130k msg/s on this machine): a publisher with confirms
// (pre-encoded frames, a window in flight, per-message confirm latency) and a consumer that
// walks frame headers only and acks with `multiple`. Same client for every broker compared.

import { connect as tcpConnect, type Socket } from 'node:net';
import { now } from './util.js';

const FRAME_END = 0xce;

function shortstr(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length]), b]);
}
function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
function method(channel: number, classId: number, methodId: number, args: Buffer): Buffer {
  const payload = Buffer.concat([u16(classId), u16(methodId), args]);
  return Buffer.concat([Buffer.from([1]), u16(channel), u32(payload.length), payload, Buffer.from([FRAME_END])]);
}
/** A field table of string or 64-bit integer values. */
function table(entries: Record<string, string | number>): Buffer {
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(entries)) {
    parts.push(shortstr(k));
    if (typeof v === 'string') parts.push(Buffer.from('S'), u32(Buffer.byteLength(v)), Buffer.from(v));
    else {
      const b = Buffer.alloc(9);
      b.write('l');
      b.writeBigInt64BE(BigInt(v), 1);
      parts.push(b);
    }
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([u32(body.length), body]);
}

type MethodHandler = (classId: number, methodId: number, payload: Buffer, channel: number) => void;

export class RawClient {
  readonly socket: Socket;
  frameMax = 131072;
  #buf: Buffer = Buffer.alloc(0);
  #waiters: { classId: number; methodId: number; resolve: (p: Buffer) => void }[] = [];
  /** Called for methods nobody waits for (deliveries, confirms). */
  onMethod: MethodHandler = () => {};
  /** Called for content header and body frames. */
  onContent: (type: number, channel: number, size: number) => void = () => {};
  closed: Error | null = null;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.#onData(d));
    socket.on('error', (e) => (this.closed = e));
    socket.on('close', () => (this.closed ??= new Error('socket closed')));
  }

  static async open(host: string, port: number, user = 'guest', pass = 'guest'): Promise<RawClient> {
    const socket = tcpConnect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new RawClient(socket);
    const start = c.#wait(10, 10);
    socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
    await start;
    const tune = c.#wait(10, 30);
    const response = Buffer.from(`\0${user}\0${pass}`);
    c.send(method(0, 10, 11, Buffer.concat([table({}), shortstr('PLAIN'), u32(response.length), response, shortstr('en_US')])));
    const t = await tune;
    const channelMax = t.readUInt16BE(0);
    c.frameMax = t.readUInt32BE(2);
    c.send(method(0, 10, 31, Buffer.concat([u16(channelMax), u32(c.frameMax), u16(0)])));
    const openOk = c.#wait(10, 41);
    c.send(method(0, 10, 40, Buffer.concat([shortstr('/'), shortstr(''), Buffer.from([0])])));
    await openOk;
    return c;
  }

  send(b: Buffer): boolean {
    return this.socket.write(b);
  }

  async openChannel(ch: number): Promise<void> {
    const ok = this.#wait(20, 11);
    this.send(method(ch, 20, 10, shortstr('')));
    await ok;
  }

  async confirmSelect(ch: number): Promise<void> {
    const ok = this.#wait(85, 11);
    this.send(method(ch, 85, 10, Buffer.from([0])));
    await ok;
  }

  async qos(ch: number, prefetch: number): Promise<void> {
    const ok = this.#wait(60, 11);
    this.send(method(ch, 60, 10, Buffer.concat([u32(0), u16(prefetch), Buffer.from([0])])));
    await ok;
  }

  async consume(ch: number, queue: string, args: Record<string, string | number>): Promise<void> {
    const ok = this.#wait(60, 21);
    this.send(method(ch, 60, 20, Buffer.concat([u16(0), shortstr(queue), shortstr(''), Buffer.from([0]), table(args)])));
    await ok;
  }

  ack(ch: number, tag: number, multiple: boolean): void {
    const b = Buffer.alloc(9);
    b.writeBigUInt64BE(BigInt(tag));
    b[8] = multiple ? 1 : 0;
    this.send(method(ch, 60, 80, b));
  }

  /** basic.publish + header + body frames for one message, ready to write many times. */
  publishFrames(ch: number, routingKey: string, body: Buffer): Buffer {
    const pub = method(ch, 60, 40, Buffer.concat([u16(0), shortstr(''), shortstr(routingKey), Buffer.from([0])]));
    const hp = Buffer.alloc(14);
    hp.writeUInt16BE(60, 0);
    hp.writeBigUInt64BE(BigInt(body.length), 4);
    const header = Buffer.concat([Buffer.from([2]), u16(ch), u32(hp.length), hp, Buffer.from([FRAME_END])]);
    const parts = [pub, header];
    const max = this.frameMax - 8;
    for (let o = 0; o < body.length; o += max) {
      const chunk = body.subarray(o, Math.min(body.length, o + max));
      parts.push(Buffer.concat([Buffer.from([3]), u16(ch), u32(chunk.length), chunk, Buffer.from([FRAME_END])]));
    }
    return Buffer.concat(parts);
  }

  close(): void {
    this.socket.destroy();
  }

  #wait(classId: number, methodId: number): Promise<Buffer> {
    return new Promise((resolve) => this.#waiters.push({ classId, methodId, resolve }));
  }

  #onData(d: Buffer): void {
    let buf = this.#buf.length === 0 ? d : Buffer.concat([this.#buf, d]);
    let p = 0;
    while (buf.length - p >= 7) {
      const size = buf.readUInt32BE(p + 3);
      if (buf.length - p < size + 8) break;
      const type = buf[p]!;
      const channel = buf.readUInt16BE(p + 1);
      if (type === 1) {
        const classId = buf.readUInt16BE(p + 7);
        const methodId = buf.readUInt16BE(p + 9);
        const payload = buf.subarray(p + 11, p + 7 + size);
        if (classId === 10 && methodId === 50) this.closed = new Error(`connection.close: ${payload.toString('latin1')}`);
        if (classId === 20 && methodId === 40) this.closed = new Error(`channel.close: ${payload.toString('latin1')}`);
        const w = this.#waiters[0];
        if (w !== undefined && w.classId === classId && w.methodId === methodId) {
          this.#waiters.shift();
          w.resolve(Buffer.from(payload));
        } else this.onMethod(classId, methodId, payload, channel);
      } else if (type === 2 || type === 3) this.onContent(type, channel, size);
      p += size + 8;
    }
    this.#buf = p === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(p));
  }
}

export interface RawPublishResult {
  ms: number;
  confirmMs: Float64Array;
  nacked: number;
}

/** Publishes `count` copies of `body` to a queue with confirms, `window` unconfirmed at most. */
export async function rawPublish(host: string, port: number, queue: string, body: Buffer, count: number, window: number, track = true): Promise<RawPublishResult> {
  const c = await RawClient.open(host, port);
  await c.openChannel(1);
  await c.confirmSelect(1);
  const frames = c.publishFrames(1, queue, body);
  const sentAt = new Float64Array(track ? count + 1 : 0);
  const confirmMs = new Float64Array(track ? count : 0);
  let sent = 0;
  let confirmed = 0;
  let nacked = 0;
  const t0 = now();
  const result = await new Promise<RawPublishResult>((resolve, reject) => {
    const pump = (): void => {
      const batch: Buffer[] = [];
      while (sent < count && sent - confirmed < window && batch.length < 256) {
        sent++;
        if (track) sentAt[sent] = now();
        batch.push(frames);
      }
      if (batch.length > 0 && !c.send(Buffer.concat(batch))) c.socket.once('drain', pump);
    };
    c.onMethod = (classId, methodId, payload) => {
      if (classId !== 60 || (methodId !== 80 && methodId !== 120)) return;
      const tag = Number(payload.readBigUInt64BE(0));
      const multiple = (payload[8]! & 1) === 1;
      const t = now();
      const from = multiple ? confirmed + 1 : tag;
      for (let i = from; i <= tag; i++) {
        if (track) confirmMs[i - 1] = t - sentAt[i]!;
        if (methodId === 120) nacked++;
      }
      confirmed = Math.max(confirmed, tag);
      if (confirmed >= count) resolve({ ms: t - t0, confirmMs, nacked });
      else pump();
    };
    c.socket.once('close', () => reject(c.closed ?? new Error('closed')));
    pump();
  });
  c.close();
  return result;
}

/**
 * Consumes `count` messages from a stream starting at `offset`; resolves with the time taken.
 * `progress.got` follows the deliveries as they arrive (for sampling a long read).
 */
export async function rawConsume(host: string, port: number, queue: string, offset: string | number, count: number, prefetch: number, progress: { got: number } | null = null): Promise<{ ms: number }> {
  const c = await RawClient.open(host, port);
  await c.openChannel(1);
  await c.qos(1, prefetch);
  let got = 0;
  let tag = 0;
  const ackEvery = Math.max(1, Math.floor(prefetch / 4));
  const t0 = now();
  const done = new Promise<{ ms: number }>((resolve, reject) => {
    c.onMethod = (classId, methodId) => {
      if (classId !== 60 || methodId !== 60) return;
      tag++;
      got++;
      if (progress !== null) progress.got = got;
      if (got % ackEvery === 0 || got === count) c.ack(1, tag, true);
      if (got === count) resolve({ ms: now() - t0 });
    };
    c.socket.once('close', () => reject(c.closed ?? new Error('closed')));
  });
  await c.consume(1, queue, { 'x-stream-offset': offset });
  const r = await done;
  c.close();
  return r;
}
