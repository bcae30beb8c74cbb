// In-process broker tests through amqplib: a broker on a free port with state in memory, client
// connections that are closed after each test, and small waiting helpers. Every connection and
// channel gets an 'error' listener (an unhandled one would kill the test process) that records
// what the server said.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';

/** amqplib's method ids (tx.* has no API in amqplib, so tests call channel.rpc with them). */
const require = createRequire(import.meta.url);
export const defs = require(join(dirname(require.resolve('amqplib')), 'lib', 'defs.js')) as Record<string, number>;

export interface ServerError extends Error {
  code?: number;
  classId?: number;
  methodId?: number;
}

/** A client connection with what it observed. */
export interface Client {
  readonly conn: ChannelModel;
  readonly errors: ServerError[];
  /** Resolves with the error (if any) when the connection closes. */
  readonly closed: Promise<ServerError | undefined>;
  channel(): Promise<TestChannel>;
  confirmChannel(): Promise<ConfirmChannel & { errors: ServerError[] }>;
}

export type TestChannel = Channel & { errors: ServerError[]; closedP: Promise<void> };

export class Clients {
  readonly #all: Client[] = [];
  readonly url: string;

  constructor(url: string) {
    this.url = url;
  }

  async connect(query = ''): Promise<Client> {
    const conn = await amqp.connect(this.url + query);
    const errors: ServerError[] = [];
    conn.on('error', (e: ServerError) => errors.push(e));
    const closed = new Promise<ServerError | undefined>((resolve) => conn.once('close', (e?: ServerError) => resolve(e)));
    const client: Client = {
      conn,
      errors,
      closed,
      async channel() {
        const ch = (await conn.createChannel()) as TestChannel;
        ch.errors = [];
        ch.on('error', (e: ServerError) => ch.errors.push(e));
        ch.closedP = new Promise((resolve) => ch.once('close', () => resolve()));
        return ch;
      },
      async confirmChannel() {
        const ch = (await conn.createConfirmChannel()) as ConfirmChannel & { errors: ServerError[] };
        ch.errors = [];
        ch.on('error', (e: ServerError) => ch.errors.push(e));
        return ch;
      },
    };
    this.#all.push(client);
    return client;
  }

  async closeAll(): Promise<void> {
    const all = this.#all.splice(0);
    // A connection the server already closed rejects close(); one whose socket died may never
    // answer: do not let either hold up the next test.
    await Promise.all(all.map((c) => within(c.conn.close(), 'client close', 2000).catch(() => undefined)));
  }
}

export async function testBroker(options: StartOptions = {}): Promise<RunningBroker> {
  return startBroker(options);
}

/** Polls until `cond` holds; throws after `timeoutMs` (a guard against hangs, not a timing test). */
export async function waitFor(cond: () => boolean, what = 'condition', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Waits for a promise, failing after `timeoutMs`. */
export async function within<T>(p: Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Lets the broker handle everything the channel sent so far (one round trip on it). */
export async function sync(ch: Channel): Promise<void> {
  await ch.checkExchange('amq.direct');
}

/** Collects deliveries of one consumer. */
export class Inbox {
  readonly messages: ConsumeMessage[] = [];
  cancelled = false;
  tag = '';

  static async consume(ch: Channel, queue: string, options: { noAck?: boolean; exclusive?: boolean } = {}): Promise<Inbox> {
    const inbox = new Inbox();
    const ok = await ch.consume(
      queue,
      (m) => {
        if (m === null) inbox.cancelled = true;
        else inbox.messages.push(m);
      },
      options,
    );
    inbox.tag = ok.consumerTag;
    return inbox;
  }

  bodies(): string[] {
    return this.messages.map((m) => m.content.toString());
  }

  async waitFor(n: number): Promise<ConsumeMessage[]> {
    await waitFor(() => this.messages.length >= n, `${n} messages (have ${this.messages.length})`);
    return this.messages;
  }
}

/** Publishes `n` messages named prefix0..prefix(n-1) to a queue through the default exchange. */
export async function publishN(ch: Channel, queue: string, n: number, prefix = 'm'): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    names.push(`${prefix}${i}`);
    ch.sendToQueue(queue, Buffer.from(`${prefix}${i}`));
  }
  await sync(ch);
  return names;
}

let counter = 0;
/** A name unique within the test run. */
export function uid(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`;
}
