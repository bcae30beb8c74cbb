// The writer's idle-time work (reclaiming free pages) waits until no batch came for idleMs,
// then runs a step a turn while there is more to do; batches postpone it, close() cancels it.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IdleSteps } from '../../src/store/sqlite/idle-steps.js';

describe('IdleSteps', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  // The fake clock moves with the fake timers.
  const now = (): number => Date.now();

  it('runs a step once idleMs passed with no batch, and not before', () => {
    let steps = 0;
    const idle = new IdleSteps(1000, () => (steps++, false), now);
    vi.advanceTimersByTime(999);
    expect(steps).toBe(0);
    vi.advanceTimersByTime(1);
    expect(steps).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(steps).toBe(1);
    idle.close();
  });

  it('waits until idleMs after the last batch, however many batches came', () => {
    let steps = 0;
    const idle = new IdleSteps(1000, () => (steps++, false), now);
    for (let t = 0; t < 30; t++) {
      vi.advanceTimersByTime(100);
      idle.busy();
    }
    // 3 s of batches every 100 ms: the timer fired meanwhile and waited the rest out.
    expect(steps).toBe(0);
    vi.advanceTimersByTime(999);
    expect(steps).toBe(0);
    vi.advanceTimersByTime(1);
    expect(steps).toBe(1);
    idle.close();
  });

  it('runs steps, each its own turn, while there is more to do; a batch between them postpones the rest', () => {
    let left = 3;
    let steps = 0;
    const idle = new IdleSteps(1000, () => (steps++, --left > 0), now);
    vi.advanceTimersToNextTimer();
    expect(steps).toBe(1);
    // The next step is queued, not run: a batch that comes first postpones it.
    expect(vi.getTimerCount()).toBe(1);
    idle.busy();
    vi.advanceTimersToNextTimer(); // the queued step: not idle, so it waits out the rest
    expect(steps).toBe(1);
    vi.advanceTimersByTime(990); // (fake immediates run a millisecond on)
    expect(steps).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(steps).toBe(3);
    // Idle again after a later batch: a new spell, steps again.
    left = 1;
    idle.busy();
    vi.advanceTimersByTime(1000);
    expect(steps).toBe(4);
    idle.close();
  });

  it('runs nothing once closed', () => {
    let steps = 0;
    const idle = new IdleSteps(1000, () => (steps++, true), now);
    idle.close();
    idle.busy();
    vi.advanceTimersByTime(5000);
    expect(steps).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
