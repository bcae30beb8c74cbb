// The connection and channel state machines fed random sessions: after a normal handshake, a
// sequence of valid and invalid methods on channels 0-3 (content methods with their header and
// body, sometimes not), methods whose payload was damaged, and now and then raw garbage; then a
// connection.close. The broker runs in this process (listening on port 0, state in memory).
// Properties: nothing is logged at error level (that is warren's 541 path), no uncaught
// exception, every close the server sends carries a spec reply code and text (never 541), a
// well-framed session always ends with close-ok or the server's own connection.close, the
// broker forgets the connection once its socket is gone, and a canary client still works.

import { Writable } from 'node:stream';
import fc from 'fast-check';
import { Broker } from '../src/broker.js';
import { makeConfig } from '../src/config.js';
import { BASIC_GET_OK, BASIC_PUBLISH, CHANNEL_OPEN, CHANNEL_OPEN_OK, FRAME_BODY, FRAME_HEADER, FRAME_METHOD, QUEUE_DECLARE, QUEUE_DECLARE_OK, BASIC_GET, type BasicProperties, type Method } from '../src/codec/methods.generated.js';
import { createLogger } from '../src/logger.js';
import { MemoryStore } from '../src/store/memory-store.js';
import { basicProperties, clientMethod, frame, hex, mutate, mutation, shortName, tryEncodeMethod, tryHeaderPayload, type Mutation } from './corpus.js';
import { CLOSE_BYTES, handshakeBytes, methodFrame, WireSession } from './session.js';
import { FuzzFailure } from './targets.js';

export type Action =
  | { readonly kind: 'method'; readonly channel: number; readonly method: Method }
  | { readonly kind: 'publish'; readonly channel: number; readonly exchange: string; readonly routingKey: string; readonly mandatory: boolean; readonly properties: BasicProperties; readonly body: number; readonly parts: number; readonly declared: number | null }
  | { readonly kind: 'damaged'; readonly channel: number; readonly method: Method; readonly mutations: readonly Mutation[] }
  | { readonly kind: 'garbage'; readonly bytes: Buffer };

const channel = fc.oneof({ weight: 6, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.constant(2) }, { weight: 1, arbitrary: fc.constantFrom(0, 3) });

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 10, arbitrary: fc.record({ kind: fc.constant('method' as const), channel, method: clientMethod }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('publish' as const),
      channel,
      exchange: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: shortName }),
      routingKey: shortName,
      mandatory: fc.boolean(),
      properties: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 2, arbitrary: basicProperties }),
      body: fc.oneof(fc.nat({ max: 300 }), fc.constant(0)),
      parts: fc.integer({ min: 1, max: 3 }),
      // Sometimes the header declares another size than the body that follows.
      declared: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat({ max: 400 }) }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('damaged' as const), channel, method: clientMethod, mutations: fc.array(mutation, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('garbage' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => Buffer.from(a)) }) },
);

export interface ChannelInput {
  /** Open channel 1 first (most sessions), so that later methods reach the channel's logic. */
  readonly openFirst: boolean;
  readonly actions: readonly Action[];
}

export const channelInput: fc.Arbitrary<ChannelInput> = fc.record({
  openFirst: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  actions: fc.array(action, { minLength: 1, maxLength: 16 }),
});

function actionBytes(a: Action): Buffer {
  switch (a.kind) {
    case 'method':
      return frame(FRAME_METHOD, a.channel, tryEncodeMethod(a.method) ?? Buffer.alloc(4));
    case 'damaged':
      return frame(FRAME_METHOD, a.channel, mutate(tryEncodeMethod(a.method) ?? Buffer.alloc(4), a.mutations));
    case 'garbage':
      return a.bytes;
    case 'publish': {
      const m: Method = { id: BASIC_PUBLISH, ticket: 0, exchange: a.exchange, routingKey: a.routingKey, mandatory: a.mandatory, immediate: false };
      const body = Buffer.alloc(a.body, 0x62);
      const out = [frame(FRAME_METHOD, a.channel, tryEncodeMethod(m) ?? Buffer.alloc(4)), frame(FRAME_HEADER, a.channel, tryHeaderPayload(a.declared ?? a.body, a.properties) ?? tryHeaderPayload(a.declared ?? a.body, {})!)];
      const step = Math.max(1, Math.ceil(a.body / a.parts));
      for (let i = 0; i < a.body; i += step) out.push(frame(FRAME_BODY, a.channel, body.subarray(i, i + step)));
      return Buffer.concat(out);
    }
  }
}

export function sessionBytes(input: ChannelInput): Buffer {
  const parts = [handshakeBytes()];
  if (input.openFirst) parts.push(methodFrame(1, { id: CHANNEL_OPEN, outOfBand: '' }));
  for (const a of input.actions) parts.push(actionBytes(a));
  parts.push(CLOSE_BYTES);
  return Buffer.concat(parts);
}

