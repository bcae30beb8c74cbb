// A channel's publishes under its mode: plain, confirm (each publish acked once the store
// writes it needed are durable: confirms.ts) or transactional (publishes and settles held
// until tx.commit, whose commit-ok waits for the store likewise: transaction.ts). Writes what
// became due from the connection's flush (the channel's flush hook).

import { CONFIRM_SELECT_OK, TX_COMMIT_OK, TX_ROLLBACK_OK, TX_SELECT_OK, type BasicPublish, type Method } from '../codec/methods.generated.js';
import { ChannelError, ConnectionError } from '../errors.js';
import type { QueueEntry } from '../queue/queue.js';
import type { WriteRange } from '../store/store.js';
import type { CommandAssembler } from './command-assembler.js';
import { Confirms } from './confirms.js';
import type { Deliveries } from './deliveries.js';
import type { ChannelHost, ChannelStats, HostedChannel } from './host.js';
import { Publisher } from './publish.js';
import { Transaction, type SettleKind } from './transaction.js';

export class PublishModes {
  readonly #id: number;
  readonly #host: ChannelHost;
  /** The channel, as the connection's flush hooks know it. */
  readonly #channel: HostedChannel;
  readonly #deliveries: Deliveries;
  readonly #stats: ChannelStats;
  readonly #publisher: Publisher;
  #confirms: Confirms | null = null;
  #tx: Transaction | null = null;
  /** tx.commit waiting for the store: its write sequence. */
  #commitWaitSeq = 0;

  constructor(channel: HostedChannel, host: ChannelHost, deliveries: Deliveries) {
    this.#id = channel.id;
    this.#host = host;
    this.#channel = channel;
    this.#deliveries = deliveries;
    this.#stats = channel.stats;
    this.#publisher = new Publisher(channel.id, host);
  }

  get inConfirmMode(): boolean {
    return this.#confirms !== null;
  }

  get inTransaction(): boolean {
    return this.#tx !== null;
  }

  publish(m: BasicPublish, header: Buffer, body: Buffer, bodyBuffer: Buffer | null, assembler: CommandAssembler): void {
    const publisher = this.#publisher;
    const msg = publisher.accept(m, header, body, this.#deliveries.replyAddress, bodyBuffer);
    const x = publisher.exchange!;
    this.#stats.published++;
    if (this.#tx !== null) {
      this.#tx.publishes.push({ exchange: x, msg, mandatory: m.mandatory });
      return;
    }
    if (this.#confirms === null) {
      publisher.route(x, msg, m.mandatory, assembler);
      return;
    }
    const seq = this.#confirms.nextSeq();
    const store = this.#host.store;
    const before = store.writeSeq;
    const accepted = publisher.route(x, msg, m.mandatory, assembler);
    this.#confirms.settle(seq, store.writeSeq > before ? store.writeSeq : 0, store.durableSeq, !accepted);
    this.#host.wantsFlushHook(this.#channel);
  }

  /** Settles taken off the ledger: held by an open transaction (true), or for the caller to apply. */
  holdSettle(entries: QueueEntry[], kind: SettleKind): boolean {
    if (this.#tx === null) return false;
    this.#tx.settles.push({ entries, kind });
    return true;
  }

  selectConfirm(nowait: boolean): void {
    if (this.#tx !== null) throw new ChannelError('PRECONDITION_FAILED', 'cannot switch from tx to confirm mode');
    this.#confirms ??= new Confirms();
    if (!nowait) this.#send({ id: CONFIRM_SELECT_OK });
  }

  selectTx(): void {
    if (this.#confirms !== null) throw new ChannelError('PRECONDITION_FAILED', 'cannot switch from confirm to tx mode');
    this.#tx ??= new Transaction();
    this.#send({ id: TX_SELECT_OK });
  }

  commit(): void {
    const tx = this.#tx;
    if (tx === null) throw new ChannelError('PRECONDITION_FAILED', 'channel is not transactional');
    this.#tx = new Transaction();
    for (const p of tx.publishes) this.#publisher.route(p.exchange, p.msg, p.mandatory);
    for (const s of tx.settles) this.#deliveries.apply(s.entries, s.kind);
    const store = this.#host.store;
    if (store.writeSeq > store.durableSeq) {
      this.#commitWaitSeq = store.writeSeq;
      this.#host.wantsFlushHook(this.#channel);
    } else {
      this.#send({ id: TX_COMMIT_OK });
    }
  }

  rollback(): void {
    const tx = this.#tx;
    if (tx === null) throw new ChannelError('PRECONDITION_FAILED', 'channel is not transactional');
    this.#tx = new Transaction();
    for (const s of tx.settles) this.#deliveries.restore(s.entries);
    this.#send({ id: TX_ROLLBACK_OK });
  }

  /**
   * Writes the publisher acks and commit-ok that became due (the connection is about to flush,
   * or the store made more writes durable). Returns true while still waiting.
   */
  flushHook(durableSeq: number, failed: WriteRange | null): boolean {
    const confirms = this.#confirms;
    if (confirms !== null) {
      confirms.advance(durableSeq, failed);
      if (confirms.write(this.#host.writer, this.#id)) this.#host.scheduleFlush();
    }
    const commitSeq = this.#commitWaitSeq;
    if (commitSeq !== 0 && commitSeq <= durableSeq) {
      this.#commitWaitSeq = 0;
      if (failed !== null && commitSeq > failed.from && commitSeq <= failed.to) {
        this.#host.closeWithError(
          new ConnectionError('INTERNAL_ERROR', 'could not write the transaction to disk (is the disk full?); free space and retry'),
        );
        return false;
      }
      this.#send({ id: TX_COMMIT_OK });
    }
    return (confirms?.waiting ?? false) || this.#commitWaitSeq !== 0;
  }

  /** The channel is closing: acks of an uncommitted transaction never happened (those messages are unacked still). */
  release(): void {
    if (this.#tx !== null) for (const s of this.#tx.settles) this.#deliveries.restore(s.entries);
    this.#tx = null;
  }

  #send(m: Method): void {
    this.#host.writer.method(this.#id, m);
    this.#host.scheduleFlush();
  }
}
