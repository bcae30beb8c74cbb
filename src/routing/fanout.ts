// Fanout exchange: every bound destination gets every message; keys are ignored.

import type { Message } from '../message.js';
import { DestinationCounts, Exchange, type Binding, type Destination } from './exchange.js';

export class FanoutExchange extends Exchange {
  readonly type = 'fanout';
  readonly #all = new DestinationCounts();

  routeKey(_msg: Message, _key: string, into: Set<Destination>): void {
    this.#all.addAllTo(into);
  }

  protected addToIndex(b: Binding): void {
    this.#all.add(b.destination);
  }

  protected removeFromIndex(b: Binding): void {
    this.#all.remove(b.destination);
  }
}
