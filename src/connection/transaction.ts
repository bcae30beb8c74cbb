// An open transaction of one channel (tx.select): publishes and acknowledgements recorded
// until tx.commit applies them in order, or tx.rollback forgets them.

import type { Message } from '../message.js';
import type { QueueEntry } from '../queue/queue.js';
import type { Exchange } from '../routing/exchange.js';

/** What settling a delivery does: ack, or a nack/reject with its requeue flag. */
export type SettleKind = 'ack' | 'requeue' | 'drop';

export interface TxPublish {
  readonly exchange: Exchange;
  readonly msg: Message;
  readonly mandatory: boolean;
}

export interface TxSettle {
  readonly entries: QueueEntry[];
  readonly kind: SettleKind;
}

export class Transaction {
  publishes: TxPublish[] = [];
  settles: TxSettle[] = [];
}
