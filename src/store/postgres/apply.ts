// Applies one encoded batch (store/ops.ts encodes it) to PostgreSQL in one transaction, with
// multi-row statements: the hot ops (message and entry inserts, marks, deletes, scheduled
// messages) are gathered into arrays and written a statement per kind; any other op (a
// definition) first flushes what was gathered, so ops keep their order where it matters.
// Inside the transaction, before any write, the node's lease epoch is checked (fencing).
// Names are written as bytea (schema.ts).

import type { ClientBase } from 'pg';
import {
  BatchReader,
  OP_BINDING_DEL,
  OP_BINDING_PUT,
  OP_DELAYED_DEL,
  OP_DELAYED_DROP,
  OP_DELAYED_PUT,
  OP_ENTRY_DEL,
  OP_ENTRY_MARK,
  OP_ENTRY_PUT,
  OP_EXCHANGE_DEL,
  OP_EXCHANGE_PUT,
  OP_LIMITS_PUT,
  OP_MESSAGE_PUT,
  OP_PERMISSION_DEL,
  OP_PERMISSION_PUT,
  OP_POLICY_PUT,
  OP_QUEUE_DEL,
  OP_QUEUE_PURGE,
  OP_QUEUE_PUT,
  OP_READER_DEL,
  OP_READER_PUT,
  OP_STREAM_CHUNK,
  OP_STREAM_TRIM,
  OP_USER_DEL,
  OP_USER_PUT,
  OP_VHOST_DEL,
  OP_VHOST_PUT,
} from '../batch.js';

/** Rows per multi-row INSERT with bytea parameters (6 parameters a row, under PostgreSQL's 65535). */
const ROWS_PER_INSERT = 1000;

/** The lease this node writes under; null: no fencing (a single node). */
export interface Fence {
  readonly scope: string;
  readonly holder: string;
  epoch: number;
}

/** The lease was taken over: this node must not write again. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
  readonly code = 'FENCED';
}

class Gathered {
  msgParams: unknown[] = [];
  msgRows = 0;
  entryQ: number[] = [];
  entrySeq: number[] = [];
  entryMsg: number[] = [];
  entryDelivered: boolean[] = [];
  entrySize: number[] = [];
  entryMulti: boolean[] = [];
  entryPriority: number[] = [];
  entryExpires: number[] = [];
  entryCount: number[] = [];
  markQ: number[] = [];
  markSeq: number[] = [];
  markCount: number[] = [];
  delQ: number[] = [];
  delSeq: number[] = [];
  delSingle: number[] = [];
  delMulti: number[] = [];
  delayedParams: unknown[] = [];
  delayedRows = 0;
  delayedDel: number[] = [];
  chunkParams: unknown[] = [];
  chunkRows = 0;

  get empty(): boolean {
    return this.chunkRows === 0 && this.msgRows === 0 && this.entryQ.length === 0 && this.markQ.length === 0 && this.delQ.length === 0 && this.delayedRows === 0 && this.delayedDel.length === 0;
  }
}

const insertTexts = new Map<string, string>();
/** `INSERT INTO table (cols) VALUES ($1..$k), ...` for n rows, built once per (table, n). */
function insertText(table: string, cols: number, rows: number): string {
  const key = `${table}/${rows}`;
  let text = insertTexts.get(key);
  if (text === undefined) {
    const values: string[] = [];
    for (let r = 0; r < rows; r++) {
      const p: string[] = [];
      for (let c = 1; c <= cols; c++) p.push(`$${r * cols + c}`);
      values.push(`(${p.join(',')})`);
    }
    text = `INSERT INTO ${table} VALUES ${values.join(',')}`;
    if (insertTexts.size < 4096) insertTexts.set(key, text);
  }
  return text;
}

async function insertRows(c: ClientBase, table: string, cols: number, params: unknown[], rows: number): Promise<void> {
  for (let start = 0; start < rows; start += ROWS_PER_INSERT) {
    const n = Math.min(ROWS_PER_INSERT, rows - start);
    await c.query(insertText(table, cols, n), params.slice(start * cols, (start + n) * cols));
  }
}

