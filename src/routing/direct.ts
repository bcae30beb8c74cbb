// Direct exchange: the routing key equals the binding key. One hash lookup per message.

import type { Message } from '../message.js';
import { DestinationCounts, Exchange, type Binding, type Destination } from './exchange.js';

export class DirectExchange extends Exchange {
  readonly type: string = 'direct';
  readonly #byKey = new Map<string, DestinationCounts>();

  routeKey(_msg: Message, key: string, into: Set<Destination>): void {
    this.#byKey.get(key)?.addAllTo(into);
  }

  protected addToIndex(b: Binding): void {
    let set = this.#byKey.get(b.routingKey);
    if (set === undefined) {
      set = new DestinationCounts();
      this.#byKey.set(b.routingKey, set);
    }
    set.add(b.destination);
  }

  protected removeFromIndex(b: Binding): void {
    const set = this.#byKey.get(b.routingKey);
    if (set?.remove(b.destination)) this.#byKey.delete(b.routingKey);
  }
}
