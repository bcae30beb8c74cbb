// Heartbeats: a client that heartbeats (amqplib, heartbeat=1) stays connected across several
// intervals; a client that negotiated heartbeat=1 and then goes silent is dropped by the server
// (socket closed, no connection.close, as RabbitMQ does); one that negotiated 0 is left alone.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTION_CLOSE, FRAME_HEARTBEAT } from '../../src/codec/methods.generated.js';
import type { RunningBroker } from '../../src/index.js';
import { Clients, testBroker, within } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

let broker: RunningBroker;
let clients: Clients;
const raws: RawClient[] = [];

beforeAll(async () => {
  broker = await testBroker();
  clients = new Clients(broker.url);
});
afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy();
  await clients.closeAll();
});
afterAll(async () => broker.close());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('heartbeats', () => {
  it('a client heartbeating every second stays connected across several seconds of silence', async () => {
    const client = await clients.connect('?heartbeat=1');
    const ch = await client.channel();
    const [server] = [...broker.broker.connections];
    expect(server?.heartbeat).toBe(1);
    let closed = false;
    void client.closed.then(() => (closed = true));
    await sleep(3500); // more than two missed intervals, were nobody heartbeating
    expect(closed).toBe(false);
    await ch.assertQueue('', { exclusive: true });
    expect(client.errors).toEqual([]);
  });

  it('a client silent after negotiating heartbeat=1 is disconnected; one that negotiated 0 is not', async () => {
    const silent = await RawClient.open(broker.port, 1);
    const quiet = await RawClient.open(broker.port, 0);
    raws.push(silent, quiet);
    await within(silent.closed, 'server to drop the silent client', 15_000);
    // The server heartbeated to it, and closed without a connection.close frame.
    expect(silent.frames.some((f) => f.type === FRAME_HEARTBEAT && f.channel === 0)).toBe(true);
    expect(silent.frames.some((f) => f.method?.id === CONNECTION_CLOSE)).toBe(false);
    // The client that asked for no heartbeats has been just as silent, for as long.
    expect(quiet.isClosed).toBe(false);
    expect(quiet.frames.some((f) => f.type === FRAME_HEARTBEAT)).toBe(false);
  });
});
