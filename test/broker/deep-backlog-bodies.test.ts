// Persistent messages past a durable queue's resident limit are not copied out of the socket
// read they arrived in (Queue.enqueue: the store holds them until their batch commits, then
// only the disk has them). The connection reads into an arena it reuses once nothing handed
// out of it is referenced (connection/read-buffers.ts), so such a message must keep its arena
// pinned until the store copied it. Here a publisher fills a durable queue far past the limit
// in large socket writes, without waiting, while the writer thread is busy: batches are then
// encoded several reads after their messages arrived. Every body is checked byte for byte,
// read back from the database after a restart; a body that pointed into a reused read would
// show another message's bytes.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsumeMessage } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { RESIDENT_LIMIT } from '../../src/queue/queue.js';
import { Clients, waitFor } from '../helpers/broker.js';

/** Body i: its index, then bytes that differ from every other body's at each offset. */
function body(i: number): Buffer {
  const size = 100 + ((i * 37) % 1400);
  const b = Buffer.allocUnsafe(size);
  b.writeUInt32BE(i, 0);
  for (let k = 4; k < size; k++) b[k] = (k * 13 + i * 7 + (i >>> 8)) & 0xff;
  return b;
}

let dir = '';
let broker: RunningBroker | null = null;
let clients: Clients | null = null;

afterEach(async () => {
  await clients?.closeAll();
  await broker?.close();
  clients = null;
  broker = null;
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
  dir = '';
});

async function start(): Promise<Clients> {
  broker = await startBroker({ dataDir: dir });
  clients = new Clients(broker.url);
  return clients;
}

describe('a deep durable backlog of persistent messages', () => {
  it('stores every body intact though the queue did not copy them out of their socket reads', async () => {
    dir = mkdtempSync(join(tmpdir(), 'warren-deep-bodies-'));
    const n = RESIDENT_LIMIT + 6000;
    const q = 'deep-bodies';
    {
      const c = await start();
      const conn = await c.connect();
      const ch = await conn.confirmChannel();
      await ch.assertQueue(q, { durable: true });
      for (let i = 0; i < n; i++) ch.sendToQueue(q, body(i), { persistent: true });
      await ch.waitForConfirms();
      expect(ch.errors).toEqual([]);
      await c.closeAll();
      await broker!.close();
      broker = null;
    }
    // Only the database has the messages past the limit now.
    const c = await start();
    const conn = await c.connect();
    const ch = await conn.channel();
    await ch.prefetch(500);
    let seen = 0;
    const wrong: number[] = [];
    await ch.consume(q, (m: ConsumeMessage | null) => {
      if (m === null) return;
      const i = m.content.length >= 4 ? m.content.readUInt32BE(0) : -1;
      if (i !== seen || !m.content.equals(body(seen))) wrong.push(seen);
      seen++;
      ch.ack(m);
    });
    await waitFor(() => seen === n, `${n} messages`, 30_000);
    expect(wrong).toEqual([]);
  });
});
