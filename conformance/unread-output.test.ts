// A client that stops reading (and sends nothing more) after making the broker write to it must
// not hold its buffer until TCP gives up. With heartbeats negotiated it is dropped as a silent
// client (RabbitMQ's missed-heartbeats close: a socket reset, no connection.close); without
// heartbeats warren drops it after --paused-output-timeout (RabbitMQ has no such limit, so that
// test runs against warren only). Meanwhile an amqplib client is served. Waits are generous hang
// guards; pass/fail never depends on how fast something happened.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Clients, raw, RawClient, rawConnect, startBroker, uid, waitFor, type BrokerUnderTest } from './harness.js';

let broker: BrokerUnderTest;
let clients: Clients;
const attackers: RawClient[] = [];

beforeAll(async () => {
  // No paused-output timeout here: on a loaded machine it could fire before the heartbeat check
  // and drop the client for the other reason. The timeout has its own broker below.
  broker = await startBroker({ args: ['--max-connection-buffer', '1MiB', '--paused-output-timeout', '0'] });
  clients = new Clients(broker.url);
});

afterEach(async () => {
  for (const a of attackers.splice(0)) a.destroy();
  await clients.closeAll();
});

afterAll(async () => {
  await broker.stop();
});

/** 20 MiB of mandatory publishes nobody can route, each to be returned: more than loopback's socket buffers take. */
function flood(a: RawClient): void {
  const body = Buffer.alloc(1024, 0x61);
  const one = Buffer.concat([
    RawClient.frame(1, 1, RawClient.methodPayload(60, 40, raw.basicPublish('', uid('nowhere'), true))),
    RawClient.frame(2, 1, RawClient.contentHeader(body.length)),
    RawClient.frame(3, 1, body),
  ]);
  const batch = Buffer.concat(Array<Buffer>(256).fill(one));
  for (let i = 0; i < 80; i++) a.write(batch);
}

async function roundTrip(via: Clients = clients): Promise<void> {
  const ch = await via.channel();
  const q = uid('good');
  await ch.assertQueue(q, { exclusive: true });
  ch.sendToQueue(q, Buffer.from('still served'));
  await waitFor(async () => (await ch.get(q, { noAck: true })) !== false, 'a message through the well-behaved client', 20_000);
}

describe('a client that stops reading its output', () => {
  it('with heartbeats negotiated: dropped as a silent client, without connection.close', async () => {
    const a = await rawConnect(broker, { heartbeat: 1 });
    attackers.push(a);
    await a.openChannel(1);
    a.socket.pause(); // never reads again, and sends nothing after the flood
    flood(a);
    if (broker.external) {
      // RabbitMQ reads the whole flood (keeping the returns it cannot send), then sees silence; a
      // client that does not read would never see its socket close, so once everything is sent
      // this one reads again. Reading does not count as traffic for RabbitMQ, only sending does.
      await waitFor(() => a.socket.writableLength === 0, 'the flood to be sent', 60_000);
      a.socket.resume();
    }
    await waitFor(() => a.closed, 'the broker to drop the client', 60_000);
    // The socket went away without a close frame reaching the client (it was not reading anyway).
    expect(a.allFrames.some((f) => f.type === 1 && f.classId === 10 && f.methodId === 50)).toBe(false);
    if (!broker.external) expect(broker.logs()).toContain('"msg":"missed heartbeats from client, timeout: 1s"');
    await roundTrip();
  }, 120_000);

  it('without heartbeats: dropped after --paused-output-timeout (warren only)', async () => {
    if (broker.external) return; // RabbitMQ keeps such a client until TCP gives up
    const timed = await startBroker({ args: ['--max-connection-buffer', '1MiB', '--paused-output-timeout', '3'] });
    const timedClients = new Clients(timed.url);
    try {
      const a = await rawConnect(timed, { heartbeat: 0 });
      attackers.push(a);
      await a.openChannel(1);
      a.socket.pause();
      flood(a);
      await waitFor(() => a.closed, 'the broker to drop the client', 60_000);
      expect(timed.logs()).toContain('closing connection: its output was not taken for 3s (paused output timeout)');
      await roundTrip(timedClients);
    } finally {
      await timedClients.closeAll();
      await timed.stop();
    }
  }, 120_000);
});
