// Heartbeats: a silent client is disconnected, a client that sends heartbeats stays connected, the
// server sends heartbeats to an idle client, heartbeat 0 disables them. Timeouts here are generous
// hang guards; pass/fail never depends on how fast something happened.
import { describe, expect, it } from 'vitest';
import { FRAME_HEARTBEAT, raw, rawConnect, sleep } from './harness.js';
import { useBroker } from './shared-broker.js';

const shared = useBroker();

/** Long enough for several missed 1 s heartbeats (RabbitMQ gives up after about two). */
const QUIET_PERIOD_MS = 4_500;

describe.concurrent('heartbeats', () => {
  it('a client that negotiates a 1 s heartbeat and then stays silent is disconnected', async () => {
    const c = await rawConnect(shared.broker, { heartbeat: 1 });
    try {
      await c.openChannel(1);
      const res = await c.waitForConnectionClose(20_000);
      // RabbitMQ just drops the socket (log: "missed heartbeats from client, timeout: 1s")
      expect(res.socketClosed).toBe(true);
      expect(res.close).toBeUndefined();
      // while waiting, the server kept sending its own heartbeats
      expect(res.frames.some((f) => f.type === FRAME_HEARTBEAT && f.channel === 0 && f.payload.length === 0)).toBe(true);
    } finally {
      c.destroy();
    }
  });

  it('a client that sends heartbeats stays connected, and the server sends heartbeats to it', async () => {
    const c = await rawConnect(shared.broker, { heartbeat: 1 });
    try {
      const timer = setInterval(() => c.sendHeartbeat(), 400);
      await sleep(QUIET_PERIOD_MS);
      clearInterval(timer);
      expect(c.closed).toBe(false);
      const heartbeats = c.allFrames.filter((f) => f.type === FRAME_HEARTBEAT);
      expect(heartbeats.length).toBeGreaterThanOrEqual(2);
      for (const h of heartbeats) expect([h.channel, h.payload.length]).toEqual([0, 0]);
      // and the connection still works
      await c.openChannel(1);
      c.sendMethod(1, 50, 10, raw.queueDeclare('', { exclusive: true }));
      await c.expectMethod(1, 50, 11);
    } finally {
      c.destroy();
    }
  });

  it('any traffic from the client counts as a heartbeat', async () => {
    const c = await rawConnect(shared.broker, { heartbeat: 1 });
    try {
      await c.openChannel(1);
      const timer = setInterval(() => c.sendMethod(1, 50, 10, raw.queueDeclare('', { exclusive: true, noWait: true })), 400);
      await sleep(QUIET_PERIOD_MS);
      clearInterval(timer);
      expect(c.closed).toBe(false);
    } finally {
      c.destroy();
    }
  });

  it('heartbeat 0 disables heartbeats: a silent client stays connected and gets none', async () => {
    const c = await rawConnect(shared.broker, { heartbeat: 0 });
    try {
      await sleep(QUIET_PERIOD_MS);
      expect(c.closed).toBe(false);
      expect(c.allFrames.filter((f) => f.type === FRAME_HEARTBEAT)).toEqual([]);
      await c.openChannel(1);
    } finally {
      c.destroy();
    }
  });

  it('amqplib with heartbeat=1 stays connected while idle', async () => {
    const t = await shared.clients.connectTracked({ heartbeat: 1 });
    const ch = await shared.clients.channel(t.model);
    await sleep(QUIET_PERIOD_MS);
    expect(t.closed).toBe(false);
    const { queue } = await ch.assertQueue('', { exclusive: true });
    expect(queue).toMatch(/^amq\.gen-/);
    await t.model.close();
  });
});
