// AnyEvent::RabbitMQ (Debian libanyevent-rabbitmq-perl), unmodified, through
// conformance/clients/anyevent_roundtrip.pl: it opens with the protocol header "AMQP 1 1 0 9",
// which RabbitMQ serves as 0-9-1 (warren used to answer with its own header and close). A
// declare, a publish with a header table, basic.get, a consumer with an ack. Skipped only when
// the Perl module is not installed (CI installs it).
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerUnderTest, CONFORMANCE_DIR, runProcess, startBroker, uid } from './harness.js';

async function installed(): Promise<boolean> {
  try {
    return (await runProcess('perl', ['-MAnyEvent::RabbitMQ', '-e', '1'], { timeoutMs: 20_000 })).code === 0;
  } catch {
    return false; // no perl
  }
}
const have = await installed();

let broker: BrokerUnderTest;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker?.stop();
});

describe('AnyEvent::RabbitMQ (libanyevent-rabbitmq-perl)', () => {
  it.skipIf(!have)('connects with "AMQP 1 1 0 9", publishes, gets and consumes', async () => {
    const res = await runProcess('perl', [path.join(CONFORMANCE_DIR, 'clients', 'anyevent_roundtrip.pl'), broker.host, String(broker.port), uid('perl')], { timeoutMs: 60_000 });
    const events = res.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
    expect(events.map((e) => e['event'])).toEqual(['connected', 'get', 'consumed', 'done']);
    // Net::AMQP sends integers in header tables as long strings.
    expect(events[1]).toEqual({ event: 'get', body: 'hello', content_type: 'text/plain', headers: { n: '7', s: 'text' } });
    expect(events[2]).toEqual({ event: 'consumed', body: 'again' });
  });
});
