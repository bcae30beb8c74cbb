// The main thread's frame path without a kernel: one in-process connection (an embedded broker,
// state in memory) fed chunks of basic.publish commands (method, header, 1 KiB body) for an
// exchange that routes them nowhere, one chunk an event-loop turn, so what is timed is the
// connection's and the channel's work a message (frame reader, frame routing, command assembly,
// publish checks, routing), which a run through sockets hides in the kernel's noise. CPU time
// (user + system) of this process over MESSAGES messages after a warm-up, in us a message.
//
//   node dist/bench/frame-path.js [CHECKOUT]    # CHECKOUT: the built checkout to load (default: this one)
//
// Environment: MESSAGES [2000000] WARMUP [300000] PER_CHUNK [64] (messages a chunk)

import { resolve } from 'node:path';
import { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { BufferWriter } from '../src/codec/buffer-writer.js';
import {
  BASIC_PUBLISH,
  encodeMethod,
  CHANNEL_OPEN,
  CONNECTION_OPEN,
  CONNECTION_START_OK,
  CONNECTION_TUNE_OK,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  type Method,
} from '../src/codec/methods.generated.js';

const MESSAGES = Number(process.env.MESSAGES ?? 2_000_000);
const WARMUP = Number(process.env.WARMUP ?? 300_000);
const PER_CHUNK = Number(process.env.PER_CHUNK ?? 64);
const checkout = resolve(process.argv[2] ?? new URL('../..', import.meta.url).pathname);

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const f = Buffer.alloc(payload.length + 8);
  f.writeUInt8(type, 0);
  f.writeUInt16BE(channel, 1);
  f.writeUInt32BE(payload.length, 3);
  payload.copy(f, 7);
  f.writeUInt8(0xce, payload.length + 7);
  return f;
}

function method(channel: number, m: Method): Buffer {
  const w = new BufferWriter(256);
  encodeMethod(w, m);
  return frame(FRAME_METHOD, channel, Buffer.from(w.toBuffer()));
}

/** A content header: class 60, weight 0, the body size, delivery-mode 2 (persistent). */
function header(channel: number, size: number): Buffer {
  const p = Buffer.alloc(15);
  p.writeUInt16BE(60, 0);
  p.writeUInt32BE(Math.floor(size / 0x1_0000_0000), 4);
  p.writeUInt32BE(size % 0x1_0000_0000, 8);
  p.writeUInt16BE(0x1000, 12); // property flags: delivery-mode
  p.writeUInt8(2, 14);
  return frame(FRAME_HEADER, channel, p);
}

const { startBroker } = (await import(pathToFileURL(`${checkout}/dist/src/index.js`).href)) as typeof import('../src/index.js');
const rb = await startBroker({ port: 0 });
const socket = new Duplex({
  read() {},
  write(_chunk, _enc, cb) {
    cb();
  },
});
const conn = rb.broker.handle(socket);
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
conn.receive(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]));
await turn();
conn.receive(method(0, { id: CONNECTION_START_OK, clientProperties: new Map(), mechanism: 'PLAIN', response: Buffer.from('\u0000guest\u0000guest'), locale: 'en_US' }));
await turn();
conn.receive(method(0, { id: CONNECTION_TUNE_OK, channelMax: 2047, frameMax: 131072, heartbeat: 0 }));
conn.receive(method(0, { id: CONNECTION_OPEN, virtualHost: '/', capabilities: '', insist: false }));
await turn();
conn.receive(method(1, { id: CHANNEL_OPEN, outOfBand: '' }));
await turn();
if (!conn.isOpen || conn.channels.size !== 1) throw new Error('the connection did not open a channel');

const body = frame(FRAME_BODY, 1, Buffer.alloc(1024, 0x61));
const one = Buffer.concat([method(1, { id: BASIC_PUBLISH, ticket: 0, exchange: 'amq.direct', routingKey: 'nowhere', mandatory: false, immediate: false }), header(1, 1024), body]);
const chunk = Buffer.concat(Array.from({ length: PER_CHUNK }, () => one));

async function run(n: number): Promise<number> {
  const before = process.cpuUsage();
  for (let sent = 0; sent < n; sent += PER_CHUNK) {
    conn.receive(chunk);
    await turn();
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / n;
}

await run(WARMUP);
const us = await run(MESSAGES);
const published = conn.channels.get(1)?.stats.published ?? 0;
if (published < WARMUP + MESSAGES) throw new Error(`only ${published} publishes were handled`);
console.log(JSON.stringify({ checkout, messages: MESSAGES, perChunk: PER_CHUNK, usPerMessage: Math.round(us * 1000) / 1000 }));
await rb.close();
