// A stream reader reads segment files into a block of its own and reads into it again once
// every record handed out of it was copied (StreamReader.copied). A mistake there would hand a
// consumer bytes of a later record, so these tests replay while appending and compare every
// body byte for byte: for a consumer that copies small bodies and keeps large ones by
// reference (as the channel's FrameWriter does), for one that keeps every message, and for
// records larger than a block.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { F } from '../../src/codec/field-table.js';
import { Message } from '../../src/message.js';
import { parseQueueArguments } from '../../src/queue/arguments.js';
import type { Queue, QueueEntry } from '../../src/queue/queue.js';
import { StreamEnv } from '../../src/stream/env.js';
import { StreamQueue, type CopyingConsumer } from '../../src/stream/stream-queue.js';

const dirs: string[] = [];
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function streamQueue(name: string): StreamQueue {
  const dir = mkdtempSync(join(tmpdir(), 'warren-reader-blocks-'));
  dirs.push(dir);
  const args = new Map([['x-queue-type', F.str('stream')]]);
  const settings = parseQueueArguments(args, name, '/', { durable: true, exclusive: false });
  const env = new StreamEnv(dir, null);
  return new StreamQueue('/', name, { durable: true, exclusiveOwner: null, autoDelete: false, arguments: args, settings }, env, false);
}

/** Body i: its size (mostly 1000 B; every 50th 9000 B, by reference; every 397th 300 KiB, more than a block) and bytes from i. */
function body(i: number, small = false): Buffer {
  const size = small ? 1000 : i % 397 === 0 ? 300 * 1024 : i % 50 === 0 ? 9000 : 1000;
  const b = Buffer.allocUnsafe(size);
  for (let j = 0; j < size; j++) b[j] = (i * 131 + j * 7 + (j >> 8)) & 0xff;
  return b;
}

function publish(q: StreamQueue, i: number, small = false): void {
  q.enqueue(Message.fromProperties('x', 'k', { headers: new Map([['i', F.int(i)]]) }, body(i, small)));
}

/** Until every appended record is durable (and dispatched: onCommitted dispatches). */
async function durable(q: StreamQueue): Promise<void> {
  while (q.log.committedOffset < q.log.nextOffset) await new Promise((r) => setTimeout(r, 1));
}

/** Delivered bodies by offset: copied at delivery below copiesBodiesBelow (as FrameWriter does), else kept by reference. */
class Recorder implements CopyingConsumer {
  readonly noAck = false;
  readonly exclusive = false;
  readonly priority = 0;
  readonly qosPrefetch = 1000;
  readonly arguments = new Map([['x-stream-offset', F.str('first')]]);
  readonly bodies = new Map<number, Buffer>();
  /** 0: copies nothing. */
  readonly copiesBodiesBelow: number;
  constructor(
    readonly tag: string,
    copies: boolean,
  ) {
    this.copiesBodiesBelow = copies ? 8 * 1024 : 0;
  }
  canDeliver(): boolean {
    return true;
  }
  deliver(_q: Queue, e: QueueEntry): void {
    const b = e.msg!.body;
    this.bodies.set(e.seq, b.length < this.copiesBodiesBelow ? Buffer.from(b) : b);
  }
  queueDeleted(): void {}
  socketBound(): boolean {
    return false;
  }
}

function expectExact(r: Recorder, n: number, small = false): void {
  expect(r.bodies.size).toBe(n);
  let wrong = 0;
  for (let i = 0; i < n; i++) if (!r.bodies.get(i)?.equals(body(i, small))) wrong++;
  expect(wrong).toBe(0);
}

describe('StreamReader blocks', () => {
  it('replays while appending: every body byte for byte, copied or kept, small and larger than a block', async () => {
    const q = streamQueue('s');
    const copying = new Recorder('copying', true);
    const keeping = new Recorder('keeping', false);
    q.addConsumer(copying);
    q.addConsumer(keeping);
    let n = 0;
    for (let round = 0; round < 12; round++) {
      for (let k = 0; k < 250; k++) publish(q, n++);
      await durable(q);
      // A consumer joining mid-stream reads from the start while the others are at the head.
      if (round === 5) q.addConsumer(new Recorder('late', true));
    }
    await durable(q);
    expectExact(copying, n);
    expectExact(keeping, n);
    expectExact(q.consumers[2] as Recorder, n);
    q.log.close();
  });

  it('a copying consumer reads into one block again and again; one that keeps messages gets new blocks', async () => {
    const q = streamQueue('t');
    const n = 3000; // about 3 MB: a dozen 256 KiB blocks
    for (let i = 0; i < n; i++) publish(q, i, true);
    await durable(q);
    const blocks = (c: Recorder): number => {
      const alloc = vi.spyOn(Buffer, 'allocUnsafeSlow');
      q.addConsumer(c);
      q.dispatch();
      const big = alloc.mock.calls.filter(([size]) => size >= 16 * 1024).length;
      alloc.mockRestore();
      return big;
    };
    const copying = new Recorder('copying', true);
    expect(blocks(copying)).toBe(1);
    expectExact(copying, n, true);
    const keeping = new Recorder('keeping', false);
    expect(blocks(keeping)).toBeGreaterThanOrEqual(12);
    expectExact(keeping, n, true);
    q.log.close();
  });
});
