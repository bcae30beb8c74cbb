// The broker: owns the store, the virtual hosts and users, and the open connections. Listeners
// sit at the edge: `listen()` accepts TCP sockets, `listenTls()` TLS ones (AMQPS), and
// `handle(duplex)` takes any stream (tests use in-process pairs). It batches output (one flush per connection per event-loop turn) and
// drives handshake deadlines, consumer timeouts and alarms from a single one-second tick
// (heartbeats keep RabbitMQ's sub-second timing with two timers per connection, liveness.ts).

import { createServer, type AddressInfo, type Server } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { statfsSync } from 'node:fs';
import { hostname, totalmem } from 'node:os';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { AccessControl, type PermissionKind } from './auth/access.js';
import { Limits } from './auth/limits.js';
import { F, table, type FieldTable } from './codec/field-table.js';
import type { BrokerConfig } from './config.js';
import { Connection, type ConnectionContext } from './connection/connection.js';
import { storeFlow } from './connection/store-flow.js';
import { ReadBuffers } from './connection/read-buffers.js';
import { withOwnReadBuffers } from './util/read-socket.js';
import { listenHost } from './util/address.js';
import { ConnectionError } from './errors.js';
import { VirtualHost, type VhostEvents } from './routing/vhost.js';
import { Policies } from './routing/policies.js';
import { peerCertificate, secureContextOptions, tlsServerOptions, type PeerCertificate, type TlsCredentials } from './tls/credentials.js';
import type { Definitions, Store } from './store/store.js';
import type { NodeView } from './nodes/node.js';

/** What the API and metrics read of the nodes (nodes/node.ts). */
export interface NodesView {
  readonly name: string;
  readonly epoch: number;
  view(): Promise<NodeView[]>;
  /** The view as last read (every second), for synchronous readers such as /metrics. */
  lastView(): readonly NodeView[];
}
import { StreamCoordinator } from './stream/coordinator.js';
import { StreamEnv } from './stream/env.js';
import { StreamReaders } from './stream/readers.js';
import { WriteJoin } from './stream/write-join.js';
import { tickClock } from './util/clock.js';
import { VERSION } from './version.js';

/** Output a socket takes before write() says to wait for 'drain' (and its read-side mark). */
const SOCKET_HIGH_WATER_MARK = 256 * 1024;

export interface BrokerHooks {
  /**
   * An error in work no connection started (queue and delayed-exchange timers): its state is
   * unknown now. `warren start` logs it at fatal and exits (cli/run-broker.ts); without this
   * hook (embedding) it is logged as an error and the broker carries on.
   */
  fatal?(err: unknown, context: Record<string, string>): void;
}

export class Broker implements ConnectionContext {
  readonly config: BrokerConfig;
  /** The store, joined with the streams' fsyncs into one write sequence (see WriteJoin). */
  readonly store: Store;
  /** Streams' directory, write sequence and hooks. */
  readonly streams: StreamEnv;
  /** Several nodes on one PostgreSQL store (--node-name): this node and the others; null: a single node. */
  nodes: NodesView | null = null;
  /** Named stream readers and consumer groups (the streams' hooks). */
  readonly coordinator: StreamCoordinator;
  readonly log: Logger;
  readonly serverProperties: FieldTable;
  readonly vhosts = new Map<string, VirtualHost>();
  readonly connections = new Set<Connection>();
  readonly startedAt = Date.now();
  readonly access: AccessControl;
  /** Vhost and user limits (max-connections, max-queues, max-channels). */
  readonly limits: Limits;
  /** Policies and operator policies, per vhost. */
  readonly policies: Policies;
  readonly vhostInfo = new Map<string, { description: string; tags: readonly string[] }>();
  /** Counts of connections that have closed, and of their channels (for broker-wide totals). */
  readonly closedConnectionStats = { connections: 0, channels: 0, published: 0, delivered: 0, acked: 0, recvOct: 0, sendOct: 0 };
  #nextConnectionId = 1;
  #server: Server | null = null;
  #tlsServer: TlsServer | null = null;
  #dirty: Connection[] = [];
  /** Connections that used up their input slice this turn (connection/input-slice.ts). */
  #yielded: Connection[] = [];
  #flushScheduled = false;
  readonly #ticker: NodeJS.Timeout;
  #closing = false;
  readonly #hooks: BrokerHooks;

