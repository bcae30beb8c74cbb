// Super stream exchanges: declaration checks (direct, durable, x-partitions 1..1024), one
// partition per message chosen by the x-partition-key header or else the routing key, the same
// key always to the same partition, partition numbers as binding keys, growing by binding more,
// and which bound queues are its own partitions (deleted with it).
import { describe, expect, it } from 'vitest';
import { F, table } from '../../src/codec/field-table.js';
import { checkSuperStreamDeclaration, isSuperStreamDeclaration, SuperStreamExchange } from '../../src/routing/super-stream.js';
import { partitionOf } from '../../src/stream/partition-key.js';
import { expectChannelError } from '../helpers/errors.js';
import { bind, message, queue, routed, unbind } from '../helpers/model.js';

function superStream(n: number): SuperStreamExchange {
  const x = new SuperStreamExchange('/', 'orders', { durable: true, autoDelete: false, internal: false, arguments: table({ 'x-super-stream': F.bool(true), 'x-partitions': F.int(n) }) });
  for (let i = 0; i < n; i++) bind(x, queue(`orders-${i}`), String(i));
  return x;
}

describe('super stream declaration', () => {
  it('is a direct exchange with x-super-stream true', () => {
    expect(isSuperStreamDeclaration(table({ 'x-super-stream': F.bool(true) }))).toBe(true);
    expect(isSuperStreamDeclaration(table({ 'x-super-stream': F.bool(false) }))).toBe(false);
    expect(isSuperStreamDeclaration(table({}))).toBe(false);
    expect(checkSuperStreamDeclaration('o', '/', 'direct', true, table({ 'x-partitions': F.int(3) }))).toBe(3);
  });

  it('refuses other types, transient exchanges and bad partition counts', () => {
    const what = "exchange 'o' in vhost '/'";
    const args = table({ 'x-partitions': F.int(3) });
    expectChannelError(() => checkSuperStreamDeclaration('o', '/', 'topic', true, args), 406, `PRECONDITION_FAILED - invalid arg 'x-super-stream' for ${what}: "a super stream exchange must be of type direct, not 'topic'"`);
    expectChannelError(() => checkSuperStreamDeclaration('o', '/', 'direct', false, args), 406, `PRECONDITION_FAILED - invalid arg 'x-super-stream' for ${what}: "a super stream exchange must be durable"`);
    expectChannelError(() => checkSuperStreamDeclaration('o', '/', 'direct', true, table({})), 406, `PRECONDITION_FAILED - invalid arg 'x-partitions' for ${what}: "x-partitions is required with x-super-stream"`);
    expectChannelError(() => checkSuperStreamDeclaration('o', '/', 'direct', true, table({ 'x-partitions': F.str('3') })), 406, `PRECONDITION_FAILED - invalid arg 'x-partitions' for ${what}: "expected integer, got longstr"`);
    expectChannelError(() => checkSuperStreamDeclaration('o', '/', 'direct', true, table({ 'x-partitions': F.int(0) })), 406, `PRECONDITION_FAILED - invalid arg 'x-partitions' for ${what}: {value_too_small,0}`);
    expectChannelError(() => checkSuperStreamDeclaration('o', '/', 'direct', true, table({ 'x-partitions': F.int(1025) })), 406, `PRECONDITION_FAILED - invalid arg 'x-partitions' for ${what}: {max_value_exceeded,1025}`);
  });
});

describe('SuperStreamExchange routing', () => {
  it('sends each message to exactly one partition, by routing key', () => {
    const x = superStream(4);
    expect(x.partitionCount).toBe(4);
    for (let i = 0; i < 200; i++) {
      const key = `customer-${i}`;
      expect(routed(x, message(key))).toEqual([`orders-${partitionOf(key, 4)}`]);
    }
  });

  it('hashes the x-partition-key header instead when it is a string', () => {
    const x = superStream(4);
    for (let i = 0; i < 50; i++) {
      const pk = `k${i}`;
      expect(routed(x, message('ignored', { headers: table({ 'x-partition-key': F.str(pk), other: F.int(1) }) }))).toEqual([`orders-${partitionOf(pk, 4)}`]);
      expect(routed(x, message('ignored', { headers: table({ a: F.table(table({ 'x-partition-key': F.str('no') })), 'x-partition-key': F.str(pk) }) }))).toEqual([`orders-${partitionOf(pk, 4)}`]);
    }
    // Not a string: the routing key decides.
    expect(routed(x, message('rk', { headers: table({ 'x-partition-key': F.int(5) }) }))).toEqual([`orders-${partitionOf('rk', 4)}`]);
  });

  it('reads the header from a message decoded already, too', () => {
    const x = superStream(3);
    const m = message('rk', { headers: table({ 'x-partition-key': F.str('abc') }) });
    void m.properties;
    expect(routed(x, m)).toEqual([`orders-${partitionOf('abc', 3)}`]);
    expect(m.stringHeader('x-partition-key')).toBe('abc');
    expect(message('rk').stringHeader('x-partition-key')).toBeUndefined();
  });

  it('binding keys are partition numbers', () => {
    const x = superStream(1);
    for (const bad of ['a', '-1', '01', '1024', '']) {
      expectChannelError(() => x.validateBinding(bad, new Map()), 406, `PRECONDITION_FAILED - binding key '${bad}' of super stream exchange 'orders' in vhost '/' must be a partition number from 0 to 1023`);
    }
    x.validateBinding('1023', new Map());
  });

  it('grows when a partition is bound, shrinks when the last one goes; knows which queue is which partition', () => {
    const x = superStream(2);
    const q2 = queue('orders-2');
    bind(x, q2, '2');
    expect(x.partitionCount).toBe(3);
    expect(x.partitionOfQueue('orders-2')).toBe(2);
    expect(x.partitionOfQueue('nope')).toBe(-1);
    // Keys move only to the new partition.
    for (let i = 0; i < 300; i++) {
      const key = `k${i}`;
      const now = routed(x, message(key))[0];
      if (now !== `orders-${partitionOf(key, 2)}`) expect(now).toBe('orders-2');
    }
    unbind(x, q2, '2');
    expect(x.partitionCount).toBe(2);
  });

  it('its own partitions are the NAME-N bound under N; another queue bound there is not', () => {
    const x = superStream(3);
    bind(x, queue('someone-elses'), '1');
    bind(x, queue('orders-7'), '2'); // named like a partition, bound under another number
    expect(x.ownPartitions().sort()).toEqual(['orders-0', 'orders-1', 'orders-2']);
  });
});
