// The SQLite writer's work for scenario c without the broker: batches of --per 1 KiB messages
// inserted (messages + entries, the store's schema) together with the deletes of the previous
// batch's messages (what acks produce), one transaction each, in WAL mode. Prints messages/s
// and CPU per message (user, system) for a statement shape and a synchronous setting:
//   --mode row (one statement a row, as the writer does) | multi (--k-row inserts) | range (range deletes)
//   --k 8 (rows a multi-row insert)   --lean 0 | 1 (columns that are almost always the same,
//   refs 1 and an entry's flags 0, written as literals in the statement instead of bound)
//   --sync FULL | OFF     --per 18  --batches 3000  --dir /tmp/warren-sqlite-batches
//   --range-deletes 1 (range deletes, one-row inserts)   --page-size 4096 (a new database's page size)   --deletes prev | none (inserts only: (h)'s publish)
//   --layout two (messages + entries) | one (the message's columns inline in its entry row)
//            | packed (messages + entries, a message's exchange, routing key, header and body
//              bound as one blob, as the batch carries them) | onepacked (one row, packed)
//            | solo (schema 5's solo_entries: the message id as rowid, packed, an index on
//              (queue_id, seq) and the entry's other fixed columns) | solowr (one row WITHOUT
//              ROWID keyed by (queue_id, seq) with the entry's columns, an index on the id)
//            | batchrow (not a warren layout: a transaction's --per messages as ONE row, the
//              log-structured shape of RabbitMQ's message store, to see what SQLite costs
//              when it stores bytes rather than rows; inserts only)
//
//   npm run build && node dist/bench/sqlite-batches.js --mode row --sync FULL

import Database from 'better-sqlite3';
import { mkdirSync, rmSync } from 'node:fs';
import { arg } from './lib/util.js';

