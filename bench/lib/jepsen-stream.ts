// A stream in the chaos runs (bench/chaos.ts): an amqplib publisher with confirms appends to a
// stream (x-queue-type: stream), and a consumer reads it, resuming after each reconnect from
// the offset after the last one it saw (as a Kafka consumer keeps its offset), so every
// confirmed message should come exactly once: the Jepsen counters of Tally (lost, unexpected,
// duplicated, corrupted) with no redeliveries expected, plus `reordered` (a delivery whose id is
// below the one before: the single publisher sends ids in order) and `offset_gaps`/`offset_back`
// (offsets must follow each other on a connection and never go back across one).

import amqp from 'amqplib';
import { bodyFor, Tally } from './jepsen.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class StreamTally extends Tally {
  reordered = 0;
  offsetGaps = 0;
  offsetBack = 0;
  lastId = 0;
  /** Offset of the last delivery (-1: none yet). */
  lastOffset = -1;

  override summary(): Record<string, number> {
    return { ...super.summary(), reordered: this.reordered, offset_gaps: this.offsetGaps, offset_back: this.offsetBack };
  }
}

export class AmqplibStreamClients {
  stop = false;
  readonly #tally: StreamTally;
  readonly #urls: () => readonly string[];
  readonly #stream: string;
  #addr = 0;

  constructor(tally: StreamTally, urls: () => readonly string[], stream: string) {
    this.#tally = tally;
    this.#urls = urls;
    this.#stream = stream;
  }

  async #connectAny(): Promise<amqp.ChannelModel> {
    for (;;) {
      const urls = this.#urls();
      try {
        const c = await amqp.connect(urls[this.#addr++ % urls.length]!, { noDelay: true });
        c.on('error', () => {});
        return c;
      } catch {
        await sleep(100);
      }
    }
  }

  async #declare(c: amqp.ChannelModel): Promise<amqp.ConfirmChannel> {
    const ch = await c.createConfirmChannel();
    ch.on('error', () => {});
    await ch.assertQueue(this.#stream, { durable: true, arguments: { 'x-queue-type': 'stream' } });
    return ch;
  }

  async publisher(): Promise<void> {
    const t = this.#tally;
    let next = 1;
    while (!this.stop) {
      try {
        const c = await this.#connectAny();
        const ch = await this.#declare(c);
        const closed = new Promise<void>((r) => c.once('close', () => r()));
        let open = true;
        void closed.then(() => (open = false));
        while (!this.stop && open) {
          for (let i = 0; i < 20 && open; i++) {
            const id = next++;
            t.published.add(id);
            ch.sendToQueue(this.#stream, bodyFor(id), {}, (err) => {
              if (!err) {
                t.confirmed.add(id);
                t.lastConfirmAt = Date.now();
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
    const t = this.#tally;
    while (!this.stop) {
      try {
        const c = await this.#connectAny();
        t.connectedAt = Date.now();
        const ch = await this.#declare(c);
        await ch.prefetch(100);
        const from = t.lastOffset + 1;
        let expect = from;
        await ch.consume(
          this.#stream,
          (m) => {
            if (m === null) return;
            const offset = Number(m.properties.headers?.['x-stream-offset']);
            if (offset < expect) t.offsetBack++;
            else if (offset > expect) t.offsetGaps++;
            expect = offset + 1;
            t.lastOffset = offset;
            const id = Number(m.content.toString('latin1').split('|')[0]);
            if (id < t.lastId) t.reordered++;
            t.lastId = Math.max(t.lastId, id);
            t.deliver(m.content, m.fields.redelivered);
            ch.ack(m);
          },
          { arguments: { 'x-stream-offset': from === 0 ? 'first' : from } },
        );
        await new Promise<void>((r) => c.once('close', () => r()));
      } catch {
        await sleep(100);
      }
    }
  }
}
