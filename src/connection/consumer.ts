// A basic.consume subscription as its queue sees it: a Consumer whose credit is its own
// prefetch (basic.qos global=false) and its channel's (global=true), and whose deliveries go
// out through the channel (its deliveries.ts, seen here as ConsumerChannel).

import { fieldInteger, RABBIT_TYPE_NAMES, type FieldTable } from '../codec/field-table.js';
import { BODY_BY_REFERENCE } from '../codec/frame-writer.js';
import type { BasicConsume } from '../codec/methods.generated.js';
import { ChannelError } from '../errors.js';
import type { Queue, QueueEntry } from '../queue/queue.js';
import type { CopyingConsumer } from '../stream/stream-queue.js';

/** The side of a channel its consumers deliver through. */
export interface ConsumerChannel {
  /** basic.qos global=true (0: none). */
  readonly globalPrefetch: number;
  /** Open, socket not backed up, channel prefetch not reached. */
  canDeliver(): boolean;
  /** Open, under its channel prefetch, but the socket is backed up. */
  socketBound(): boolean;
  deliver(c: ChannelConsumer, entry: QueueEntry): void;
  /** The consumer's queue was deleted. */
  consumerCancelledByServer(c: ChannelConsumer): void;
}

export class ChannelConsumer implements CopyingConsumer {
  readonly channel: ConsumerChannel;
  readonly queue: Queue;
  readonly tag: string;
  readonly noAck: boolean;
  readonly exclusive: boolean;
  readonly prefetch: number;
  readonly arguments: FieldTable;
  readonly priority: number;
  readonly qosPrefetch: number;
  /** deliver() copies smaller bodies (and the header) into the connection's output: see FrameWriter.body. */
  readonly copiesBodiesBelow = BODY_BY_REFERENCE;
  unacked = 0;

  constructor(channel: ConsumerChannel, queue: Queue, m: BasicConsume, tag: string, prefetch: number) {
    this.channel = channel;
    this.queue = queue;
    this.tag = tag;
    this.noAck = m.noAck;
    this.exclusive = m.exclusive;
    this.prefetch = m.noAck ? 0 : prefetch;
    this.qosPrefetch = prefetch;
    this.arguments = m.arguments;
    this.priority = fieldInteger(m.arguments.get('x-priority')) ?? 0;
  }

  get globalPrefetch(): number {
    return this.channel.globalPrefetch;
  }

  canDeliver(): boolean {
    return (this.prefetch === 0 || this.unacked < this.prefetch) && this.channel.canDeliver();
  }

  deliver(_queue: Queue, entry: QueueEntry): void {
    this.channel.deliver(this, entry);
  }

  queueDeleted(): void {
    this.channel.consumerCancelledByServer(this);
  }

  socketBound(): boolean {
    return (this.prefetch === 0 || this.unacked < this.prefetch) && this.channel.socketBound();
  }
}

/** basic.consume's x-priority argument must be an integer (RabbitMQ's 406 otherwise). */
export function checkConsumerPriority(q: Queue, args: FieldTable): void {
  const priority = args.get('x-priority');
  if (priority !== undefined && (priority.type === 'T' || fieldInteger(priority) === undefined)) {
    throw new ChannelError(
      'PRECONDITION_FAILED',
      `invalid arg 'x-priority' for queue '${q.name}' in vhost '${q.vhost}': "expected integer, got ${RABBIT_TYPE_NAMES[priority.type]}"`,
    );
  }
}
