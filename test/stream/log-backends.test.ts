// The stream log's behaviour on each backend: segment files, memory, and chunks in PostgreSQL
// (pg-log.ts, with the PostgreSQL store; run when a PostgreSQL is available, see
// conformance/postgres.ts, else skipped with a message). Appends become readable only once
// durable, reads cross segments, offsets and times are found, filters are exact, retention
// removes whole segments, and a reopen (a restart, or another node taking over) finds the
// same records. For PostgreSQL also: confirms wait for the chunk's transaction, readers fetch
// bounded ranges, retention and deletion remove the rows, and a store under a lost lease
// writes no chunk.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { F } from '../../src/codec/field-table.js';
import { silentLogger } from '../../src/logger.js';
import { PgStore } from '../../src/store/postgres/pg-store.js';
import type { QueueKey } from '../../src/store/store.js';
import { StreamLog } from '../../src/stream/log.js';
import { PgStreamLog } from '../../src/stream/pg-log.js';
import { StreamReader } from '../../src/stream/reader.js';
import type { LogSettings, StreamLogApi } from '../../src/stream/segment.js';
import { WriteJoin } from '../../src/stream/write-join.js';
import { freshDatabase, postgresAvailable, stopPostgres } from '../../conformance/postgres.js';
import { message } from '../helpers/model.js';

