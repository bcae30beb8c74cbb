// basic.qos on one channel: the prefetch given to consumers created from now on (global=false),
// the limit over all the channel's consumers (global=true), and the count of consumer
// deliveries awaiting ack that the channel limit is checked against. Both limits apply
// together whatever order they were set in (RabbitMQ 3.10 drops the channel limit when a
// per-consumer qos follows it; README, Compatibility).

import { ConnectionError } from '../errors.js';
import type { ChannelConsumer } from './consumer.js';

export class Prefetch {
  /** global=false: prefetch for consumers created from now on. */
  consumer = 0;
  /** global=true: limit over all consumers of the channel. */
  channel = 0;
  /** Deliveries to consumers (not basic.get) awaiting ack. */
  unacked = 0;

  set(prefetchSize: number, prefetchCount: number, global: boolean): void {
    if (prefetchSize !== 0) throw new ConnectionError('NOT_IMPLEMENTED', `prefetch_size!=0 (${prefetchSize})`);
    if (global) this.channel = prefetchCount;
    else this.consumer = prefetchCount;
  }

  /** The channel limit allows one more delivery. */
  get open(): boolean {
    return this.channel === 0 || this.unacked < this.channel;
  }

  delivered(c: ChannelConsumer): void {
    c.unacked++;
    this.unacked++;
  }

  released(c: ChannelConsumer): void {
    c.unacked--;
    this.unacked--;
  }
}
