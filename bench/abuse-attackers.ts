// The attackers of the `abuse` scenario, in a process of their own (so their event loop does not
// slow the well-behaved clients measured beside them): raw AMQP 0-9-1 sockets, loopback only.
//
//   flood     publishes mandatory messages nobody can route, 1 KiB each, and never reads
//   greedy    consumes a queue with a backlog without prefetch (basic.qos never sent), never reads
//   stalled   N sockets that send the protocol header and then nothing (reopened when dropped)
//   nested    connects, opens a channel, declares a queue whose arguments nest DEPTH tables deep,
//             and does it again once the broker answers (each outcome is counted)
//
// usage: node dist/bench/abuse-attackers.js HOST PORT SECONDS SINK_QUEUE [STALLED] [DEPTH]
// Prints one JSON line of counts when done.

import { connect, type Socket } from 'node:net';

const [host = '127.0.0.1', portArg = '5672', secondsArg = '30', sinkQueue = 'abuse-sink', stalledArg = '1000', depthArg = '10000'] = process.argv.slice(2);
const port = Number(portArg);
const until = Date.now() + Number(secondsArg) * 1000;
const stalledN = Number(stalledArg);
const depth = Number(depthArg);

const counts = {
  floodBytesWritten: 0,
  greedyBytesRead: 0,
  stalledOpened: 0,
  stalledDropped: 0,
  nestedAttempts: 0,
  nestedOutcomes: {} as Record<string, number>,
  errors: {} as Record<string, number>,
};
const sockets = new Set<Socket>();

// ---- frames ---------------------------------------------------------------------------------

const u8 = (n: number): Buffer => Buffer.from([n]);
const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const shortstr = (s: string): Buffer => Buffer.concat([u8(Buffer.byteLength(s)), Buffer.from(s)]);
const longstr = (b: Buffer): Buffer => Buffer.concat([u32(b.length), b]);

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(7);
  h[0] = type;
  h.writeUInt16BE(channel, 1);
  h.writeUInt32BE(payload.length, 3);
  return Buffer.concat([h, payload, u8(0xce)]);
}

const method = (channel: number, classId: number, methodId: number, args: Buffer): Buffer => frame(1, channel, Buffer.concat([u16(classId), u16(methodId), args]));
const HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');

/** A field table holding one key whose value is a table, `levels` deep, built without recursion. */
function nestedTable(levels: number): Buffer {
  let inner = u32(0); // the innermost empty table
  for (let i = 0; i < levels; i++) inner = Buffer.concat([u32(3 + inner.length), u8(1), Buffer.from('a'), Buffer.from('F'), inner]);
  return inner;
}

/**
 * Opens a connection and walks the handshake (PLAIN guest/guest, vhost /, channel 1). Calls
 * `ready` once channel 1 is open; `onMethod` sees every later method frame (class, method).
 */
function open(onReady: (s: Socket) => void, onMethod: (s: Socket, classId: number, methodId: number, payload: Buffer) => void, onClose: () => void): Socket {
  const s = connect({ host, port });
  sockets.add(s);
  let buf: Buffer = Buffer.alloc(0);
  let ready = false;
  s.on('error', (e: NodeJS.ErrnoException) => (counts.errors[e.code ?? e.message] = (counts.errors[e.code ?? e.message] ?? 0) + 1));
  s.on('close', () => {
    sockets.delete(s);
    onClose();
  });
  s.on('data', (d: Buffer) => {
    buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
    while (buf.length >= 7) {
      const size = buf.readUInt32BE(3);
      if (buf.length < size + 8) break;
      const type = buf[0]!;
      const payload = buf.subarray(7, 7 + size);
      buf = buf.subarray(size + 8);
      if (type !== 1) continue;
      const c = payload.readUInt16BE(0);
      const m = payload.readUInt16BE(2);
      if (c === 10 && m === 10) {
        s.write(method(0, 10, 11, Buffer.concat([u32(0), shortstr('PLAIN'), longstr(Buffer.from('\0guest\0guest')), shortstr('en_US')])));
      } else if (c === 10 && m === 30) {
        s.write(method(0, 10, 31, Buffer.concat([u16(2047), u32(131072), u16(0)])));
        s.write(method(0, 10, 40, Buffer.concat([shortstr('/'), shortstr(''), u8(0)])));
      } else if (c === 10 && m === 41) {
        s.write(method(1, 20, 10, shortstr('')));
      } else if (c === 20 && m === 11 && !ready) {
        ready = true;
        onReady(s);
      } else {
        onMethod(s, c, m, payload);
      }
    }
  });
  s.write(HEADER);
  return s;
}

