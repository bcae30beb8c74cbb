// Direct reply-to (amq.rabbitmq.reply-to): a pseudo-queue a channel consumes from without
// acks. A publish with reply_to amq.rabbitmq.reply-to gets the channel's private address
// (the prefix plus a random token); a reply published to that address on the default
// exchange goes straight to the consumer, registered in the vhost under its token.

import { randomBytes } from 'node:crypto';
import type { Message } from '../message.js';
import type { VirtualHost } from '../routing/vhost.js';

/** The direct reply-to pseudo-queue, and the prefix of the addresses it hands out. */
export const REPLY_TO = 'amq.rabbitmq.reply-to';
export const REPLY_PREFIX = `${REPLY_TO}.`;

/** The channel side: takes replies addressed to it. */
export interface ReplyTarget {
  deliverReply(msg: Message): void;
}

/** One channel's reply consumer: its consumer tag and the token in its address. */
export class ReplyConsumer {
  readonly tag: string;
  readonly token = randomBytes(18).toString('base64url');
  /** What reply_to amq.rabbitmq.reply-to becomes in messages this channel publishes. */
  readonly address = REPLY_PREFIX + this.token;
  readonly #vhost: VirtualHost;

  constructor(vhost: VirtualHost, tag: string, target: ReplyTarget) {
    this.tag = tag;
    this.#vhost = vhost;
    vhost.replyConsumers.set(this.token, target);
  }

  stop(): void {
    this.#vhost.replyConsumers.delete(this.token);
  }
}

/** The channel a routing key on the default exchange addresses, if it is a reply address. */
export function replyTargetFor(vhost: VirtualHost, routingKey: string): ReplyTarget | undefined {
  return vhost.replyConsumers.get(routingKey.slice(REPLY_PREFIX.length));
}
