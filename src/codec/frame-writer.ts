// Encodes outgoing frames for one connection into a slab shared by all connections, and keeps
// the connection's share of it as a list of views until the connection flushes them to its
// socket in one corked write. A slab is never reused, only replaced when full, so a view stays
// valid while the socket still holds it. Large bodies are not copied: their buffers are queued
// between the frame header and the frame-end octet.
//
// A client that reads slowly holds its views in the socket's queue, and each view pins its whole
// slab, mostly other connections' bytes. So once a socket already holds a slab's worth, flush
// copies that connection's slab views into one buffer of its own: a slow reader then pins only
// its own bytes, which maxConnectionBuffer bounds.
//
// A full slab is written into again once nothing can still read it: every writer that put bytes
// in it has flushed them to a sink that copies what it is given (a TCP socket, into the kernel)
// and holds nothing unwritten. Otherwise each 256 KiB of output was a new off-heap buffer to
// allocate, fault in and collect (at 1 KiB deliveries, about a thousand a second).

import { bufferView } from './frame-reader.js';
import { BufferWriter } from './buffer-writer.js';
import { putU16, putU32 } from './big-endian.js';
import {
  BASIC_DELIVER,
  encodeMethod,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  type BasicDeliver,
  type Method,
} from './methods.generated.js';

const SLAB_SIZE = 256 * 1024;
/** Bodies at least this large are queued by reference instead of copied into the slab. */
export const BODY_BY_REFERENCE = 8 * 1024;
/** Bytes a socket may already hold before new output is copied out of the shared slab. */
export const COMPACT_AFTER = SLAB_SIZE;

class Slab extends BufferWriter {
  /** Start of the frame being written; bytes from here move along if the slab is replaced. */
  frameStart = 0;
  /** buf's ArrayBuffer, kept (for bufferView: a Buffer answers `buffer` in C++). */
  ab: ArrayBufferLike = this.buf.buffer;

  constructor() {
    super(SLAB_SIZE);
  }

  protected override grow(n: number): void {
    const inFrame = this.pos - this.frameStart;
    const size = Math.max(SLAB_SIZE, (inFrame + n) * 2);
    const next = (size === SLAB_SIZE ? reusableSlab() : null) ?? Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, this.frameStart, this.pos);
    retire(this.buf);
    this.buf = next;
    this.ab = next.buffer;
    this.shifted += this.frameStart;
    this.frameStart = 0;
    this.pos = inFrame;
  }
}

const slab = new Slab();

/** Full slabs that may be written into again (the newest RETIRED_MAX), with the writers that used them. */
const RETIRED_MAX = 4;
const retired: { buf: Buffer; writers: FrameWriter[] }[] = [];
/** Writers with bytes in the current slab; `slabGeneration` counts slab changes. */
let slabWriters: FrameWriter[] = [];
let slabGeneration = 0;

function retire(buf: Buffer): void {
  slabGeneration++;
  const writers = slabWriters;
  slabWriters = [];
  if (buf.length !== SLAB_SIZE) return;
  retired.push({ buf, writers });
  if (retired.length > RETIRED_MAX) retired.shift(); // still held: left to the collector
}

/** A retired slab that nothing refers to any more, taken off the list; null when none is. */
function reusableSlab(): Buffer | null {
  for (let i = 0; i < retired.length; i++) {
    const r = retired[i]!;
    if (r.writers.every((w) => w.released(r.buf))) {
      retired.splice(i, 1);
      return r.buf;
    }
  }
  return null;
}

/** basic.deliver templates kept per connection (see FrameWriter.deliver). */
const TEMPLATES = 16;

interface DeliverTemplate {
  channel: number;
  consumerTag: string;
  exchange: string;
  routingKey: string;
  /** The frame with tag 0 and redelivered false; null until the fields repeat. */
  tpl: Buffer | null;
  /** Where the delivery tag sits in it (the redelivered octet follows). */
  tagAt: number;
  /** Delivered once with these fields (the next one builds the template). */
  seen: boolean;
}
/** Encodes basic.deliver method frames for the template (not the slab: it outlives a slab). */
const scratch = new BufferWriter(512);

/** Something to tell once the sink has taken every byte queued so far (see afterWrite). */
export interface WriteWaiter {
  written(): void;
}

export interface FrameSink {
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
  /** Bytes written but not yet passed on (a socket's); see FrameWriter's `recycle`. */
  readonly writableLength?: number;
}

