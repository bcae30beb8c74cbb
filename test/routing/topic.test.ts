// Topic routing: the word trie and the exchange around it, on the edge cases of `*` and `#`,
// empty keys and empty words, unbinding, and the per-key result cache; cross-checked against
// a regex reference matcher over random patterns and keys.
import { describe, expect, it } from 'vitest';
import { TopicExchange, TopicTrie, topicWords } from '../../src/routing/topic.js';
import type { Destination } from '../../src/routing/exchange.js';
import type { Queue } from '../../src/queue/queue.js';
import { bind, message, queue, routed, unbind } from '../helpers/model.js';
import { Random } from '../helpers/random.js';

/**
 * Reference: every word of the key is written with a leading dot ('a.b' -> '.a.b', '' -> ''),
 * so a word is `\.[^.]*`, `*` is exactly one of those and `#` any number of them.
 */
function referenceMatch(pattern: string, key: string): boolean {
  const escape = (w: string): string => w.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
  const source = topicWords(pattern)
    .map((w) => (w === '*' ? '\\.[^.]*' : w === '#' ? '(?:\\.[^.]*)*' : `\\.${escape(w)}`))
    .join('');
  return new RegExp(`^${source}$`).test(key === '' ? '' : `.${key}`);
}

function topicExchange(name = 't'): TopicExchange {
  return new TopicExchange('/', name, { durable: false, autoDelete: false, internal: false, arguments: new Map() });
}

/** Does `pattern` match `key`, according to a fresh exchange? */
function exchangeMatches(pattern: string, key: string): boolean {
  const x = topicExchange();
  bind(x, queue('q'), pattern);
  return routed(x, message(key)).length === 1;
}

const CASES: readonly [pattern: string, key: string, expected: boolean][] = [
  // plain words
  ['a.b', 'a.b', true],
  ['a.b', 'a.b.c', false],
  ['a.b', 'a', false],
  ['a.b', 'a.c', false],
  // `*` is exactly one word
  ['*', 'a', true],
  ['*', 'a.b', false],
  ['*', '', false],
  ['a.*', 'a.b', true],
  ['a.*', 'a', false],
  ['a.*', 'a.b.c', false],
  ['*.b', 'a.b', true],
  ['*.*', 'a.b', true],
  ['*.*', 'a', false],
  // `#` is zero or more words
  ['#', '', true],
  ['#', 'a', true],
  ['#', 'a.b.c.d', true],
  ['a.#', 'a', true],
  ['a.#', 'a.b', true],
  ['a.#', 'a.b.c', true],
  ['a.#', 'b.a', false],
  ['#.a', 'a', true],
  ['#.a', 'x.y.a', true],
  ['#.a', 'a.x', false],
  ['a.#.b', 'a.b', true],
  ['a.#.b', 'a.x.b', true],
  ['a.#.b', 'a.x.y.b', true],
  ['a.#.b', 'a.b.c', false],
  ['a.#.b', 'a.b.b', true],
  ['#.#', '', true],
  ['#.#', 'a.b.c', true],
  ['*.#', '', false],
  ['*.#', 'a', true],
  ['*.#', 'a.b.c', true],
  ['#.*', '', false],
  ['#.*', 'a', true],
  ['#.*.#', 'a.b', true],
  ['a.*.#', 'a', false],
  ['a.*.#', 'a.b', true],
  ['a.#.*', 'a', false],
  ['a.#.*', 'a.b.c', true],
  // the empty key has no words
  ['', '', true],
  ['', 'a', false],
  ['a', '', false],
  // empty words are words
  ['a..b', 'a..b', true],
  ['a..b', 'a.b', false],
  ['a.*.b', 'a..b', true],
  ['a.#.b', 'a..b', true],
  ['*', '.', false],
  ['*.*', '.', true],
  ['a.', 'a.', true],
  ['a.*', 'a.', true],
  ['.a', '.a', true],
  ['#', '.', true],
  // words are compared whole, not as prefixes
  ['ab', 'a', false],
  ['a', 'ab', false],
  ['a.b', 'a.bc', false],
];

describe('reference matcher sanity', () => {
  it.each(CASES)('reference: %j vs key %j -> %s', (pattern, key, expected) => {
    expect(referenceMatch(pattern, key)).toBe(expected);
  });
});

