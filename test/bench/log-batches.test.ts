// The log-shaped layout of bench/sqlite-log-drain.ts: the ledger asks for a batch's state row
// while any of its messages is unacked and for its delete once all are (in order or not), never
// for a batch nobody touched; and the cutter gives back each message's fields and id, and refuses
// a value that its messages do not fill exactly.

import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/message.js';
import { LogBatchCutter, LogLedger, messageValue } from '../../bench/lib/log-batches.js';

describe('LogLedger', () => {
  it('rewrites the state of touched batches and deletes a batch when its last message is acked', () => {
    const l = new LogLedger();
    l.add(1, 3);
    l.add(4, 2);
    l.add(6, 4);
    for (let id = 1; id <= 4; id++) l.deliver(id);
    l.ack(1);
    l.ack(2);
    let ops = l.flush();
    expect(ops.deletes).toEqual([]);
    expect(ops.states.map((b) => b.first)).toEqual([1, 4]);
    expect([...ops.states[0]!.delivered]).toEqual([0b111]);
    expect([...ops.states[0]!.acked]).toEqual([0b011]);
    expect([...ops.states[1]!.delivered]).toEqual([0b01]);

    l.ack(3);
    l.ack(4);
    ops = l.flush();
    expect(ops.deletes).toEqual([1]);
    expect(ops.states.map((b) => b.first)).toEqual([4]);
    expect(l.size).toBe(2);

    expect(l.flush()).toEqual({ states: [], deletes: [] });
  });

  it('deletes a batch acked out of order, and keeps the ones before it', () => {
    const l = new LogLedger();
    l.add(10, 2);
    l.add(12, 2);
    l.ack(13);
    l.ack(12);
    expect(l.flush()).toEqual({ states: [], deletes: [12] });
    expect(l.size).toBe(2);
    expect(() => l.ack(12)).toThrow(/no stored batch|twice/);
    l.ack(10);
    l.ack(11);
    expect(l.flush().deletes).toEqual([10]);
    expect(l.size).toBe(0);
  });

  it('refuses ids of no batch, a second ack, and overlapping batches', () => {
    const l = new LogLedger();
    l.add(1, 2);
    expect(() => l.add(2, 1)).toThrow(/overlaps/);
    expect(() => l.deliver(3)).toThrow(/no stored batch/);
    l.ack(1);
    expect(() => l.ack(1)).toThrow(/twice/);
  });

  it('finds ids across many batches after the head has been dropped', () => {
    const l = new LogLedger();
    for (let b = 0; b < 3000; b++) l.add(1 + b * 10, 10);
    for (let id = 1; id <= 25_000; id++) l.ack(id);
    expect(l.flush().deletes.length).toBe(2500);
    l.ack(29_991);
    const ops = l.flush();
    expect(ops.states.map((b) => b.first)).toEqual([29_991]);
    expect(l.size).toBe(500);
  });
});

describe('LogBatchCutter', () => {
  it('cuts a batch row into its messages with their ids, names, header and body', () => {
    const a = messageValue('ex', 'key.a', Buffer.from([1, 2, 3]), Buffer.from('hello'));
    const b = messageValue('ex', 'key.b', Buffer.from([4]), Buffer.alloc(0));
    const out: Message[] = [];
    new LogBatchCutter().cut(41, 2, Buffer.concat([a, b]), out);
    expect(out.map((m) => [m.storeId, m.exchange, m.routingKey, [...m.header], m.body.toString()])).toEqual([
      [41, 'ex', 'key.a', [1, 2, 3], 'hello'],
      [42, 'ex', 'key.b', [4], ''],
    ]);
  });

  it('gives views of the row itself when asked to copy nothing', () => {
    const row = Buffer.concat([messageValue('', 'q', Buffer.from([9]), Buffer.from('abc'))]);
    const out: Message[] = [];
    new LogBatchCutter(true).cut(7, 1, row, out);
    row[row.length - 1] = 0x7a; // the body's last byte
    expect(out[0]!.body.toString()).toBe('abz');
    const copied: Message[] = [];
    new LogBatchCutter().cut(7, 1, row, copied);
    row[row.length - 1] = 0x79;
    expect(copied[0]!.body.toString()).toBe('abz');
  });

  it('refuses a row shorter or longer than its messages', () => {
    const a = messageValue('', 'q', Buffer.from([1]), Buffer.from('x'));
    expect(() => new LogBatchCutter().cut(1, 2, a, [])).toThrow(/truncated/);
    expect(() => new LogBatchCutter().cut(1, 1, Buffer.concat([a, Buffer.from([0])]), [])).toThrow(/bytes after/);
    expect(() => new LogBatchCutter().cut(1, 1, a.subarray(0, a.length - 1), [])).toThrow(/truncated/);
  });
});
