// Counters and rates for the HTTP API and /metrics. The hot path only increments integers it
// already kept (Queue.stats, Channel.stats, Connection.stats); this module adds them up
// (including what closed connections and channels left behind) and, every `statsInterval`
// seconds, samples them to turn counts into per-second rates, as RabbitMQ's management
// plugin does with its collect_statistics_interval.

import type { Broker } from '../broker.js';
import type { Channel } from '../connection/channel.js';
import type { Connection } from '../connection/connection.js';
import type { Queue } from '../queue/queue.js';

/** Counts the HTTP API itself adds: publishes and gets through POST .../publish and .../get. */
export interface HttpCounters {
  published: number;
  delivered: number;
  acked: number;
}

export interface GlobalTotals {
  readonly published: number;
  readonly delivered: number;
  readonly acked: number;
  readonly connectionsOpened: number;
  readonly connectionsClosed: number;
  readonly channelsOpened: number;
  readonly channelsClosed: number;
  readonly recvOct: number;
  readonly sendOct: number;
}

/** Broker-wide message and churn counts since start. */
export function globalTotals(broker: Broker, http: HttpCounters): GlobalTotals {
  const closed = broker.closedConnectionStats;
  let published = closed.published + http.published;
  let delivered = closed.delivered + http.delivered;
  let acked = closed.acked + http.acked;
  let channelsClosed = closed.channels;
  let openChannels = 0;
  let recvOct = closed.recvOct;
  let sendOct = closed.sendOct;
  for (const c of broker.connections) {
    const cc = c.closedChannelStats;
    published += cc.published;
    delivered += cc.delivered;
    acked += cc.acked;
    channelsClosed += cc.channels;
    recvOct += c.stats.recvOct;
    sendOct += c.stats.sendOct;
    for (const ch of c.channels.values()) {
      openChannels++;
      published += ch.stats.published;
      delivered += ch.stats.delivered;
      acked += ch.stats.acked;
    }
  }
  return {
    published,
    delivered,
    acked,
    connectionsOpened: closed.connections + broker.connections.size,
    connectionsClosed: closed.connections,
    channelsOpened: channelsClosed + openChannels,
    channelsClosed,
    recvOct,
    sendOct,
  };
}

/** Depth figures of all queues together. */
export function queueTotals(broker: Broker): { ready: number; unacked: number; consumers: number; queues: number; exchanges: number } {
  let ready = 0;
  let unacked = 0;
  let consumers = 0;
  let queues = 0;
  let exchanges = 0;
  for (const v of broker.vhosts.values()) {
    exchanges += v.exchanges.size + 1;
    for (const q of v.queues.values()) {
      queues++;
      ready += q.messageCount;
      unacked += q.unacked;
      consumers += q.consumerCount;
    }
  }
  return { ready, unacked, consumers, queues, exchanges };
}

type Numbers<K extends string> = Record<K, number>;

/** Keeps the previous sample of some counters per object and the per-second rates between the last two. */
class RateTable<T extends object, K extends string> {
  readonly #keys: readonly K[];
  #prev = new WeakMap<T, { at: number; values: Numbers<K> }>();
  #rates = new WeakMap<T, Numbers<K>>();
  #zero: { at: number; values: Numbers<K> } | null = null;

  constructor(keys: readonly K[]) {
    this.#keys = keys;
  }

