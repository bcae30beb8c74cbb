// Heartbeat and handshake-deadline bookkeeping, look by look: when a heartbeat is due, when a
// silent client is given up on, that our own heartbeat frame does not count as traffic, and that
// a client paused by us counts as alive unless it is paused because it takes none of its output. (The timers themselves are RabbitMQ's intervals: heartbeat/2
// for sending, heartbeat for looking at the client.)
import { describe, expect, it } from 'vitest';
import { HANDSHAKE_TIMEOUT_S, Liveness } from '../../src/connection/liveness.js';

describe('Liveness', () => {
  it('gives the handshake HANDSHAKE_TIMEOUT_S seconds', () => {
    const l = new Liveness();
    for (let i = 1; i < HANDSHAKE_TIMEOUT_S; i++) expect(l.handshakeExpired()).toBe(false);
    expect(l.handshakeExpired()).toBe(true);
  });

  it('sends a heartbeat at every send check while we write nothing else; our heartbeats do not count', () => {
    const l = new Liveness();
    const due: boolean[] = [];
    for (let i = 0; i < 4; i++) {
      const d = l.sendCheck();
      due.push(d);
      if (d) l.wrote(8);
    }
    expect(due).toEqual([true, true, true, true]);
    l.wrote(100);
    expect(l.sendCheck()).toBe(false);
    expect(l.sendCheck()).toBe(true);
  });

  it('gives up on the second receive check in a row that found nothing', () => {
    const l = new Liveness();
    l.readSinceCheck = true;
    expect([l.receiveCheck(false), l.receiveCheck(false), l.receiveCheck(false)]).toEqual([false, false, true]);
  });

  it('any byte read, or a pause of ours, resets the count', () => {
    const l = new Liveness();
    expect(l.receiveCheck(false)).toBe(false);
    l.readSinceCheck = true;
    expect(l.receiveCheck(false)).toBe(false);
    expect(l.receiveCheck(false)).toBe(false);
    expect(l.receiveCheck(true)).toBe(false);
    expect(l.receiveCheck(false)).toBe(false);
    expect(l.receiveCheck(false)).toBe(true);
  });

  it('a pause because the client does not take its output excuses silence only while it takes some of it', () => {
    const l = new Liveness();
    l.readSinceCheck = true;
    // reading stopped for unread output; the client has taken 1000 bytes of it so far
    expect(l.receiveCheck(true, 1000)).toBe(false);
    expect(l.receiveCheck(true, 5000)).toBe(false); // it took more: alive, only slow
    expect(l.receiveCheck(true, 5000)).toBe(false); // first look with no progress and nothing read
    expect(l.receiveCheck(true, 5000)).toBe(true); // second: given up on, as a silent client
  });

  it('output drained (no longer paused for it) starts the stall count afresh', () => {
    const l = new Liveness();
    expect(l.receiveCheck(true, 10)).toBe(false);
    expect(l.receiveCheck(true, 10)).toBe(false);
    l.readSinceCheck = true;
    expect(l.receiveCheck(false, -1)).toBe(false);
    expect(l.receiveCheck(true, 10)).toBe(false); // paused again: the first look counts as progress
    expect(l.receiveCheck(true, 10)).toBe(false);
    expect(l.receiveCheck(true, 10)).toBe(true);
  });

  it('the first send check after start sends whatever was written before it, as RabbitMQ', () => {
    const l = new Liveness();
    l.heartbeat = 3600; // timers far off; the checks are called by hand
    l.start({ sendHeartbeat: () => {}, peerSilent: () => {}, paused: () => false, outputTaken: () => -1 });
    l.wrote(100);
    expect(l.sendCheck()).toBe(true);
    l.wrote(8);
    l.wrote(100);
    expect(l.sendCheck()).toBe(false);
    l.stop();
  });

  it('starts no timers without a negotiated heartbeat', () => {
    const l = new Liveness();
    l.start({ sendHeartbeat: () => expect.unreachable(), peerSilent: () => expect.unreachable(), paused: () => false, outputTaken: () => -1 });
    l.stop();
  });
});
