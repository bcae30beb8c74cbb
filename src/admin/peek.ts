// Peek: a page of a queue's ready messages (in delivery order) or of its unacknowledged ones
// (in queue order, each with its consumer, channel and how long ago it went out), without
// consuming, requeueing or touching the redelivered flag. Ready messages deep in a durable
// backlog are read from the store one at a time; the walk passes frozen entries as throwaway
// copies, so a page costs its offset in steps and its limit in bodies, never the whole queue.

import type { Broker } from '../broker.js';
import type { Message } from '../message.js';
import type { Queue, QueueEntry } from '../queue/queue.js';
import { channelName, connectionName, type Json } from './format.js';
import { propertiesToJson } from './properties.js';

export const PEEK_MAX_LIMIT = 500;
export const PEEK_MAX_PAYLOAD_BYTES = 1024 * 1024;
/** Payload bytes one page shows at most (500 x 1 MiB would be a 660 MB answer): past it the page ends early, never before its first item. */
export const PEEK_MAX_PAGE_BYTES = 16 * 1024 * 1024;

export interface PeekPage {
  queue: string;
  vhost: string;
  state: 'ready' | 'unacked';
  total: number;
  offset: number;
  items: Json[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The payload shown: its first `max` bytes, as text when they are UTF-8 (a character cut at the end is left out), else base64. */
export function shownPayload(body: Buffer, max: number): { payload: string; payload_encoding: 'string' | 'base64'; payload_bytes: number; payload_truncated: boolean } {
  const truncated = body.length > max;
  const shown = truncated ? body.subarray(0, max) : body;
  // A cut inside a multi-byte character: try up to 3 bytes shorter.
  for (let cut = 0; cut <= (truncated ? 3 : 0) && cut <= shown.length; cut++) {
    try {
      const payload = utf8.decode(shown.subarray(0, shown.length - cut));
      return { payload, payload_encoding: 'string', payload_bytes: body.length, payload_truncated: truncated };
    } catch {
      // not text (yet)
    }
  }
  return { payload: shown.toString('base64'), payload_encoding: 'base64', payload_bytes: body.length, payload_truncated: truncated };
}

function itemJson(position: number, e: QueueEntry, msg: Message | undefined, payloadBytes: number): Json {
  const body = msg?.body ?? Buffer.alloc(0);
  return {
    position,
    ...shownPayload(body, payloadBytes),
    properties: msg === undefined ? {} : propertiesToJson(msg.properties),
    exchange: msg?.exchange ?? '',
    routing_key: msg?.routingKey ?? '',
    redelivered: e.redelivered,
    delivery_count: e.deliveryCount,
  };
}

export function peekReady(q: Queue, offset: number, limit: number, payloadBytes: number): PeekPage {
  const items: Json[] = [];
  let position = 0;
  let shown = 0;
  q.walkReady(null, (e) => {
    if (position < offset) {
      position++;
      return true;
    }
    items.push(itemJson(position++, e, q.messageOf(e), payloadBytes));
    shown += Math.min(e.size, payloadBytes);
    return items.length < limit && shown < PEEK_MAX_PAGE_BYTES;
  });
  return { queue: q.name, vhost: q.vhost, state: 'ready', total: q.messageCount, offset, items };
}

export function peekUnacked(broker: Broker, q: Queue, offset: number, limit: number, payloadBytes: number): PeekPage {
  const found: { e: QueueEntry; at: number; connection: string; channel: string }[] = [];
  for (const c of broker.connections) {
    if (c.vhostName !== q.vhost) continue;
    for (const ch of c.channels.values()) {
      if (ch.unacked.size === 0) continue;
      let names: { connection: string; channel: string } | null = null;
      ch.unacked.forEach((e, at) => {
        if (e.queue !== q) return;
        names ??= { connection: connectionName(c), channel: channelName(c, ch) };
        found.push({ e, at, ...names });
      });
    }
  }
  found.sort((a, b) => a.e.seq - b.e.seq);
  const now = Date.now();
  const items: Json[] = [];
  let shown = 0;
  for (const f of found.slice(offset, offset + limit)) {
    if (shown >= PEEK_MAX_PAGE_BYTES) break;
    shown += Math.min(f.e.size, payloadBytes);
    items.push({
      ...itemJson(offset + items.length, f.e, q.messageOf(f.e), payloadBytes),
      consumer_tag: f.e.consumer?.tag ?? null,
      channel: f.channel,
      connection: f.connection,
      delivery_tag: f.e.tag,
      delivered_at: f.at,
      age_ms: Math.max(0, now - f.at),
    });
  }
  return { queue: q.name, vhost: q.vhost, state: 'unacked', total: found.length, offset, items };
}