// ---- the attackers ---------------------------------------------------------------------------

function flood(): void {
  const body = Buffer.alloc(1024, 0x61);
  const hdr = Buffer.concat([u16(60), u16(0), u32(0), u32(body.length), u16(0)]);
  const one = Buffer.concat([
    method(1, 60, 40, Buffer.concat([u16(0), shortstr(''), shortstr(`abuse-nowhere-${process.pid}`), u8(1)])),
    frame(2, 1, hdr),
    frame(3, 1, body),
  ]);
  const batch = Buffer.concat(Array<Buffer>(64).fill(one));
  open(
    (s) => {
      s.pause(); // never reads again
      const pump = (): void => {
        while (Date.now() < until && !s.destroyed) {
          counts.floodBytesWritten += batch.length;
          if (!s.write(batch)) {
            s.once('drain', pump);
            return;
          }
        }
      };
      pump();
    },
    () => undefined,
    () => undefined,
  );
}

function greedy(): void {
  open(
    (s) => {
      // basic.consume without basic.qos: no prefetch limit; then never read.
      s.write(method(1, 60, 20, Buffer.concat([u16(0), shortstr(sinkQueue), shortstr('greedy'), u8(0), u32(0)])));
      s.pause();
      s.on('data', (d: Buffer) => (counts.greedyBytesRead += d.length));
    },
    () => undefined,
    () => undefined,
  );
}

function stalled(): void {
  const one = (): void => {
    if (Date.now() >= until) return;
    const s = connect({ host, port });
    sockets.add(s);
    counts.stalledOpened++;
    s.on('error', () => undefined);
    s.on('connect', () => s.write(HEADER)); // then nothing: start-ok never comes
    s.resume(); // connection.start is read and ignored, so the broker's close is noticed
    s.on('close', () => {
      sockets.delete(s);
      counts.stalledDropped++;
      setTimeout(one, 100); // keep the number up
    });
  };
  for (let i = 0; i < stalledN; i++) setTimeout(one, i % 100); // spread the connects a little
}

function nested(): void {
  const table = nestedTable(depth);
  const declare = (s: Socket): void => {
    counts.nestedAttempts++;
    s.write(method(1, 50, 10, Buffer.concat([u16(0), shortstr(`abuse-nested-${process.pid}`), u8(0), table])));
  };
  const again = (): void => {
    if (Date.now() < until) setTimeout(nested, 50);
  };
  let answered = false;
  open(
    declare,
    (s, c, m, payload) => {
      if (answered) return;
      const outcome =
        (c === 10 && m === 50) || (c === 20 && m === 40) ? `${c === 10 ? 'connection' : 'channel'}.close ${payload.readUInt16BE(4)}` : `method ${c}/${m}`;
      counts.nestedOutcomes[outcome] = (counts.nestedOutcomes[outcome] ?? 0) + 1;
      answered = true;
      if (c === 10 && m === 50) s.write(method(0, 10, 51, Buffer.alloc(0)));
      s.end();
    },
    () => {
      if (!answered) counts.nestedOutcomes['socket closed'] = (counts.nestedOutcomes['socket closed'] ?? 0) + 1;
      again();
    },
  );
}

flood();
greedy();
stalled();
nested();

setTimeout(() => {
  for (const s of sockets) s.destroy();
  process.stdout.write(JSON.stringify(counts) + '\n');
  process.exit(0);
}, until - Date.now()).unref();
setInterval(() => undefined, 1000).unref();
// Keep the process alive until the deadline.
setTimeout(() => undefined, until - Date.now() + 100);
