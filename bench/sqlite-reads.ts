// Reading a backlog's bodies back from SQLite without the broker: --n 1 KiB messages stored as
// the store does (messages table, 16 KiB pages, WAL), then read back in id ranges of --per rows
// (the main thread's readStoredMessages), each range deleted by a second connection after it
// is read, as the writer does with the acks while a backlog drains. Prints CPU per row of the
// reads alone (user, system) for each statement shape:
//   --shape iterate  SELECT id, exchange, routing_key, header, body ... iterate() (the store's)
//           all      the same with all()
//           cols     id, header, body only (all())
//           ids      id only (the cost of stepping, no values)
//           packed   one BLOB a range (src/store/sqlite/packed-read.ts's query), cut up with subarray
//           packed-slab  the same, header and body copied into 64 KiB slabs (as the store does)
//           packed-pool  the same, copied into Buffer.allocUnsafe (Node's 8 KiB pool)
//           packed-slow  the same, copied into a Buffer.allocUnsafeSlow each
//
//   npm run build && node dist/bench/sqlite-reads.js --shape iterate [--n 200000] [--per 512] [--no-delete]

import Database from 'better-sqlite3';
import { mkdirSync, rmSync } from 'node:fs';
import { arg } from './lib/util.js';

const dir = arg('dir', '/tmp/warren-sqlite-reads');
const n = Number(arg('n', '200000'));
const per = Number(arg('per', '512'));
const shape = arg('shape', 'iterate');
const withDeletes = !process.argv.includes('--no-delete');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const file = `${dir}/t.db`;
const w = new Database(file);
w.pragma('page_size = 16384');
w.pragma('auto_vacuum = INCREMENTAL');
w.pragma('journal_mode = WAL');
w.pragma('synchronous = OFF');
w.pragma('cache_size = -2048');
w.exec('CREATE TABLE messages (id INTEGER PRIMARY KEY, refs INTEGER NOT NULL, exchange TEXT NOT NULL, routing_key TEXT NOT NULL, header BLOB NOT NULL, body BLOB NOT NULL)');
const put = w.prepare('INSERT INTO messages (id, refs, exchange, routing_key, header, body) VALUES (?, 1, ?, ?, ?, ?)');
const body = Buffer.alloc(1024, 7);
const header = Buffer.alloc(20, 1);
w.transaction(() => {
  for (let i = 1; i <= n; i++) put.run(i, '', 'q', header, body);
})();
w.pragma('wal_checkpoint(TRUNCATE)');
const del = w.prepare('DELETE FROM messages WHERE id BETWEEN ? AND ?');

const r = new Database(file);
r.pragma('journal_mode = WAL');
r.pragma('cache_size = -2048');
r.pragma(`mmap_size = ${Number(arg('mmap', '0'))}`);
const sql: Record<string, string> = {
  iterate: 'SELECT id, exchange, routing_key, header, body FROM messages WHERE id BETWEEN ? AND ?',
  all: 'SELECT id, exchange, routing_key, header, body FROM messages WHERE id BETWEEN ? AND ?',
  cols: 'SELECT id, header, body FROM messages WHERE id BETWEEN ? AND ?',
  ids: 'SELECT id FROM messages WHERE id BETWEEN ? AND ?',
  'packed-pool':
    "SELECT CAST(group_concat(concat(id, ',', octet_length(exchange), ',', octet_length(routing_key), ',', length(header), ',', length(body), ';', exchange, routing_key, header, body), '') AS BLOB) FROM messages WHERE id BETWEEN ? AND ?",
  'packed-slow':
    "SELECT CAST(group_concat(concat(id, ',', octet_length(exchange), ',', octet_length(routing_key), ',', length(header), ',', length(body), ';', exchange, routing_key, header, body), '') AS BLOB) FROM messages WHERE id BETWEEN ? AND ?",
  'packed-slab':
    "SELECT CAST(group_concat(concat(id, ',', octet_length(exchange), ',', octet_length(routing_key), ',', length(header), ',', length(body), ';', exchange, routing_key, header, body), '') AS BLOB) FROM messages WHERE id BETWEEN ? AND ?",
  packed:
    "SELECT CAST(group_concat(concat(id, ',', octet_length(exchange), ',', octet_length(routing_key), ',', length(header), ',', length(body), ';', exchange, routing_key, header, body), '') AS BLOB) FROM messages WHERE id BETWEEN ? AND ?",
};
const st = r.prepare(sql[shape] ?? sql.iterate!).raw();
let rows = 0;
let bytes = 0;
let user = 0;
let system = 0;
const t0 = performance.now();
let check = 1;
let slab = Buffer.allocUnsafeSlow(65536);
let slabAt = 0;
for (let first = 1; first <= n; first += per) {
  const last = Math.min(n, first + per - 1);
  const c0 = process.cpuUsage();
  if (shape === 'iterate') {
    for (const row of st.iterate(first, last) as IterableIterator<unknown[]>) {
      rows++;
      bytes += (row[4] as Buffer).length;
    }
  } else if (shape.startsWith('packed')) {
    const buf = st.pluck().get(first, last) as Buffer;
    let p = 0;
    while (p < buf.length) {
      const f = [0, 0, 0, 0, 0];
      for (let k = 0; k < 5; k++) {
        let v = 0;
        for (let ch = buf[p++]!; ch >= 48 && ch <= 57; ch = buf[p++]!) v = v * 10 + ch - 48;
        f[k] = v;
      }
      const ex = f[1] === 0 ? '' : buf.toString('utf8', p, (p += f[1]!));
      const rk = f[2] === 0 ? '' : buf.toString('utf8', p, (p += f[2]!));
      let h: Buffer;
      let b: Buffer;
      if (shape === 'packed') {
        h = buf.subarray(p, (p += f[3]!));
        b = buf.subarray(p, (p += f[4]!));
      } else if (shape === 'packed-slab') {
        const len = f[3]! + f[4]!;
        if (slabAt + len > slab.length) {
          slab = Buffer.allocUnsafeSlow(65536);
          slabAt = 0;
        }
        buf.copy(slab, slabAt, p, p + len);
        p += len;
        h = slab.subarray(slabAt, slabAt + f[3]!);
        b = slab.subarray(slabAt + f[3]!, slabAt + len);
        slabAt += len;
      } else {
        const len = f[3]! + f[4]!;
        const own = shape === 'packed-pool' ? Buffer.allocUnsafe(len) : Buffer.allocUnsafeSlow(len);
        buf.copy(own, 0, p, p + len);
        p += len;
        h = own.subarray(0, f[3]!);
        b = own.subarray(f[3]!);
      }
      if (ex.length + rk.length + h.length < 0) throw new Error();
      if (f[0] !== check++ || b.length !== 1024 || b[0] !== 7 || h.length !== 20 || rk !== 'q') throw new Error(`bad row ${f.join(',')}`);
      rows++;
      bytes += b.length;
    }
  } else {
    for (const row of st.all(first, last) as unknown[][]) {
      rows++;
      const b = row[row.length - 1];
      bytes += Buffer.isBuffer(b) ? b.length : 0;
    }
  }
  const c = process.cpuUsage(c0);
  user += c.user;
  system += c.system;
  // Not counted: the writer's share.
  if (withDeletes) del.run(first, last);
}
const ms = performance.now() - t0;
console.log(JSON.stringify({ shape, n, per, deletes: withDeletes, rows, bytes, ms: Math.round(ms), user_us_per_row: +(user / rows).toFixed(3), sys_us_per_row: +(system / rows).toFixed(3) }));
r.close();
w.close();
rmSync(dir, { recursive: true, force: true });