  sample(obj: T, values: Numbers<K>, at: number): void {
    const prev = this.#prev.get(obj);
    if (prev !== undefined && at > prev.at) {
      const dt = (at - prev.at) / 1000;
      const rates = {} as Numbers<K>;
      let moved = false;
      for (const k of this.#keys) moved = (rates[k] = roundRate((values[k] - prev.values[k]) / dt)) !== 0 || moved;
      // All zero reads the same as no entry; idle objects (thousands of queues) keep none.
      if (moved) this.#rates.set(obj, rates);
      else this.#rates.delete(obj);
    }
    this.#prev.set(obj, this.#keys.every((k) => values[k] === 0) ? this.#zeroAt(at) : { at, values });
  }

  /** One shared sample of all zeros per time: what every idle object's previous sample is. */
  #zeroAt(at: number): { at: number; values: Numbers<K> } {
    if (this.#zero === null || this.#zero.at !== at) {
      const values = {} as Numbers<K>;
      for (const k of this.#keys) values[k] = 0;
      this.#zero = { at, values };
    }
    return this.#zero;
  }

  /** Rates between the last two samples; 0 before there are two. */
  rate(obj: T, key: K): number {
    return this.#rates.get(obj)?.[key] ?? 0;
  }
}

function roundRate(r: number): number {
  return Math.round(r * 10) / 10;
}

const QUEUE_KEYS = ['publish', 'deliver_get', 'ack', 'redeliver', 'messages', 'messages_ready', 'messages_unacknowledged'] as const;
const CHANNEL_KEYS = ['publish', 'deliver_get', 'ack'] as const;
const CONNECTION_KEYS = ['recv_oct', 'send_oct'] as const;
const GLOBAL_KEYS = [...QUEUE_KEYS, 'recv_oct', 'send_oct'] as const;

export type QueueRateKey = (typeof QUEUE_KEYS)[number];
export type ChannelRateKey = (typeof CHANNEL_KEYS)[number];
export type ConnectionRateKey = (typeof CONNECTION_KEYS)[number];
export type GlobalRateKey = (typeof GLOBAL_KEYS)[number];

/** The one object the global rates hang on. */
const GLOBAL = {};

/** Global samples kept for the API's `samples` (RabbitMQ's lengths_age / msg_rates_age): an hour at the default 5 s. */
export const HISTORY_SAMPLES = 720;

/** One broker-wide sample: message counts since start and queue depths, at `at` (ms since the epoch). */
export type GlobalSample = { readonly at: number } & Readonly<Record<'publish' | 'deliver_get' | 'ack' | 'messages' | 'messages_ready' | 'messages_unacknowledged', number>>;

export class StatsSampler {
  readonly #broker: Broker;
  readonly #http: HttpCounters;
  readonly #queues = new RateTable<Queue, QueueRateKey>(QUEUE_KEYS);
  readonly #channels = new RateTable<Channel, ChannelRateKey>(CHANNEL_KEYS);
  readonly #connections = new RateTable<Connection, ConnectionRateKey>(CONNECTION_KEYS);
  readonly #global = new RateTable<object, GlobalRateKey>(GLOBAL_KEYS);
  #timer: NodeJS.Timeout | null = null;
  /** A ring of the last HISTORY_SAMPLES global samples; #historyNext is where the next one goes. */
  readonly #history: GlobalSample[] = [];
  #historyNext = 0;

  constructor(broker: Broker, http: HttpCounters) {
    this.#broker = broker;
    this.#http = http;
  }

  /** Samples now and then every `seconds`; the timer does not keep the process alive. */
  start(seconds: number): void {
    this.sample();
    this.#timer = setInterval(() => this.sample(), seconds * 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Takes one sample of every counter (public so tests can drive it with their own clock). */
  sample(at = Date.now()): void {
    const b = this.#broker;
    for (const v of b.vhosts.values()) {
      for (const q of v.queues.values()) {
        const s = q.stats;
        this.#queues.sample(
          q,
          {
            publish: s.published,
            deliver_get: s.delivered,
            ack: s.acked,
            redeliver: s.redelivered,
            messages: q.messageCount + q.unacked,
            messages_ready: q.messageCount,
            messages_unacknowledged: q.unacked,
          },
          at,
        );
      }
    }
    for (const c of b.connections) {
      this.#connections.sample(c, { recv_oct: c.stats.recvOct, send_oct: c.stats.sendOct }, at);
      for (const ch of c.channels.values()) {
        this.#channels.sample(ch, { publish: ch.stats.published, deliver_get: ch.stats.delivered, ack: ch.stats.acked }, at);
      }
    }
    const g = globalTotals(b, this.#http);
    const t = queueTotals(b);
    const h: GlobalSample = { at, publish: g.published, deliver_get: g.delivered, ack: g.acked, messages: t.ready + t.unacked, messages_ready: t.ready, messages_unacknowledged: t.unacked };
    if (this.#history.length < HISTORY_SAMPLES) this.#history.push(h);
    else this.#history[this.#historyNext] = h;
    this.#historyNext = (this.#historyNext + 1) % HISTORY_SAMPLES;
    this.#global.sample(
      GLOBAL,
      {
        publish: g.published,
        deliver_get: g.delivered,
        ack: g.acked,
        redeliver: 0,
        messages: t.ready + t.unacked,
        messages_ready: t.ready,
        messages_unacknowledged: t.unacked,
        recv_oct: g.recvOct,
        send_oct: g.sendOct,
      },
      at,
    );
  }

  queueRate(q: Queue, key: QueueRateKey): number {
    return this.#queues.rate(q, key);
  }

  channelRate(ch: Channel, key: ChannelRateKey): number {
    return this.#channels.rate(ch, key);
  }

  connectionRate(c: Connection, key: ConnectionRateKey): number {
    return this.#connections.rate(c, key);
  }

  /** The kept global samples, oldest first. */
  history(): GlobalSample[] {
    const h = this.#history;
    return h.length < HISTORY_SAMPLES ? [...h] : [...h.slice(this.#historyNext), ...h.slice(0, this.#historyNext)];
  }

  globalRate(key: GlobalRateKey): number {
    return this.#global.rate(GLOBAL, key);
  }
}