async function flush(c: ClientBase, g: Gathered): Promise<void> {
  if (g.empty) return;
  if (g.msgRows > 0) await insertRows(c, 'warren.messages (id, refs, exchange, routing_key, header, body)', 6, g.msgParams, g.msgRows);
  if (g.entryQ.length > 0) {
    await c.query(
      'INSERT INTO warren.entries (queue_id, seq, msg_id, delivered, size, multi, priority, expires_at, delivery_count) ' +
        'SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::boolean[], $5::integer[], $6::boolean[], $7::smallint[], $8::bigint[], $9::integer[])',
      [g.entryQ, g.entrySeq, g.entryMsg, g.entryDelivered, g.entrySize, g.entryMulti, g.entryPriority, g.entryExpires, g.entryCount],
    );
  }
  if (g.markQ.length > 0) {
    await c.query(
      'UPDATE warren.entries e SET delivered = true, delivery_count = x.c FROM unnest($1::bigint[], $2::bigint[], $3::integer[]) AS x(q, s, c) ' +
        'WHERE e.queue_id = x.q AND e.seq = x.s',
      [g.markQ, g.markSeq, g.markCount],
    );
  }
  if (g.delQ.length > 0) {
    await c.query('DELETE FROM warren.entries WHERE (queue_id, seq) IN (SELECT * FROM unnest($1::bigint[], $2::bigint[]))', [g.delQ, g.delSeq]);
    if (g.delSingle.length > 0) await c.query('DELETE FROM warren.messages WHERE id = ANY($1::bigint[])', [g.delSingle]);
    if (g.delMulti.length > 0) {
      await c.query(
        'UPDATE warren.messages m SET refs = m.refs - x.n FROM (SELECT id, count(*)::integer AS n FROM unnest($1::bigint[]) AS id GROUP BY id) x WHERE m.id = x.id',
        [g.delMulti],
      );
      await c.query('DELETE FROM warren.messages WHERE id = ANY($1::bigint[]) AND refs <= 0', [g.delMulti]);
    }
  }
  if (g.delayedRows > 0) await insertRows(c, 'warren.delayed (id, vhost, exchange, due_at, message)', 5, g.delayedParams, g.delayedRows);
  if (g.delayedDel.length > 0) await c.query('DELETE FROM warren.delayed WHERE id = ANY($1::bigint[])', [g.delayedDel]);
  if (g.chunkRows > 0) {
    await insertRows(c, 'warren.stream_chunks (queue_id, pos, segment, first_offset, last_offset, first_ts, last_ts, bytes, records)', 9, g.chunkParams, g.chunkRows);
  }
  Object.assign(g, new Gathered());
}

async function dropQueueEntries(c: ClientBase, queueId: number): Promise<void> {
  await c.query('UPDATE warren.messages SET refs = refs - 1 WHERE id IN (SELECT msg_id FROM warren.entries WHERE queue_id = $1)', [queueId]);
  await c.query('DELETE FROM warren.messages WHERE refs <= 0 AND id IN (SELECT msg_id FROM warren.entries WHERE queue_id = $1)', [queueId]);
  await c.query('DELETE FROM warren.entries WHERE queue_id = $1', [queueId]);
}

