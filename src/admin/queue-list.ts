// /api/queues a page at a time without building every queue's JSON: with `page` set and a sort
// key read straight off the Queue (name, depths, consumers, counts, rates), the name filter and
// the sort run on the queues themselves and only the page's queues become JSON — what the
// console's queue list asks for with 100k queues. Any other sort key, or no `page`, takes the
// general path (every queue's JSON, then applyListQuery); both give the same answer.

import type { Queue } from '../queue/queue.js';
import { fieldString } from '../codec/field-table.js';
import { streamFigures } from '../stream/info.js';
import type { Json } from './format.js';
import { applyListQuery, byVhostAndName, nameMatcher, pageOf, sortByQuery, type ListQuery } from './query.js';
import type { QueueRateKey, StatsSampler } from './stats.js';

type Read = (q: Queue, stats: StatsSampler) => unknown;

const rate =
  (k: QueueRateKey): Read =>
  (q, s) =>
    s.queueRate(q, k);

/** Each sort key the fast path knows, reading exactly what queueJson puts at that path. */
const KEYS: ReadonlyMap<string, Read> = new Map<string, Read>([
  ['name', (q) => q.name],
  ['vhost', (q) => q.vhost],
  ['durable', (q) => q.durable],
  ['auto_delete', (q) => q.autoDelete],
  ['exclusive', (q) => q.exclusiveOwner !== null],
  ['type', (q) => fieldString(q.arguments.get('x-queue-type')) ?? 'classic'],
  ['consumers', (q) => q.consumerCount],
  // A stream's depth is its log (stream/info.ts), as queueJson shows it.
  ['messages', (q) => streamFigures(q)?.messages ?? q.messageCount + q.unacked],
  ['messages_ready', (q) => streamFigures(q)?.messages ?? q.messageCount],
  ['messages_unacknowledged', (q) => q.unacked],
  ['message_bytes_ready', (q) => streamFigures(q)?.bytes ?? q.readyBytes],
  ['messages_details.rate', rate('messages')],
  ['messages_ready_details.rate', rate('messages_ready')],
  ['messages_unacknowledged_details.rate', rate('messages_unacknowledged')],
  ['message_stats.publish', (q) => q.stats.published],
  ['message_stats.deliver_get', (q) => q.stats.delivered],
  ['message_stats.ack', (q) => q.stats.acked],
  ['message_stats.redeliver', (q) => q.stats.redelivered],
  ['message_stats.publish_details.rate', rate('publish')],
  ['message_stats.deliver_get_details.rate', rate('deliver_get')],
  ['message_stats.ack_details.rate', rate('ack')],
  ['message_stats.redeliver_details.rate', rate('redeliver')],
]);

function byVhostThenName(a: Queue, b: Queue): number {
  return a.vhost < b.vhost ? -1 : a.vhost > b.vhost ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** The answer of a queue list endpoint for `queues` (the visible ones), as applyListQuery would give it. */
export function listQueues(queues: Queue[], query: ListQuery, stats: StatsSampler, toJson: (q: Queue) => Json): unknown {
  const sortKey = query.sort !== undefined && query.sort !== '' ? query.sort : null;
  const read = sortKey === null ? undefined : KEYS.get(sortKey);
  if (query.page === undefined || (sortKey !== null && read === undefined)) {
    return applyListQuery(queues.map(toJson).sort(byVhostAndName), query);
  }
  const match = nameMatcher(query);
  const filtered = (match === null ? [...queues] : queues.filter((q) => match(q.name))).sort(byVhostThenName);
  const sorted = read === undefined ? filtered : sortByQuery(filtered, query, (q) => read(q, stats));
  return pageOf(sorted, queues.length, { ...query, page: query.page }, toJson);
}