const dir = arg('dir', '/tmp/warren-sqlite-batches');
const per = Number(arg('per', '18'));
const batches = Number(arg('batches', '3000'));
const mode = arg('mode', 'row');
const sync = arg('sync', 'FULL');
const pageSize = Number(arg('page-size', '4096'));
const deletes = arg('deletes', 'prev');
const layout = arg('layout', 'two');
const lean = arg('lean', '0') === '1';
// Range deletes with one-row inserts (--mode range also inserts --k rows a statement).
const rangeDeletes = mode === 'range' || arg('range-deletes', '0') === '1';
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const db = new Database(`${dir}/t.db`);
db.pragma(`page_size = ${pageSize}`);
db.pragma('auto_vacuum = INCREMENTAL');
db.pragma('journal_mode = WAL');
db.pragma(`synchronous = ${sync === 'OFF' ? 'OFF' : 'FULL'}`);
db.exec(`CREATE TABLE messages (id INTEGER PRIMARY KEY, refs INTEGER NOT NULL, exchange TEXT NOT NULL, routing_key TEXT NOT NULL, header BLOB NOT NULL, body BLOB NOT NULL);
CREATE TABLE one (queue_id INTEGER NOT NULL, seq INTEGER NOT NULL, msg_id INTEGER NOT NULL, delivered INTEGER NOT NULL, size INTEGER NOT NULL, multi INTEGER NOT NULL, priority INTEGER NOT NULL, expires_at INTEGER NOT NULL, delivery_count INTEGER NOT NULL, exchange TEXT NOT NULL, routing_key TEXT NOT NULL, header BLOB NOT NULL, body BLOB NOT NULL, PRIMARY KEY (queue_id, seq));
CREATE TABLE entries (queue_id INTEGER NOT NULL, seq INTEGER NOT NULL, msg_id INTEGER NOT NULL, delivered INTEGER NOT NULL, size INTEGER NOT NULL, multi INTEGER NOT NULL, priority INTEGER NOT NULL, expires_at INTEGER NOT NULL, delivery_count INTEGER NOT NULL, PRIMARY KEY (queue_id, seq)) WITHOUT ROWID;`);
const K = Number(arg('k', '8'));
const msgRow = lean ? '(?, 1, ?, ?, ?, ?)' : '(?, ?, ?, ?, ?, ?)';
const entryRow = lean ? '(?, ?, ?, 0, ?, 0, 0, 0, 0)' : '(?, ?, ?, ?, ?, ?, ?, ?, ?)';
const msgPut = db.prepare(`INSERT INTO messages (id, refs, exchange, routing_key, header, body) VALUES ${msgRow}`);
const entryPut = db.prepare(`INSERT INTO entries VALUES ${entryRow}`);
const msgPutK = db.prepare(`INSERT INTO messages (id, refs, exchange, routing_key, header, body) VALUES ${Array(K).fill(msgRow).join(',')}`);
const entryPutK = db.prepare(`INSERT INTO entries VALUES ${Array(K).fill(entryRow).join(',')}`);
db.exec(`CREATE TABLE mpacked (id INTEGER PRIMARY KEY, refs INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE onepacked (queue_id INTEGER NOT NULL, seq INTEGER NOT NULL, msg_id INTEGER NOT NULL, delivered INTEGER NOT NULL, size INTEGER NOT NULL, multi INTEGER NOT NULL, priority INTEGER NOT NULL, expires_at INTEGER NOT NULL, delivery_count INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (queue_id, seq));`);
db.exec(`CREATE TABLE solo (id INTEGER PRIMARY KEY, queue_id INTEGER NOT NULL, seq INTEGER NOT NULL, size INTEGER NOT NULL, priority INTEGER NOT NULL, expires_at INTEGER NOT NULL, message BLOB NOT NULL);
CREATE INDEX solo_place ON solo (queue_id, seq, size, priority, expires_at);
CREATE TABLE solowr (queue_id INTEGER NOT NULL, seq INTEGER NOT NULL, id INTEGER NOT NULL, delivered INTEGER NOT NULL, size INTEGER NOT NULL, priority INTEGER NOT NULL, expires_at INTEGER NOT NULL, delivery_count INTEGER NOT NULL, message BLOB NOT NULL, PRIMARY KEY (queue_id, seq)) WITHOUT ROWID;
CREATE INDEX solowr_id ON solowr (id);`);
db.exec('CREATE TABLE batchrow (queue_id INTEGER NOT NULL, first_seq INTEGER NOT NULL, n INTEGER NOT NULL, messages BLOB NOT NULL, PRIMARY KEY (queue_id, first_seq))');
const batchRowPut = db.prepare('INSERT INTO batchrow VALUES (?, ?, ?, ?)');
const soloPut = db.prepare('INSERT INTO solo (id, queue_id, seq, size, priority, expires_at, message) VALUES (?, ?, ?, ?, ?, ?, ?)');
const soloDel = db.prepare('DELETE FROM solo WHERE id = ?');
const soloDelRange = db.prepare('DELETE FROM solo WHERE id BETWEEN ? AND ?');
const soloWrPut = db.prepare('INSERT INTO solowr (queue_id, seq, id, delivered, size, priority, expires_at, delivery_count, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
const soloWrDel = db.prepare('DELETE FROM solowr WHERE queue_id = ? AND seq = ?');
const soloWrDelRange = db.prepare('DELETE FROM solowr WHERE queue_id = ? AND seq BETWEEN ? AND ?');
const packedPut = db.prepare('INSERT INTO mpacked (id, refs, data) VALUES (?, ?, ?)');
const onePackedPut = db.prepare('INSERT INTO onepacked VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
// exchange '', routing key 'q', a 20-byte header and the body, length-prefixed as in a batch
const packed = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 0, 0, 1, 0x71, 0, 0, 0, 20]), Buffer.alloc(20, 1), Buffer.from([0, 0, 4, 0]), Buffer.alloc(1024, 7)]);
const batchOfPacked = Buffer.concat(Array<Buffer>(per).fill(packed));
const onePut = db.prepare('INSERT INTO one VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
const oneDel = db.prepare('DELETE FROM one WHERE queue_id = ? AND seq = ?');
const entryDel = db.prepare('DELETE FROM entries WHERE queue_id = ? AND seq = ?');
const msgDel = db.prepare('DELETE FROM messages WHERE id = ?');
const entryDelRange = db.prepare('DELETE FROM entries WHERE queue_id = ? AND seq >= ? AND seq <= ?');
const msgDelRange = db.prepare('DELETE FROM messages WHERE id >= ? AND id <= ?');
const body = Buffer.alloc(1024, 7);
const header = Buffer.alloc(20, 1);
let id = 1;
const m: unknown[] = [];
const e: unknown[] = [];
const batch = db.transaction((from: number) => {
  let i = 0;
  if (layout === 'batchrow') {
    batchRowPut.run(1, id, per, batchOfPacked);
    id += per;
    return;
  }
  if (mode !== 'row') {
    for (; i + K <= per; i += K) {
      m.length = 0;
      e.length = 0;
      for (let j = 0; j < K; j++, id++) {
        if (lean) {
          m.push(id, '', 'q', header, body);
          e.push(1, id, id, 1024);
        } else {
          m.push(id, 1, '', 'q', header, body);
          e.push(1, id, id, 0, 1024, 0, 0, 0, 0);
        }
      }
      msgPutK.run(m);
      entryPutK.run(e);
    }
  }
  for (; i < per; i++, id++) {
    if (layout === 'one') {
      onePut.run(1, id, id, 0, 1024, 0, 0, 0, 0, '', 'q', header, body);
      continue;
    }
    if (layout === 'solo') {
      soloPut.run(id, 1, id, 1024, 0, 0, packed);
      continue;
    }
    if (layout === 'solowr') {
      soloWrPut.run(1, id, id, 0, 1024, 0, 0, 0, packed);
      continue;
    }
    if (layout === 'onepacked') {
      onePackedPut.run(1, id, id, 0, 1024, 0, 0, 0, 0, packed);
      continue;
    }
    if (layout === 'packed') {
      packedPut.run(id, 1, packed);
      entryPut.run(1, id, id, 0, 1024, 0, 0, 0, 0);
      continue;
    }
    if (lean) {
      msgPut.run(id, '', 'q', header, body);
      entryPut.run(1, id, id, 1024);
    } else {
      msgPut.run(id, 1, '', 'q', header, body);
      entryPut.run(1, id, id, 0, 1024, 0, 0, 0, 0);
    }
  }
  if (from <= 0 || deletes === 'none') return;
  if (layout === 'one') {
    for (let k = from; k < from + per; k++) oneDel.run(1, k);
    return;
  }
  if (layout === 'solo' || layout === 'solowr') {
    const range = layout === 'solo' ? soloDelRange : soloWrDelRange;
    const one = layout === 'solo' ? soloDel : soloWrDel;
    if (rangeDeletes) {
      if (layout === 'solo') range.run(from, from + per - 1);
      else range.run(1, from, from + per - 1);
    } else {
      for (let k = from; k < from + per; k++) {
        if (layout === 'solo') one.run(k);
        else one.run(1, k);
      }
    }
    return;
  }
  if (rangeDeletes) {
    entryDelRange.run(1, from, from + per - 1);
    msgDelRange.run(from, from + per - 1);
  } else {
    for (let k = from; k < from + per; k++) {
      entryDel.run(1, k);
      msgDel.run(k);
    }
  }
});
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let b = 0; b < batches; b++) batch(id - per);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const n = per * batches;
// The file's size in pages at the end (a shape that splits pages half-full writes more of them).
const pages = db.pragma('page_count', { simple: true }) as number;
db.close();
rmSync(dir, { recursive: true, force: true });
console.log(
  JSON.stringify({ per, batches, mode, k: K, lean, sync, pageSize, deletes, layout, pages, msgs_per_s: Math.round(n / seconds), cpu_us_per_msg: +((cpu.user + cpu.system) / n).toFixed(2), user_us: +(cpu.user / n).toFixed(2), system_us: +(cpu.system / n).toFixed(2) }),
);
