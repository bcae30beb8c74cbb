// The in-process fuzz targets: each parser of client bytes, an arbitrary of inputs (mostly valid
// encodings, damaged by mutations), and a check that throws a FuzzFailure when a property breaks.
// Properties shared by all: only the codec's typed errors (CodecError, or ConnectionError from
// the assembler) ever escape, and no allocation exceeds frame-max (the probe in alloc.ts).

import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { BufferReader } from '../src/codec/buffer-reader.js';
import { BufferWriter } from '../src/codec/buffer-writer.js';
import { CodecError } from '../src/codec/codec-error.js';
import { FrameReader } from '../src/codec/frame-reader.js';
import { decodeMethodFrame } from '../src/codec/method-frame.js';
import { BASIC_PUBLISH, decodeBasicProperties, encodeBasicProperties, encodeMethod, FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD, skipBasicProperties, type Method } from '../src/codec/methods.generated.js';
import { CommandAssembler } from '../src/connection/command-assembler.js';
import { parseCredentials } from '../src/connection/sasl.js';
import { ConnectionError } from '../src/errors.js';
import { largestAllocation, resetLargestAllocation } from './alloc.js';
import { basicProperties, clientMethod, deepTable, encodeTable, fieldTable, frame, hex, mutated, tryEncodeMethod, tryHeaderPayload } from './corpus.js';

/** A broken property (as opposed to an unexpected exception, which is a crash). */
export class FuzzFailure extends Error {
  override readonly name = 'FuzzFailure';
}

export interface FuzzTarget<T> {
  readonly name: string;
  readonly arbitrary: fc.Arbitrary<T>;
  /** Throws when a property does not hold. */
  check(input: T): void;
  /** The input as bytes (hex) for a report. */
  describe(input: T): string;
}

/** Default frame_max; targets that take a frame_max draw it from 4096..FRAME_MAX. */
export const FRAME_MAX = 131072;

