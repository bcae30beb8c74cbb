// Heartbeat and handshake-deadline bookkeeping, tick by tick: when a heartbeat is due, when a
// silent client is given up on, and that our own heartbeat frame does not count as traffic.
import { describe, expect, it } from 'vitest';
import { HANDSHAKE_TIMEOUT_S, Liveness, Tick } from '../../src/connection/liveness.js';

describe('Liveness', () => {
  it('gives the handshake HANDSHAKE_TIMEOUT_S ticks', () => {
    const l = new Liveness();
    for (let i = 1; i < HANDSHAKE_TIMEOUT_S; i++) expect(l.tick(true, false)).toBe(Tick.None);
    expect(l.tick(true, false)).toBe(Tick.HandshakeTimeout);
  });

  it('does nothing without a negotiated heartbeat', () => {
    const l = new Liveness();
    for (let i = 0; i < 100; i++) expect(l.tick(false, false)).toBe(Tick.None);
  });

  it('sends a heartbeat after heartbeat/2 quiet seconds and gives up after two silent intervals', () => {
    const l = new Liveness();
    l.heartbeat = 4;
    const seen: Tick[] = [];
    for (let i = 0; i < 8; i++) {
      const t = l.tick(false, false);
      seen.push(t);
      if (t === Tick.SendHeartbeat) l.wrote(8);
    }
    expect(seen).toEqual([Tick.None, Tick.SendHeartbeat, Tick.None, Tick.SendHeartbeat, Tick.None, Tick.SendHeartbeat, Tick.None, Tick.PeerSilent]);
  });

  it('counts reads and other writes as traffic, and a paused client as alive', () => {
    const l = new Liveness();
    l.heartbeat = 2;
    for (let i = 0; i < 10; i++) {
      l.readSinceTick = i % 2 === 0;
      l.wrote(100);
      expect(l.tick(false, i % 2 === 1)).toBe(Tick.None);
    }
  });
});
