// Golden bytes: frames exactly as a real client and a real RabbitMQ put them on the wire.
//
// Captured once (not at test time) through a logging TCP proxy between amqplib 2.3.1 (Node
// 20.20.2) and RabbitMQ 3.10.8 (Erlang/OTP 25.2.3) on 127.0.0.1:5673. The client connected as
// guest, opened channel 1, declared the exclusive queue "warren-golden-q", published "hello warren"
// to it through the default exchange with { contentType: 'text/plain', deliveryMode: 2,
// headers: { 'x-n': 42 }, messageId: 'm-1' }, consumed it with consumer tag "golden-ctag" and
// noAck, then closed channel and connection. The hex below is pasted from that capture.
//
// Each test decodes the bytes and checks the values, then encodes the values with warren's codec
// (FrameWriter) and checks that the result is the captured bytes again.

import { describe, expect, it } from 'vitest';
import { BufferReader } from '../../src/codec/buffer-reader.js';
import { BufferWriter } from '../../src/codec/buffer-writer.js';
import type { FieldTable, FieldValue } from '../../src/codec/field-table.js';
import { FrameWriter } from '../../src/codec/frame-writer.js';
import {
  BASIC_CONSUME,
  BASIC_CONSUME_OK,
  BASIC_DELIVER,
  BASIC_PUBLISH,
  CHANNEL_CLOSE,
  CHANNEL_CLOSE_OK,
  CHANNEL_OPEN,
  CHANNEL_OPEN_OK,
  CONNECTION_CLOSE,
  CONNECTION_CLOSE_OK,
  CONNECTION_OPEN,
  CONNECTION_OPEN_OK,
  CONNECTION_START,
  CONNECTION_START_OK,
  CONNECTION_TUNE,
  CONNECTION_TUNE_OK,
  decodeBasicProperties,
  decodeMethod,
  encodeBasicProperties,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  PROTOCOL_VERSION,
  QUEUE_DECLARE,
  QUEUE_DECLARE_OK,
  type BasicProperties,
  type Method,
} from '../../src/codec/methods.generated.js';
import { FakeSink, hex, readFrames, type Frame } from './helpers.js';

// ---- client (amqplib) → server -------------------------------------------------------------

const PROTOCOL_HEADER = '414d515000000901';

const C_START_OK =
  '0100000000013b000a000b000001170770726f647563745300000007616d71706c69620776657273696f6e5300000005' +
  '322e332e3108706c6174666f726d53000000104e6f64652e4a53207632302e32302e320b696e666f726d6174696f6e53' +
  '0000002468747470733a2f2f616d71702d6e6f64652e6769746875622e696f2f616d71706c69622f0c6361706162696c' +
  '6974696573460000008c127075626c69736865725f636f6e6669726d7374011a65786368616e67655f65786368616e67' +
  '655f62696e64696e677374010a62617369632e6e61636b740116636f6e73756d65725f63616e63656c5f6e6f74696679' +
  '740112636f6e6e656374696f6e2e626c6f636b656474011c61757468656e7469636174696f6e5f6661696c7572655f63' +
  '6c6f7365740105504c41494e0000000c00677565737400677565737405656e5f5553ce';
const C_TUNE_OK = '0100000000000c000a001f07ff00020000003cce';
const C_OPEN = '01000000000008000a0028012f0000ce';
const C_CHANNEL_OPEN = '010001000000050014000a00ce';
const C_QUEUE_DECLARE = '0100010000001b0032000a00000f77617272656e2d676f6c64656e2d710e00000000ce';
const C_PUBLISH = '01000100000018003c00280000000f77617272656e2d676f6c64656e2d7100ce';
const C_HEADER = '02000100000028003c0000000000000000000cb0800a746578742f706c61696e0000000603782d6e622a02036d2d31ce';
const C_BODY = '0300010000000c68656c6c6f2077617272656ece';
const C_CONSUME = '01000100000027003c001400000f77617272656e2d676f6c64656e2d710b676f6c64656e2d637461670200000000ce';
const C_CHANNEL_CLOSE = '010001000000120014002800c807476f6f6462796500000000ce';
const C_CONNECTION_CLOSE = '01000000000019000a003200c80e4368656572732c207468616e6b7300000000ce';

// ---- server (RabbitMQ 3.10.8) → client -----------------------------------------------------