const dirs: string[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
afterAll(() => stopPostgres());

interface Backend {
  log: StreamLogApi;
  /** Closes and opens again (a restart); null where nothing survives (memory). */
  reopen: (() => Promise<StreamLogApi>) | null;
}

type Make = (settings: LogSettings) => Promise<Backend>;

const key = (): QueueKey => ({ vhost: '/', name: 's', storeQueueId: 0 });

async function pgBackend(settings: LogSettings): Promise<Backend & { store: () => PgStore; url: string }> {
  const url = await freshDatabase();
  let store = await PgStore.open(url, silentLogger);
  store.saveQueue({ vhost: '/', name: 's', autoDelete: false, arguments: new Map() });
  let log = new PgStreamLog(key(), settings, store);
  log.open(true);
  closers.push(async () => {
    log.close();
    await store.close();
  });
  return {
    log,
    url,
    store: () => store,
    reopen: async () => {
      log.close();
      await store.close();
      store = await PgStore.open(url, silentLogger);
      log = new PgStreamLog(key(), settings, store);
      log.open();
      return log;
    },
  };
}

const backends: [string, Make][] = [
  ['memory', async (s) => ({ log: opened(new StreamLog(null, s, null)), reopen: null })],
  [
    'files',
    async (s) => {
      const dir = mkdtempSync(join(tmpdir(), 'warren-stream-'));
      dirs.push(dir);
      let log = opened(new StreamLog(dir, s, null));
      closers.push(async () => log.close());
      return {
        log,
        reopen: async () => {
          log.close();
          log = opened(new StreamLog(dir, s, null));
          return log;
        },
      };
    },
  ],
  ...(postgresAvailable ? ([['postgres', pgBackend]] as [string, Make][]) : []),
];

function opened(log: StreamLog): StreamLog {
  log.open();
  return log;
}

const committed = (log: StreamLogApi): Promise<void> =>
  new Promise((resolve) => {
    if (log.committedOffset === log.nextOffset) return resolve();
    const before = log.onCommitted;
    log.onCommitted = () => {
      before();
      if (log.committedOffset === log.nextOffset) {
        log.onCommitted = before;
        resolve();
      }
    };
  });

function readAll(log: StreamLogApi, from: number, filter: ConstructorParameters<typeof StreamReader>[2] = null): { offset: number; body: string; headerOffset: unknown }[] {
  const r = new StreamReader(log, from, filter);
  const out = [];
  for (let rec = r.next(log, { n: 1e9 }); rec !== null; rec = r.next(log, { n: 1e9 })) {
    out.push({ offset: rec.offset, body: rec.msg.body.toString(), headerOffset: rec.msg.properties.headers?.get('x-stream-offset')?.value });
  }
  return out;
}

const small = { maxSegmentBytes: 4096, maxBytes: null, maxAgeMs: null };
/** Per test: the first starts a PostgreSQL, and the machine may be loaded. */
const T = 180_000;

describe.each(backends)('stream log on %s', (_name, make) => {
  it('appends, commits and reads back across segments, from any offset', async () => {
    const { log } = await make(small);
    for (let i = 0; i < 100; i++) log.append(message('k', { headers: new Map([['n', F.int(i)]]) }, 'b'.repeat(100) + i), null);
    expect(log.committedOffset).toBe(0); // readable only once durable
    expect(readAll(log, 0)).toEqual([]);
    await committed(log);
    expect(log.segments.length).toBeGreaterThan(1);
    const all = readAll(log, 0);
    expect(all.map((x) => x.offset)).toEqual([...Array(100).keys()]);
    expect(all[42]!.body).toBe('b'.repeat(100) + 42);
    expect(Number(all[42]!.headerOffset)).toBe(42);
    expect(readAll(log, 57)[0]!.offset).toBe(57);
    expect(log.stats()).toMatchObject({ messages: 100, firstOffset: 0, lastOffset: 99 });
  }, T);

  it('finds the first message at or after a time, and filters exactly', async () => {
    const { log } = await make(small);
    const put = (v: string | null, body: string) => log.append(message('k', v === null ? {} : { headers: new Map([['x-stream-filter-value', F.str(v)]]) }, body), v);
    put('red', 'r1');
    put('blue', 'b1');
    await committed(log);
    await new Promise((r) => setTimeout(r, 20));
    const t = Date.now();
    put(null, 'u1');
    put('red', 'r2');
    await committed(log);
    expect(log.locateTime(t)?.offset).toBe(2);
    expect(log.locateTime(0)?.offset).toBe(0);
    expect(log.locateTime(t + 60_000)?.offset).toBe(4);
    expect(readAll(log, 0, { values: new Set(['red']), matchUnfiltered: false }).map((x) => x.body)).toEqual(['r1', 'r2']);
    expect(readAll(log, 0, { values: new Set(['blue']), matchUnfiltered: true }).map((x) => x.body)).toEqual(['b1', 'u1']);
  }, T);

  it('retention by size removes whole segments; a reader there moves on to the oldest left', async () => {
    const { log } = await make({ maxSegmentBytes: 2000, maxBytes: 5000, maxAgeMs: null });
    const reader = new StreamReader(log, 0, null);
    for (let i = 0; i < 200; i++) log.append(message('k', {}, 'x'.repeat(200)), null);
    await committed(log);
    expect(log.bytes).toBeLessThanOrEqual(5000 + 2000);
    expect(log.firstOffset).toBeGreaterThan(0);
    expect(reader.next(log, { n: 10 })?.offset).toBe(log.firstOffset);
  }, T);

  it('a reopen finds the same records and goes on numbering after them', async () => {
    const b = await make(small);
    if (b.reopen === null) return;
    for (let i = 0; i < 60; i++) b.log.append(message('k', {}, `m${i}`), i % 2 === 0 ? 'even' : null);
    await committed(b.log);
    const again = await b.reopen();
    expect(again.nextOffset).toBe(60);
    expect(again.segments.length).toBe(b.log.segments.length);
    expect(readAll(again, 0).map((x) => x.body)).toEqual([...Array(60).keys()].map((i) => `m${i}`));
    expect(readAll(again, 31)[0]!.offset).toBe(31);
    again.append(message('k', {}, 'after'), null);
    await committed(again);
    expect(readAll(again, 60).map((x) => x.body)).toEqual(['after']);
  }, T);
});

describe.skipIf(!postgresAvailable)('stream log in PostgreSQL', () => {
  it('a confirm waits for the transaction holding the chunk; one chunk per batch', async () => {
    const b = await pgBackend(small);
    const join = new WriteJoin(b.store());
    const log = b.log;
    const seqs: number[] = [];
    for (let i = 0; i < 5; i++) {
      log.append(message('k', {}, `m${i}`), null);
      seqs.push(join.writeSeq);
    }
    expect(join.durableSeq).toBeLessThan(seqs[0]!); // nothing confirmed before the commit
    await committed(log);
    expect(join.durableSeq).toBeGreaterThanOrEqual(seqs.at(-1)!);
    const c = new pg.Client({ connectionString: b.url });
    await c.connect();
    try {
      const rows = (await c.query('SELECT first_offset, last_offset, bytes, length(records) AS n FROM warren.stream_chunks ORDER BY pos')).rows;
      expect(rows).toHaveLength(1); // five appends in one turn: one row
      expect(rows[0]).toMatchObject({ first_offset: '0', last_offset: '4' });
      expect(rows[0].bytes).toBe(rows[0].n);
    } finally {
      await c.end();
    }
  }, T);

  it('a reader far behind fetches bounded ranges, not the stream', async () => {
    const b = await pgBackend({ maxSegmentBytes: 64 * 1024 * 1024, maxBytes: null, maxAgeMs: null });
    const log = b.log;
    const store = b.store();
    const body = 'y'.repeat(1000);
    // 30 turns of 400 records (12 MiB): more than the log keeps in memory.
    for (let t = 0; t < 30; t++) {
      for (let i = 0; i < 400; i++) log.append(message('k', {}, body), null);
      await committed(log);
    }
    // Every read of the store (direct, or started ahead and taken) is a bounded range.
    const fetched: number[] = [];
    const ahead = store.readStreamChunksAhead.bind(store);
    store.readStreamChunksAhead = (q, from, to) => {
      const r = ahead(q, from, to);
      return {
        take: () => {
          const rows = r.take();
          fetched.push(rows.reduce((n, x) => n + x.records.length, 0));
          return rows;
        },
        drop: r.drop,
      };
    };
    const r = new StreamReader(log, 0, null);
    let n = 0;
    for (let rec = r.next(log, { n: 1e9 }); rec !== null; rec = r.next(log, { n: 1e9 })) {
      expect(rec.offset).toBe(n++);
    }
    expect(n).toBe(12_000);
    expect(fetched.length).toBeGreaterThan(5);
    expect(Math.max(...fetched)).toBeLessThanOrEqual(2 * 1024 * 1024);
  }, T);

  it('retention and deletion remove the rows', async () => {
    const b = await pgBackend({ maxSegmentBytes: 2000, maxBytes: 5000, maxAgeMs: null });
    for (let i = 0; i < 200; i++) {
      b.log.append(message('k', {}, 'x'.repeat(200)), null);
      if (i % 20 === 19) await committed(b.log);
    }
    await committed(b.log);
    const again = await b.reopen!();
    expect(again.firstOffset).toBeGreaterThan(0);
    expect(again.bytes).toBeLessThanOrEqual(5000 + 2000);
    expect(readAll(again, 0)[0]!.offset).toBe(again.firstOffset);
    const c = new pg.Client({ connectionString: b.url });
    await c.connect();
    try {
      const count = async () => Number((await c.query('SELECT count(*) AS n FROM warren.stream_chunks')).rows[0].n);
      const bytes = Number((await c.query('SELECT coalesce(sum(bytes), 0) AS n FROM warren.stream_chunks')).rows[0].n);
      expect(bytes).toBe(again.bytes);
      expect(await count()).toBeGreaterThan(0);
      again.destroy();
      b.store().deleteQueue('/', 's');
      await b.store().whenIdle();
      expect(await count()).toBe(0);
    } finally {
      await c.end();
    }
  }, T);

  it('a store under a lost lease writes no chunk', async () => {
    const url = await freshDatabase();
    const admin = new pg.Client({ connectionString: url });
    const first = await PgStore.open(url, silentLogger);
    first.saveQueue({ vhost: '/', name: 's', autoDelete: false, arguments: new Map() });
    await first.whenIdle();
    await first.close();
    await admin.connect();
    await admin.query("INSERT INTO warren.leases VALUES ('broker', 'a', 1, now(), now() + interval '1 hour', '', '', '')");
    const fatal: string[] = [];
    let fenced: () => void = () => {};
    const stopped = new Promise<void>((resolve) => (fenced = resolve));
    const store = await PgStore.open(url, silentLogger, {
      fence: { scope: 'broker', holder: 'a', epoch: 1 },
      fatal: (_e, what) => {
        fatal.push(what);
        fenced();
      },
    });
    const log = new PgStreamLog(key(), small, store);
    log.open();
    log.append(message('k', {}, 'before'), null);
    await committed(log);
    // Another node takes the lease.
    await admin.query("UPDATE warren.leases SET holder = 'b', epoch = 2 WHERE scope = 'broker'");
    log.append(message('k', {}, 'after'), null);
    await stopped; // the node would exit here
    try {
      expect(fatal).toHaveLength(1);
      expect(log.committedOffset).toBe(1); // never readable, never confirmed
      const rows = (await admin.query('SELECT first_offset FROM warren.stream_chunks')).rows;
      expect(rows.map((r) => Number(r.first_offset))).toEqual([0]);
    } finally {
      log.close();
      void store.close();
      await admin.end();
    }
  }, T);
});
