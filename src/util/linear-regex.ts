// Regular expressions that come from users (permission patterns, the HTTP API's name filter),
// compiled for a linear-time engine (re2js, a pure-JS port of RE2) so that no pattern and no
// subject can stall the event loop: `(a+)+$` costs the same as `a+$`. RE2's syntax is Perl's
// without backreferences or lookaround; such patterns are refused at compile time. Patterns are
// bounded in length, as RabbitMQ's rabbit_re bounds them (1024).

import { RE2JS } from 're2js';

/** Longest pattern accepted (RabbitMQ's rabbit_re:max_pattern_length()). */
export const MAX_PATTERN_LENGTH = 1024;

export class PatternError extends Error {
  override readonly name = 'PatternError';
}

/** A compiled pattern: `test` says whether it matches anywhere in the subject (unanchored). */
export interface LinearRegex {
  readonly source: string;
  test(subject: string): boolean;
}

const ALWAYS: Omit<LinearRegex, 'source'> = { test: () => true };

/**
 * Compiles `pattern` for linear-time matching, or throws PatternError with the reason.
 * `.*` (the usual "everything" permission) matches the empty string at offset 0 of any subject,
 * so it needs no engine at all.
 */
export function compileLinear(pattern: string, options: { caseless?: boolean } = {}): LinearRegex {
  if (pattern.length > MAX_PATTERN_LENGTH) throw new PatternError(`pattern is longer than ${MAX_PATTERN_LENGTH} characters`);
  if (pattern === '.*' || pattern === '^.*' || pattern === '') return { source: pattern, ...ALWAYS };
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, options.caseless === true ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (e) {
    throw new PatternError((e as Error).message);
  }
  return { source: pattern, test: (s) => re.test(s) };
}