const S_START =
  '010000000001f9000a000a0009000001d40c6361706162696c697469657346000000c7127075626c69736865725f636f' +
  '6e6669726d7374011a65786368616e67655f65786368616e67655f62696e64696e677374010a62617369632e6e61636b' +
  '740116636f6e73756d65725f63616e63656c5f6e6f74696679740112636f6e6e656374696f6e2e626c6f636b65647401' +
  '13636f6e73756d65725f7072696f72697469657374011c61757468656e7469636174696f6e5f6661696c7572655f636c' +
  '6f73657401107065725f636f6e73756d65725f716f7374010f6469726563745f7265706c795f746f74010c636c757374' +
  '65725f6e616d6553000000127261626269742d7265662d3536373340766d09636f707972696768745300000037436f70' +
  '7972696768742028632920323030372d3230323220564d776172652c20496e632e206f722069747320616666696c6961' +
  '7465732e0b696e666f726d6174696f6e53000000394c6963656e73656420756e64657220746865204d504c20322e302e' +
  '20576562736974653a2068747470733a2f2f7261626269746d712e636f6d08706c6174666f726d530000001145726c61' +
  '6e672f4f54502032352e322e330770726f6475637453000000085261626269744d510776657273696f6e530000000633' +
  '2e31302e380000000e414d51504c41494e20504c41494e00000005656e5f5553ce';
const S_TUNE = '0100000000000c000a001e07ff00020000003cce';
const S_OPEN_OK = '01000000000005000a002900ce';
const S_CHANNEL_OPEN_OK = '010001000000080014000b00000000ce';
const S_QUEUE_DECLARE_OK = '0100010000001c0032000b0f77617272656e2d676f6c64656e2d710000000000000000ce';
const S_CONSUME_OK = '01000100000010003c00150b676f6c64656e2d63746167ce';
const S_DELIVER = '0100010000002a003c003c0b676f6c64656e2d63746167000000000000000100000f77617272656e2d676f6c64656e2d71ce';
const S_HEADER = C_HEADER; // RabbitMQ passes the publisher's content header through unchanged
const S_BODY = C_BODY;
const S_CHANNEL_CLOSE_OK = '0100010000000400140029ce';
const S_CONNECTION_CLOSE_OK = '01000000000004000a0033ce';

const S = (value: string): FieldValue => ({ type: 'S', value });
const T: FieldValue = { type: 't', value: true };

function oneFrame(h: string): Frame {
  const frames = readFrames([hex(h)]);
  expect(frames.length).toBe(1);
  return frames[0]!;
}

function decodeFrameMethod(h: string): { channel: number; method: Method } {
  const f = oneFrame(h);
  expect(f.type).toBe(FRAME_METHOD);
  const r = new BufferReader(f.payload);
  const method = decodeMethod(r);
  expect(r.remaining).toBe(0);
  return { channel: f.channel, method };
}

function writeMethod(channel: number, m: Method): string {
  const w = new FrameWriter(131072);
  w.method(channel, m);
  const sink = new FakeSink();
  w.flush(sink);
  return sink.bytes().toString('hex');
}

/** The content header payload: class, weight, body size, properties. */
function decodeHeader(payload: Buffer): { classId: number; weight: number; bodySize: number; props: BasicProperties } {
  const r = new BufferReader(payload);
  const classId = r.u16();
  const weight = r.u16();
  const bodySize = r.u64();
  const props = decodeBasicProperties(r);
  expect(r.remaining).toBe(0);
  return { classId, weight, bodySize, props };
}

function encodeHeader(classId: number, bodySize: number, props: BasicProperties): Buffer {
  const w = new BufferWriter();
  w.u16(classId);
  w.u16(0);
  w.u64(bodySize);
  encodeBasicProperties(w, props);
  return w.toBuffer();
}

const PUBLISHED_PROPS: BasicProperties = {
  contentType: 'text/plain',
  headers: new Map([['x-n', { type: 'b', value: 42 }]]), // amqplib picks the smallest integer type
  deliveryMode: 2,
  messageId: 'm-1',
};

