// Consumer (delivery acknowledgement) timeouts: whether a channel's oldest unacknowledged
// delivery has waited longer than its queue's x-consumer-timeout (or the broker's default),
// and the 406 RabbitMQ closes the channel with when the consumer cannot be cancelled instead.

import { ChannelError } from '../errors.js';
import type { QueueEntry } from '../queue/queue.js';
import type { UnackedLedger } from './unacked.js';

/** The oldest delivery, when it is overdue, with the timeout that applied to it. */
export interface Overdue {
  readonly entry: QueueEntry;
  readonly timeout: number;
}

export function overdueDelivery(unacked: UnackedLedger, now: number, defaultTimeout: number): Overdue | null {
  const first = unacked.oldest();
  if (first === undefined) return null;
  const timeout = first.entry.queue.settings.consumerTimeout ?? defaultTimeout;
  if (timeout <= 0 || now - first.at <= timeout) return null;
  return { entry: first.entry, timeout };
}

export function ackTimeoutError(channel: number, timeout: number): ChannelError {
  return new ChannelError(
    'PRECONDITION_FAILED',
    `delivery acknowledgement on channel ${channel} timed out. Timeout value used: ${timeout} ms. This timeout value can be configured, see consumers doc guide to learn more`,
    { classId: 0, methodId: 0 },
  );
}
