// What a stream finds on disk at start: segment summaries (a clean restart reads no segment; a
// crash costs a read of the last one, whose torn tail is cut off; a summary that does not match
// its segment is ignored and rewritten), leftovers of a crash inside a stream folder (temporary
// files, summaries without a segment), and StreamEnv's handling of deleted streams (the folder
// renamed aside, removed once the deletion is durable, brought back when it never was; sweep()
// removing folders of streams that no longer exist).
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { F } from '../../src/codec/field-table.js';
import { parseQueueArguments } from '../../src/queue/arguments.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { WriteRange } from '../../src/store/store.js';
import { StreamEnv } from '../../src/stream/env.js';
import { StreamLog } from '../../src/stream/log.js';
import { StreamReader } from '../../src/stream/reader.js';
import { decodeSummary, encodeSummary, readSummary } from '../../src/stream/segment-index.js';
import { StreamQueue } from '../../src/stream/stream-queue.js';
import { WriteJoin } from '../../src/stream/write-join.js';
import { message } from '../helpers/model.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'warren-stream-recovery-'));
  dirs.push(d);
  return d;
}

const settings = { maxSegmentBytes: 4096, maxBytes: null, maxAgeMs: null };
const committed = (log: StreamLog): Promise<void> =>
  new Promise((resolve) => {
    log.onCommitted = () => {
      if (log.committedOffset === log.nextOffset) resolve();
    };
  });

function bodies(log: StreamLog, from = 0): string[] {
  const r = new StreamReader(log, from, null);
  const out: string[] = [];
  for (let rec = r.next(log, { n: 1e9 }); rec !== null; rec = r.next(log, { n: 1e9 })) out.push(rec.msg.body.toString());
  return out;
}

async function filled(dir: string, n: number): Promise<StreamLog> {
  const log = new StreamLog(dir, settings, null);
  log.open();
  // Bodies long enough that a segment holds several sparse index entries' worth of records.
  for (let i = 0; i < n; i++) log.append(message('k', {}, `m${i}-${'x'.repeat(150)}`), null);
  await committed(log);
  return log;
}

const expected = (n: number, from = 0): string[] => [...Array(n - from).keys()].map((i) => `m${i + from}-${'x'.repeat(150)}`);
const files = (dir: string, ext: string): string[] => readdirSync(dir).filter((f) => f.endsWith(ext)).sort();

describe('segment summaries', () => {
  it('round-trip, and a torn or altered summary is refused', () => {
    const s = { first: 100, count: 3, size: 900, firstTs: 1, lastTs: 2, idxOffset: [100, 102], idxPos: [0, 600], idxTs: [1, 2] };
    const buf = encodeSummary(s);
    expect(decodeSummary(buf)).toEqual(s);
    expect(decodeSummary(buf.subarray(0, buf.length - 1))).toBeNull();
    const bent = Buffer.from(buf);
    bent[20] = bent[20]! ^ 1;
    expect(decodeSummary(bent)).toBeNull();
    // Entries out of order or past the segment's end would misplace reads.
    expect(decodeSummary(encodeSummary({ ...s, idxPos: [600, 0] }))).toBeNull();
    expect(decodeSummary(encodeSummary({ ...s, idxPos: [0, 900] }))).toBeNull();
  });

  it('a clean restart reads no segment: every one comes from its summary, and reads and time lookups are the same', async () => {
    const dir = tmp();
    const log = await filled(dir, 300);
    const segments = log.segments.length;
    expect(segments).toBeGreaterThan(5);
    const t = log.segments[3]!.firstTs;
    const before = log.locateTime(t)!.offset;
    log.close();
    expect(files(dir, '.idx')).toHaveLength(segments);
    const again = new StreamLog(dir, settings, null);
    again.open();
    expect(again.opened).toEqual({ summaries: segments, scanned: 0 });
    expect(again.nextOffset).toBe(300);
    expect(again.stats()).toEqual(log.stats());
    expect(bodies(again)).toEqual(expected(300));
    expect(bodies(again, 123)).toEqual(expected(300, 123));
    expect(again.locateTime(t)!.offset).toBe(before);
    // It goes on appending to the last segment and rolling as before.
    for (let i = 300; i < 340; i++) again.append(message('k', {}, `m${i}-${'x'.repeat(150)}`), null);
    await committed(again);
    expect(bodies(again, 290)).toEqual(expected(340, 290));
    again.close();
  });

  it('after a crash only the last segment is read, and its torn tail is cut off', async () => {
    const dir = tmp();
    const log = await filled(dir, 300);
    const segments = log.segments.length;
    // No close: a kill -9 leaves the last segment without a summary, and half a record at its end.
    const last = join(dir, files(dir, '.seg').at(-1)!);
    const size = statSync(last).size;
    appendFileSync(last, Buffer.from([0, 0, 1, 0, 0, 0, 0]));
    const again = new StreamLog(dir, settings, null);
    again.open();
    expect(again.opened).toEqual({ summaries: segments - 1, scanned: 1 });
    expect(statSync(last).size).toBe(size);
    expect(bodies(again)).toEqual(expected(300));
    again.close();
    log.close();
  });

  it('a summary that does not match its segment (size, first offset, damage) is ignored and written again', async () => {
    const dir = tmp();
    (await filled(dir, 200)).close();
    const idx = files(dir, '.idx');
    const s1 = join(dir, idx[1]!);
    const s2 = join(dir, idx[2]!);
    const sum = readSummary(s1)!;
    writeFileSync(s1, encodeSummary({ ...sum, size: sum.size - 1 }));
    writeFileSync(s2, Buffer.from('not a summary'));
    const again = new StreamLog(dir, settings, null);
    again.open();
    expect(again.opened.scanned).toBe(2);
    expect(bodies(again)).toEqual(expected(200));
    again.close();
    expect(readSummary(s1)).toEqual(sum);
    const third = new StreamLog(dir, settings, null);
    third.open();
    expect(third.opened.scanned).toBe(0);
    third.close();
  });

  it('removes leftovers of a crash: a summary whose segment is gone, a temporary file', async () => {
    const dir = tmp();
    (await filled(dir, 100)).close();
    writeFileSync(join(dir, '00000000000099999999.idx'), 'orphan');
    writeFileSync(join(dir, '00000000000000000000.idx.tmp'), 'half written');
    const again = new StreamLog(dir, settings, null);
    again.open();
    expect(existsSync(join(dir, '00000000000099999999.idx'))).toBe(false);
    expect(existsSync(join(dir, '00000000000000000000.idx.tmp'))).toBe(false);
    expect(bodies(again)).toEqual(expected(100));
    again.close();
  });

  it('retention removes a segment together with its summary', async () => {
    const dir = tmp();
    const log = new StreamLog(dir, { maxSegmentBytes: 2000, maxBytes: 5000, maxAgeMs: null }, null);
    log.open();
    for (let i = 0; i < 200; i++) log.append(message('k', {}, 'x'.repeat(200)), null);
    await committed(log);
    log.close();
    const segs = files(dir, '.seg').map((f) => f.slice(0, 20));
    expect(files(dir, '.idx').map((f) => f.slice(0, 20))).toEqual(segs);
  });
});

