// Streams below the wire: the log (segments on disk and in memory, recovery of a torn tail,
// retention by size), readers (offsets, times, filters, the ack mark), the stream queue's
// hooks for named readers and groups, and WriteJoin (confirms wait for both the store and
// the streams' fsyncs).
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { F } from '../../src/codec/field-table.js';
import type { Queue, QueueEntry } from '../../src/queue/queue.js';
import { parseQueueArguments } from '../../src/queue/arguments.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { StreamEnv } from '../../src/stream/env.js';
import { StreamLog } from '../../src/stream/log.js';
import { StreamReader } from '../../src/stream/reader.js';
import { StreamQueue } from '../../src/stream/stream-queue.js';
import { WriteJoin } from '../../src/stream/write-join.js';
import { FakeConsumer, message } from '../helpers/model.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'warren-stream-'));
  dirs.push(d);
  return d;
}

const settings = { maxSegmentBytes: 4096, maxBytes: null, maxAgeMs: null };
const committed = (log: StreamLog): Promise<void> =>
  new Promise((resolve) => {
    const before = log.onCommitted;
    log.onCommitted = () => {
      before();
      if (log.committedOffset === log.nextOffset) resolve();
    };
  });

function readAll(log: StreamLog, from: number, filter: ConstructorParameters<typeof StreamReader>[2] = null): { offset: number; body: string; headerOffset: unknown }[] {
  const r = new StreamReader(log, from, filter);
  const out = [];
  for (let rec = r.next(log, { n: 1e9 }); rec !== null; rec = r.next(log, { n: 1e9 })) {
    out.push({ offset: rec.offset, body: rec.msg.body.toString(), headerOffset: rec.msg.properties.headers?.get('x-stream-offset')?.value });
  }
  return out;
}

