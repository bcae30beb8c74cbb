// PolicySet matching (apply-to, pattern, priority, ties by name) and how a policy's definition
// combines with queue arguments and an operator policy (policy-settings.ts), without a broker.

import { describe, expect, it } from 'vitest';
import { F, table } from '../../src/codec/field-table.js';
import { parseQueueArguments } from '../../src/queue/arguments.js';
import { effectiveDefinition, settingsWithPolicy } from '../../src/queue/policy-settings.js';
import { PolicySet } from '../../src/routing/policies.js';
import type { PolicyRecord } from '../../src/store/store.js';

const policy = (name: string, pattern: string, definition: Record<string, unknown>, over: Partial<PolicyRecord> = {}): PolicyRecord => ({
  kind: 'policy',
  vhost: '/',
  name,
  pattern,
  applyTo: 'all',
  priority: 0,
  definition,
  ...over,
});

describe('PolicySet', () => {
  it('picks the highest priority policy whose apply-to and pattern match; ties go to the first name', () => {
    const s = new PolicySet();
    s.set(policy('b', '^orders', { 'max-length': 1 }));
    s.set(policy('a', '^orders', { 'max-length': 2 }));
    s.set(policy('x', '^orders', { 'alternate-exchange': 'ae' }, { applyTo: 'exchanges', priority: 10 }));
    expect(s.match('policy', 'queues', 'orders.eu')?.name).toBe('a');
    expect(s.match('policy', 'exchanges', 'orders')?.name).toBe('x');
    expect(s.match('policy', 'queues', 'other')).toBeNull();
    s.set(policy('b', '^orders', { 'max-length': 1 }, { priority: 3 }));
    expect(s.match('policy', 'queues', 'orders.eu')?.name).toBe('b');
    expect(s.delete('policy', 'b')).toBe(true);
    expect(s.delete('policy', 'b')).toBe(false);
    expect(s.match('policy', 'queues', 'orders.eu')?.name).toBe('a');
    expect(s.match('operator', 'queues', 'orders.eu')).toBeNull();
    expect(s.list('policy').map((p) => p.name)).toEqual(['a', 'x']);
  });

  it('an empty pattern matches every name, as in RabbitMQ', () => {
    const s = new PolicySet();
    s.set(policy('all', '', { 'max-length': 1 }));
    expect(s.match('policy', 'queues', 'anything')?.name).toBe('all');
  });
});

describe('policy settings', () => {
  const args = (entries: Record<string, ReturnType<typeof F.long> | ReturnType<typeof F.str>>) => table(entries);
  const base = (a: ReturnType<typeof table>, type: 'classic' | 'quorum' = 'classic') =>
    parseQueueArguments(type === 'quorum' ? new Map([...a, ['x-queue-type', F.str('quorum')]]) : a, 'q', '/', { durable: true, exclusive: false });

  it('the effective definition takes the lower numeric limit of policy and operator policy, keys sorted', () => {
    expect(effectiveDefinition({ 'message-ttl': 5000, 'max-length': 10, 'dead-letter-exchange': 'dlx' }, { 'message-ttl': 1000, expires: 60000 })).toEqual({
      'dead-letter-exchange': 'dlx',
      expires: 60000,
      'max-length': 10,
      'message-ttl': 1000,
    });
    expect(Object.keys(effectiveDefinition({ z: 1, a: 2 }, null))).toEqual(['a', 'z']);
    expect(effectiveDefinition(null, null)).toEqual({});
  });

  it('numeric limits: the lower of argument and policy; overflow and dead-lettering: the argument wins', () => {
    const a = args({ 'x-max-length': F.long(20), 'x-message-ttl': F.long(100), 'x-dead-letter-exchange': F.str('mine') });
    const s = settingsWithPolicy(base(a), a, { 'max-length': 10, 'message-ttl': 5000, 'dead-letter-exchange': 'theirs', 'dead-letter-routing-key': 'k', overflow: 'reject-publish', expires: 1000 });
    expect([s.maxLength, s.messageTtl, s.deadLetterExchange, s.deadLetterRoutingKey, s.overflow, s.expires]).toEqual([10, 100, 'mine', 'k', 'reject-publish', 1000]);
    const b = args({ 'x-overflow': F.str('drop-head') });
    expect(settingsWithPolicy(base(b), b, { overflow: 'reject-publish' }).overflow).toBe('drop-head');
  });

  it('delivery-limit from a policy reaches quorum queues only, as in RabbitMQ 3.10', () => {
    const none = args({});
    expect(settingsWithPolicy(base(none), none, { 'delivery-limit': 3 }).deliveryLimit).toBeNull();
    expect(settingsWithPolicy(base(none, 'quorum'), none, { 'delivery-limit': 3 }).deliveryLimit).toBe(3);
  });

  it('an empty definition leaves the argument settings as they are', () => {
    const a = args({ 'x-max-length': F.long(20) });
    const b = base(a);
    expect(settingsWithPolicy(b, a, {})).toBe(b);
  });
});