export class FrameWriter {
  /** Largest frame the peer accepts, header and end octet included. */
  frameMax: number;
  /** Bytes encoded and not yet handed to the socket. */
  pendingBytes = 0;
  #chunks: Buffer[] = [];
  /** Indexes in #chunks of bodies queued by reference (not slab views). */
  #byReference: number[] = [];
  // The open run of this connection's bytes in the slab (and that slab's ArrayBuffer).
  #runBuf: Buffer | null = null;
  #runAb: ArrayBufferLike | null = null;
  #runStart = 0;
  #runEnd = 0;
  // basic.deliver frames as bytes: a consumer reading one queue or stream sends the same frame
  // again and again but for the delivery tag and redelivered bit, so it is copied from a
  // template and patched instead of encoded field by field (a large share of a replay's CPU).
  // A template is built when a delivery repeats an earlier one (channel, consumer tag,
  // exchange, routing key); up to TEMPLATES of them are kept, so consumers taking turns on one
  // connection (a fan-out to several queues) each have theirs.
  readonly #templates: DeliverTemplate[] = [];
  /** Where the last lookup hit: consumers taking turns are found on the first look after it. */
  #lastTemplate = 0;
  #nextEvict = 0;
  readonly #deliverMethod: { -readonly [K in keyof BasicDeliver]: BasicDeliver[K] } = {
    id: BASIC_DELIVER,
    consumerTag: '',
    deliveryTag: 0,
    redelivered: false,
    exchange: '',
    routingKey: '',
  };

  /** Its sink copies what it is given (a socket): a slab it flushed may be reused once the sink holds nothing. */
  readonly #recycle: boolean;
  #sink: FrameSink | null = null;
  /** The slab generation this writer last joined slabWriters in. */
  #generation = -1;
  /** Bytes handed to the sink so far; less what it still holds, the bytes it has written. */
  #handed = 0;
  // Waiters (afterWrite), oldest first, each with the byte count the sink must have written.
  #waiters: WriteWaiter[] = [];
  #waitMarks: number[] = [];
  #waitHead = 0;

  constructor(frameMax: number, recycle = false) {
    this.frameMax = frameMax;
    this.#recycle = recycle;
  }

  /**
   * Tells `w` once the sink has written every byte queued so far (flushed or still pending
   * here): a body delivered or acked then is no longer read by the output path. Only for a sink
   * that copies what it is given (a socket); otherwise `w` is never told, which is safe.
   */
  afterWrite(w: WriteWaiter): void {
    if (!this.#recycle) return;
    this.#waiters.push(w);
    this.#waitMarks.push(this.#handed + this.pendingBytes);
    this.#tellWritten();
  }

  /** Tells the waiters whose bytes the sink has written. */
  #tellWritten(): void {
    const sink = this.#sink;
    const done = sink === null ? 0 : this.#handed - (sink.writableLength ?? Infinity);
    const waiters = this.#waiters;
    const marks = this.#waitMarks;
    let i = this.#waitHead;
    while (i < waiters.length && marks[i]! <= done) waiters[i++]!.written();
    if (i === waiters.length) {
      waiters.length = 0;
      marks.length = 0;
      i = 0;
    } else if (i > 1024 && i * 2 > waiters.length) {
      waiters.splice(0, i);
      marks.splice(0, i);
      i = 0;
    }
    this.#waitHead = i;
  }

  /** Whether nothing `buf` (a full slab) holds for this writer can still be read. */
  released(buf: Buffer): boolean {
    if (this.#runBuf === buf) return false;
    for (const c of this.#chunks) if (c.buffer === buf.buffer) return false; // not flushed yet
    const sink = this.#sink;
    if (sink === null) return true; // never flushed: what it wrote was discarded
    return this.#recycle && sink.writableLength === 0;
  }

  get hasPending(): boolean {
    return this.pendingBytes > 0;
  }

  method(channel: number, m: Method): void {
    this.#begin(FRAME_METHOD, channel, 64);
    encodeMethod(slab, m);
    this.#end();
  }

  /** A method with content: method frame, the content header as received, body frames. */
  content(channel: number, m: Method, header: Buffer, body: Buffer): void {
    this.method(channel, m);
    this.#begin(FRAME_HEADER, channel, header.length);
    slab.bytes(header);
    this.#end();
    this.body(channel, body);
  }

  /** basic.deliver with its content; same bytes as content() with a BasicDeliver. */
  deliver(channel: number, consumerTag: string, deliveryTag: number, redelivered: boolean, exchange: string, routingKey: string, header: Buffer, body: Buffer): void {
    const t = this.#template(channel, consumerTag, exchange, routingKey);
    if (t.tpl === null) {
      if (t.seen) this.#deliverTemplate(t);
      else {
        t.seen = true;
        const m = this.#deliverMethod;
        m.consumerTag = consumerTag;
        m.deliveryTag = deliveryTag;
        m.redelivered = redelivered;
        m.exchange = exchange;
        m.routingKey = routingKey;
        this.content(channel, m as BasicDeliver, header, body);
        return;
      }
    }
    const tpl = t.tpl!;
    this.#begin(FRAME_METHOD, channel, tpl.length);
    const buf = slab.buf;
    const start = slab.frameStart;
    buf.set(tpl, start); // TypedArray#set: cheaper than Buffer#copy for a few dozen bytes
    const at = start + t.tagAt;
    const hi = Math.floor(deliveryTag / 0x1_0000_0000);
    putU32(buf, at, hi >>> 0);
    putU32(buf, at + 4, deliveryTag - hi * 0x1_0000_0000);
    buf[at + 8] = redelivered ? 1 : 0;
    slab.pos = start + tpl.length;
    this.#extendRun(start);
    this.#begin(FRAME_HEADER, channel, header.length);
    slab.bytes(header);
    this.#end();
    this.body(channel, body);
  }

  /** The template entry for these fields: found, or a new one (replacing the oldest when full). */
  #template(channel: number, consumerTag: string, exchange: string, routingKey: string): DeliverTemplate {
    const list = this.#templates;
    const n = list.length;
    for (let k = 0, i = this.#lastTemplate + 1; k < n; k++, i++) {
      if (i >= n) i = 0;
      const t = list[i]!;
      if (t.channel === channel && t.consumerTag === consumerTag && t.exchange === exchange && t.routingKey === routingKey) {
        this.#lastTemplate = i;
        return t;
      }
    }
    let i = n;
    let t: DeliverTemplate;
    if (n < TEMPLATES) {
      t = { channel, consumerTag, exchange, routingKey, tpl: null, tagAt: 0, seen: false };
      list.push(t);
    } else {
      // Full: the oldest entry is overwritten in place (no allocation for keys that keep changing).
      i = this.#nextEvict;
      this.#nextEvict = (i + 1) % TEMPLATES;
      t = list[i]!;
      t.channel = channel;
      t.consumerTag = consumerTag;
      t.exchange = exchange;
      t.routingKey = routingKey;
      t.tpl = null;
      t.seen = false;
    }
    this.#lastTemplate = i;
    return t;
  }

  #deliverTemplate(t: DeliverTemplate): void {
    scratch.reset();
    scratch.u8(FRAME_METHOD);
    scratch.u16(t.channel);
    scratch.u32(0);
    encodeMethod(scratch, { id: BASIC_DELIVER, consumerTag: t.consumerTag, deliveryTag: 0, redelivered: false, exchange: t.exchange, routingKey: t.routingKey });
    scratch.u8(FRAME_END);
    const tpl = scratch.toBuffer();
    tpl.writeUInt32BE(tpl.length - 8, 3);
    t.tpl = tpl;
    // frame header 7, class and method 4, the consumer tag as a short string.
    t.tagAt = 7 + 4 + 1 + tpl[11]!;
  }

  body(channel: number, body: Buffer): void {
    // frameMax 0 means no limit, as in FrameReader (and a payload limit of 0 would never end).
    const maxPayload = this.frameMax > 8 ? this.frameMax - 8 : Infinity;
    // A body of several frames: its frames are views made from its ArrayBuffer, asked once.
    const ab = body.length > maxPayload ? body.buffer : null;
    for (let off = 0; off < body.length; off += maxPayload) {
      const part = ab === null ? body : bufferView(ab, body.byteOffset + off, Math.min(maxPayload, body.length - off));
      if (part.length >= BODY_BY_REFERENCE) {
        this.#begin(FRAME_BODY, channel, 0);
        slab.buf.writeUInt32BE(part.length, slab.frameStart + 3);
        this.#extendRun(slab.frameStart);
        this.#closeRunAt(this.#runEnd);
        this.#byReference.push(this.#chunks.length);
        this.#chunks.push(part);
        this.pendingBytes += part.length;
        slab.frameStart = slab.pos;
        slab.ensure(1);
        slab.frameStart = slab.pos;
        slab.u8(FRAME_END);
        this.#extendRun(slab.frameStart);
      } else {
        this.#begin(FRAME_BODY, channel, part.length);
        slab.bytes(part);
        this.#end();
      }
    }
  }

  heartbeat(): void {
    this.#begin(FRAME_HEARTBEAT, 0, 0);
    this.#end();
  }

  /** Raw bytes outside any frame (the protocol header on a version mismatch). */
  raw(bytes: Buffer): void {
    // Mark the start before reserving, so a slab change carries nothing already finished.
    slab.frameStart = slab.pos;
    slab.ensure(bytes.length);
    slab.frameStart = slab.pos;
    slab.bytes(bytes);
    this.#extendRun(slab.frameStart);
  }

  /**
   * Hands everything pending to the sink in one corked batch; returns the last write()'s result.
   * `sinkHolds` is what the sink has not written yet: past COMPACT_AFTER, slab views are copied.
   */
  flush(sink: FrameSink, sinkHolds = 0): boolean {
    this.#closeRunAt(this.#runEnd);
    this.#sink = sink;
    const chunks = sinkHolds >= COMPACT_AFTER ? this.#compacted() : this.#chunks;
    let ok = true;
    this.#handed += this.pendingBytes;
    if (chunks.length === 1) {
      ok = sink.write(chunks[0]!);
    } else if (chunks.length > 1) {
      sink.cork();
      for (const c of chunks) ok = sink.write(c);
      sink.uncork();
    }
    this.#chunks = [];
    // Setting an array's length goes through V8's runtime: only when there is something to drop.
    if (this.#byReference.length > 0) this.#byReference.length = 0;
    this.pendingBytes = 0;
    if (this.#waiters.length > 0) this.#tellWritten();
    return ok;
  }

  /** The pending chunks with each stretch of slab views copied into one private buffer. */
  #compacted(): Buffer[] {
    const chunks = this.#chunks;
    const out: Buffer[] = [];
    let from = 0;
    for (const ref of this.#byReference) {
      if (ref > from) out.push(Buffer.concat(chunks.slice(from, ref)));
      out.push(chunks[ref]!);
      from = ref + 1;
    }
    if (chunks.length > from) out.push(Buffer.concat(from === 0 ? chunks : chunks.slice(from)));
    return out;
  }

  /** Drops anything pending (the socket is gone); waiters are not told (their bytes may still be read). */
  discard(): void {
    this.#waiters = [];
    this.#waitMarks = [];
    this.#waitHead = 0;
    this.#chunks = [];
    this.#byReference.length = 0;
    this.#runBuf = null;
    this.pendingBytes = 0;
  }

  #begin(type: number, channel: number, sizeHint: number): void {
    // Mark the start before reserving, so a slab change carries nothing already finished.
    slab.frameStart = slab.pos;
    slab.ensure(8 + sizeHint);
    slab.frameStart = slab.pos;
    const buf = slab.buf;
    const p = slab.pos;
    buf[p] = type;
    putU16(buf, p + 1, channel);
    slab.pos = p + 7;
  }

  #end(): void {
    slab.u8(FRAME_END);
    const start = slab.frameStart;
    putU32(slab.buf, start + 3, slab.pos - start - 8);
    this.#extendRun(start);
  }

  /** Adds slab bytes [start, slab.pos) to this connection's output. */
  #extendRun(start: number): void {
    const buf = slab.buf;
    if (this.#runBuf === buf && this.#runEnd === start) {
      this.#runEnd = slab.pos;
    } else {
      this.#closeRunAt(this.#runEnd);
      this.#runBuf = buf;
      this.#runAb = slab.ab;
      this.#runStart = start;
      this.#runEnd = slab.pos;
      if (this.#generation !== slabGeneration) {
        this.#generation = slabGeneration;
        slabWriters.push(this);
      }
    }
    this.pendingBytes += slab.pos - start;
  }

  /** Ends the open run at `end` (bytes after it are not ours) and queues it. */
  #closeRunAt(end: number): void {
    if (this.#runBuf !== null && end > this.#runStart) {
      this.#chunks.push(bufferView(this.#runAb!, this.#runBuf.byteOffset + this.#runStart, end - this.#runStart));
    }
    this.#runBuf = null;
  }
}