/** Records what the broker logs at error level or above (internal errors, 541). */
class ErrorLog extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(chunk.toString());
    done();
  }
}

export class ChannelFuzzBroker {
  readonly broker: Broker;
  readonly port: number;
  readonly errors: ErrorLog;
  readonly uncaught: string[] = [];
  readonly #onUncaught = (e: unknown): void => {
    this.uncaught.push((e as Error)?.stack ?? String(e));
  };

  private constructor(broker: Broker, port: number, errors: ErrorLog) {
    this.broker = broker;
    this.port = port;
    this.errors = errors;
    process.on('uncaughtException', this.#onUncaught);
    process.on('unhandledRejection', this.#onUncaught);
  }

  static async start(): Promise<ChannelFuzzBroker> {
    const errors = new ErrorLog();
    const config = makeConfig({ host: '127.0.0.1', port: 0, dataDir: null, httpPort: null });
    const broker = new Broker(config, new MemoryStore(), createLogger('error', errors));
    const address = await broker.listen();
    return new ChannelFuzzBroker(broker, address.port, errors);
  }

  /** A well-behaved client: handshake, declare, publish, get its message back. */
  async canary(): Promise<void> {
    const s = await WireSession.connect(this.port);
    try {
      s.send(Buffer.concat([handshakeBytes(), methodFrame(1, { id: CHANNEL_OPEN, outOfBand: '' })]));
      if (!(await s.until(() => s.has(CHANNEL_OPEN_OK), 5000))) throw new Error(`canary: no channel.open-ok (closes ${JSON.stringify(s.closes)})`);
      const q = `canary-${process.pid}`;
      s.send(methodFrame(1, { id: QUEUE_DECLARE, ticket: 0, queue: q, passive: false, durable: false, exclusive: true, autoDelete: false, nowait: false, arguments: new Map() }));
      const publish: Method = { id: BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: q, mandatory: false, immediate: false };
      s.send(Buffer.concat([methodFrame(1, publish), frame(FRAME_HEADER, 1, tryHeaderPayload(5, {})!), frame(FRAME_BODY, 1, Buffer.from('alive'))]));
      s.send(methodFrame(1, { id: BASIC_GET, ticket: 0, queue: q, noAck: true }));
      if (!(await s.until(() => s.has(QUEUE_DECLARE_OK) && s.has(BASIC_GET_OK), 5000))) throw new Error(`canary: no basic.get-ok (closes ${JSON.stringify(s.closes)})`);
      s.send(CLOSE_BYTES);
      if (!(await s.until(() => s.closedCleanly, 5000))) throw new Error('canary: no close-ok');
    } finally {
      s.destroy();
    }
  }

  async close(): Promise<void> {
    process.off('uncaughtException', this.#onUncaught);
    process.off('unhandledRejection', this.#onUncaught);
    await this.broker.close();
  }
}

/** How long a session may take to answer its connection.close (a guard against hangs, not a measurement). */
const ANSWER_MS = 5000;

export const channelTarget = {
  name: 'channel-state-machine',
  arbitrary: channelInput,
  async check(b: ChannelFuzzBroker, input: ChannelInput): Promise<void> {
    const errorsBefore = b.errors.lines.length;
    const uncaughtBefore = b.uncaught.length;
    const baseline = b.broker.connections.size;
    const s = await WireSession.connect(b.port);
    try {
      s.send(sessionBytes(input));
      // Garbage can leave the server waiting for the rest of a frame that never comes: then it
      // is right to wait, and the session is cut short instead.
      const framed = !input.actions.some((a) => a.kind === 'garbage');
      const answered = await s.until(() => s.closedCleanly || s.isEnded, framed ? ANSWER_MS : 50);
      if (framed && !answered) throw new FuzzFailure(`no answer to connection.close within ${ANSWER_MS} ms; got ${s.methods.map((m) => m.method.id.toString(16)).join(',')}`);
    } finally {
      s.destroy();
    }
    await s.ended;
    // The broker forgets the connection once the socket is gone.
    const deadline = Date.now() + ANSWER_MS;
    while (b.broker.connections.size > baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    if (b.broker.connections.size > baseline) throw new FuzzFailure(`broker still holds ${b.broker.connections.size - baseline} connection(s) after the socket closed`);
    if (s.garbage.length > 0) throw new FuzzFailure(`server sent bytes a client cannot parse: ${s.garbage.join('; ')}`);
    const bad = s.badCloses();
    if (bad.length > 0) throw new FuzzFailure(`server closed with ${JSON.stringify(bad)}`);
    if (b.errors.lines.length > errorsBefore) throw new FuzzFailure(`broker logged an error: ${b.errors.lines.slice(errorsBefore).join('').slice(0, 2000)}`);
    if (b.uncaught.length > uncaughtBefore) throw new FuzzFailure(`uncaught exception: ${b.uncaught.slice(uncaughtBefore).join('\n')}`);
  },
  describe: (input: ChannelInput): string => hex(sessionBytes(input)),
};
