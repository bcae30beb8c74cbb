// Conformance harness: start the broker under test (or use an external one), plus helpers shared by
// every conformance test file: amqplib connection tracking, error capture, pika / amqp-tools runners,
// and a raw-socket AMQP 0-9-1 client for the things no client library will send.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import * as amqplib from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';

export const CONFORMANCE_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(CONFORMANCE_DIR, '..');

// ---------------------------------------------------------------------------------------------
// Broker under test
// ---------------------------------------------------------------------------------------------

export interface BrokerUnderTest {
  url: string;
  host: string;
  port: number;
  stop(): Promise<void>;
  logs(): string;
  external: boolean;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

export async function startBroker(opts?: { args?: string[]; env?: Record<string, string> }): Promise<BrokerUnderTest> {
  const external = process.env['WARREN_CONFORMANCE_URL'];
  if (external) {
    const u = new URL(external);
    return {
      url: external,
      host: u.hostname,
      port: u.port ? Number(u.port) : 5672,
      stop: async () => {},
      logs: () => '',
      external: true,
    };
  }

  const mainJs = path.join(REPO_ROOT, 'dist', 'src', 'main.js');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'warren-conformance-'));
  const args = [
    mainJs,
    'start',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--log-level',
    'info',
    // No management listener unless a test asks for one: parallel brokers would race for 15672.
    '--http-port',
    'off',
    ...(opts?.args ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...(opts?.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let output = '';
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString('utf8');
  });

  const port = await new Promise<number>((resolve, reject) => {
    let pending = '';
    let done = false;
    const finish = (err: Error | null, p?: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(p as number);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`warren did not report "listening" within ${READY_TIMEOUT_MS} ms; output:\n${output}`));
    }, READY_TIMEOUT_MS);
    child.stdout?.on('data', (d: Buffer) => {
      const text = d.toString('utf8');
      output += text;
      pending += text;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          if (rec['msg'] === 'listening' && typeof rec['port'] === 'number') finish(null, rec['port']);
        } catch {
          // not JSON; ignore
        }
      }
    });
    child.once('error', (err) => finish(new Error(`could not spawn warren: ${err.message}\n${output}`)));
    child.once('exit', (code, signal) =>
      finish(new Error(`warren exited before listening (code ${code}, signal ${signal}); output:\n${output}`)),
    );
  }).catch(async (err: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  });

  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    external: false,
    logs: () => output,
    stop: async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => {
          if (!exited) child.kill('SIGKILL');
        }, STOP_GRACE_MS);
        await exitPromise;
        clearTimeout(killer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Small utilities
// ---------------------------------------------------------------------------------------------

/** A name unique to this run, so state left behind in a long-lived RabbitMQ never collides. */
export function uid(prefix = 'conf'): string {
  return `${prefix}-${process.pid}-${randomBytes(5).toString('hex')}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll `cond` until it is truthy (or throw after `timeoutMs`, a hang guard, not an assertion on speed). */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  what = 'condition',
  timeoutMs = 10_000,
  intervalMs = 25,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

// ---------------------------------------------------------------------------------------------
// amqplib helpers
// ---------------------------------------------------------------------------------------------

/** What amqplib tells us about a channel.close / connection.close from the server. */
export interface AmqpFailure {
  message: string;
  code: number | undefined;
  classId: number | undefined;
  methodId: number | undefined;
  /** The reply-text exactly as the server sent it (extracted from amqplib's message). */
  replyText: string | undefined;
}

export function toFailure(err: unknown): AmqpFailure {
  const e = err as { message?: string; code?: unknown; classId?: unknown; methodId?: unknown };
  const message = String(e?.message ?? err);
  const m = /with message "([\s\S]*)"$/.exec(message);
  return {
    message,
    code: typeof e?.code === 'number' ? e.code : undefined,
    classId: typeof e?.classId === 'number' ? e.classId : undefined,
    methodId: typeof e?.methodId === 'number' ? e.methodId : undefined,
    replyText: m ? m[1] : undefined,
  };
}

/** Await a promise that must reject; return the failure (throws if it resolved). */
export async function failure(p: Promise<unknown>, timeoutMs = 10_000): Promise<AmqpFailure> {
  let resolved: unknown;
  try {
    resolved = await withTimeout(p, timeoutMs, 'operation expected to fail');
  } catch (err) {
    return toFailure(err);
  }
  throw new Error(`expected operation to fail, but it succeeded with ${JSON.stringify(resolved)}`);
}

export interface TrackedConnection {
  model: ChannelModel;
  /** Set when the connection closes; `closeError` is the error amqplib reported (server close), if any. */
  closed: boolean;
  closeError: Error | undefined;
  whenClosed: Promise<Error | undefined>;
}

export interface TrackedChannel<C extends Channel = Channel> {
  ch: C;
  closed: boolean;
  errors: Error[];
  whenClosed: Promise<void>;
}

/**
 * Keeps track of every amqplib connection a test file opens so they can all be closed in afterAll,
 * and attaches the error handlers amqplib needs (an unhandled 'error' event kills the process).
 */
export class Clients {
  private conns: TrackedConnection[] = [];
  private chans = new WeakMap<Channel, TrackedChannel<Channel>>();
  constructor(public url: string) {}

  async connect(socketOptions?: Record<string, unknown>, url = this.url): Promise<ChannelModel> {
    return (await this.connectTracked(socketOptions, url)).model;
  }

  async connectTracked(socketOptions?: Record<string, unknown>, url = this.url): Promise<TrackedConnection> {
    const model = await amqplib.connect(url, socketOptions);
    let resolveClosed!: (e: Error | undefined) => void;
    const t: TrackedConnection = {
      model,
      closed: false,
      closeError: undefined,
      whenClosed: new Promise((r) => (resolveClosed = r)),
    };
    model.on('error', (err: Error) => {
      t.closeError = err;
    });
    model.on('close', (err?: Error) => {
      t.closed = true;
      if (err && !t.closeError) t.closeError = err;
      resolveClosed(t.closeError);
    });
    this.conns.push(t);
    return t;
  }

  /**
   * Kill the TCP connection under amqplib without a connection.close (as if the client crashed).
   * amqplib does not notice a locally destroyed socket, so the connection is marked closed here.
   */
  drop(model: ChannelModel): void {
    const t = this.tracked(model);
    const inner = (model as unknown as { connection: { stream: { destroy(): void } } }).connection;
    inner.stream.destroy();
    t.closed = true;
  }

  tracked(model: ChannelModel): TrackedConnection {
    const t = this.conns.find((c) => c.model === model);
    if (!t) throw new Error('connection not tracked');
    return t;
  }

  async channel(conn?: ChannelModel): Promise<Channel> {
    const c = conn ?? (await this.connect());
    const ch = await c.createChannel();
    this.track(ch);
    return ch;
  }

  async confirmChannel(conn?: ChannelModel): Promise<ConfirmChannel> {
    const c = conn ?? (await this.connect());
    const ch = await c.createConfirmChannel();
    this.track(ch);
    return ch;
  }

  private track(ch: Channel): void {
    let resolveClosed!: () => void;
    const t: TrackedChannel<Channel> = {
      ch,
      closed: false,
      errors: [],
      whenClosed: new Promise<void>((r) => (resolveClosed = r)),
    };
    ch.on('error', (err: Error) => t.errors.push(err));
    ch.on('close', () => {
      t.closed = true;
      resolveClosed();
    });
    this.chans.set(ch, t);
  }

  channelState(ch: Channel): TrackedChannel<Channel> {
    const t = this.chans.get(ch);
    if (!t) throw new Error('channel not tracked');
    return t;
  }

  async closeAll(): Promise<void> {
    const all = this.conns;
    this.conns = [];
    await Promise.all(
      all.map(async (t) => {
        if (t.closed) return;
        try {
          await withTimeout(t.model.close(), 5_000, 'connection close');
        } catch {
          // already closing / closed by the server
        }
      }),
    );
  }
}

/** A consumer's deliveries as an async queue. `null` (consumer cancelled by server) is recorded too. */
export class Inbox {
  readonly items: (ConsumeMessage | null)[] = [];
  private waiters: Array<() => void> = [];
  readonly push = (m: ConsumeMessage | null): void => {
    this.items.push(m);
    for (const w of this.waiters.splice(0)) w();
  };
  private cursor = 0;

  /** The next delivery not yet returned by next(). */
  async next(timeoutMs = 10_000): Promise<ConsumeMessage | null> {
    await waitFor(() => this.items.length > this.cursor, 'a delivery', timeoutMs, 5);
    return this.items[this.cursor++] as ConsumeMessage | null;
  }

  async take(n: number, timeoutMs = 10_000): Promise<ConsumeMessage[]> {
    const out: ConsumeMessage[] = [];
    for (let i = 0; i < n; i++) {
      const m = await this.next(timeoutMs);
      if (m === null) throw new Error('consumer was cancelled while waiting for messages');
      out.push(m);
    }
    return out;
  }

  get count(): number {
    return this.items.length;
  }
}

export function body(m: { content: Buffer } | null | false | undefined): string {
  if (!m) throw new Error(`expected a message, got ${String(m)}`);
  return m.content.toString('utf8');
}

/** Round-trip on a channel: once it resolves, everything the server sent before has been processed. */
export async function sync(ch: Channel): Promise<void> {
  await ch.checkExchange('amq.direct');
}

/**
 * Wait until a queue reports `n` ready messages. Use it after another connection or process
 * published/acked: RabbitMQ does not promise that another connection sees those effects at once.
 */
export async function waitForCount(ch: Channel, queue: string, n: number, timeoutMs = 10_000): Promise<void> {
  let last = -1;
  try {
    await waitFor(async () => (last = (await ch.checkQueue(queue)).messageCount) === n, `${n} messages`, timeoutMs, 50);
  } catch {
    throw new Error(`queue ${queue}: expected ${n} ready messages, still ${last} after ${timeoutMs} ms`);
  }
}

export type { Options };

// ---------------------------------------------------------------------------------------------
// External clients: pika (python3) and amqp-tools
// ---------------------------------------------------------------------------------------------

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runProcess(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...(opts.env ?? {}) },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

export const PYTHON = '/usr/bin/python3';

function parseJsonLines(text: string): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      events.push(JSON.parse(t) as Record<string, unknown>);
    } catch {
      // ignore
    }
  }
  return events;
}

export interface PikaResult extends ProcResult {
  events: Record<string, unknown>[];
}

/** Run conformance/pika/<script>.py <url> [args]; each stdout line is a JSON event. */
export async function runPika(
  url: string,
  script: string,
  args: string[] = [],
  timeoutMs = 30_000,
): Promise<PikaResult> {
  const res = await runProcess(PYTHON, [path.join(CONFORMANCE_DIR, 'pika', `${script}.py`), url, ...args], {
    timeoutMs,
  });
  return { ...res, events: parseJsonLines(res.stdout) };
}

/** Like runPika, but runs in the background; events stream in while it runs. */
export class PikaProcess {
  readonly events: Record<string, unknown>[] = [];
  private child: ChildProcess;
  private pending = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(url: string, script: string, args: string[] = []) {
    this.child = spawn(PYTHON, [path.join(CONFORMANCE_DIR, 'pika', `${script}.py`), url, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d: Buffer) => {
      this.pending += d.toString('utf8');
      let nl: number;
      while ((nl = this.pending.indexOf('\n')) >= 0) {
        const line = this.pending.slice(0, nl);
        this.pending = this.pending.slice(nl + 1);
        this.events.push(...parseJsonLines(line));
      }
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString('utf8');
    });
    this.exited = new Promise((r) => this.child.once('close', (code) => r(code)));
  }

  async waitForEvent(
    pred: (e: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<Record<string, unknown>> {
    try {
      return await waitFor(() => this.events.find(pred), what, timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}; pika events so far: ${JSON.stringify(this.events)}; stderr: ${this.stderr}`);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Run an amqp-tools command (amqp-publish, amqp-consume, amqp-get, amqp-declare-queue, ...) against url. */
export function amqpTool(
  url: string,
  tool: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<ProcResult> {
  return runProcess(tool, ['-u', url, ...args], opts);
}

// ---------------------------------------------------------------------------------------------
// Raw AMQP 0-9-1 over a socket
// ---------------------------------------------------------------------------------------------

export const AMQP_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);
export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;
export const FRAME_END = 0xce;

/** A value in a field table: plain JS values are typed automatically, or give the tag explicitly. */
export type FieldValue =
  | string
  | boolean
  | number
  | bigint
  | Buffer
  | null
  | FieldValue[]
  | { [k: string]: FieldValue }
  | { $type: string; value?: unknown; raw?: Buffer };

export const enc = {
  u8(n: number): Buffer {
    const b = Buffer.alloc(1);
    b.writeUInt8(n);
    return b;
  },
  u16(n: number): Buffer {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(n);
    return b;
  },
  u32(n: number): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  },
  u64(n: number | bigint): Buffer {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(n));
    return b;
  },
  /** shortstr; `lengthOverride` lets a test lie about the length byte. */
  shortstr(s: string | Buffer, lengthOverride?: number): Buffer {
    const data = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    return Buffer.concat([enc.u8(lengthOverride ?? data.length), data]);
  },
  longstr(s: string | Buffer): Buffer {
    const data = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    return Buffer.concat([enc.u32(data.length), data]);
  },
  bits(...flags: boolean[]): Buffer {
    const out: number[] = [];
    flags.forEach((f, i) => {
      if (i % 8 === 0) out.push(0);
      if (f) out[out.length - 1]! |= 1 << i % 8;
    });
    return Buffer.from(out);
  },
  fieldValue(v: FieldValue): Buffer {
    if (v === null) return Buffer.from('V');
    if (typeof v === 'string') return Buffer.concat([Buffer.from('S'), enc.longstr(v)]);
    if (typeof v === 'boolean') return Buffer.from([0x74, v ? 1 : 0]);
    if (typeof v === 'bigint') {
      const b = Buffer.alloc(9);
      b.write('l');
      b.writeBigInt64BE(v, 1);
      return b;
    }
    if (typeof v === 'number') {
      if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff) {
        const b = Buffer.alloc(5);
        b.write('I');
        b.writeInt32BE(v, 1);
        return b;
      }
      const b = Buffer.alloc(9);
      b.write('d');
      b.writeDoubleBE(v, 1);
      return b;
    }
    if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from('x'), enc.longstr(v)]);
    if (Array.isArray(v)) {
      const inner = Buffer.concat(v.map((x) => enc.fieldValue(x)));
      return Buffer.concat([Buffer.from('A'), enc.u32(inner.length), inner]);
    }
    if ('$type' in v && typeof v.$type === 'string') {
      const tv = v as { $type: string; value?: unknown; raw?: Buffer };
      return Buffer.concat([Buffer.from(tv.$type, 'latin1'), tv.raw ?? Buffer.alloc(0)]);
    }
    return Buffer.concat([Buffer.from('F'), enc.table(v as Record<string, FieldValue>)]);
  },
  table(t: Record<string, FieldValue> = {}): Buffer {
    const parts: Buffer[] = [];
    for (const [k, v] of Object.entries(t)) parts.push(enc.shortstr(k), enc.fieldValue(v));
    const inner = Buffer.concat(parts);
    return Buffer.concat([enc.u32(inner.length), inner]);
  },
};