/** A store whose writes become durable only when the test says so. */
class HeldStore extends MemoryStore {
  held = true;
  #durable = 0;
  #listener: ((d: number, f: WriteRange | null) => void) | null = null;
  override get durableSeq(): number {
    return this.held ? this.#durable : this.writeSeq;
  }
  override onDurable(listener: (d: number, f: WriteRange | null) => void): void {
    this.#listener = listener;
  }
  release(): void {
    this.held = false;
    this.#durable = this.writeSeq;
    this.#listener?.(this.#durable, null);
  }
}

function streamQueue(env: StreamEnv, name: string, restored: boolean): StreamQueue {
  const args = new Map([['x-queue-type', F.str('stream')]]);
  const s = parseQueueArguments(args, name, '/', { durable: true, exclusive: false });
  return new StreamQueue('/', name, { durable: true, exclusiveOwner: null, autoDelete: false, arguments: args, settings: s }, env, restored);
}

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('deleted streams on disk', () => {
  it('a deleted stream\'s folder is set aside at once and removed once the store made the deletion durable', async () => {
    const data = tmp();
    const store = new HeldStore();
    const env = new StreamEnv(data, new WriteJoin(store));
    const q = streamQueue(env, 's', false);
    const folder = env.folderOf('/', 's')!;
    expect(existsSync(folder)).toBe(true);
    store.deleteQueue('/', 's'); // as VirtualHost.removeQueue does, before the queue goes
    q.delete();
    expect(existsSync(folder)).toBe(false);
    const aside = readdirSync(join(data, 'streams'));
    expect(aside).toHaveLength(1);
    expect(aside[0]).toMatch(/\.deleted-/);
    await tick();
    expect(readdirSync(join(data, 'streams'))).toHaveLength(1); // not durable yet: kept
    store.release();
    for (let i = 0; i < 50 && readdirSync(join(data, 'streams')).length > 0; i++) await tick();
    expect(readdirSync(join(data, 'streams'))).toEqual([]);
  });

  it('a crash before the deletion was durable: the stream comes back with its messages; the sweep removes the rest', async () => {
    const data = tmp();
    const store = new HeldStore();
    const env = new StreamEnv(data, new WriteJoin(store));
    const q = streamQueue(env, 's', false);
    for (let i = 0; i < 50; i++) q.enqueue(message('k', {}, `m${i}`));
    await new Promise<void>((resolve) => {
      q.log.onCommitted = () => q.log.committedOffset === 50 && resolve();
    });
    q.log.close();
    store.deleteQueue('/', 's');
    q.delete(); // never durable: the process dies here
    // A folder of a stream that no longer exists, and one set aside long ago.
    const stray = join(data, 'streams', '0123456789abcdef0123456789abcdef');
    mkdirSync(stray);
    writeFileSync(join(stray, '00000000000000000000.seg'), 'x');
    mkdirSync(join(data, 'streams', 'fedcba9876543210fedcba9876543210.deleted-1700000000000-000001'));

    const env2 = new StreamEnv(data, new WriteJoin(new MemoryStore()));
    const back = streamQueue(env2, 's', true); // the store still has it
    expect(back.messageCount).toBe(50);
    const removed = env2.sweep();
    expect(removed.sort()).toEqual(['0123456789abcdef0123456789abcdef', 'fedcba9876543210fedcba9876543210.deleted-1700000000000-000001']);
    expect(readdirSync(join(data, 'streams'))).toEqual([env2.folderOf('/', 's')!.split('/').at(-1)]);
    env2.closeAll();
  });

  it('a stream deleted for good: its folder set aside goes at the next start', () => {
    const data = tmp();
    const env = new StreamEnv(data, new WriteJoin(new HeldStore()));
    const q = streamQueue(env, 's', false);
    q.delete();
    const env2 = new StreamEnv(data, new WriteJoin(new MemoryStore()));
    expect(env2.sweep()).toHaveLength(1);
    expect(readdirSync(join(data, 'streams'))).toEqual([]);
  });

  it('a stream the store has but whose folder is missing (a new data directory) opens empty', () => {
    const data = tmp();
    const env = new StreamEnv(data, new WriteJoin(new MemoryStore()));
    const q = streamQueue(env, 's', true);
    expect(q.messageCount).toBe(0);
    expect(env.sweep()).toEqual([]);
    env.closeAll();
  });
});
