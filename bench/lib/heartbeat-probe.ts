// A bare AMQP 0-9-1 connection over a raw socket that negotiates a short heartbeat and then
// stays idle, timestamping every heartbeat frame the broker sends. Gaps between them show
// whether the broker's timers fire on time (a blocked event loop shows as a long gap).

import { connect as netConnect, type Socket } from 'node:net';
import { now } from './util.js';

const FRAME_METHOD = 1;
const FRAME_HEARTBEAT = 8;
const FRAME_END = 0xce;

function shortstr(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

function longstr(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}

function methodFrame(classId: number, methodId: number, args: Buffer): Buffer {
  const payload = Buffer.alloc(4 + args.length);
  payload.writeUInt16BE(classId, 0);
  payload.writeUInt16BE(methodId, 2);
  args.copy(payload, 4);
  const head = Buffer.alloc(7);
  head.writeUInt8(FRAME_METHOD, 0);
  head.writeUInt16BE(0, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([FRAME_END])]);
}

const HEARTBEAT_FRAME = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);

export class HeartbeatProbe {
  /** now() of every heartbeat frame received. */
  readonly arrivals: number[] = [];
  #socket: Socket;
  #timer: NodeJS.Timeout | null = null;
  #closedError: string | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  /** Opens the connection and negotiates `heartbeatS`; resolves once connection.open-ok came. */
  static open(url: string, heartbeatS: number): Promise<HeartbeatProbe> {
    const u = new URL(url);
    const user = decodeURIComponent(u.username || 'guest');
    const pass = decodeURIComponent(u.password || 'guest');
    const vhost = u.pathname && u.pathname !== '/' ? decodeURIComponent(u.pathname.slice(1)) : '/';
    const socket = netConnect({ host: u.hostname, port: u.port ? Number(u.port) : 5672 });
    socket.setNoDelay(true);
    const probe = new HeartbeatProbe(socket);
    return new Promise((resolve, reject) => {
      let buf: Buffer = Buffer.alloc(0);
      let open = false;
      socket.once('connect', () => socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
      socket.on('error', (e) => {
        probe.#closedError = e.message;
        if (!open) reject(e);
      });
      socket.on('close', () => {
        probe.#closedError ??= 'closed';
        if (!open) reject(new Error('heartbeat probe: connection closed during the handshake'));
      });
      socket.on('data', (d: Buffer) => {
        const t = now();
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        while (buf.length >= 8) {
          const type = buf.readUInt8(0);
          const size = buf.readUInt32BE(3);
          if (buf.length < 8 + size) break;
          const payload = buf.subarray(7, 7 + size);
          buf = buf.subarray(8 + size);
          if (type === FRAME_HEARTBEAT) {
            probe.arrivals.push(t);
            continue;
          }
          if (type !== FRAME_METHOD) continue;
          const cls = payload.readUInt16BE(0);
          const mth = payload.readUInt16BE(2);
          if (cls !== 10) continue;
          if (mth === 10) {
            // connection.start -> start-ok (PLAIN)
            const args = Buffer.concat([
              Buffer.from([0, 0, 0, 0]), // client-properties: empty table
              shortstr('PLAIN'),
              longstr(Buffer.from(`\0${user}\0${pass}`, 'utf8')),
              shortstr('en_US'),
            ]);
            socket.write(methodFrame(10, 11, args));
          } else if (mth === 30) {
            // connection.tune -> tune-ok with our heartbeat, then open
            const channelMax = payload.readUInt16BE(4);
            const frameMax = payload.readUInt32BE(6);
            const a = Buffer.alloc(8);
            a.writeUInt16BE(channelMax, 0);
            a.writeUInt32BE(frameMax, 2);
            a.writeUInt16BE(heartbeatS, 6);
            socket.write(methodFrame(10, 31, a));
            socket.write(methodFrame(10, 40, Buffer.concat([shortstr(vhost), shortstr(''), Buffer.from([0])])));
          } else if (mth === 41) {
            open = true;
            // our side of the heartbeat, so the broker keeps the connection
            probe.#timer = setInterval(() => socket.write(HEARTBEAT_FRAME), (heartbeatS * 1000) / 2);
            resolve(probe);
          } else if (mth === 50) {
            const code = payload.readUInt16BE(4);
            const text = payload.subarray(7, 7 + payload.readUInt8(6)).toString();
            probe.#closedError = `connection.close ${code} ${text}`;
            if (!open) reject(new Error(`heartbeat probe: ${probe.#closedError}`));
          }
        }
      });
    });
  }

  /** Gaps between consecutive heartbeats received within [from, to), ms. */
  gaps(from: number, to: number): number[] {
    const g: number[] = [];
    for (let i = 1; i < this.arrivals.length; i++) {
      const a = this.arrivals[i]!;
      if (a >= from && a < to) g.push(a - this.arrivals[i - 1]!);
    }
    return g;
  }

  get error(): string | null {
    return this.#closedError;
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#socket.destroy();
  }
}
