// Flow control counts bytes as well as messages: a backlog of large messages behind a consumer
// whose socket is full pauses its publishers long before 8192 messages (8 GiB of 1 MiB bodies).

import { describe, expect, it } from 'vitest';
import { Message } from '../../src/message.js';
import type { FlowWaiter, Queue } from '../../src/queue/queue.js';
import { FakeConsumer, queue } from '../helpers/model.js';

const KIB = 1024;
const big = (size: number): Message => Message.fromProperties('x', 'k', {}, Buffer.alloc(size));

function backlog(count: number, size: number, socketBound: boolean): { q: Queue; c: FakeConsumer } {
  const q = queue('q');
  const c = new FakeConsumer('c', { credit: 0 });
  c.bound = socketBound;
  q.addConsumer(c);
  for (let i = 0; i < count; i++) q.enqueue(big(size));
  return { q, c };
}

class Waiter implements FlowWaiter {
  resumed: Queue[] = [];
  resumeFlow(queue: Queue): void {
    this.resumed.push(queue);
  }
}

describe('flow control by bytes', () => {
  it('17 MiB of 64 KiB messages behind a socket-bound consumer congest the queue', () => {
    expect(backlog(272, 64 * KIB, true).q.congested).toBe(true);
  });

  it('15 MiB do not, nor 17 MiB without a socket-bound consumer', () => {
    expect(backlog(240, 64 * KIB, true).q.congested).toBe(false);
    expect(backlog(272, 64 * KIB, false).q.congested).toBe(false);
  });

  it('one large message more than the mark is enough', () => {
    expect(backlog(17, 1024 * KIB, true).q.congested).toBe(true);
  });

  it('publishers resume once the bytes are below the low mark, not before', () => {
    const { q, c } = backlog(20, 1024 * KIB, true); // 20 MiB
    const w = new Waiter();
    q.addFlowWaiter(w);
    c.credit = 14; // leaves 6 MiB: below the message mark, above the byte mark
    q.dispatch();
    expect(w.resumed).toEqual([]);
    expect(q.congested).toBe(true);
    c.credit = 3; // leaves 3 MiB
    q.dispatch();
    expect(w.resumed).toEqual([q]);
    expect(q.congested).toBe(false);
  });
});
