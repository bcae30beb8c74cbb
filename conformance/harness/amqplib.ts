// amqplib helpers: the server's close as a value (code, class, method, reply text), connections
// and channels tracked so a file can close them all, an inbox of deliveries, queue counts.
import * as amqplib from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { waitFor, withTimeout } from './util.js';

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
