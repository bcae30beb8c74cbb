// basic.get's reply: basic.get-ok with the message, or basic.get-empty. Quorum queues add the
// x-delivery-count header to it (0 the first time), as RabbitMQ's do.

import { F } from '../codec/field-table.js';
import type { FrameWriter } from '../codec/frame-writer.js';
import { BASIC_GET_EMPTY, BASIC_GET_OK } from '../codec/methods.generated.js';
import type { Queue, QueueEntry } from '../queue/queue.js';

export function writeGetEmpty(writer: FrameWriter, channel: number): void {
  writer.method(channel, { id: BASIC_GET_EMPTY, clusterId: '' });
}

export function writeGetOk(writer: FrameWriter, channel: number, tag: number, q: Queue, entry: QueueEntry): void {
  const msg = q.settings.queueType === 'quorum' ? entry.msg!.withHeader('x-delivery-count', F.long(entry.deliveryCount)) : entry.msg!;
  writer.content(
    channel,
    { id: BASIC_GET_OK, deliveryTag: tag, redelivered: entry.redelivered, exchange: msg.exchange, routingKey: msg.routingKey, messageCount: q.messageCount },
    msg.header,
    msg.body,
  );
}
