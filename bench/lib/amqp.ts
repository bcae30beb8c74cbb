// amqplib helpers for the Node-driven scenarios: publish N messages keeping a window of
// unconfirmed ones (or as fast as the socket takes them), consume N with prefetch and acks.

import amqp from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { now, withTimeout } from './util.js';

export type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Options };

export interface Conn {
  readonly model: ChannelModel;
  readonly server: { product: string; version: string };
  close(): Promise<void>;
}

/** Connects; connection errors are kept (not thrown at random) and reported by the caller. */
export async function connect(url: string): Promise<Conn> {
  const model = await withTimeout(amqp.connect(url), 30_000, `connect ${url.replace(/\/\/[^@]*@/, '//')}`);
  model.on('error', () => undefined);
  const props = model.connection.serverProperties as unknown as Record<string, unknown>;
  const server = { product: String(props['product'] ?? '?'), version: String(props['version'] ?? '?') };
  let closed = false;
  model.once('close', () => (closed = true));
  return {
    model,
    server,
    close: async () => {
      if (closed) return;
      closed = true;
      await withTimeout(model.close(), 60_000, 'connection.close').catch(() => undefined);
    },
  };
}

/** A URL with a heartbeat query parameter (amqplib reads it from the URL). */
export function withHeartbeat(url: string, seconds: number): string {
  return url + (url.includes('?') ? '&' : '?') + `heartbeat=${seconds}`;
}

