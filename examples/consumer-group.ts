// End-to-end example for the README: an order stream with 4 partitions (a super stream), 3
// consumer processes in one consumer group, one of them killed with SIGKILL mid-stream. Each
// consumer is a separate Node process using amqplib; the publisher sends orders for 20
// customers, customer id as the routing key. At the end it prints, for every customer, whether
// its orders were processed in order and none skipped, and which consumers processed them.
//
//   npm run build && node dist/examples/consumer-group.js            (an embedded warren)
//   node dist/examples/consumer-group.js amqp://guest:guest@127.0.0.1:5672   (a running one)

import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';

const PARTITIONS = 4;
const CUSTOMERS = 20;
const ORDERS = 50;
const GROUP = 'billing';

interface Processed {
  consumer: string;
  customer: string;
  order: number;
}

// ---- a consumer process ------------------------------------------------------------------

async function consumer(url: string, superStream: string, name: string): Promise<void> {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await ch.prefetch(50);
  const subscribe = async (stream: string): Promise<void> => {
    await ch.consume(
      stream,
      (msg) => {
        if (msg === null) {
          // basic.cancel from warren: this partition went to another member. Stand by for it.
          void subscribe(stream);
          return;
        }
        const { customer, order } = JSON.parse(msg.content.toString()) as { customer: string; order: number };
        process.send!({ consumer: name, customer, order } satisfies Processed);
        // Acknowledged a little after processing (as after a database write): a consumer
        // killed in between leaves processed-but-unacked orders, which the next owner repeats.
        setTimeout(() => ch.ack(msg), 50);
      },
      { arguments: { 'x-consumer-group': GROUP, 'x-stream-offset': 'first' } },
    );
  };
  for (let p = 0; p < PARTITIONS; p++) await subscribe(`${superStream}-${p}`);
  process.send!('ready');
}

// ---- the publisher and the check ---------------------------------------------------------

async function main(urlArg: string | undefined): Promise<void> {
  let url = urlArg;
  let stop = async (): Promise<void> => {};
  if (url === undefined) {
    const { startBroker } = await import('../src/index.js');
    const broker = await startBroker();
    url = broker.url;
    stop = () => broker.close();
  }
  const superStream = `orders-${process.pid}`;
  const conn = await amqp.connect(url);
  const pub = await conn.createConfirmChannel();
  await pub.assertExchange(superStream, 'direct', { durable: true, arguments: { 'x-super-stream': true, 'x-partitions': PARTITIONS } });
  console.log(`super stream ${superStream}: ${PARTITIONS} partitions; consumer group '${GROUP}' of 3 processes`);

  const processed: Processed[] = [];
  const consumers = new Map<string, ChildProcess>();
  for (const name of ['c1', 'c2', 'c3']) {
    const child = fork(fileURLToPath(import.meta.url), ['consumer', url, superStream, name]);
    consumers.set(name, child);
    await new Promise<void>((resolve) =>
      child.on('message', (m: Processed | 'ready') => {
        if (m === 'ready') resolve();
        else processed.push(m);
      }),
    );
  }
  // Let the group settle before publishing (members joining hand partitions over).
  await new Promise((r) => setTimeout(r, 500));

  const publish = async (from: number, to: number): Promise<void> => {
    for (let order = from; order < to; order++) {
      await new Promise((r) => setTimeout(r, 20));
      for (let c = 0; c < CUSTOMERS; c++) {
        const customer = `customer-${c}`;
        pub.publish(superStream, customer, Buffer.from(JSON.stringify({ customer, order })));
      }
      await pub.waitForConfirms();
    }
  };
  await publish(0, ORDERS / 2);
  // Kill c2 right after it processed the last orders sent so far, before it acknowledged them.
  const half = ORDERS / 2 - 1;
  while (!processed.some((p) => p.consumer === 'c2' && p.order === half)) await new Promise((r) => setTimeout(r, 1));
  consumers.get('c2')!.kill('SIGKILL');
  console.log(`killed consumer c2 (SIGKILL) after ${processed.length} deliveries`);
  await publish(ORDERS / 2, ORDERS);

  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !complete(processed)) await new Promise((r) => setTimeout(r, 100));

  let ok = true;
  for (let c = 0; c < CUSTOMERS; c++) {
    const customer = `customer-${c}`;
    const r = check(processed.filter((p) => p.customer === customer));
    ok &&= r.ok;
    console.log(`${customer.padEnd(12)} ${r.ok ? 'in order, none skipped' : 'FAILED'}: ${r.distinct}/${ORDERS} orders, ${r.repeats} processed twice, by ${r.by.join(' then ')}`);
  }
  console.log(ok ? `every customer's orders were processed in order, none skipped` : 'SOME ORDERS WERE SKIPPED OR OUT OF ORDER');
  for (const child of consumers.values()) child.kill('SIGKILL');
  await conn.close();
  await stop();
  process.exitCode = ok ? 0 : 1;
}

function complete(processed: readonly Processed[]): boolean {
  const seen = new Set(processed.map((p) => `${p.customer}/${p.order}`));
  return seen.size === CUSTOMERS * ORDERS;
}

/**
 * One customer's processing log. In order and none skipped: each consumer saw the customer's
 * orders in increasing order, and each consumer that took over started at or before the first
 * order the previous one had not processed (at-least-once: a repeat is allowed, a gap is not).
 */
function check(log: readonly Processed[]): { ok: boolean; distinct: number; repeats: number; by: string[] } {
  const by: string[] = [];
  const runs = new Map<string, number[]>();
  for (const p of log) {
    if (!runs.has(p.consumer)) {
      runs.set(p.consumer, []);
      by.push(p.consumer);
    }
    runs.get(p.consumer)!.push(p.order);
  }
  let ok = true;
  let done = 0;
  for (const name of by) {
    const orders = runs.get(name)!;
    if (orders.some((o, i) => i > 0 && o <= orders[i - 1]!)) ok = false;
    if (orders[0]! > done) ok = false;
    done = Math.max(done, orders.at(-1)! + 1);
  }
  const distinct = new Set(log.map((p) => p.order)).size;
  return { ok: ok && distinct === ORDERS && done === ORDERS, distinct, repeats: log.length - distinct, by };
}

const [role, ...rest] = process.argv.slice(2);
if (role === 'consumer') await consumer(rest[0]!, rest[1]!, rest[2]!);
else await main(role);
