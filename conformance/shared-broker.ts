// The broker most conformance files share: started before the file's tests (or the one that
// WARREN_CONFORMANCE_URL names), with a Clients tracker; after the tests every tracked client is
// closed and the broker stopped. Call useBroker() at the top level of a test file.

import { afterAll, beforeAll } from 'vitest';
import { Clients, startBroker, type BrokerUnderTest } from './harness.js';

export interface SharedBroker {
  /** Set once the file's beforeAll ran: use it inside tests and hooks only. */
  readonly broker: BrokerUnderTest;
  readonly clients: Clients;
}

export function useBroker(opts?: Parameters<typeof startBroker>[0]): SharedBroker {
  const shared = {} as { broker: BrokerUnderTest; clients: Clients };
  beforeAll(async () => {
    shared.broker = await startBroker(opts);
    shared.clients = new Clients(shared.broker.url);
  });
  afterAll(async () => {
    await shared.clients?.closeAll();
    await shared.broker?.stop();
  });
  return shared;
}
