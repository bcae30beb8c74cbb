// Topic exchange: binding keys are dot-separated words where `*` matches exactly one word and
// `#` zero or more. Keys are compiled into a word trie at bind time; results per routing key
// are cached (bounded, cleared on any bind/unbind), so a hot key costs one Map lookup.

import type { Message } from '../message.js';
import { DestinationCounts, Exchange, type Binding, type Destination } from './exchange.js';

class TopicNode {
  readonly children = new Map<string, TopicNode>();
  star: TopicNode | null = null;
  hash: TopicNode | null = null;
  dests: DestinationCounts | null = null;
  /** visits[i] = the match that last reached this node at word i (see TopicTrie.match). */
  readonly visits: number[] = [];

  get empty(): boolean {
    return this.children.size === 0 && this.star === null && this.hash === null && (this.dests === null || this.dests.size === 0);
  }
}

const CACHE_LIMIT = 4096;

/** Splits a topic key into words as RabbitMQ does: the empty key has no words. */
export function topicWords(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

export class TopicTrie {
  readonly #root = new TopicNode();
  /** Numbers each match, to mark the nodes it has visited without clearing marks. */
  #epoch = 0;

  add(pattern: string, d: Destination): void {
    let node = this.#root;
    for (const w of topicWords(pattern)) {
      if (w === '*') node = node.star ??= new TopicNode();
      else if (w === '#') node = node.hash ??= new TopicNode();
      else {
        let next = node.children.get(w);
        if (next === undefined) {
          next = new TopicNode();
          node.children.set(w, next);
        }
        node = next;
      }
    }
    (node.dests ??= new DestinationCounts()).add(d);
  }

  remove(pattern: string, d: Destination): void {
    const path: [TopicNode, string][] = [];
    let node: TopicNode | null | undefined = this.#root;
    for (const w of topicWords(pattern)) {
      path.push([node, w]);
      node = w === '*' ? node.star : w === '#' ? node.hash : node.children.get(w);
      if (!node) return;
    }
    node.dests?.remove(d);
    // Prune nodes left empty, from the leaf up.
    for (let i = path.length - 1; i >= 0 && node.empty; i--) {
      const [parent, w] = path[i]!;
      if (w === '*') parent.star = null;
      else if (w === '#') parent.hash = null;
      else parent.children.delete(w);
      node = parent;
    }
  }

  match(words: readonly string[], into: Set<Destination>): void {
    matchFrom(this.#root, words, 0, into, ++this.#epoch);
  }
}

/**
 * What a (node, word index) pair adds does not depend on how it was reached, so each pair is
 * explored once per match. Without that, patterns with several `#` (say `#.#.#.#.#.#.#.#.x`)
 * take time exponential in their number of `#` against long keys: one binding could stall
 * the broker.
 */
function matchFrom(node: TopicNode, words: readonly string[], i: number, into: Set<Destination>, epoch: number): void {
  if (node.visits[i] === epoch) return;
  node.visits[i] = epoch;
  const hash = node.hash;
  if (hash !== null) {
    // `#` swallows zero or more words: try every split point.
    for (let j = i; j <= words.length; j++) matchFrom(hash, words, j, into, epoch);
  }
  if (i === words.length) {
    node.dests?.addAllTo(into);
    return;
  }
  const child = node.children.get(words[i]!);
  if (child !== undefined) matchFrom(child, words, i + 1, into, epoch);
  if (node.star !== null) matchFrom(node.star, words, i + 1, into, epoch);
}

export class TopicExchange extends Exchange {
  readonly type = 'topic';
  readonly #trie = new TopicTrie();
  readonly #cache = new Map<string, Destination[]>();
  readonly #scratch = new Set<Destination>();

  routeKey(_msg: Message, key: string, into: Set<Destination>): void {
    let hit = this.#cache.get(key);
    if (hit === undefined) {
      const found = this.#scratch;
      found.clear();
      this.#trie.match(topicWords(key), found);
      hit = [...found];
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      this.#cache.set(key, hit);
    }
    for (let i = 0; i < hit.length; i++) into.add(hit[i]!);
  }

  protected addToIndex(b: Binding): void {
    this.#trie.add(b.routingKey, b.destination);
    this.#cache.clear();
  }

  protected removeFromIndex(b: Binding): void {
    this.#trie.remove(b.routingKey, b.destination);
    this.#cache.clear();
  }
}
