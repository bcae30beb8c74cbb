// The storage choice for streams, measured in process: N records of SIZE bytes appended and
// made durable in batches of BATCH, then read back in order, (a) by StreamLog into segment
// files (staged writes, one fdatasync per batch; reads as views of 256 KiB blocks) and (b) into
// a SQLite table (better-sqlite3, WAL, synchronous=FULL, one transaction per batch; reads by
// a rowid range scan). Prints append and read rates (records/s), bytes on disk and RSS.
//   WARREN_MEASURE=1 flock /work/wt/_quiet/measure.lock taskset -c 0 node dist/bench/stream-storage.js [N] [SIZE] [BATCH]

import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Message } from '../src/message.js';
import { StreamLog } from '../src/stream/log.js';
import { StreamReader } from '../src/stream/reader.js';
import { dirSize } from './lib/proc.js';

const N = Number(process.argv[2] ?? 500_000);
const SIZE = Number(process.argv[3] ?? 1024);
const BATCH = Number(process.argv[4] ?? 500);
const body = Buffer.alloc(SIZE, 0x61);
const header = Message.fromProperties('', 'q', {}, body).header;
const mib = (n: number): number => +(n / 1048576).toFixed(1);

async function segments(dir: string): Promise<Record<string, number>> {
  const log = new StreamLog(dir, { maxSegmentBytes: 500_000_000, maxBytes: null, maxAgeMs: null }, null);
  log.open();
  let waiting: (() => void) | null = null;
  log.onCommitted = () => waiting?.();
  const t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    for (let k = i; k < Math.min(N, i + BATCH); k++) log.append(new Message('', 'q', header, body), null);
    await new Promise<void>((r) => (waiting = r));
  }
  const append = performance.now() - t0;
  const r = new StreamReader(log, 0, null);
  const budget = { n: Infinity };
  const t1 = performance.now();
  let n = 0;
  let bytes = 0;
  for (let rec = r.next(log, budget); rec !== null; rec = r.next(log, budget)) {
    n++;
    bytes += rec.msg.body.length;
  }
  const read = performance.now() - t1;
  log.close();
  return { append_per_s: Math.round((N / append) * 1000), read_per_s: Math.round((n / read) * 1000), read_n: n, read_bytes: bytes, disk_mib: mib(dirSize(dir).bytes), rss_mib: mib(process.memoryUsage.rss()) };
}

function sqlite(dir: string): Record<string, number> {
  const db = new Database(join(dir, 's.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE m (off INTEGER PRIMARY KEY, ts REAL, ex TEXT, rk TEXT, hdr BLOB, body BLOB)');
  const ins = db.prepare('INSERT INTO m VALUES (?, ?, ?, ?, ?, ?)');
  const batch = db.transaction((from: number, to: number) => {
    for (let k = from; k < to; k++) ins.run(k, Date.now(), '', 'q', header, body);
  });
  const t0 = performance.now();
  for (let i = 0; i < N; i += BATCH) batch(i, Math.min(N, i + BATCH));
  const append = performance.now() - t0;
  const sel = db.prepare('SELECT off, hdr, body FROM m WHERE off >= ? ORDER BY off LIMIT 1000').raw(true);
  const t1 = performance.now();
  let n = 0;
  let bytes = 0;
  for (let from = 0; ; ) {
    const rows = sel.all(from) as [number, Buffer, Buffer][];
    if (rows.length === 0) break;
    for (const row of rows) {
      n++;
      bytes += row[2].length;
    }
    from = rows.at(-1)![0] + 1;
  }
  const read = performance.now() - t1;
  db.close();
  return { append_per_s: Math.round((N / append) * 1000), read_per_s: Math.round((n / read) * 1000), read_n: n, read_bytes: bytes, disk_mib: mib(dirSize(dir).bytes), rss_mib: mib(process.memoryUsage.rss()) };
}

const a = mkdtempSync(join(tmpdir(), 'warren-seg-'));
const b = mkdtempSync(join(tmpdir(), 'warren-sql-'));
try {
  console.log(JSON.stringify({ at: new Date().toISOString(), n: N, size: SIZE, batch: BATCH, payload_mib: mib(N * SIZE) }));
  console.log(JSON.stringify({ storage: 'segment files', ...(await segments(a)) }));
  console.log(JSON.stringify({ storage: 'sqlite', ...sqlite(b) }));
} finally {
  rmSync(a, { recursive: true, force: true });
  rmSync(b, { recursive: true, force: true });
}