describe('StreamLog', () => {
  it.each([['memory'], ['files']])('appends, commits and reads back in %s, across segments', async (where) => {
    const log = new StreamLog(where === 'files' ? tmp() : null, settings, null);
    log.open();
    for (let i = 0; i < 100; i++) log.append(message('k', { headers: new Map([['n', F.int(i)]]) }, 'b'.repeat(100) + i), null);
    expect(log.committedOffset).toBe(0); // readable only once durable
    await committed(log);
    expect(log.segments.length).toBeGreaterThan(1);
    const all = readAll(log, 0);
    expect(all.map((x) => x.offset)).toEqual([...Array(100).keys()]);
    expect(all[42]!.body).toBe('b'.repeat(100) + 42);
    expect(Number(all[42]!.headerOffset)).toBe(42);
    expect(readAll(log, 57)[0]!.offset).toBe(57);
    log.close();
  });

  it('comes back after a restart, cutting off a torn record at the end', async () => {
    const dir = tmp();
    const log = new StreamLog(dir, settings, null);
    log.open();
    for (let i = 0; i < 30; i++) log.append(message('k', {}, `m${i}`), null);
    await committed(log);
    log.close();
    const segs = readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
    const last = join(dir, segs.at(-1)!);
    truncateSync(last, statSync(last).size - 3); // a crash mid-write
    const again = new StreamLog(dir, settings, null);
    again.open();
    expect(again.nextOffset).toBe(29);
    expect(readAll(again, 0).map((x) => x.body)).toEqual([...Array(29).keys()].map((i) => `m${i}`));
    again.append(message('k', {}, 'after'), null);
    await committed(again);
    expect(readAll(again, 29).map((x) => x.body)).toEqual(['after']);
    again.close();
  });

  it('retention by size removes whole segments; a reader there moves to the oldest left', async () => {
    const log = new StreamLog(tmp(), { maxSegmentBytes: 2000, maxBytes: 5000, maxAgeMs: null }, null);
    log.open();
    const reader = new StreamReader(log, 0, null);
    for (let i = 0; i < 200; i++) log.append(message('k', {}, 'x'.repeat(200)), null);
    await committed(log);
    expect(log.bytes).toBeLessThanOrEqual(5000 + 2000);
    expect(log.firstOffset).toBeGreaterThan(0);
    const first = reader.next(log, { n: 10 });
    expect(first?.offset).toBe(log.firstOffset);
    log.close();
  });

  it('setRetention (a policy) applies a lower size limit at once, and lifting it keeps what is left', async () => {
    const log = new StreamLog(tmp(), { maxSegmentBytes: 2000, maxBytes: null, maxAgeMs: null }, null);
    log.open();
    for (let i = 0; i < 200; i++) log.append(message('k', {}, 'x'.repeat(200)), null);
    await committed(log);
    expect(log.firstOffset).toBe(0);
    log.setRetention(5000, null);
    expect(log.bytes).toBeLessThanOrEqual(5000 + 2000);
    expect(log.firstOffset).toBeGreaterThan(0);
    const first = log.firstOffset;
    log.setRetention(log.baseSettings.maxBytes, null);
    expect(log.firstOffset).toBe(first);
    expect(log.settings.maxBytes).toBeNull();
    log.close();
  });

  it('finds the first message at or after a time', async () => {
    const log = new StreamLog(null, settings, null);
    log.open();
    log.append(message('k', {}, 'old'), null);
    await committed(log);
    await new Promise((r) => setTimeout(r, 20));
    const t = Date.now();
    log.append(message('k', {}, 'new'), null);
    await committed(log);
    expect(log.locateTime(t)?.offset).toBe(1);
    expect(log.locateTime(0)?.offset).toBe(0);
    expect(log.locateTime(t + 60_000)?.offset).toBe(2);
  });

  it('filters exactly: values asked for, unfiltered ones only with match-unfiltered', async () => {
    const log = new StreamLog(null, settings, null);
    log.open();
    const withFilter = (v: string | null, body: string) =>
      log.append(message('k', v === null ? {} : { headers: new Map([['x-stream-filter-value', F.str(v)]]) }, body), v);
    withFilter('red', 'r1');
    withFilter('blue', 'b1');
    withFilter(null, 'u1');
    withFilter('red', 'r2');
    await committed(log);
    expect(readAll(log, 0, { values: new Set(['red']), matchUnfiltered: false }).map((x) => x.body)).toEqual(['r1', 'r2']);
    expect(readAll(log, 0, { values: new Set(['blue']), matchUnfiltered: true }).map((x) => x.body)).toEqual(['b1', 'u1']);
  });
});

describe('StreamReader mark', () => {
  it('moves only when every delivery below it is acked', async () => {
    const log = new StreamLog(null, settings, null);
    log.open();
    for (let i = 0; i < 5; i++) log.append(message('k', {}, `m${i}`), null);
    await committed(log);
    const r = new StreamReader(log, 0, null);
    for (let i = 0; i < 3; i++) r.delivered(r.next(log, { n: 10 })!.offset);
    expect(r.acked(1)).toBe(false);
    expect(r.mark).toBe(0);
    expect(r.acked(0)).toBe(true);
    expect(r.mark).toBe(2);
    expect(r.acked(2)).toBe(true);
    expect(r.mark).toBe(3);
  });
});

class StreamConsumer extends FakeConsumer {
  readonly arguments;
  readonly qosPrefetch = 10;
  constructor(tag: string, args: [string, ReturnType<typeof F.str>][] = []) {
    super(tag, { credit: 10 });
    this.arguments = new Map(args);
  }
  // As the channel does: the entry remembers its consumer.
  override deliver(q: Queue, e: QueueEntry): void {
    e.consumer = this;
    super.deliver(q, e);
  }
}

function streamQueue(env: StreamEnv, name = 's'): StreamQueue {
  const args = new Map([['x-queue-type', F.str('stream')]]);
  const s = parseQueueArguments(args, name, '/', { durable: true, exclusive: false });
  return new StreamQueue('/', name, { durable: true, exclusiveOwner: null, autoDelete: false, arguments: args, settings: s }, env, false);
}

