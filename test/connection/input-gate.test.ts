// The input gate: a connection stops reading when the first reason to stop appears (resource
// alarm, flow control on a queue, output the client does not take) and reads again only when
// the last one is gone.

import { describe, expect, it } from 'vitest';
import { gate } from './gate-host.js';
import type { Queue } from '../../src/queue/queue.js';

const queue = (): Queue => ({ name: 'q', addFlowWaiter: () => undefined, removeFlowWaiter: () => undefined }) as unknown as Queue;

describe('InputGate', () => {
  it('pauses on the first reason and resumes only when every reason is gone', () => {
    const { g, host } = gate();
    const q = queue();
    g.fillOutput();
    expect(host.paused).toBe(true);
    g.throttle(q);
    g.blockForAlarm('low on memory');
    g.drainOutput();
    expect(host.paused).toBe(true);
    g.unblockAfterAlarm();
    expect(host.paused).toBe(true);
    g.resumeFlow(q);
    expect(host.paused).toBe(false);
    expect(g.paused).toBe(false);
  });

  it('output drained while an alarm holds: still paused until the alarm clears', () => {
    const { g, host } = gate();
    g.blockForAlarm('low on disk space');
    g.fillOutput();
    g.drainOutput();
    expect(host.paused).toBe(true);
    g.unblockAfterAlarm();
    expect(host.paused).toBe(false);
  });

  it('says when reading has been stopped for unread output longer than the paused output timeout', () => {
    const { g } = gate();
    const now = Date.now();
    expect(g.outputStuck(now + 1e6, 120)).toBe(false); // not paused for output at all
    g.fillOutput();
    expect(g.outputStuck(now + 119_000, 120)).toBe(false);
    expect(g.outputStuck(Date.now() + 120_000, 120)).toBe(true);
    expect(g.outputStuck(Date.now() + 1e9, 0)).toBe(false); // 0: no limit
    g.fillOutput(); // still full: the deadline keeps counting from the first fill
    g.drainOutput();
    expect(g.outputStuck(Date.now() + 1e6, 120)).toBe(false);
  });
});
