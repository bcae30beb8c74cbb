// The broker: owns the store, the virtual hosts and users, and the open connections. Listeners
// sit at the edge: `listen()` accepts TCP sockets, `handle(duplex)` takes any stream (tests use
// in-process pairs). It batches output (one flush per connection per event-loop turn) and
// drives heartbeats from a single one-second tick.

import { createServer, type AddressInfo, type Server } from 'node:net';
import { hostname } from 'node:os';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { F, table, type FieldTable } from './codec/field-table.js';
import type { BrokerConfig } from './config.js';
import { Connection, type ConnectionContext } from './connection/connection.js';
import { VirtualHost } from './routing/vhost.js';
import type { Store } from './store/store.js';
import { VERSION } from './version.js';

export class Broker implements ConnectionContext {
  readonly config: BrokerConfig;
  readonly store: Store;
  readonly log: Logger;
  readonly serverProperties: FieldTable;
  readonly vhosts = new Map<string, VirtualHost>();
  readonly connections = new Set<Connection>();
  readonly startedAt = Date.now();
  readonly #users = new Map<string, string>();
  #nextConnectionId = 1;
  #server: Server | null = null;
  #dirty: Connection[] = [];
  #flushScheduled = false;
  readonly #ticker: NodeJS.Timeout;
  #closing = false;

  constructor(config: BrokerConfig, store: Store, log: Logger) {
    this.config = config;
    this.store = store;
    this.log = log;
    this.serverProperties = serverProperties();
    for (const u of config.users) this.#users.set(u.name, u.password);
    for (const v of config.vhosts) this.#addVhost(v);
    this.#restore();
    store.onDurable((durableSeq, failed) => {
      for (const c of this.connections) c.runFlushHooks(durableSeq, failed);
    });
    this.#ticker = setInterval(() => {
      for (const c of this.connections) c.tick();
    }, 1000);
    this.#ticker.unref();
  }

  // ---- ConnectionContext -----------------------------------------------------------------

  checkPassword(user: string, password: string): boolean {
    const expected = this.#users.get(user);
    return expected !== undefined && expected === password;
  }

  vhost(name: string): VirtualHost | undefined {
    return this.vhosts.get(name);
  }

  canAccessVhost(_user: string, vhost: string): boolean {
    return this.vhosts.has(vhost);
  }

  scheduleFlush(conn: Connection): void {
    this.#dirty.push(conn);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flushAll);
    }
  }

  connectionClosed(conn: Connection): void {
    this.connections.delete(conn);
  }

  readonly #flushAll = (): void => {
    this.#flushScheduled = false;
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const c of dirty) c.flush();
  };

  // ---- listeners -------------------------------------------------------------------------

  /** Serves one client over any duplex stream. */
  handle(socket: Duplex): Connection {
    const conn = new Connection(this.#nextConnectionId++, socket, this);
    this.connections.add(conn);
    if (this.#closing) conn.forceClose();
    return conn;
  }

  /** Listens for AMQP on the configured host and port (0 picks a free port). */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true, highWaterMark: 256 * 1024 }, (socket) => {
        this.log.debug({ remote: `${socket.remoteAddress}:${socket.remotePort}` }, 'accepted connection');
        this.handle(socket);
      });
      server.once('error', reject);
      server.listen(this.config.port, this.config.host, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.error({ err }, 'listener error'));
        this.#server = server;
        resolve(server.address() as AddressInfo);
      });
    });
  }

  /** Closes every connection with 320 CONNECTION_FORCED, stops listening, closes the store. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const server = this.#server;
    const stopped = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    for (const c of [...this.connections]) c.forceClose();
    const deadline = Date.now() + 5000;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await stopped;
    clearInterval(this.#ticker);
    await this.store.close();
  }

  // ---- state -----------------------------------------------------------------------------

  #addVhost(name: string): VirtualHost {
    let v = this.vhosts.get(name);
    if (v === undefined) {
      v = new VirtualHost(name, this.store);
      this.vhosts.set(name, v);
    }
    return v;
  }

  /** Durable exchanges, queues, bindings and messages from the store. */
  #restore(): void {
    const defs = this.store.loadDefinitions();
    for (const x of defs.exchanges) {
      this.#addVhost(x.vhost).restoreExchange(x.name, x.type, { durable: true, autoDelete: x.autoDelete, internal: x.internal, arguments: x.arguments });
    }
    let messages = 0;
    for (const r of defs.queues) {
      const q = this.#addVhost(r.vhost).restoreQueue(r.name, r.autoDelete, r.arguments);
      const entries = this.store.loadEntries(q);
      q.restore(entries);
      messages += entries.length;
    }
    for (const b of defs.bindings) this.vhosts.get(b.vhost)?.restoreBinding(b);
    if (defs.queues.length + defs.exchanges.length > 0) {
      this.log.info({ exchanges: defs.exchanges.length, queues: defs.queues.length, bindings: defs.bindings.length, messages }, 'restored durable state');
    }
  }
}

function serverProperties(): FieldTable {
  return table({
    capabilities: F.table(
      table({
        publisher_confirms: F.bool(true),
        exchange_exchange_bindings: F.bool(true),
        'basic.nack': F.bool(true),
        consumer_cancel_notify: F.bool(true),
        'connection.blocked': F.bool(true),
        authentication_failure_close: F.bool(true),
        per_consumer_qos: F.bool(true),
      }),
    ),
    cluster_name: F.str(`warren@${hostname()}`),
    copyright: F.str('Copyright (c) the warren authors'),
    information: F.str('Licensed under the MIT License'),
    platform: F.str(`Node.js ${process.version}`),
    product: F.str('warren'),
    version: F.str(VERSION),
  });
}