/** Decodes AMQP field tables/values (RabbitMQ's type tags). */
export class Reader {
  constructor(
    public buf: Buffer,
    public pos = 0,
  ) {}
  u8(): number {
    return this.buf.readUInt8(this.pos++);
  }
  u16(): number {
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  shortstr(): string {
    const n = this.u8();
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  longstrBuf(): Buffer {
    const n = this.u32();
    const s = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  longstr(): string {
    return this.longstrBuf().toString('utf8');
  }
  value(): unknown {
    const tag = String.fromCharCode(this.u8());
    switch (tag) {
      case 't':
        return this.u8() !== 0;
      case 'b':
        return this.buf.readInt8(this.pos++);
      case 'B':
        return this.u8();
      case 's': {
        const v = this.buf.readInt16BE(this.pos);
        this.pos += 2;
        return v;
      }
      case 'u':
        return this.u16();
      case 'I': {
        const v = this.buf.readInt32BE(this.pos);
        this.pos += 4;
        return v;
      }
      case 'i':
        return this.u32();
      case 'l': {
        const v = this.buf.readBigInt64BE(this.pos);
        this.pos += 8;
        return v;
      }
      case 'f': {
        const v = this.buf.readFloatBE(this.pos);
        this.pos += 4;
        return v;
      }
      case 'd': {
        const v = this.buf.readDoubleBE(this.pos);
        this.pos += 8;
        return v;
      }
      case 'D': {
        const scale = this.u8();
        const v = this.buf.readInt32BE(this.pos);
        this.pos += 4;
        return v / 10 ** scale;
      }
      case 'S':
        return this.longstr();
      case 'x':
        return this.longstrBuf();
      case 'T':
        return this.u64();
      case 'V':
        return null;
      case 'F':
        return this.table();
      case 'A': {
        const n = this.u32();
        const end = this.pos + n;
        const out: unknown[] = [];
        while (this.pos < end) out.push(this.value());
        return out;
      }
      default:
        throw new Error(`unknown field type tag ${JSON.stringify(tag)}`);
    }
  }
  table(): Record<string, unknown> {
    const n = this.u32();
    const end = this.pos + n;
    const out: Record<string, unknown> = {};
    while (this.pos < end) {
      const k = this.shortstr();
      out[k] = this.value();
    }
    return out;
  }
}

export interface RawFrame {
  /** 1 method, 2 header, 3 body, 8 heartbeat, or -1 for an 8-byte protocol header sent by the server. */
  type: number;
  channel: number;
  payload: Buffer;
  /** For method frames. */
  classId?: number;
  methodId?: number;
}

export interface CloseInfo {
  code: number;
  text: string;
  classId: number;
  methodId: number;
}

export function parseClose(f: RawFrame): CloseInfo {
  const r = new Reader(f.payload, 4);
  return { code: r.u16(), text: r.shortstr(), classId: r.u16(), methodId: r.u16() };
}

export interface HandshakeOptions {
  user?: string;
  password?: string;
  vhost?: string;
  channelMax?: number;
  frameMax?: number;
  heartbeat?: number;
  /** Client capabilities (default: authentication_failure_close etc. like a modern client). */
  capabilities?: Record<string, FieldValue>;
  /** Stop after sending start-ok (for auth tests). */
  stopAfterStartOk?: boolean;
}

export interface HandshakeResult {
  serverProperties: Record<string, unknown>;
  mechanisms: string;
  locales: string;
  versionMajor: number;
  versionMinor: number;
  tune: { channelMax: number; frameMax: number; heartbeat: number };
}

/**
 * A deliberately dumb AMQP peer: it sends exactly the bytes a test asks for, and exposes every
 * frame the server sends (heartbeats included) in order.
 */
export class RawClient {
  private buf = Buffer.alloc(0);
  private queue: RawFrame[] = [];
  private waiters: Array<() => void> = [];
  /** Every byte received, for tests on the raw response (e.g. the protocol header). */
  received = Buffer.alloc(0);
  /** All frames ever received (including those already consumed). */
  readonly allFrames: RawFrame[] = [];
  closed = false;
  /** Did the socket end with an error (e.g. ECONNRESET) rather than a clean FIN? */
  socketError: Error | undefined;
  readonly whenClosed: Promise<void>;
  private parsedAny = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.received = Buffer.concat([this.received, d]);
      this.buf = Buffer.concat([this.buf, d]);
      this.parse();
      this.wake();
    });
    socket.on('error', (e) => {
      this.socketError = e;
    });
    this.whenClosed = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      });
    });
  }

  static connect(host: string, port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      s.setNoDelay(true);
      s.once('connect', () => {
        s.removeListener('error', reject);
        resolve(new RawClient(s));
      });
      s.once('error', reject);
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private parse(): void {
    for (;;) {
      if (!this.parsedAny && this.buf.length >= 4 && this.buf.subarray(0, 4).toString('latin1') === 'AMQP') {
        if (this.buf.length < 8) return;
        const f: RawFrame = { type: -1, channel: 0, payload: this.buf.subarray(0, 8) };
        this.buf = this.buf.subarray(8);
        this.parsedAny = true;
        this.queue.push(f);
        this.allFrames.push(f);
        continue;
      }
      if (this.buf.length < 7) return;
      const size = this.buf.readUInt32BE(3);
      if (this.buf.length < 7 + size + 1) return;
      const f: RawFrame = {
        type: this.buf.readUInt8(0),
        channel: this.buf.readUInt16BE(1),
        payload: Buffer.from(this.buf.subarray(7, 7 + size)),
      };
      if (f.type === FRAME_METHOD && size >= 4) {
        f.classId = f.payload.readUInt16BE(0);
        f.methodId = f.payload.readUInt16BE(2);
      }
      this.buf = this.buf.subarray(8 + size);
      this.parsedAny = true;
      this.queue.push(f);
      this.allFrames.push(f);
    }
  }

  write(data: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  sendProtocolHeader(header: Buffer = AMQP_HEADER): void {
    this.write(header);
  }

  static frame(type: number, channel: number, payload: Buffer, end = FRAME_END, sizeOverride?: number): Buffer {
    const h = Buffer.alloc(7);
    h.writeUInt8(type, 0);
    h.writeUInt16BE(channel, 1);
    h.writeUInt32BE(sizeOverride ?? payload.length, 3);
    return Buffer.concat([h, payload, Buffer.from([end])]);
  }

  sendFrame(type: number, channel: number, payload: Buffer, end = FRAME_END): void {
    this.write(RawClient.frame(type, channel, payload, end));
  }

  static methodPayload(classId: number, methodId: number, args: Buffer = Buffer.alloc(0)): Buffer {
    return Buffer.concat([enc.u16(classId), enc.u16(methodId), args]);
  }

  sendMethod(channel: number, classId: number, methodId: number, args: Buffer = Buffer.alloc(0)): void {
    this.sendFrame(FRAME_METHOD, channel, RawClient.methodPayload(classId, methodId, args));
  }

  sendHeartbeat(): void {
    this.sendFrame(FRAME_HEARTBEAT, 0, Buffer.alloc(0));
  }

  /** Content header for basic (class 60) with no properties, or with a raw property block. */
  static contentHeader(bodySize: number, flags = 0, props: Buffer = Buffer.alloc(0), classId = 60): Buffer {
    return Buffer.concat([enc.u16(classId), enc.u16(0), enc.u64(bodySize), enc.u16(flags), props]);
  }

  /** Next frame from the server (heartbeats included). Rejects if the socket closes first. */
  async nextFrame(timeoutMs = 10_000): Promise<RawFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.queue.shift();
      if (f) return f;
      if (this.closed) throw new Error('socket closed by server');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame from server within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Next non-heartbeat frame. */
  async nextNonHeartbeat(timeoutMs = 10_000): Promise<RawFrame> {
    for (;;) {
      const f = await this.nextFrame(timeoutMs);
      if (f.type !== FRAME_HEARTBEAT) return f;
    }
  }

  async expectMethod(channel: number, classId: number, methodId: number, timeoutMs = 10_000): Promise<RawFrame> {
    const f = await this.nextNonHeartbeat(timeoutMs);
    if (f.type !== FRAME_METHOD || f.channel !== channel || f.classId !== classId || f.methodId !== methodId) {
      const extra =
        f.type === FRAME_METHOD && (f.classId === 10 || f.classId === 20) && (f.methodId === 50 || f.methodId === 40)
          ? ` ${JSON.stringify(parseClose(f))}`
          : '';
      throw new Error(
        `expected method ${classId}/${methodId} on channel ${channel}, got frame type ${f.type} channel ${f.channel} ` +
          `method ${f.classId}/${f.methodId}${extra}`,
      );
    }
    return f;
  }

  async handshake(opts: HandshakeOptions = {}): Promise<HandshakeResult> {
    this.sendProtocolHeader();
    const start = await this.expectMethod(0, 10, 10);
    const r = new Reader(start.payload, 4);
    const versionMajor = r.u8();
    const versionMinor = r.u8();
    const serverProperties = r.table();
    const mechanisms = r.longstr();
    const locales = r.longstr();
    const user = opts.user ?? 'guest';
    const password = opts.password ?? 'guest';
    const clientProps = enc.table({
      product: 'warren-conformance-raw',
      capabilities: opts.capabilities ?? {
        authentication_failure_close: true,
        'basic.nack': true,
        consumer_cancel_notify: true,
        'connection.blocked': true,
        publisher_confirms: true,
        exchange_exchange_bindings: true,
      },
    });
    const response = Buffer.from(`\u0000${user}\u0000${password}`, 'utf8');
    this.sendMethod(
      0,
      10,
      11,
      Buffer.concat([clientProps, enc.shortstr('PLAIN'), enc.longstr(response), enc.shortstr('en_US')]),
    );
    const tuneResult = { channelMax: 0, frameMax: 0, heartbeat: 0 };
    const result: HandshakeResult = {
      serverProperties,
      mechanisms,
      locales,
      versionMajor,
      versionMinor,
      tune: tuneResult,
    };
    if (opts.stopAfterStartOk) return result;
    const tune = await this.expectMethod(0, 10, 30);
    const tr = new Reader(tune.payload, 4);
    tuneResult.channelMax = tr.u16();
    tuneResult.frameMax = tr.u32();
    tuneResult.heartbeat = tr.u16();
    this.sendMethod(
      0,
      10,
      31,
      Buffer.concat([
        enc.u16(opts.channelMax ?? tuneResult.channelMax),
        enc.u32(opts.frameMax ?? tuneResult.frameMax),
        enc.u16(opts.heartbeat ?? 0),
      ]),
    );
    this.sendMethod(0, 10, 40, Buffer.concat([enc.shortstr(opts.vhost ?? '/'), enc.shortstr(''), enc.u8(0)]));
    await this.expectMethod(0, 10, 41);
    return result;
  }

  async openChannel(channel: number): Promise<void> {
    this.sendMethod(channel, 20, 10, enc.shortstr(''));
    await this.expectMethod(channel, 20, 11);
  }

  /**
   * Wait until the server ends the conversation. Returns the connection.close it sent (if any; we
   * answer it with close-ok) and whether the socket then closed. Frames before the close are in `frames`.
   */
  async waitForConnectionClose(
    timeoutMs = 10_000,
  ): Promise<{ close: CloseInfo | undefined; frames: RawFrame[]; socketClosed: boolean }> {
    const frames: RawFrame[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let f: RawFrame;
      try {
        f = await this.nextFrame(Math.max(1, deadline - Date.now()));
      } catch (err) {
        if (this.closed) return { close: undefined, frames, socketClosed: true };
        throw err;
      }
      if (f.type === FRAME_METHOD && f.channel === 0 && f.classId === 10 && f.methodId === 50) {
        const close = parseClose(f);
        this.sendMethod(0, 10, 51);
        const socketClosed = await Promise.race([
          this.whenClosed.then(() => true),
          sleep(Math.max(1, deadline - Date.now())).then(() => false),
        ]);
        return { close, frames, socketClosed };
      }
      frames.push(f);
    }
  }

  /** Wait for the next channel.close on `channel` (answering close-ok). */
  async expectChannelClose(channel: number, timeoutMs = 10_000): Promise<CloseInfo> {
    for (;;) {
      const f = await this.nextNonHeartbeat(timeoutMs);
      if (f.type === FRAME_METHOD && f.channel === channel && f.classId === 20 && f.methodId === 40) {
        this.sendMethod(channel, 20, 41);
        return parseClose(f);
      }
      if (f.type === FRAME_METHOD && f.channel === 0 && f.classId === 10 && f.methodId === 50) {
        throw new Error(`expected channel.close, got connection.close ${JSON.stringify(parseClose(f))}`);
      }
    }
  }

  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    return Promise.race([this.whenClosed.then(() => true), sleep(timeoutMs).then(() => false)]);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Common raw method argument builders. */
export const raw = {
  queueDeclare(
    name: string,
    flags: { passive?: boolean; durable?: boolean; exclusive?: boolean; autoDelete?: boolean; noWait?: boolean } = {},
    args: Record<string, FieldValue> = {},
  ): Buffer {
    return Buffer.concat([
      enc.u16(0),
      enc.shortstr(name),
      enc.bits(!!flags.passive, !!flags.durable, !!flags.exclusive, !!flags.autoDelete, !!flags.noWait),
      enc.table(args),
    ]);
  },
  basicPublish(exchange: string, routingKey: string, mandatory = false, immediate = false): Buffer {
    return Buffer.concat([enc.u16(0), enc.shortstr(exchange), enc.shortstr(routingKey), enc.bits(mandatory, immediate)]);
  },
  basicGet(queue: string, noAck = true): Buffer {
    return Buffer.concat([enc.u16(0), enc.shortstr(queue), enc.bits(noAck)]);
  },
};

/** Open a raw client to the broker and complete the handshake. */
export async function rawConnect(broker: { host: string; port: number }, opts: HandshakeOptions = {}): Promise<RawClient> {
  const c = await RawClient.connect(broker.host, broker.port);
  await c.handshake(opts);
  return c;
}