describe('StreamQueue hooks', () => {
  it('start overrides the offset; acked reports the mark; removed on cancel', async () => {
    const env = new StreamEnv(null, null);
    const marks: number[] = [];
    const removed: string[] = [];
    env.hooks = {
      start: (_s, c) => (c.tag === 'resume' ? { kind: 'offset', offset: 2 } : undefined),
      acked: (_s, _c, mark) => marks.push(mark),
      removed: (_s, c) => removed.push(c.tag),
    };
    const q = streamQueue(env);
    for (let i = 0; i < 4; i++) q.enqueue(message('k', {}, `m${i}`));
    await new Promise((r) => setImmediate(r));
    const c = new StreamConsumer('resume', [['x-stream-offset', F.str('first')]]);
    q.addConsumer(c);
    q.dispatch();
    expect(c.delivered.map((e) => e.seq)).toEqual([2, 3]);
    q.settle(c.delivered[1]!, true);
    expect(marks).toEqual([]); // offset 2 is not acked yet
    q.settle(c.delivered[0]!, true);
    expect(marks).toEqual([4]);
    expect(q.messageCount).toBe(4); // acks remove nothing
    q.removeConsumer(c);
    expect(removed).toEqual(['resume']);
  });
});

describe('StreamQueue delivery', () => {
  it('hands the consumer the message, then keeps only the offset: unacked entries hold no message, and acks still move the mark', async () => {
    const env = new StreamEnv(null, null);
    const marks: number[] = [];
    env.hooks = { acked: (_s, _c, mark) => marks.push(mark) };
    const q = streamQueue(env);
    for (let i = 0; i < 3; i++) q.enqueue(message('k', {}, `m${i}`));
    await new Promise((r) => setImmediate(r));
    const seen: string[] = [];
    const c = new (class extends StreamConsumer {
      override deliver(queue: Queue, e: QueueEntry): void {
        seen.push(e.msg!.body.toString()); // what a channel writes out, during deliver()
        super.deliver(queue, e);
      }
    })('c', [['x-stream-offset', F.str('first')]]);
    q.addConsumer(c);
    q.dispatch();
    expect(seen).toEqual(['m0', 'm1', 'm2']);
    expect(c.delivered.map((e) => [e.seq, e.msg])).toEqual([[0, null], [1, null], [2, null]]);
    for (const e of c.delivered) q.settle(e, true);
    expect(marks).toEqual([1, 2, 3]);
  });
});

describe('WriteJoin', () => {
  it('durableSeq passes a stream batch only once its fsync returned', () => {
    const join = new WriteJoin(new MemoryStore());
    const heard: number[] = [];
    join.onDurable((d) => heard.push(d));
    const batch = { done: false, failed: false };
    const seq = join.issue(batch);
    join.saveVhost({ name: 'v', description: '', tags: [] });
    const after = join.writeSeq;
    expect(after).toBeGreaterThan(seq);
    expect(join.durableSeq).toBeLessThan(seq);
    batch.done = true;
    join.settled();
    expect(join.durableSeq).toBe(after);
    expect(heard.at(-1)).toBe(after);
  });
});

describe('confirms wait for the fsync', () => {
  it('every append in a batch gets a write number that passes only after the batch is durable', async () => {
    const join = new WriteJoin(new MemoryStore());
    const log = new StreamLog(tmp(), settings, join);
    log.open();
    for (let i = 0; i < 3; i++) {
      const before = join.writeSeq;
      log.append(message('k', {}, `m${i}`), null);
      expect(join.writeSeq).toBeGreaterThan(before); // a publisher would wait for it
      expect(join.durableSeq).toBeLessThan(join.writeSeq);
    }
    await committed(log);
    expect(join.durableSeq).toBe(join.writeSeq);
    log.close();
  });
});
