// Permission patterns in AccessControl: compiled once for the linear-time engine; a stored
// pattern that engine refuses (kept by an older warren: a backreference) grants nothing, is
// reported for the start-up log, and is still listed as it was stored.
import { describe, expect, it } from 'vitest';
import { AccessControl } from '../../src/auth/access.js';
import { MemoryStore } from '../../src/store/memory-store.js';

describe('AccessControl permission patterns', () => {
  it('checks with the compiled patterns, a catastrophic one included', () => {
    const ac = new AccessControl(new MemoryStore(), [], [{ user: 'u', vhost: '/', configure: '^app-', write: '(a+)+$', read: '' }], []);
    expect(ac.permits('u', '/', 'configure', 'app-1')).toBe(true);
    expect(ac.permits('u', '/', 'configure', 'other')).toBe(false);
    expect(ac.permits('u', '/', 'write', `${'a'.repeat(40)}!`)).toBe(false);
    expect(ac.permits('u', '/', 'read', 'anything')).toBe(false);
    expect(ac.unusablePermissions).toEqual([]);
  });

  it('a stored pattern RE2 cannot run grants nothing and is reported', () => {
    const stored = { user: 'u', vhost: '/', configure: '(a)\\1', write: '.*', read: '.*' };
    const ac = new AccessControl(new MemoryStore(), [], [stored], []);
    expect(ac.unusablePermissions).toHaveLength(1);
    expect(ac.unusablePermissions[0]!.record).toEqual(stored);
    expect(ac.permits('u', '/', 'write', 'x')).toBe(false);
    expect(ac.permits('u', '/', 'configure', 'aa')).toBe(false);
    expect(ac.permission('u', '/')).toEqual(stored);
  });
});
