// The HTTP API's input limits are settings like the others: `warren start` flags change them
// (here smaller than the defaults) and the API answers past them as documented: 414 for a long
// URL or path parameter, 431 for large headers, 413 for a large body. warren only: the reference
// RabbitMQ node runs without its management plugin.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpPortOf, startBroker, type BrokerUnderTest } from './harness.js';

let broker: BrokerUnderTest;
let base = '';
const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };

beforeAll(async () => {
  broker = await startBroker({
    args: ['--http-port', '0', '--http-max-url-length', '1000', '--http-max-param-length', '800', '--http-max-header-size', '4KiB', '--http-max-body-size', '4KiB'],
  });
  if (!broker.external) {
    base = `http://127.0.0.1:${httpPortOf(broker)}`;
  }
});

afterAll(async () => {
  await broker.stop();
});

describe('HTTP input limits set with flags', () => {
  it('refuses past the configured limits and serves within them', async () => {
    if (broker.external) return;
    expect((await fetch(`${base}/api/overview?pad=${'a'.repeat(900)}`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/api/overview?pad=${'a'.repeat(1000)}`, { headers: auth })).status).toBe(414);
    expect((await fetch(`${base}/api/queues/%2F/${'q'.repeat(801)}`, { headers: auth })).status).toBe(414);
    expect((await fetch(`${base}/api/overview`, { headers: { ...auth, 'x-pad': 'x'.repeat(4096) } })).status).toBe(431);
    const big = await fetch(`${base}/api/definitions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(4096) }) });
    expect(big.status).toBe(413);
    expect((await fetch(`${base}/api/queues/%2F/${'q'.repeat(255)}`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' })).status).toBe(201);
  });

  it('refuses a bad value at start with one line naming the flag', async () => {
    if (broker.external) return;
    await expect(startBroker({ args: ['--http-headers-timeout', '60000'] })).rejects.toThrow('--http-headers-timeout (60000 ms) must not exceed --http-request-timeout (30000 ms)');
  });
});