/** Each method frame of the capture with the value it must decode to. */
const METHOD_FRAMES: [string, string, number, Method][] = [
  ['S connection.start', S_START, 0, {
    id: CONNECTION_START,
    versionMajor: 0,
    versionMinor: 9,
    serverProperties: new Map<string, FieldValue>([
      ['capabilities', {
        type: 'F',
        value: new Map([
          ['publisher_confirms', T],
          ['exchange_exchange_bindings', T],
          ['basic.nack', T],
          ['consumer_cancel_notify', T],
          ['connection.blocked', T],
          ['consumer_priorities', T],
          ['authentication_failure_close', T],
          ['per_consumer_qos', T],
          ['direct_reply_to', T],
        ]),
      }],
      ['cluster_name', S('rabbit-ref-5673@vm')],
      ['copyright', S('Copyright (c) 2007-2022 VMware, Inc. or its affiliates.')],
      ['information', S('Licensed under the MPL 2.0. Website: https://rabbitmq.com')],
      ['platform', S('Erlang/OTP 25.2.3')],
      ['product', S('RabbitMQ')],
      ['version', S('3.10.8')],
    ]),
    mechanisms: Buffer.from('AMQPLAIN PLAIN'),
    locales: Buffer.from('en_US'),
  }],
  ['C connection.start-ok', C_START_OK, 0, {
    id: CONNECTION_START_OK,
    clientProperties: new Map<string, FieldValue>([
      ['product', S('amqplib')],
      ['version', S('2.3.1')],
      ['platform', S('Node.JS v20.20.2')],
      ['information', S('https://amqp-node.github.io/amqplib/')],
      ['capabilities', {
        type: 'F',
        value: new Map([
          ['publisher_confirms', T],
          ['exchange_exchange_bindings', T],
          ['basic.nack', T],
          ['consumer_cancel_notify', T],
          ['connection.blocked', T],
          ['authentication_failure_close', T],
        ]),
      }],
    ]),
    mechanism: 'PLAIN',
    response: Buffer.from('\0guest\0guest'),
    locale: 'en_US',
  }],
  ['S connection.tune', S_TUNE, 0, { id: CONNECTION_TUNE, channelMax: 2047, frameMax: 131072, heartbeat: 60 }],
  ['C connection.tune-ok', C_TUNE_OK, 0, { id: CONNECTION_TUNE_OK, channelMax: 2047, frameMax: 131072, heartbeat: 60 }],
  ['C connection.open', C_OPEN, 0, { id: CONNECTION_OPEN, virtualHost: '/', capabilities: '', insist: false }],
  ['S connection.open-ok', S_OPEN_OK, 0, { id: CONNECTION_OPEN_OK, knownHosts: '' }],
  ['C channel.open', C_CHANNEL_OPEN, 1, { id: CHANNEL_OPEN, outOfBand: '' }],
  ['S channel.open-ok', S_CHANNEL_OPEN_OK, 1, { id: CHANNEL_OPEN_OK, channelId: Buffer.alloc(0) }],
  ['C queue.declare', C_QUEUE_DECLARE, 1, {
    id: QUEUE_DECLARE,
    ticket: 0,
    queue: 'warren-golden-q',
    passive: false,
    durable: true,
    exclusive: true,
    autoDelete: true,
    nowait: false,
    arguments: new Map(),
  }],
  ['S queue.declare-ok', S_QUEUE_DECLARE_OK, 1, { id: QUEUE_DECLARE_OK, queue: 'warren-golden-q', messageCount: 0, consumerCount: 0 }],
  ['C basic.publish', C_PUBLISH, 1, { id: BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: 'warren-golden-q', mandatory: false, immediate: false }],
  ['C basic.consume', C_CONSUME, 1, {
    id: BASIC_CONSUME,
    ticket: 0,
    queue: 'warren-golden-q',
    consumerTag: 'golden-ctag',
    noLocal: false,
    noAck: true,
    exclusive: false,
    nowait: false,
    arguments: new Map(),
  }],
  ['S basic.consume-ok', S_CONSUME_OK, 1, { id: BASIC_CONSUME_OK, consumerTag: 'golden-ctag' }],
  ['S basic.deliver', S_DELIVER, 1, {
    id: BASIC_DELIVER,
    consumerTag: 'golden-ctag',
    deliveryTag: 1,
    redelivered: false,
    exchange: '',
    routingKey: 'warren-golden-q',
  }],
  ['C channel.close', C_CHANNEL_CLOSE, 1, { id: CHANNEL_CLOSE, replyCode: 200, replyText: 'Goodbye', classId: 0, methodId: 0 }],
  ['S channel.close-ok', S_CHANNEL_CLOSE_OK, 1, { id: CHANNEL_CLOSE_OK }],
  ['C connection.close', C_CONNECTION_CLOSE, 0, { id: CONNECTION_CLOSE, replyCode: 200, replyText: 'Cheers, thanks', classId: 0, methodId: 0 }],
  ['S connection.close-ok', S_CONNECTION_CLOSE_OK, 0, { id: CONNECTION_CLOSE_OK }],
];

