// The chaos runs' clients and the bookkeeping of RabbitMQ's Jepsen checker (bench/chaos.ts,
// bench/chaos-patroni.ts): per client library a reconnecting publisher with confirms (each
// message's body is its id and that id's sha256) and a reconnecting consumer with manual acks,
// going round a list of node addresses: amqplib in this process, pika in /usr/bin/python3
// (bench/chaos-pika.py, reporting one line per event). Counters: lost (confirmed, never
// delivered), unexpected (delivered, never published), duplicated (delivered again without the
// redelivered flag), corrupted (body does not match its digest); redelivered copies apart.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import amqp from 'amqplib';
import { REPO_ROOT } from './paths.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const bodyFor = (id: number): Buffer => Buffer.from(`${id}|${createHash('sha256').update(String(id)).digest('hex')}`);

/** The Jepsen checker's counters for one client library's publisher and consumer. */
export class Tally {
  readonly published = new Set<number>();
  readonly confirmed = new Set<number>();
  readonly delivered = new Map<number, number>();
  duplicated = 0;
  unexpected = 0;
  corrupted = 0;
  redeliveredCopies = 0;
  lastDeliveryAt = 0;
  lastConfirmAt = 0;
  /** When the consumer's current connection was opened: a delivery counts as the new node's only after a kill. */
  connectedAt = 0;
  lastDeliveryConnectedAt = 0;
  /** The first delivery on the current connection (the new node's first, after a kill). */
  firstOnConnectionAt = 0;
  /**
   * Deliveries of ids not yet known as published: pika's publisher and consumer report through
   * two pipes, so a delivery's line can be read before its publish line. Judged at the end.
   */
  readonly early: [number, boolean][] = [];

  deliver(content: Buffer, redelivered: boolean): void {
    this.lastDeliveryAt = Date.now();
    if (this.lastDeliveryConnectedAt !== this.connectedAt) this.firstOnConnectionAt = this.lastDeliveryAt;
    this.lastDeliveryConnectedAt = this.connectedAt;
    const id = Number(content.toString('latin1').split('|')[0]);
    if (!Number.isInteger(id) || !bodyFor(id).equals(content)) this.corrupted++;
    else if (!this.published.has(id)) this.early.push([id, redelivered]);
    else this.count(id, redelivered);
  }

  /** The first delivery after `t` on a connection opened after `t` (so from a node that was alive then). */
  deliveredSince(t: number): boolean {
    return this.lastDeliveryConnectedAt > t;
  }

  #judgeEarly(): void {
    for (const [id, redelivered] of this.early.splice(0)) {
      if (this.published.has(id)) this.count(id, redelivered);
      else this.unexpected++;
    }
  }

  count(id: number, redelivered: boolean): void {
    const seen = this.delivered.get(id) ?? 0;
    if (seen > 0) {
      if (redelivered) this.redeliveredCopies++;
      else this.duplicated++;
    }
    this.delivered.set(id, seen + 1);
  }

  get lost(): number {
    this.#judgeEarly();
    return [...this.confirmed].filter((id) => !this.delivered.has(id)).length;
  }

  get settled(): boolean {
    this.#judgeEarly();
    return [...this.confirmed].every((id) => this.delivered.has(id));
  }

  summary(): Record<string, number> {
    this.#judgeEarly();
    return {
      published: this.published.size,
      confirmed: this.confirmed.size,
      delivered_distinct: this.delivered.size,
      lost: this.lost,
      unexpected: this.unexpected,
      duplicated: this.duplicated,
      corrupted: this.corrupted,
      redelivered_copies: this.redeliveredCopies,
    };
  }
}
/** Waits (up to maxMs) until deliveries stop and every confirmed message has been delivered, for every tally. */
export async function settle(tallies: readonly Tally[], maxMs: number): Promise<void> {
  const start = Date.now();
  const last = (): number => tallies.reduce((n, t) => n + t.lastDeliveryAt, 0);
  while (Date.now() - start < maxMs) {
    const before = last();
    await sleep(3000);
    if (last() === before && tallies.every((t) => t.settled)) return;
  }
}

/** amqplib's publisher (batches of 20, then waitForConfirms) and consumer (prefetch 50), fed to `tally`. */
export class AmqplibClients {
  /** Set to stop: the publisher stops, the consumer keeps its current connection. */
  stop = false;
  readonly #tally: Tally;
  readonly #urls: () => readonly string[];
  readonly #queue: string;
  #addr = 0;

  constructor(tally: Tally, urls: () => readonly string[], queue: string) {
    this.#tally = tally;
    this.#urls = urls;
    this.#queue = queue;
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

  async publisher(): Promise<void> {
    const t = this.#tally;
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
            t.published.add(id);
            ch.sendToQueue(this.#queue, bodyFor(id), { persistent: true }, (err) => {
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
        const ch = await c.createChannel();
        ch.on('error', () => {});
        await ch.assertQueue(this.#queue, { durable: true });
        await ch.prefetch(50);
        await ch.consume(this.#queue, (m) => {
          if (m === null) return;
          t.deliver(m.content, m.fields.redelivered);
          ch.ack(m);
        });
        await new Promise<void>((r) => c.once('close', () => r()));
      } catch {
        await sleep(100);
      }
    }
  }
}

/** pika's publisher or consumer (bench/chaos-pika.py), its report lines fed to `tally`. Closing its stdin stops it. */
export function pikaClient(mode: 'publish' | 'consume', queue: string, ports: readonly number[], tally: Tally): ChildProcess {
  const child = spawn('/usr/bin/python3', [join(REPO_ROOT, 'bench/chaos-pika.py'), mode, queue, ...ports.map(String)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let rest = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (rest + d.toString('latin1')).split('\n');
    rest = lines.pop()!;
    for (const l of lines) {
      if (l.startsWith('P ')) tally.published.add(Number(l.slice(2)));
      else if (l.startsWith('C ')) {
        tally.confirmed.add(Number(l.slice(2)));
        tally.lastConfirmAt = Date.now();
      } else if (l === 'K') tally.connectedAt = Date.now();
      else if (l.startsWith('D ')) tally.deliver(Buffer.from(l.slice(4), 'latin1'), l[2] === '1');
    }
  });
  return child;
}