describe('TopicExchange edge cases', () => {
  it.each(CASES)('binding %j, routing key %j -> %s', (pattern, key, expected) => {
    expect(exchangeMatches(pattern, key)).toBe(expected);
  });

  it('topicWords: the empty key has no words; dots delimit empty words', () => {
    expect(topicWords('')).toEqual([]);
    expect(topicWords('a')).toEqual(['a']);
    expect(topicWords('a..b')).toEqual(['a', '', 'b']);
    expect(topicWords('.')).toEqual(['', '']);
  });

  it('routes to every matching destination, each once', () => {
    const x = topicExchange();
    const [q1, q2, q3, q4] = ['q1', 'q2', 'q3', 'q4'].map((n) => queue(n)) as [Queue, Queue, Queue, Queue];
    bind(x, q1, 'stock.#');
    bind(x, q2, 'stock.*.nyse');
    bind(x, q3, '#.nyse');
    bind(x, q4, 'bond.#');
    expect(routed(x, message('stock.ibm.nyse'))).toEqual(['q1', 'q2', 'q3']);
    expect(routed(x, message('bond.x.nyse'))).toEqual(['q3', 'q4']);
    expect(routed(x, message('forex'))).toEqual([]);
  });

  it('several bindings to one destination deliver it once and unbinding one keeps the others', () => {
    const x = topicExchange();
    const q = queue('q');
    expect(bind(x, q, 'a.*')).toBe(true);
    expect(bind(x, q, 'a.#')).toBe(true);
    expect(bind(x, q, '#')).toBe(true);
    expect(bind(x, q, 'a.*')).toBe(false); // identical binding: not added twice
    const into = new Set<Destination>();
    x.route(message('a.b'), into);
    expect([...into]).toEqual([q]);

    expect(unbind(x, q, 'a.#')).toBe(true);
    expect(routed(x, message('a.b'))).toEqual(['q']);
    expect(routed(x, message('z'))).toEqual(['q']); // via '#'
    expect(unbind(x, q, '#')).toBe(true);
    expect(routed(x, message('z'))).toEqual([]);
    expect(routed(x, message('a.b'))).toEqual(['q']);
    expect(unbind(x, q, 'a.*')).toBe(true);
    expect(routed(x, message('a.b'))).toEqual([]);
    expect(x.bindings.size).toBe(0);
  });

  it('the same key bound twice with different arguments counts twice in the trie', () => {
    const x = topicExchange();
    const q = queue('q');
    bind(x, q, 'a.b', new Map([['v', { type: 'I', value: 1 }]]));
    bind(x, q, 'a.b', new Map([['v', { type: 'I', value: 2 }]]));
    expect(x.bindings.size).toBe(2);
    unbind(x, q, 'a.b', new Map([['v', { type: 'I', value: 1 }]]));
    expect(routed(x, message('a.b'))).toEqual(['q']);
    unbind(x, q, 'a.b', new Map([['v', { type: 'I', value: 2 }]]));
    expect(routed(x, message('a.b'))).toEqual([]);
  });

  it('unbinding something never bound changes nothing', () => {
    const x = topicExchange();
    const q = queue('q');
    bind(x, q, 'a.*');
    expect(unbind(x, q, 'a.b')).toBe(false);
    expect(unbind(x, queue('other'), 'a.*')).toBe(false);
    expect(routed(x, message('a.z'))).toEqual(['q']);
  });

  it('bind and unbind invalidate cached results for a key already routed', () => {
    const x = topicExchange();
    const q1 = queue('q1');
    const q2 = queue('q2');
    const key = 'logs.error';
    expect(routed(x, message(key))).toEqual([]); // cached: nothing
    bind(x, q1, 'logs.*');
    expect(routed(x, message(key))).toEqual(['q1']);
    expect(routed(x, message(key))).toEqual(['q1']); // from the cache
    bind(x, q2, '#.error');
    expect(routed(x, message(key))).toEqual(['q1', 'q2']);
    unbind(x, q1, 'logs.*');
    expect(routed(x, message(key))).toEqual(['q2']);
    unbind(x, q2, '#.error');
    expect(routed(x, message(key))).toEqual([]);
  });

  it('route adds to what `into` already holds', () => {
    const x = topicExchange();
    const q = queue('q');
    const other = queue('other');
    bind(x, q, '#');
    const into = new Set<Destination>([other]);
    x.route(message('k'), into);
    expect([...into]).toEqual([other, q]);
  });

  it('keeps giving right answers after more distinct keys than its cache holds', () => {
    const x = topicExchange();
    const q = queue('q');
    bind(x, q, 'k.*.even');
    for (let i = 0; i < 5000; i++) {
      const key = `k.${i}.${i % 2 === 0 ? 'even' : 'odd'}`;
      expect(routed(x, message(key)).length).toBe(i % 2 === 0 ? 1 : 0);
    }
    unbind(x, q, 'k.*.even');
    expect(routed(x, message('k.0.even'))).toEqual([]);
  });
});

