// The bookkeeping of RabbitMQ's Jepsen checker for the chaos runs, with amqplib clients that
// reconnect: a publisher with confirms (batches of 20, each message's body is its id and that
// id's sha256) and a consumer with manual acks, both going round a list of node addresses.
// Counters: lost (confirmed, never delivered), unexpected (delivered, never published),
// duplicated (delivered again without the redelivered flag), corrupted (body does not match
// its digest); redelivered copies are counted apart (allowed).

import { createHash } from 'node:crypto';
import amqp from 'amqplib';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const bodyFor = (id: number): Buffer => Buffer.from(`${id}|${createHash('sha256').update(String(id)).digest('hex')}`);

export class JepsenClients {
  readonly published = new Set<number>();
  readonly confirmed = new Set<number>();
  readonly delivered = new Map<number, number>();
  duplicated = 0;
  unexpected = 0;
  corrupted = 0;
  redeliveredCopies = 0;
  lastDeliveryAt = 0;
  lastConfirmAt = 0;
  /** Set to stop publishing; the consumer goes on until the process ends. */
  stop = false;
  readonly #urls: () => readonly string[];
  readonly #queue: string;
  #addr = 0;

  constructor(urls: () => readonly string[], queue: string) {
    this.#urls = urls;
    this.#queue = queue;
  }

  /** Confirmed messages never delivered. */
  get lost(): number {
    return [...this.confirmed].filter((id) => !this.delivered.has(id)).length;
  }

  /** Waits (up to maxMs) until deliveries stop and every confirmed message has been delivered. */
  async settle(maxMs: number): Promise<void> {
    const start = Date.now();
    while (Date.now() - start < maxMs) {
      const before = this.lastDeliveryAt;
      await sleep(3000);
      if (this.lastDeliveryAt === before && [...this.confirmed].every((id) => this.delivered.has(id))) return;
    }
  }

  async #connectAny(): Promise<amqp.ChannelModel> {
    for (;;) {
      const urls = this.#urls();
      const url = urls[this.#addr++ % urls.length]!;
      try {
        const c = await amqp.connect(url, { noDelay: true });
        c.on('error', () => {});
        return c;
      } catch {
        await sleep(100);
      }
    }
  }

  async publisher(): Promise<void> {
    let next = 1;
    while (!this.stop) {
      try {
        const c = await this.#connectAny();
        const ch = await c.createConfirmChannel();
        ch.on('error', () => {});
        await ch.assertQueue(this.#queue, { durable: true });
        const closed = new Promise<void>((r) => c.once('close', () => r()));
        let open = true;
        void closed.then(() => (open = false));
        while (!this.stop && open) {
          for (let i = 0; i < 20 && open; i++) {
            const id = next++;
            this.published.add(id);
            ch.sendToQueue(this.#queue, bodyFor(id), { persistent: true }, (err) => {
              if (!err) {
                this.confirmed.add(id);
                this.lastConfirmAt = Date.now();
              }
            });
          }
          await Promise.race([ch.waitForConfirms().catch(() => undefined), closed]);
        }
        if (open) await c.close().catch(() => undefined);
      } catch {
        await sleep(100);
      }
    }
  }

  async consumer(): Promise<void> {
    for (;;) {
      try {
        const c = await this.#connectAny();
        const ch = await c.createChannel();
        ch.on('error', () => {});
        await ch.assertQueue(this.#queue, { durable: true });
        await ch.prefetch(50);
        await ch.consume(this.#queue, (m) => {
          if (m === null) return;
          this.lastDeliveryAt = Date.now();
          const id = Number(m.content.toString().split('|')[0]);
          if (!Number.isInteger(id) || !bodyFor(id).equals(m.content)) this.corrupted++;
          else if (!this.published.has(id)) this.unexpected++;
          else {
            const seen = this.delivered.get(id) ?? 0;
            if (seen > 0) {
              if (m.fields.redelivered) this.redeliveredCopies++;
              else this.duplicated++;
            }
            this.delivered.set(id, seen + 1);
          }
          ch.ack(m);
        });
        await new Promise<void>((r) => c.once('close', () => r()));
      } catch {
        await sleep(100);
      }
    }
  }
}