function expectTyped(e: unknown, allowed: ReadonlyArray<new (...a: never[]) => Error>, what: string): void {
  if (allowed.some((C) => e instanceof C)) return;
  throw new FuzzFailure(`${what} threw ${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
}

function checkAllocation(limit: number, what: string): void {
  const largest = largestAllocation();
  if (largest > limit) throw new FuzzFailure(`${what}: allocated ${largest} bytes, limit ${limit}`);
}

// ---------------------------------------------------------------------------------------------
// Frame reader: a byte stream of frames, cut into chunks anywhere

const anyFramePayload: fc.Arbitrary<{ type: number; payload: Buffer }> = fc.oneof(
  { weight: 4, arbitrary: clientMethod.map((m) => ({ type: FRAME_METHOD, payload: tryEncodeMethod(m) ?? Buffer.alloc(4) })) },
  { weight: 2, arbitrary: fc.tuple(fc.nat({ max: 300 }), basicProperties).map(([n, p]) => ({ type: FRAME_HEADER, payload: tryHeaderPayload(n, p) ?? Buffer.alloc(14) })) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map((a) => ({ type: FRAME_BODY, payload: Buffer.from(a) })) },
  { weight: 1, arbitrary: fc.constant({ type: FRAME_HEARTBEAT, payload: Buffer.alloc(0) }) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 40 })).map(([type, a]) => ({ type, payload: Buffer.from(a) })) },
);

export interface StreamInput {
  readonly frameMax: number;
  readonly stream: Buffer;
  readonly cuts: readonly number[];
}

const frameStream: fc.Arbitrary<Buffer> = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 3 }), anyFramePayload), { minLength: 1, maxLength: 6 })
  .map((fs) => Buffer.concat(fs.map(([ch, f]) => frame(f.type, ch, f.payload))));

export const streamInput: fc.Arbitrary<StreamInput> = fc.record({
  frameMax: fc.oneof(fc.constant(FRAME_MAX), fc.constant(4096), fc.integer({ min: 4096, max: FRAME_MAX })),
  stream: mutated(frameStream, 3),
  cuts: fc.array(fc.nat(), { maxLength: 6 }),
});

interface Seen {
  frames: string[];
  error: string | null;
}

function readAll(input: StreamInput, chunks: readonly Buffer[]): Seen {
  const reader = new FrameReader(input.frameMax);
  const seen: Seen = { frames: [], error: null };
  const limit = input.frameMax - 8;
  const handler = {
    onFrame(type: number, channel: number, payload: Buffer): void {
      if (payload.length > limit) throw new FuzzFailure(`frame of ${payload.length} bytes handed out, frame_max ${input.frameMax}`);
      seen.frames.push(`${type}/${channel}/${payload.toString('hex')}`);
    },
  };
  try {
    for (const c of chunks) reader.push(c, handler);
  } catch (e) {
    if (e instanceof FuzzFailure) throw e;
    expectTyped(e, [CodecError], 'FrameReader.push');
    if ((e as CodecError).code !== 'FRAME_ERROR') throw new FuzzFailure(`FrameReader threw ${(e as CodecError).code}`);
    seen.error = (e as Error).message;
  }
  return seen;
}

export const frameReaderTarget: FuzzTarget<StreamInput> = {
  name: 'frame-reader',
  arbitrary: streamInput,
  check(input) {
    resetLargestAllocation();
    const whole = readAll(input, [input.stream]);
    const cuts = [...new Set(input.cuts.map((c) => (input.stream.length === 0 ? 0 : c % input.stream.length)))].sort((a, b) => a - b);
    const chunks: Buffer[] = [];
    let from = 0;
    for (const c of cuts) {
      chunks.push(input.stream.subarray(from, c));
      from = c;
    }
    chunks.push(input.stream.subarray(from));
    const split = readAll(input, chunks);
    // The same bytes give the same frames and the same error however TCP cut them.
    if (!isDeepStrictEqual(whole, split)) throw new FuzzFailure(`chunking changed the outcome: ${JSON.stringify(whole)} vs ${JSON.stringify(split)}`);
    checkAllocation(input.frameMax, 'frame reader');
  },
  describe: (i) => `frameMax=${i.frameMax} cuts=${JSON.stringify(i.cuts)} stream=${hex(i.stream)}`,
};

// ---------------------------------------------------------------------------------------------
// Method decoders

const methodPayload: fc.Arbitrary<Buffer> = mutated(
  fc.oneof(
    { weight: 6, arbitrary: clientMethod.map((m) => tryEncodeMethod(m) ?? Buffer.alloc(4)) },
    // Known ids followed by noise.
    { weight: 1, arbitrary: fc.tuple(clientMethod, fc.uint8Array({ maxLength: 64 })).map(([m, a]) => Buffer.concat([(tryEncodeMethod(m) ?? Buffer.alloc(4)).subarray(0, 4), Buffer.from(a)])) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
  ),
  4,
);

function reencode(m: Method): Buffer {
  const w = new BufferWriter(64);
  encodeMethod(w, m);
  return w.toBuffer();
}

export const methodDecoderTarget: FuzzTarget<Buffer> = {
  name: 'method-decoder',
  arbitrary: methodPayload,
  check(payload) {
    resetLargestAllocation();
    const reader = new BufferReader(Buffer.alloc(0));
    let m: Method;
    try {
      m = decodeMethodFrame(reader, payload);
    } catch (e) {
      expectTyped(e, [CodecError], 'decodeMethodFrame');
      checkAllocation(FRAME_MAX, 'method decoder');
      return;
    }
    checkAllocation(FRAME_MAX, 'method decoder');
    // What decodes, encodes (the broker echoes names and tables back) and decodes the same.
    // (A name of 86+ bytes that are not UTF-8 once decoded into more than 255: see buffer-reader.)
    let again: Buffer;
    try {
      again = reencode(m);
    } catch (e) {
      throw new FuzzFailure(`a decoded method does not encode again: ${(e as Error).message}`, { cause: e });
    }
    const m2 = decodeMethodFrame(reader, again);
    if (!isDeepStrictEqual(m, m2)) throw new FuzzFailure('decode(encode(decode(x))) differs from decode(x)');
  },
  describe: hex,
};

// ---------------------------------------------------------------------------------------------
// Field tables: round trip of generated tables, damaged encodings, deep nesting

export type TableInput = { readonly kind: 'bytes'; readonly bytes: Buffer } | { readonly kind: 'deep'; readonly depth: number; readonly arrays: boolean };

export const tableInput: fc.Arbitrary<TableInput> = fc.oneof(
  { weight: 8, arbitrary: mutated(fieldTable.map(encodeTable), 4).map((bytes): TableInput => ({ kind: 'bytes', bytes })) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deep' as const), depth: fc.oneof(fc.integer({ min: 90, max: 110 }), fc.integer({ min: 1, max: 5000 })), arrays: fc.boolean() }) },
);

export const fieldTableTarget: FuzzTarget<TableInput> = {
  name: 'field-table',
  arbitrary: tableInput,
  check(input) {
    const bytes = input.kind === 'bytes' ? input.bytes : deepTable(input.depth, input.arrays);
    resetLargestAllocation();
    let decoded: ReturnType<BufferReader['table']> | null = null;
    let decodeError: string | null = null;
    try {
      decoded = new BufferReader(bytes).table();
    } catch (e) {
      expectTyped(e, [CodecError], 'BufferReader.table');
      decodeError = (e as CodecError).code;
    }
    // Publish checks headers with skipTable() and decodes them later, lazily: the two must agree.
    const skipper = new BufferReader(bytes);
    let skipError: string | null = null;
    try {
      skipper.skipTable();
    } catch (e) {
      expectTyped(e, [CodecError], 'BufferReader.skipTable');
      skipError = (e as CodecError).code;
    }
    if (decodeError !== skipError) throw new FuzzFailure(`table() says ${decodeError ?? 'ok'} but skipTable() says ${skipError ?? 'ok'}`);
    checkAllocation(FRAME_MAX, 'field table');
    if (input.kind === 'deep') {
      const tooDeep = input.depth + (input.arrays ? 1 : 0) >= 100;
      if (tooDeep && decodeError !== 'FRAME_ERROR') throw new FuzzFailure(`a table nested ${input.depth} deep gave ${decodeError ?? 'no error'}`);
      if (!tooDeep && decodeError !== null) throw new FuzzFailure(`a table nested ${input.depth} deep (within the limit) gave ${decodeError}`);
      return;
    }
    if (decoded === null) return;
    const r = new BufferReader(bytes);
    r.table();
    if (skipper.pos !== r.pos) throw new FuzzFailure(`skipTable() stopped at ${skipper.pos}, table() at ${r.pos}`);
    let again: Buffer;
    try {
      again = encodeTable(decoded);
    } catch (e) {
      throw new FuzzFailure(`a decoded table does not encode again: ${(e as Error).message}`, { cause: e });
    }
    if (!isDeepStrictEqual(new BufferReader(again).table(), decoded)) throw new FuzzFailure('decode(encode(decode(x))) differs from decode(x)');
  },
  describe: (i) => (i.kind === 'bytes' ? hex(i.bytes) : `deep ${i.arrays ? 'arrays' : 'tables'} x${i.depth}`),
};

/** Generated tables survive encode/decode byte for byte (no mutation). */
export const tableRoundTripTarget: FuzzTarget<Buffer> = {
  name: 'field-table-round-trip',
  arbitrary: fieldTable.map(encodeTable),
  check(bytes) {
    const t = new BufferReader(bytes).table();
    const again = encodeTable(t);
    if (!again.equals(bytes)) throw new FuzzFailure(`re-encoded table differs: ${hex(again)}`);
  },
  describe: hex,
};

// ---------------------------------------------------------------------------------------------
// Content headers: properties are checked at publish (skip) and decoded when needed

const headerBytes: fc.Arbitrary<Buffer> = mutated(
  fc.tuple(fc.nat({ max: 1000 }), basicProperties).map(([n, p]) => tryHeaderPayload(n, p) ?? Buffer.alloc(14)),
  4,
);

export const contentHeaderTarget: FuzzTarget<Buffer> = {
  name: 'content-header',
  arbitrary: headerBytes,
  check(payload) {
    resetLargestAllocation();
    const FLAGS_OFFSET = 12;
    if (payload.length < FLAGS_OFFSET) return;
    let skipError: string | null = null;
    try {
      skipBasicProperties(new BufferReader(payload, FLAGS_OFFSET));
    } catch (e) {
      expectTyped(e, [CodecError], 'skipBasicProperties');
      skipError = (e as CodecError).code;
    }
    let decodeError: string | null = null;
    let props: ReturnType<typeof decodeBasicProperties> | null = null;
    try {
      props = decodeBasicProperties(new BufferReader(payload, FLAGS_OFFSET));
    } catch (e) {
      expectTyped(e, [CodecError], 'decodeBasicProperties');
      decodeError = (e as CodecError).code;
    }
    if (skipError !== decodeError) throw new FuzzFailure(`skipBasicProperties says ${skipError ?? 'ok'} but decodeBasicProperties says ${decodeError ?? 'ok'}`);
    checkAllocation(FRAME_MAX, 'content header');
    if (props !== null) {
      try {
        const w = new BufferWriter(64);
        encodeBasicProperties(w, props);
      } catch (e) {
        // Dead-lettering and header rewrites encode decoded properties again.
        throw new FuzzFailure(`decoded properties do not encode again: ${(e as Error).message}`, { cause: e });
      }
    }
  },
  describe: hex,
};

// ---------------------------------------------------------------------------------------------
// Command assembler: frames in any order for one channel

export interface AssemblerInput {
  readonly frames: ReadonlyArray<{ readonly type: number; readonly payload: Buffer }>;
}

const assemblerFrame: fc.Arbitrary<{ type: number; payload: Buffer }> = fc.oneof(
  { weight: 3, arbitrary: fc.oneof(fc.constant<Method>({ id: BASIC_PUBLISH, ticket: 0, exchange: '', routingKey: 'q', mandatory: false, immediate: false }), clientMethod).map((m) => ({ type: FRAME_METHOD, payload: tryEncodeMethod(m) ?? Buffer.alloc(4) })) },
  { weight: 3, arbitrary: fc.tuple(fc.oneof(fc.nat({ max: 200 }), fc.constantFrom(0, 2 ** 32, 2 ** 53 - 1, 2 ** 63)), basicProperties).map(([n, p]) => ({ type: FRAME_HEADER, payload: tryHeaderPayload(Math.min(n, 2 ** 53 - 1), p) ?? Buffer.alloc(14) })) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 120 }).map((a) => ({ type: FRAME_BODY, payload: Buffer.from(a) })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT, 0, 9), fc.uint8Array({ maxLength: 40 })).map(([type, a]) => ({ type, payload: Buffer.from(a) })) },
);

export const assemblerInput: fc.Arbitrary<AssemblerInput> = fc.record({ frames: fc.array(assemblerFrame, { minLength: 1, maxLength: 12 }) });

export const commandAssemblerTarget: FuzzTarget<AssemblerInput> = {
  name: 'command-assembler',
  arbitrary: assemblerInput,
  check(input) {
    resetLargestAllocation();
    const a = new CommandAssembler();
    let received = 0;
    for (const f of input.frames) {
      received += f.payload.length;
      let done: boolean;
      try {
        done = a.push(f.type, f.payload);
      } catch (e) {
        expectTyped(e, [CodecError, ConnectionError], 'CommandAssembler.push');
        break;
      }
      if (done && a.header.length > 0 && a.body.length !== a.bodySize) throw new FuzzFailure(`assembled a body of ${a.body.length} bytes for a declared ${a.bodySize}`);
      if (done) a.header = Buffer.alloc(0);
    }
    // A body is as big as the client made it; nothing else may allocate more than a frame.
    checkAllocation(Math.max(FRAME_MAX, received), 'command assembler');
  },
  describe: (i) => i.frames.map((f) => `${f.type}:${hex(f.payload)}`).join(' '),
};

// ---------------------------------------------------------------------------------------------
// SASL responses

export interface SaslInput {
  readonly mechanism: string;
  readonly response: Buffer;
}

export const saslTarget: FuzzTarget<SaslInput> = {
  name: 'sasl',
  arbitrary: fc.record({
    mechanism: fc.oneof(fc.constantFrom('PLAIN', 'AMQPLAIN', 'EXTERNAL', ''), fc.string({ maxLength: 10 })),
    response: fc.oneof(
      mutated(fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([u, p]) => Buffer.from(`\u0000${u}\u0000${p}`)), 3),
      mutated(
        fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 }), fieldTable).map(([u, p, t]) => {
          const all = new Map(t);
          all.set('LOGIN', { type: 'S', value: u });
          all.set('PASSWORD', { type: 'S', value: p });
          return encodeTable(all).subarray(4);
        }),
        3,
      ),
      fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    ),
  }),
  check(input) {
    resetLargestAllocation();
    let r: ReturnType<typeof parseCredentials>;
    try {
      r = parseCredentials(input.mechanism, input.response);
    } catch (e) {
      // Only a table nested too deep may throw (the codec's own 501).
      if (input.mechanism === 'AMQPLAIN' && e instanceof CodecError && e.code === 'FRAME_ERROR') return;
      throw new FuzzFailure(`parseCredentials threw ${(e as Error).message}`, { cause: e });
    }
    const known = input.mechanism === 'PLAIN' || input.mechanism === 'AMQPLAIN';
    if (known !== (r.kind !== 'unknown-mechanism')) throw new FuzzFailure(`parseCredentials(${input.mechanism}) gave ${JSON.stringify(r)}`);
    // PLAIN is valid exactly when it is "\0user\0password" (RabbitMQ's rule).
    const plainOk = input.response[0] === 0 && input.response.indexOf(0, 1) > 0 && input.response.indexOf(0, input.response.indexOf(0, 1) + 1) < 0;
    if (input.mechanism === 'PLAIN' && (r.kind === 'ok') !== plainOk) throw new FuzzFailure(`PLAIN gave ${r.kind}`);
    if (r.kind === 'ok' && (typeof r.user !== 'string' || typeof r.password !== 'string')) throw new FuzzFailure('credentials are not strings');
    checkAllocation(FRAME_MAX, 'sasl');
  },
  describe: (i) => `${JSON.stringify(i.mechanism)} ${hex(i.response)}`,
};

export const SYNC_TARGETS: ReadonlyArray<FuzzTarget<never>> = [
  frameReaderTarget,
  methodDecoderTarget,
  fieldTableTarget,
  tableRoundTripTarget,
  contentHeaderTarget,
  commandAssemblerTarget,
  saslTarget,
] as unknown as ReadonlyArray<FuzzTarget<never>>;
