// The copy of a message that dead-lettering publishes: the x-death history (one entry per queue
// and reason, with a count, most recent first), the x-first-death-* headers, the expiration
// removed (kept as original-expiration), routed with the queue's dead-letter routing key or
// the keys the message was first published with. The shapes follow RabbitMQ 3.10, which
// clients and frameworks parse.

import { F, fieldString, type FieldTable, type FieldValue } from '../codec/field-table.js';
import { Message } from '../message.js';

/** Why a message left its queue for the dead-letter exchange. */
export type DeadLetterReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

export interface DeathRecord {
  readonly queue: string;
  readonly reason: string;
}

/** Builds the dead-lettered copy of `msg` leaving `queue` for `reason`. */
export function deadLetterCopy(msg: Message, queue: string, reason: string, dlx: string, dlRoutingKey: string | null, nowSeconds: number): Message {
  const props = msg.properties;
  const headers: FieldTable = new Map(props.headers ?? []);
  // The delivery count belongs to the queue the message leaves.
  headers.delete('x-delivery-count');
  // Routed again with every key it was published with (CC and BCC included), but the history
  // names only the routing key and CC (BCC never shows).
  const routedWith = [msg.routingKey, ...(msg.ccKeys ?? [])];
  const namedKeys = [msg.routingKey, ...stringsIn(headers.get('CC'))];
  const info: [string, FieldValue][] = [
    ['reason', F.str(reason)],
    ['queue', F.str(queue)],
    ['time', F.timestamp(nowSeconds)],
    ['exchange', F.str(msg.exchange)],
    ['routing-keys', F.array(namedKeys.map((k) => F.str(k)))],
  ];
  if (props.expiration !== undefined) info.push(['original-expiration', F.str(props.expiration)]);

  const xDeath = headers.get('x-death');
  if (xDeath === undefined || xDeath.type !== 'A') {
    headers.set('x-first-death-reason', F.str(reason));
    headers.set('x-first-death-queue', F.str(queue));
    headers.set('x-first-death-exchange', F.str(msg.exchange));
    headers.set('x-death', F.array([F.table(new Map([['count', F.long(1)], ...info]))]));
  } else {
    const deaths = xDeath.value.filter((d): d is { type: 'F'; value: FieldTable } => d.type === 'F');
    const i = deaths.findIndex((d) => fieldString(d.value.get('queue')) === queue && fieldString(d.value.get('reason')) === reason);
    let entry: FieldTable;
    if (i < 0) {
      entry = new Map([['count', F.long(1)], ...info]);
    } else {
      // The same queue and reason again: count it, keep the first event's details.
      entry = new Map(deaths[i]!.value);
      const c = entry.get('count');
      entry.set('count', F.long((c && (c.type === 'l' || c.type === 'I') ? Number(c.value) : 0) + 1));
      deaths.splice(i, 1);
    }
    // RabbitMQ writes an entry it adds to an existing history with its keys sorted.
    headers.set('x-death', F.array([F.table(sortedTable(entry)), ...deaths.map((d) => F.table(d.value))]));
  }
  if (dlRoutingKey !== null) headers.delete('CC');
  const { expiration: _dropped, ...rest } = props;
  const keys = dlRoutingKey !== null ? [dlRoutingKey] : routedWith;
  // RabbitMQ sorts the headers table whenever it sets a header in it.
  const copy = Message.fromProperties(dlx, keys[0]!, { ...rest, headers: sortedTable(headers) }, msg.body);
  copy.ccKeys = keys.length > 1 ? keys.slice(1) : null;
  return copy;
}

function sortedTable(t: FieldTable): FieldTable {
  return new Map([...t].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function stringsIn(v: FieldValue | undefined): string[] {
  if (v === undefined || v.type !== 'A') return [];
  return v.value.map((x) => (x.type === 'S' ? fieldString(x)! : undefined)).filter((k): k is string => k !== undefined);
}

/** The queues in a message's x-death history, most recent first, with their reasons. */
export function deathHistory(msg: Message): DeathRecord[] {
  const xDeath = msg.properties.headers?.get('x-death');
  if (xDeath === undefined || xDeath.type !== 'A') return [];
  const out: DeathRecord[] = [];
  for (const d of xDeath.value) {
    if (d.type !== 'F') continue;
    out.push({ queue: fieldString(d.value.get('queue')) ?? '', reason: fieldString(d.value.get('reason')) ?? '' });
  }
  return out;
}

/**
 * RabbitMQ's cycle rule: dead-lettering into `queue` again is a cycle when the history, from the
 * latest death back to the last time the message left `queue`, has no rejection in it (a fully
 * automatic loop, which would spin forever). Rejected messages never cycle.
 */
export function isCycle(queue: string, history: readonly DeathRecord[]): boolean {
  const i = history.findIndex((d) => d.queue === queue);
  if (i < 0) return false;
  for (let k = 0; k <= i; k++) if (history[k]!.reason === 'rejected') return false;
  return true;
}