  constructor(config: BrokerConfig, store: Store, log: Logger, hooks: BrokerHooks = {}) {
    this.config = config;
    const joined = new WriteJoin(store);
    this.streams = new StreamEnv(config.dataDir, joined);
    joined.beforeClose = async () => this.streams.closeAll();
    this.store = joined;
    storeFlow(joined, config.storeWriteBuffer); // publishers pause while this much is unwritten
    this.log = log;
    this.coordinator = new StreamCoordinator(new StreamReaders(joined), {
      vhost: (name) => this.vhosts.get(name),
      log: (event, fields) => log.info(fields, event),
    });
    this.coordinator.readers.restore(store.loadReaderOffsets());
    this.streams.hooks = this.coordinator;
    this.#hooks = hooks;
    this.serverProperties = serverProperties();
    const defs = store.loadDefinitions();
    this.limits = new Limits(store, defs.limits);
    this.policies = new Policies(store, this.vhosts);
    this.access = new AccessControl(store, defs.users, defs.permissions, config.loopbackUsers, {
      accessRevoked: (user, vhost) => {
        // A deleted user's limits go with it, as in RabbitMQ.
        if (vhost === null) this.limits.replace('user', user, {});
        this.#closeConnectionsOf(user, vhost);
      },
    });
    for (const { record, error } of this.access.unusablePermissions) {
      log.warn({ user: record.user, vhost: record.vhost, error }, 'stored permission patterns are not valid for the linear-time engine; they grant nothing until set again');
    }
    this.#restore(defs);
    const swept = this.streams.sweep();
    if (swept.length > 0) log.info({ folders: swept }, 'removed stream folders left by a crash (deleted streams)');
    this.store.onDurable((durableSeq, failed) => {
      for (const c of this.connections) c.guard(() => c.runFlushHooks(durableSeq, failed));
    });
    this.#ticker = setInterval(() => {
      const now = tickClock();
      try {
        this.#checkAlarms();
      } catch (err) {
        this.log.error({ err }, 'checking resource alarms failed');
      }
      for (const c of this.connections) c.guard(() => c.tick(now));
    }, 1000);
    this.#ticker.unref();
  }

  // ---- ConnectionContext -----------------------------------------------------------------

  checkPassword(user: string, password: string): boolean {
    return this.access.checkPassword(user, password);
  }

  userExists(user: string): boolean {
    return this.access.user(user) !== undefined;
  }

  mayLogInFrom(user: string, remoteAddress: string): boolean {
    return !this.access.loopbackUsers.has(user) || isLoopback(remoteAddress);
  }

  vhost(name: string): VirtualHost | undefined {
    return this.vhosts.get(name);
  }

  canAccessVhost(user: string, vhost: string): boolean {
    return this.vhosts.has(vhost) && this.access.canAccessVhost(user, vhost);
  }

  permits(user: string, vhost: string, kind: PermissionKind, name: string): boolean {
    return this.access.permits(user, vhost, kind, name);
  }

  /**
   * connection.open: the broker-wide cap, then the vhost's and the user's max-connections, in
   * RabbitMQ's order and with its texts. Counted only when a limit is set; the connection
   * asking is not open yet, so it is not among those counted.
   */
  admitConnection(user: string, vhost: string): void {
    const cap = this.config.connectionMax;
    if (cap !== null && this.#countOpen(() => true) >= cap) {
      throw new ConnectionError('NOT_ALLOWED', `connection refused: node connection limit (${cap}) is reached`);
    }
    const perVhost = this.limits.limit('vhost', vhost, 'max-connections');
    if (perVhost !== null && this.#countOpen((c) => c.vhostName === vhost) >= perVhost) {
      throw new ConnectionError('NOT_ALLOWED', `access to vhost '${vhost}' refused for user '${user}': connection limit (${perVhost}) is reached`);
    }
    const perUser = this.limits.limit('user', user, 'max-connections');
    if (perUser !== null && this.#countOpen((c) => c.username === user) >= perUser) {
      throw new ConnectionError('NOT_ALLOWED', `connection refused for user '${user}': user connection limit (${perUser}) is reached`);
    }
  }

  /** channel.open: the user's max-channels, over all of the user's connections. */
  admitChannel(conn: Connection): void {
    const user = conn.username;
    const max = this.limits.limit('user', user, 'max-channels');
    if (max === null) return;
    let open = 0;
    // A connection being closed has lost its channels already, whatever its socket is doing.
    for (const c of this.connections) if (c.isOpen && c.username === user) open += c.channels.size;
    if (open >= max) {
      throw new ConnectionError('NOT_ALLOWED', `number of channels opened for user '${user}' has reached the maximum allowed user limit of (${max})`);
    }
  }

  #countOpen(which: (c: Connection) => boolean): number {
    let n = 0;
    for (const c of this.connections) if (c.isOpen && which(c)) n++;
    return n;
  }

  get permissionEpoch(): number {
    return this.access.epoch;
  }

  scheduleFlush(conn: Connection): void {
    this.#dirty.push(conn);
    this.#scheduleTurnEnd();
  }

  yieldInput(conn: Connection): void {
    this.#yielded.push(conn);
    this.#scheduleTurnEnd();
  }

  #scheduleTurnEnd(): void {
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flushAll);
    }
  }

  connectionClosed(conn: Connection): void {
    if (!this.connections.delete(conn)) return;
    const t = this.closedConnectionStats;
    const c = conn.closedChannelStats;
    t.connections++;
    t.channels += c.channels;
    t.published += c.published;
    t.delivered += c.delivered;
    t.acked += c.acked;
    t.recvOct += conn.stats.recvOct;
    t.sendOct += conn.stats.sendOct;
  }

  readonly #flushAll = (): void => {
    this.#flushScheduled = false;
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const c of dirty) c.guard(() => c.flush());
    // Then the connections that yielded read their next slice, in the order they yielded; what
    // they write goes out at the end of the next turn, after other clients were read again.
    const yielded = this.#yielded;
    if (yielded.length === 0) return;
    this.#yielded = [];
    for (const c of yielded) c.guard(() => c.resumeAfterYield());
  };

  // ---- listeners -------------------------------------------------------------------------

  /**
   * Serves one client over any duplex stream; `tls` for a stream that came through TLS; `reads`
   * when the stream reads into those buffers and hands each read to Connection.receive.
   */
  handle(socket: Duplex, tls: { readonly peer: PeerCertificate | null } | null = null, reads: ReadBuffers | null = null): Connection {
    const conn = new Connection(this.#nextConnectionId++, socket, this, tls, reads);
    this.connections.add(conn);
    if (this.#closing) conn.forceClose();
    return conn;
  }

  /** Listens for AMQP on the configured host and port (0 picks a free port). */
  listen(): Promise<AddressInfo> {
    // Paused on connect: the socket is re-made to read into the connection's own buffers first.
    const server = createServer({ noDelay: true, highWaterMark: SOCKET_HIGH_WATER_MARK, pauseOnConnect: true }, (accepted) => {
      this.log.debug({ remote: `${accepted.remoteAddress}:${accepted.remotePort}` }, 'accepted connection');
      const reads = new ReadBuffers();
      let conn: Connection | null = null;
      const socket = withOwnReadBuffers(accepted, reads, (chunk, ab) => conn?.receive(chunk, ab), SOCKET_HIGH_WATER_MARK);
      conn = this.handle(socket, null, socket === accepted ? null : reads);
    });
    this.#server = server;
    return this.#bind(server, this.config.port, 'listener');
  }

  /**
   * Listens for AMQPS on the configured host and TLS port with these credentials. A connection
   * reaches the AMQP code only after its handshake; a client certificate that does not verify
   * is refused there (see tlsServerOptions), one that does is the identity for EXTERNAL.
   */
  listenTls(credentials: TlsCredentials): Promise<AddressInfo> {
    const server = createTlsServer({ ...tlsServerOptions(this.config, credentials), noDelay: true, highWaterMark: SOCKET_HIGH_WATER_MARK }, (socket) => {
      const remote = `${socket.remoteAddress}:${socket.remotePort}`;
      const peer = peerCertificate(socket);
      if (peer !== null && !peer.authorized) {
        this.log.warn({ remote, reason: peer.authorizationError, cn: peer.commonName }, 'TLS client certificate refused: it does not verify against --tls-ca; closing');
        socket.destroy();
        return;
      }
      this.log.debug({ remote, protocol: socket.getProtocol(), cn: peer?.commonName ?? null }, 'accepted TLS connection');
      this.handle(socket, { peer });
    });
    // Failed handshakes (plain AMQP on the TLS port, an unknown CA, a timeout) never become connections.
    server.on('tlsClientError', (err, socket: TLSSocket) => {
      this.log.debug({ err: err.message, remote: `${socket.remoteAddress}:${socket.remotePort}` }, 'TLS handshake failed');
    });
    this.#tlsServer = server;
    return this.#bind(server, this.config.tlsPort ?? 0, 'TLS listener');
  }

  /** New TLS connections use these credentials; open ones keep the session they have. */
  reloadTls(credentials: TlsCredentials): void {
    this.#tlsServer?.setSecureContext(secureContextOptions(credentials));
  }

  #bind(server: Server, port: number, what: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, listenHost(this.config.host), () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.error({ err }, `${what} error`));
        resolve(server.address() as AddressInfo);
      });
    });
  }

  /** Closes every connection with 320 CONNECTION_FORCED, stops listening, closes the store. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const servers = [this.#server, this.#tlsServer].filter((x): x is Server => x !== null);
    const stopped = Promise.all(servers.map((server) => new Promise<void>((r) => server.close(() => r()))));
    for (const c of [...this.connections]) c.forceClose();
    const deadline = Date.now() + 5000;
    while (this.connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await stopped;
    clearInterval(this.#ticker);
    for (const v of this.vhosts.values()) v.stopScheduling();
    this.coordinator.readers.flush();
    await this.store.close();
  }

  // ---- resource alarms -------------------------------------------------------------------

  readonly #vhostEvents: VhostEvents = {
    error: (err, context) => {
      if (this.#hooks.fatal) this.#hooks.fatal(err, context);
      else this.log.error({ err, ...context }, 'internal error in a queue timer; the broker carries on');
    },
    queueLimit: (vhost) => this.limits.limit('vhost', vhost, 'max-queues'),
    streams: () => this.streams,
    queueDeleted: (q) => this.coordinator.readers.dropStream(q.vhost, q.name),
  };
  readonly alarms = new Set<string>();
  #diskCheckCountdown = 0;
  /** Alarms set or cleared by hand; the measurements leave these alone. */
  readonly #overrides = new Map<string, boolean>();

  /** Memory (RSS) against the high watermark each second; free disk every 10 seconds. */
  #checkAlarms(): void {
    const wm = this.config.memoryHighWatermark;
    const limit = wm <= 1 ? wm * totalmem() : wm;
    this.#setAlarm('memory', process.memoryUsage.rss() > limit, `memory use is over the high watermark (${Math.round(limit / 1048576)} MiB); raise --memory-high-watermark or let consumers drain queues`);
    if (this.config.dataDir !== null && --this.#diskCheckCountdown <= 0) {
      this.#diskCheckCountdown = 10;
      try {
        const st = statfsSync(this.config.dataDir);
        const free = st.bavail * st.bsize;
        this.#setAlarm('disk', free < this.config.diskFreeLimit, `free disk space (${Math.round(free / 1048576)} MiB) is below the limit (${Math.round(this.config.diskFreeLimit / 1048576)} MiB); free some space or lower --disk-free-limit`);
      } catch {
        // The data directory is the store's business; an unreadable one shows up there.
      }
    }
  }

  #setAlarm(kind: string, measured: boolean, why: string): void {
    const on = this.#overrides.get(kind) ?? measured;
    if (on === this.alarms.has(kind)) return;
    if (on) {
      this.alarms.add(kind);
      this.log.warn({ alarm: kind }, `${kind} alarm set: ${why}. Publishing connections are blocked until it clears`);
    } else {
      this.alarms.delete(kind);
      this.log.info({ alarm: kind }, `${kind} alarm cleared`);
      if (this.alarms.size === 0) for (const c of this.connections) c.unblockAfterAlarm();
    }
  }

  /** Forces an alarm on or off (tests, operators); null hands it back to the measurements. */
  overrideAlarm(kind: 'memory' | 'disk', on: boolean | null): void {
    if (on === null) this.#overrides.delete(kind);
    else this.#overrides.set(kind, on);
    this.#setAlarm(kind, on ?? false, 'set by hand');
  }

  // ---- virtual hosts ---------------------------------------------------------------------

  /** Creates a virtual host (and stores it); returns the existing one if it is there already. */
  addVhost(name: string, description = '', tags: readonly string[] = []): VirtualHost {
    let v = this.vhosts.get(name);
    if (v === undefined) {
      v = new VirtualHost(name, this.store, this.#vhostEvents);
      this.vhosts.set(name, v);
    }
    this.vhostInfo.set(name, { description, tags });
    this.store.saveVhost({ name, description, tags });
    return v;
  }

  /** Deletes a virtual host with everything in it; its connections are closed. */
  deleteVhost(name: string): boolean {
    const v = this.vhosts.get(name);
    if (v === undefined) return false;
    for (const c of [...this.connections]) {
      if (c.vhostName === name) c.closeWithError(new ConnectionError('CONNECTION_FORCED', `vhost '${name}' is deleted`));
    }
    for (const q of [...v.queues.values()]) v.removeQueue(q);
    for (const x of [...v.exchanges.values()]) if (!x.name.startsWith('amq.')) v.deleteExchange(x.name, false);
    this.policies.forgetVhost(name);
    this.vhosts.delete(name);
    this.vhostInfo.delete(name);
    this.access.forgetVhost(name);
    this.limits.replace('vhost', name, {});
    this.store.deleteVhost(name);
    return true;
  }

  #closeConnectionsOf(user: string, vhost: string | null): void {
    for (const c of [...this.connections]) {
      if (c.username === user && (vhost === null || c.vhostName === vhost)) {
        c.closeWithError(new ConnectionError('CONNECTION_FORCED', `user '${user}' was deleted or lost access to vhost '${c.vhostName}'`));
      }
    }
  }

  /** Durable state from the store; on first start (nothing stored), the configured vhosts and users. */
  #restore(defs: Definitions): void {
    const firstStart = defs.vhosts.length === 0 && defs.users.length === 0;
    if (firstStart) {
      for (const v of this.config.vhosts) this.addVhost(v);
      for (const u of this.config.users) {
        this.access.putUser(u.name, { password: u.password }, u.tags);
        for (const v of this.config.vhosts) this.access.setPermissions({ user: u.name, vhost: v, configure: '.*', write: '.*', read: '.*' });
      }
    }
    for (const v of defs.vhosts) {
      this.vhosts.set(v.name, new VirtualHost(v.name, this.store, this.#vhostEvents));
      this.vhostInfo.set(v.name, { description: v.description, tags: v.tags });
    }
    this.policies.restore(defs.policies);
    for (const x of defs.exchanges) {
      this.vhosts.get(x.vhost)?.restoreExchange(x.name, x.type, { durable: true, autoDelete: x.autoDelete, internal: x.internal, arguments: x.arguments });
    }
    let messages = 0;
    for (const r of defs.queues) {
      const v = this.vhosts.get(r.vhost);
      if (v === undefined) continue;
      const q = v.restoreQueue(r.name, r.autoDelete, r.arguments);
      q.restore(this.store.loadEntries(q));
      messages += q.messageCount;
    }
    for (const b of defs.bindings) this.vhosts.get(b.vhost)?.restoreBinding(b);
    // Delayed exchanges last: messages due during the downtime are routed with bindings in place.
    let delayed = 0;
    for (const v of this.vhosts.values()) delayed += v.restoreScheduled();
    if (defs.queues.length + defs.exchanges.length > 0) {
      this.log.info({ exchanges: defs.exchanges.length, queues: defs.queues.length, bindings: defs.bindings.length, messages, delayed }, 'restored durable state');
    }
  }
}

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6; in-process streams count as local. */
export function isLoopback(address: string): boolean {
  return address === 'local' || address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** connection.start's server properties; capabilities in RabbitMQ 3.10's order (clients compare bytes in tests). */
function serverProperties(): FieldTable {
  return table({
    capabilities: F.table(
      table({
        publisher_confirms: F.bool(true),
        exchange_exchange_bindings: F.bool(true),
        'basic.nack': F.bool(true),
        consumer_cancel_notify: F.bool(true),
        'connection.blocked': F.bool(true),
        consumer_priorities: F.bool(true),
        authentication_failure_close: F.bool(true),
        per_consumer_qos: F.bool(true),
        direct_reply_to: F.bool(true),
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
