// The linear-time engine for users' regular expressions: catastrophic patterns return (no
// timing in pass/fail: a backtracking engine would not return within the test run at all),
// RE2 syntax limits are refused, and the usual permission patterns mean what they did.
import { describe, expect, it } from 'vitest';
import { compilePattern } from '../../src/auth/access.js';
import { compileLinear, MAX_PATTERN_LENGTH, PatternError } from '../../src/util/linear-regex.js';

describe('compileLinear', () => {
  it('returns for (a+)+$ and its kin on inputs that take a backtracking engine 2^n steps', () => {
    const subject = `${'a'.repeat(40)}!`;
    for (const p of ['(a+)+$', '^(a|a)*$', '(a|aa)+$', '(.*a){20}$', '^(a+)+b']) {
      expect(compileLinear(p).test(subject), p).toBe(false);
    }
    expect(compileLinear('(a+)+$').test('a'.repeat(100_000))).toBe(true);
    expect(compileLinear('(a+)+$').test(`${'a'.repeat(100_000)}!`)).toBe(false);
  });

  it('refuses backreferences, lookaround, over-long patterns and syntax errors with PatternError', () => {
    for (const p of ['(a)\\1', '(?=a)', '(?!a)', '(?<=a)b', '[', 'a{2000}', 'x'.repeat(MAX_PATTERN_LENGTH + 1)]) {
      expect(() => compileLinear(p), p).toThrow(PatternError);
    }
    expect(() => compileLinear('x'.repeat(MAX_PATTERN_LENGTH))).not.toThrow();
  });

  it('matches unanchored, with ^ and $ as anchors, and caseless on request', () => {
    expect(compileLinear('app').test('my-app-1')).toBe(true);
    expect(compileLinear('^app-').test('my-app-1')).toBe(false);
    expect(compileLinear('^app-.*$').test('app-1')).toBe(true);
    expect(compileLinear('^(a|b)$').test('ab')).toBe(false);
    expect(compileLinear('ALPHA').test('alpha')).toBe(false);
    expect(compileLinear('ALPHA', { caseless: true }).test('alpha')).toBe(true);
  });
});

describe('permission patterns', () => {
  it("'' matches nothing, '.*' everything (also names with newlines), others as RabbitMQ's", () => {
    expect(compilePattern('').test('')).toBe(false);
    expect(compilePattern('').test('q')).toBe(false);
    expect(compilePattern('.*').test('')).toBe(true);
    expect(compilePattern('.*').test('a\nb')).toBe(true);
    expect(compilePattern('^amq\\.gen-').test('amq.gen-123')).toBe(true);
    expect(compilePattern('^amq\\.gen-').test('amqXgen-123')).toBe(false);
    expect(compilePattern('(a+)+$').test(`${'a'.repeat(40)}!`)).toBe(false);
  });
});