/** Rejects when the channel closes (e.g. a channel error) before `p` settles. */
function guard<T>(ch: Channel, p: Promise<T>, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const onClose = (): void => {
      if (!done) reject(new Error(`${what}: channel closed`));
    };
    const onError = (e: Error): void => {
      if (!done) reject(new Error(`${what}: ${e.message}`));
    };
    ch.once('close', onClose);
    ch.once('error', onError);
    p.then(
      (v) => {
        done = true;
        ch.off('close', onClose);
        ch.off('error', onError);
        resolve(v);
      },
      (e: unknown) => {
        done = true;
        ch.off('close', onClose);
        ch.off('error', onError);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export interface PublishSpec {
  readonly exchange?: string;
  readonly routingKey: string;
  readonly count: number;
  /** Body of message i (may return the same buffer every time). */
  readonly body: (i: number) => Buffer;
  /** Properties of message i. */
  readonly props: (i: number) => Options.Publish;
  /** Most unconfirmed messages at a time. */
  readonly window: number;
  /** Called for every confirm (ack or nack), with the message index. */
  readonly onConfirm?: (i: number, nacked: boolean) => void;
  /** Called after every publish, with the message index. */
  readonly onPublish?: (i: number) => void;
  /** Keep each message's confirm latency (default true; off for open-ended load). */
  readonly latency?: boolean;
}

export interface PublishResult {
  readonly ms: number;
  readonly confirmed: number;
  readonly nacked: number;
  /** Confirm latency of every message, ms. */
  readonly confirmMs: Float64Array;
}

/** Publishes `count` messages on a confirm channel, at most `window` unconfirmed at a time. */
export function publishConfirmed(ch: ConfirmChannel, spec: PublishSpec): Promise<PublishResult> {
  const exchange = spec.exchange ?? '';
  const track = spec.latency ?? true;
  const sentAt = new Float64Array(track ? spec.count : 0);
  const confirmMs = new Float64Array(track ? spec.count : 0);
  const t0 = now();
  const p = new Promise<PublishResult>((resolve, reject) => {
    if (spec.count === 0) {
      resolve({ ms: 0, confirmed: 0, nacked: 0, confirmMs });
      return;
    }
    let sent = 0;
    let confirmed = 0;
    let nacked = 0;
    let inflight = 0;
    let blocked = false;
    const pump = (): void => {
      try {
        pumpSome();
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    };
    const pumpSome = (): void => {
      while (sent < spec.count && inflight < spec.window && !blocked) {
        const i = sent++;
        inflight++;
        if (track) sentAt[i] = now();
        const ok = ch.publish(exchange, spec.routingKey, spec.body(i), spec.props(i), (err: unknown) => {
          const t = now();
          if (track) confirmMs[i] = t - sentAt[i]!;
          inflight--;
          confirmed++;
          if (err) nacked++;
          spec.onConfirm?.(i, !!err);
          if (confirmed === spec.count) resolve({ ms: t - t0, confirmed, nacked, confirmMs });
          else pump();
        });
        spec.onPublish?.(i);
        if (!ok) {
          blocked = true;
          ch.once('drain', () => {
            blocked = false;
            pump();
          });
        }
      }
    };
    pump();
  });
  return guard(ch, p, 'publish with confirms');
}

/** Publishes `count` messages without confirms, as fast as the socket drains. */
export function publishFast(ch: Channel, spec: Omit<PublishSpec, 'window' | 'onConfirm'>): Promise<{ ms: number }> {
  const exchange = spec.exchange ?? '';
  const t0 = now();
  const p = new Promise<{ ms: number }>((resolve, reject) => {
    let sent = 0;
    const pump = (): void => {
      try {
        while (sent < spec.count) {
          const i = sent++;
          const ok = ch.publish(exchange, spec.routingKey, spec.body(i), spec.props(i));
          spec.onPublish?.(i);
          if (!ok) {
            ch.once('drain', pump);
            return;
          }
        }
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      resolve({ ms: now() - t0 });
    };
    pump();
  });
  return guard(ch, p, 'publish');
}

export interface ConsumeResult {
  /** From the call until the first delivery, ms. */
  readonly firstMs: number;
  /** From the call until the last delivery, ms. */
  readonly ms: number;
  readonly received: number;
}

/**
 * Consumes `count` messages from a queue with `prefetch` and an ack per message (or autoack
 * when noAck), then cancels the consumer. Stops early (with fewer received) when no message has
 * come for `idleMs` (default 60 s).
 */
export function consumeN(
  ch: Channel,
  queue: string,
  count: number,
  opts: { prefetch: number; noAck?: boolean; onMessage?: (m: ConsumeMessage) => void; idleMs?: number },
): Promise<ConsumeResult> {
  const t0 = now();
  const idleMs = opts.idleMs ?? 60_000;
  const p = (async () => {
    await ch.prefetch(opts.prefetch);
    let received = 0;
    let first = -1;
    let last = t0;
    let tag = '';
    let watchdog: NodeJS.Timeout | undefined;
    const done = new Promise<number>((resolve) => {
      watchdog = setInterval(() => {
        if (now() - last > idleMs) resolve(last - t0);
      }, 250);
      void ch
        .consume(
          queue,
          (m) => {
            if (m === null) return;
            const t = now();
            last = t;
            if (first < 0) first = t - t0;
            received++;
            opts.onMessage?.(m);
            if (!opts.noAck) ch.ack(m);
            if (received === count) resolve(t - t0);
          },
          { noAck: opts.noAck ?? false },
        )
        .then((r) => {
          tag = r.consumerTag;
          if (count === 0) resolve(0);
        });
    });
    const ms = await done.finally(() => clearInterval(watchdog));
    if (tag) await ch.cancel(tag);
    return { firstMs: first, ms, received };
  })();
  return guard(ch, p, `consume from ${queue}`);
}

/** Number of ready messages in a queue (passive declare). */
export async function depth(ch: Channel, queue: string): Promise<number> {
  return (await ch.checkQueue(queue)).messageCount;
}

/** A body of `size` bytes (first 8 bytes may be overwritten with a timestamp by the caller). */
export function makeBody(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 8; i < size; i++) b[i] = 97 + (i % 26);
  return b;
}

/** Unique names per run, so concurrent runs against one broker never share queues. */
export function qname(what: string): string {
  return `warren-bench-${process.pid}-${what}`;
}