/** Applies the batch in one transaction; the caller commits (after this resolves) or rolls back. */
export async function applyBatch(c: ClientBase, r: BatchReader, fence: Fence | null): Promise<void> {
  if (fence !== null) {
    // FOR SHARE: a takeover (UPDATE of this row) waits for this transaction, and every later
    // transaction of ours sees the new epoch and writes nothing.
    const held = await c.query('SELECT 1 FROM warren.leases WHERE scope = $1 AND holder = $2 AND epoch = $3 FOR SHARE', [fence.scope, fence.holder, fence.epoch]);
    if (held.rowCount === 0) throw new FencedError(`lease ${fence.scope} epoch ${fence.epoch} is no longer held by ${fence.holder}`);
  }
  const g = new Gathered();
  while (r.remaining > 0) {
    const op = r.u8();
    switch (op) {
      case OP_MESSAGE_PUT:
        g.msgParams.push(r.u64(), r.u32(), r.longstrBytes(), r.longstrBytes(), r.longstrBytes(), r.longstrBytes());
        g.msgRows++;
        continue;
      case OP_ENTRY_PUT:
        g.entryQ.push(r.u32());
        g.entrySeq.push(r.u64());
        g.entryMsg.push(r.u64());
        g.entryDelivered.push(r.u8() !== 0);
        g.entrySize.push(r.u32());
        g.entryMulti.push(r.u8() !== 0);
        g.entryPriority.push(r.u8());
        g.entryExpires.push(r.u64());
        g.entryCount.push(r.u32());
        continue;
      case OP_ENTRY_DEL: {
        g.delQ.push(r.u32());
        g.delSeq.push(r.u64());
        const id = r.u64();
        if (r.u8() !== 0) g.delMulti.push(id);
        else g.delSingle.push(id);
        continue;
      }
      case OP_ENTRY_MARK:
        g.markQ.push(r.u32());
        g.markSeq.push(r.u64());
        g.markCount.push(r.u32());
        continue;
      case OP_DELAYED_PUT:
        g.delayedParams.push(r.u64(), r.longstrBytes(), r.longstrBytes(), r.u64(), r.longstrBytes());
        g.delayedRows++;
        continue;
      case OP_DELAYED_DEL:
        g.delayedDel.push(r.u64());
        continue;
      case OP_STREAM_CHUNK: {
        const q = r.u32();
        const pos = r.u64();
        const segment = r.u64();
        const first = r.u64();
        const last = r.u64();
        const firstTs = r.u64();
        const lastTs = r.u64();
        const records = r.longstrBytes();
        g.chunkParams.push(q, pos, segment, first, last, firstTs, lastTs, records.length, records);
        g.chunkRows++;
        continue;
      }
    }
    await flush(c, g);
    switch (op) {
      case OP_EXCHANGE_PUT:
        await c.query(
          'INSERT INTO warren.exchanges VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (vhost, name) DO UPDATE SET type = $3, auto_delete = $4, internal = $5, arguments = $6',
          [r.longstrBytes(), r.longstrBytes(), r.longstrBytes(), r.u8() !== 0, r.u8() !== 0, r.longstrBytes()],
        );
        break;
      case OP_EXCHANGE_DEL: {
        const vhost = r.longstrBytes();
        const name = r.longstrBytes();
        await c.query('DELETE FROM warren.exchanges WHERE vhost = $1 AND name = $2', [vhost, name]);
        await c.query("DELETE FROM warren.bindings WHERE vhost = $1 AND (source = $2 OR (destination_kind = 'exchange' AND destination = $2))", [vhost, name]);
        break;
      }
      case OP_QUEUE_PUT:
        await c.query(
          'INSERT INTO warren.queues VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET vhost = $2, name = $3, auto_delete = $4, arguments = $5',
          [r.u32(), r.longstrBytes(), r.longstrBytes(), r.u8() !== 0, r.longstrBytes()],
        );
        break;
      case OP_QUEUE_DEL: {
        const id = r.u32();
        const vhost = r.longstrBytes();
        const name = r.longstrBytes();
        await dropQueueEntries(c, id);
        await c.query('DELETE FROM warren.queues WHERE id = $1', [id]);
        await c.query("DELETE FROM warren.bindings WHERE vhost = $1 AND destination_kind = 'queue' AND destination = $2", [vhost, name]);
        await c.query('DELETE FROM warren.stream_readers WHERE vhost = $1 AND stream = $2', [vhost, name]);
        await c.query('DELETE FROM warren.stream_chunks WHERE queue_id = $1', [id]);
        break;
      }
      case OP_STREAM_TRIM:
        await c.query('DELETE FROM warren.stream_chunks WHERE queue_id = $1 AND pos < $2', [r.u32(), r.u64()]);
        break;
      case OP_QUEUE_PURGE:
        await dropQueueEntries(c, r.u32());
        break;
      case OP_BINDING_PUT:
        await c.query(
          'INSERT INTO warren.bindings VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO UPDATE SET vhost = $2, source = $3, destination = $4, ' +
            'destination_kind = $5, routing_key = $6, arguments = $7',
          [r.longstrBytes(), r.longstrBytes(), r.longstrBytes(), r.longstrBytes(), r.str(), r.longstrBytes(), r.longstrBytes()],
        );
        break;
      case OP_BINDING_DEL:
        await c.query('DELETE FROM warren.bindings WHERE key = $1', [r.longstrBytes()]);
        break;
      case OP_USER_PUT:
        await c.query(
          'INSERT INTO warren.users VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET password_hash = $2, hashing_algorithm = $3, tags = $4',
          [r.longstrBytes(), r.str(), r.str(), r.str()],
        );
        break;
      case OP_USER_DEL:
        await c.query('DELETE FROM warren.users WHERE name = $1', [r.longstrBytes()]);
        break;
      case OP_VHOST_PUT:
        await c.query('INSERT INTO warren.vhosts VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET description = $2, tags = $3', [r.longstrBytes(), r.longstrBytes(), r.str()]);
        break;
      case OP_VHOST_DEL:
        await c.query('DELETE FROM warren.vhosts WHERE name = $1', [r.longstrBytes()]);
        break;
      case OP_PERMISSION_PUT:
        await c.query(
          'INSERT INTO warren.permissions VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_name, vhost) DO UPDATE SET configure = $3, write = $4, read = $5',
          [r.longstrBytes(), r.longstrBytes(), r.longstrBytes(), r.longstrBytes(), r.longstrBytes()],
        );
        break;
      case OP_PERMISSION_DEL:
        await c.query('DELETE FROM warren.permissions WHERE user_name = $1 AND vhost = $2', [r.longstrBytes(), r.longstrBytes()]);
        break;
      case OP_LIMITS_PUT: {
        const scope = r.str();
        const name = r.longstrBytes();
        const value = r.str();
        if (value === '{}') await c.query('DELETE FROM warren.limits WHERE scope = $1 AND name = $2', [scope, name]);
        else await c.query('INSERT INTO warren.limits VALUES ($1, $2, $3) ON CONFLICT (scope, name) DO UPDATE SET value = $3', [scope, name, value]);
        break;
      }
      case OP_POLICY_PUT: {
        const kind = r.str();
        const vhost = r.longstrBytes();
        const name = r.longstrBytes();
        const value = r.str();
        if (value === '') await c.query('DELETE FROM warren.policies WHERE kind = $1 AND vhost = $2 AND name = $3', [kind, vhost, name]);
        else await c.query('INSERT INTO warren.policies VALUES ($1, $2, $3, $4) ON CONFLICT (kind, vhost, name) DO UPDATE SET value = $4', [kind, vhost, name, value]);
        break;
      }
      case OP_READER_PUT:
        await c.query('INSERT INTO warren.stream_readers VALUES ($1, $2, $3, $4) ON CONFLICT (vhost, stream, reader) DO UPDATE SET position = $4', [
          r.longstrBytes(),
          r.longstrBytes(),
          r.longstrBytes(),
          r.u64(),
        ]);
        break;
      case OP_READER_DEL:
        await c.query('DELETE FROM warren.stream_readers WHERE vhost = $1 AND stream = $2 AND reader = $3', [r.longstrBytes(), r.longstrBytes(), r.longstrBytes()]);
        break;
      case OP_DELAYED_DROP:
        await c.query('DELETE FROM warren.delayed WHERE vhost = $1 AND exchange = $2 AND id < $3', [r.longstrBytes(), r.longstrBytes(), r.u64()]);
        break;
      default:
        throw new Error(`unknown store op ${op}`);
    }
  }
  await flush(c, g);
}