describe('golden bytes (amqplib 2.3.1 ⇄ RabbitMQ 3.10.8)', () => {
  it('protocol header is "AMQP" 0 0 9 1, matching PROTOCOL_VERSION', () => {
    const h = hex(PROTOCOL_HEADER);
    expect(h.subarray(0, 4).toString('latin1')).toBe('AMQP');
    expect([...h.subarray(5)]).toEqual([...PROTOCOL_VERSION]);
    expect(h[4]).toBe(0);
    // And FrameWriter.raw sends it verbatim.
    const w = new FrameWriter(4096);
    w.raw(h);
    const sink = new FakeSink();
    w.flush(sink);
    expect(sink.bytes().toString('hex')).toBe(PROTOCOL_HEADER);
  });

  it.each(METHOD_FRAMES)('%s decodes to the expected value and encodes back to the same bytes', (_, h, channel, expected) => {
    const got = decodeFrameMethod(h);
    expect(got.channel).toBe(channel);
    expect(got.method).toEqual(expected);
    if (got.method.id === CONNECTION_START || got.method.id === CONNECTION_START_OK) {
      // Maps compare without order in toEqual; the wire order matters for byte-exactness.
      const table = 'serverProperties' in got.method ? got.method.serverProperties : (got.method as { clientProperties: FieldTable }).clientProperties;
      const want = 'serverProperties' in expected ? expected.serverProperties : (expected as { clientProperties: FieldTable }).clientProperties;
      expect([...table.keys()]).toEqual([...want.keys()]);
    }
    expect(writeMethod(channel, expected)).toBe(h);
    expect(writeMethod(channel, got.method)).toBe(h);
  });

  it("amqplib's content header (with a couple of properties) decodes and re-encodes exactly", () => {
    const f = oneFrame(C_HEADER);
    expect(f.type).toBe(FRAME_HEADER);
    expect(f.channel).toBe(1);
    const { classId, weight, bodySize, props } = decodeHeader(f.payload);
    expect({ classId, weight, bodySize }).toEqual({ classId: 60, weight: 0, bodySize: 12 });
    expect(props).toEqual(PUBLISHED_PROPS);
    expect(f.payload.readUInt16BE(12)).toBe(0x8000 | 0x2000 | 0x1000 | 0x0080);
    expect(encodeHeader(60, 12, props).equals(f.payload)).toBe(true);
    expect(encodeHeader(60, 12, PUBLISHED_PROPS).equals(f.payload)).toBe(true);
  });

  it("amqplib's publish (method + header + body) is what FrameWriter.content produces", () => {
    const stream = C_PUBLISH + C_HEADER + C_BODY;
    const frames = readFrames([hex(stream)]);
    expect(frames.map((f) => f.type)).toEqual([FRAME_METHOD, FRAME_HEADER, FRAME_BODY]);
    expect(frames[2]!.payload.toString()).toBe('hello warren');
    const w = new FrameWriter(131072);
    w.content(1, METHOD_FRAMES.find(([n]) => n === 'C basic.publish')![3], encodeHeader(60, 12, PUBLISHED_PROPS), Buffer.from('hello warren'));
    const sink = new FakeSink();
    w.flush(sink);
    expect(sink.bytes().toString('hex')).toBe(stream);
  });

  it("RabbitMQ's delivery (deliver + header + body) is what FrameWriter.content produces", () => {
    const stream = S_DELIVER + S_HEADER + S_BODY;
    const frames = readFrames([hex(stream)]);
    const deliver = decodeMethod(new BufferReader(frames[0]!.payload));
    expect(deliver).toEqual(METHOD_FRAMES.find(([n]) => n === 'S basic.deliver')![3]);
    const w = new FrameWriter(131072);
    w.content(1, deliver, frames[1]!.payload, frames[2]!.payload);
    const sink = new FakeSink();
    w.flush(sink);
    expect(sink.bytes().toString('hex')).toBe(stream);
  });

  it('the whole client stream, fed one byte at a time, splits into the captured frames', () => {
    const frames = [C_START_OK, C_TUNE_OK, C_OPEN, C_CHANNEL_OPEN, C_QUEUE_DECLARE, C_PUBLISH, C_HEADER, C_BODY, C_CONSUME, C_CHANNEL_CLOSE, C_CONNECTION_CLOSE];
    const stream = hex(frames.join(''));
    const got = readFrames([...stream].map((b) => Buffer.from([b])));
    expect(got.map((f) => Buffer.concat([Buffer.from([f.type, f.channel >> 8, f.channel & 0xff, 0, 0, 0, 0]), f.payload, Buffer.from([0xce])]))
      .map((b) => {
        b.writeUInt32BE(b.length - 8, 3);
        return b.toString('hex');
      })).toEqual(frames);
  });
});
