// Clients that never read their socket cannot make the broker grow: a raw-socket peer that
// floods mandatory publishes nobody can route, one that asks for large messages with basic.get,
// and a consumer without prefetch, none of which read what the broker sends. Meanwhile an
// amqplib client publishes and consumes as usual. Against warren (--max-connection-buffer
// 1MiB) each attacker's output the broker holds, as /api/connections reports it (send_pend),
// stays within the limit and its connection is in state "flow"; RabbitMQ (no management
// plugin on the reference node) is checked for the well-behaved client only.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Clients, enc, httpPortOf, raw, RawClient, rawConnect, startBroker, uid, waitFor, type BrokerUnderTest } from './harness.js';

const LIMIT = 1024 * 1024;
/** One frame's handling may pass the limit by what it writes (here at most one 64 KiB message). */
const SLACK = 128 * 1024;

let broker: BrokerUnderTest;
let clients: Clients;
let httpPort: number | null = null;
const attackers: RawClient[] = [];

beforeAll(async () => {
  broker = await startBroker({ args: ['--http-port', '0', '--max-connection-buffer', '1MiB'] });
  clients = new Clients(broker.url);
  if (!broker.external) {
    httpPort = httpPortOf(broker);
  }
});

afterEach(async () => {
  for (const a of attackers.splice(0)) a.destroy();
  await clients.closeAll();
});

afterAll(async () => {
  await broker.stop();
});

interface ConnectionInfo {
  peer_port: number;
  state: string;
  send_pend: number;
}

async function api<T>(path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function metric(name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  const line = (await res.text()).split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line!.split(' ')[1]);
}

/** The broker's view of an attacker's connection, once it stopped reading it. */
async function whenStalled(a: RawClient): Promise<ConnectionInfo> {
  const port = a.socket.localPort!;
  let info: ConnectionInfo | undefined;
  await waitFor(async () => {
    const all = await api<ConnectionInfo[]>('/api/connections');
    info = all.find((c) => c.peer_port === port);
    return info?.state === 'flow';
  }, 'the broker to stop reading the attacker', 20_000);
  return info!;
}

async function attacker(): Promise<RawClient> {
  const a = await rawConnect(broker);
  attackers.push(a);
  await a.openChannel(1);
  return a;
}

function publishFrames(routingKey: string, body: Buffer, mandatory: boolean): Buffer {
  return Buffer.concat([
    RawClient.frame(1, 1, RawClient.methodPayload(60, 40, raw.basicPublish('', routingKey, mandatory))),
    RawClient.frame(2, 1, RawClient.contentHeader(body.length)),
    RawClient.frame(3, 1, body),
  ]);
}

/** A publish/consume round trip through amqplib, beside the attackers. */
async function wellBehavedRoundTrip(n: number): Promise<void> {
  const conn = await clients.connect();
  const ch = await conn.createChannel();
  const q = uid('good');
  await ch.assertQueue(q, { exclusive: true });
  const got: string[] = [];
  await ch.consume(q, (m) => m && got.push(m.content.toString()), { noAck: true });
  for (let i = 0; i < n; i++) ch.sendToQueue(q, Buffer.from(`m${i}`));
  await waitFor(() => got.length === n, `${n} deliveries to the well-behaved client`, 20_000);
  expect(got).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
}

describe('clients that never read', () => {
  it('a flood of mandatory unroutable publishes: the broker stops reading it at the limit; others are served', async () => {
    const rssBefore = broker.external ? 0 : await metric('rabbitmq_process_resident_memory_bytes');
    const a = await attacker();
    a.socket.pause(); // never reads again
    const batch = Buffer.concat(Array<Buffer>(256).fill(publishFrames(uid('nowhere'), Buffer.alloc(1024, 0x61), true)));
    for (let i = 0; i < 80; i++) a.write(batch); // 20 MiB of publishes, each to be returned
    if (!broker.external) {
      const info = await whenStalled(a);
      expect(info.send_pend).toBeLessThanOrEqual(LIMIT + SLACK);
      expect(await metric('warren_connection_pending_output_bytes')).toBeLessThanOrEqual(LIMIT + SLACK);
      // Before the limit existed this flood grew the broker by hundreds of MiB.
      expect((await metric('rabbitmq_process_resident_memory_bytes')) - rssBefore).toBeLessThan(128 * 1024 * 1024);
    }
    await wellBehavedRoundTrip(200);
    expect(a.closed).toBe(false);
  });

  it('basic.get of large messages, never read: held output stays within the limit; others are served', async () => {
    const setup = await clients.channel();
    const q = uid('big');
    await setup.assertQueue(q);
    const body = Buffer.alloc(64 * 1024, 0x62);
    for (let i = 0; i < 300; i++) setup.sendToQueue(q, body);
    await setup.checkQueue(q);
    const a = await attacker();
    a.socket.pause();
    const get = RawClient.frame(1, 1, RawClient.methodPayload(60, 70, raw.basicGet(q, true)));
    a.write(Buffer.concat(Array<Buffer>(300).fill(get))); // 19 MiB of get-ok asked for in 7 KiB
    if (!broker.external) {
      const info = await whenStalled(a);
      expect(info.send_pend).toBeLessThanOrEqual(LIMIT + SLACK);
    }
    await wellBehavedRoundTrip(200);
    await setup.deleteQueue(q);
  });

  it('a consumer without prefetch that never reads: deliveries stop at the limit; others are served', async () => {
    const setup = await clients.channel();
    const q = uid('unread');
    await setup.assertQueue(q);
    // 24 MiB: more than loopback's socket buffers on both sides can absorb.
    const body = Buffer.alloc(2048, 0x63);
    for (let i = 0; i < 12_000; i++) setup.sendToQueue(q, body);
    await setup.checkQueue(q);
    const a = await attacker();
    a.socket.pause();
    a.sendMethod(
      1,
      60,
      20,
      Buffer.concat([enc.u16(0), enc.shortstr(q), enc.shortstr('greedy'), enc.bits(false, false, false, false), enc.table({})]),
    );
    if (!broker.external) {
      // Deliveries are pulled, not read from the client: the connection is not paused, the queue
      // simply stops handing messages to a socket that is backed up.
      let info: ConnectionInfo | undefined;
      await waitFor(async () => {
        info = (await api<ConnectionInfo[]>('/api/connections')).find((c) => c.peer_port === a.socket.localPort);
        return (info?.send_pend ?? 0) > 0;
      }, 'deliveries to back up', 20_000);
      const { messages_ready } = await api<{ messages_ready: number }>(`/api/queues/%2F/${q}`);
      expect(messages_ready).toBeGreaterThan(0);
      expect(info!.send_pend).toBeLessThanOrEqual(LIMIT + SLACK);
    }
    await wellBehavedRoundTrip(200);
    await setup.deleteQueue(q);
  });
});