describe('patterns with many `#`', () => {
  const words = (n: number, last: string): string[] => [...Array<string>(n - 1).fill('a'), last];

  /** The key's words, counting reads: matching must do polynomial work, not try every split. */
  function guarded(key: string[], limit: number): string[] {
    let reads = 0;
    return new Proxy(key, {
      get(target, prop, receiver) {
        if (++reads > limit) throw new Error(`more than ${limit} reads of the key: matching is exponential`);
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
  }

  it('twelve `#` against a 40-word key take polynomial work, with right answers', () => {
    // Each (node, word) pair is explored once per match. Trying every way to split the key
    // among the `#`s instead is exponential: one such binding would stall the broker.
    const t = new TopicTrie();
    t.add([...Array<string>(12).fill('#'), 'x'].join('.'), queue('q'));
    const miss = new Set<Destination>();
    t.match(guarded(words(40, 'a'), 1_000_000), miss);
    expect(miss.size).toBe(0);
    const hit = new Set<Destination>();
    t.match(guarded(words(40, 'x'), 1_000_000), hit);
    expect(hit.size).toBe(1);
  });

  it('`#` interleaved with words agree with the reference', () => {
    const pattern = '#.a.#.a.#.a.#.a.#.b';
    const x = topicExchange();
    bind(x, queue('q'), pattern);
    for (const key of [words(30, 'a').join('.'), words(30, 'b').join('.'), 'a.a.a.a.b', 'a.a.a.b', 'b.a.a.a.a.b']) {
      expect(routed(x, message(key)).length === 1, key).toBe(referenceMatch(pattern, key));
    }
  });

  it('a trie reused for many matches keeps giving the same answers', () => {
    const t = new TopicTrie();
    t.add('#.#.b', queue('q'));
    for (let n = 0; n < 50; n++) {
      const into = new Set<Destination>();
      t.match(topicWords(n % 2 === 0 ? 'a.b' : 'a.c'), into);
      expect(into.size).toBe(n % 2 === 0 ? 1 : 0);
    }
  });
});

describe('TopicTrie', () => {
  const match = (t: TopicTrie, key: string): string[] => {
    const into = new Set<Destination>();
    t.match(topicWords(key), into);
    return [...into].map((d) => d.name).sort();
  };

  it('remove prunes a branch but keeps patterns sharing its prefix', () => {
    const t = new TopicTrie();
    const q1 = queue('q1');
    const q2 = queue('q2');
    const q3 = queue('q3');
    t.add('a.b.c', q1);
    t.add('a.b', q2);
    t.add('a.*.#', q3);
    t.remove('a.b.c', q1);
    expect(match(t, 'a.b.c')).toEqual(['q3']);
    expect(match(t, 'a.b')).toEqual(['q2', 'q3']);
    t.remove('a.b', q2);
    expect(match(t, 'a.b')).toEqual(['q3']);
    t.remove('a.*.#', q3);
    expect(match(t, 'a.b')).toEqual([]);
    // And the trie takes new patterns on the pruned path.
    t.add('a.b.c', q1);
    expect(match(t, 'a.b.c')).toEqual(['q1']);
  });

  it('remove of a pattern not in the trie is harmless', () => {
    const t = new TopicTrie();
    const q = queue('q');
    t.add('a.#', q);
    t.remove('x.y', q);
    t.remove('a.#.z', q);
    t.remove('', q);
    expect(match(t, 'a.b')).toEqual(['q']);
  });

  it('the empty pattern lives at the root next to `#`', () => {
    const t = new TopicTrie();
    const empty = queue('empty');
    const hash = queue('hash');
    t.add('', empty);
    t.add('#', hash);
    expect(match(t, '')).toEqual(['empty', 'hash']);
    expect(match(t, 'a')).toEqual(['hash']);
    t.remove('', empty);
    expect(match(t, '')).toEqual(['hash']);
    t.remove('#', hash);
    expect(match(t, '')).toEqual([]);
  });
});

describe('TopicExchange vs reference matcher (random, fixed seeds)', () => {
  const PATTERN_WORDS = ['a', 'b', 'c', '', '*', '#', '*', '#'];
  const KEY_WORDS = ['a', 'b', 'c', ''];
  const randomKey = (r: Random, words: readonly string[]): string => {
    const n = r.int(6);
    return n === 0 ? '' : Array.from({ length: n }, () => r.pick(words)).join('.');
  };

  for (const seed of [7, 99, 2024]) {
    it(`seed ${seed}: same destinations for 600 keys, before and after unbinding`, () => {
      const r = new Random(seed);
      const x = topicExchange();
      const queues = Array.from({ length: 12 }, (_, i) => queue(`q${i}`));
      // Each queue gets 1-4 patterns; patterns may repeat across queues.
      let bindings: [Queue, string][] = [];
      for (const q of queues) {
        for (let n = r.between(1, 4); n > 0; n--) {
          const p = randomKey(r, PATTERN_WORDS);
          if (bind(x, q, p)) bindings.push([q, p]);
        }
      }
      const keys = Array.from({ length: 600 }, () => randomKey(r, KEY_WORDS));
      const expected = (key: string): string[] =>
        [...new Set(bindings.filter(([, p]) => referenceMatch(p, key)).map(([q]) => q.name))].sort();
      const check = (): void => {
        for (const key of keys) expect(routed(x, message(key)), `key ${JSON.stringify(key)}`).toEqual(expected(key));
      };
      check();
      // Unbind a random half (the cache holds results for all those keys by now).
      r.shuffle(bindings);
      const gone = bindings.slice(0, bindings.length >> 1);
      bindings = bindings.slice(bindings.length >> 1);
      for (const [q, p] of gone) expect(unbind(x, q, p)).toBe(true);
      check();
      for (const [q, p] of bindings) unbind(x, q, p);
      bindings = [];
      check();
      expect(x.bindings.size).toBe(0);
    });
  }
});
