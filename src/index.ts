// Public API for embedding: start a real wire-level broker in-process, e.g. in another
// project's tests.
//
//   import { startBroker } from 'warren';
//   const broker = await startBroker();          // 127.0.0.1, a free port, state in memory
//   const conn = await amqplib.connect(broker.url);
//   ...
//   await broker.close();
//
// With `httpPort` (0: a free port) it also serves the management HTTP API and /metrics; with
// `tlsPort` (and `tlsCert`, `tlsKey`) AMQPS as well.

import { AdminServer } from './admin/server.js';
import { Broker, type BrokerHooks } from './broker.js';
import { makeConfig, type BrokerConfig } from './config.js';
import { createLogger, silentLogger, type Logger } from './logger.js';
import { MemoryStore } from './store/memory-store.js';
import { loadTlsCredentials } from './tls/credentials.js';
import type { Fence } from './store/postgres/apply.js';
import { PgStore } from './store/postgres/pg-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

export { AdminServer, type AdminOptions } from './admin/server.js';
export { Broker, type BrokerHooks } from './broker.js';
export type { BrokerConfig, ConfigOrigin, ResolvedConfig } from './config.js';
export { CONFIG_OPTIONS, ConfigError, DEFAULT_CONFIG, makeConfig, resolveConfig } from './config.js';

export interface StartOptions extends Partial<BrokerConfig> {
  /** A pino logger; by default the embedded broker logs nothing. */
  logger?: Logger;
  /** A store; by default state lives in memory (or in `dataDir` when one is given). */
  store?: Store;
  /** What to do with an error outside any connection (default: log it and carry on). */
  hooks?: BrokerHooks;
}

export interface RunningBroker {
  /** amqp://guest:guest@host:port, ready for any AMQP 0-9-1 client. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly broker: Broker;
  /** The management API's base URL (http://host:port), when it was asked for with `httpPort`. */
  readonly httpUrl: string | null;
  readonly httpPort: number | null;
  readonly admin: AdminServer | null;
  /** amqps://guest:guest@host:port, when `tlsPort` was given. */
  readonly tlsUrl: string | null;
  readonly tlsPort: number | null;
  close(): Promise<void>;
}

export async function startBroker(options: StartOptions = {}): Promise<RunningBroker> {
  const { logger, store, hooks, ...overrides } = options;
  const config = makeConfig({ host: '127.0.0.1', port: 0, dataDir: null, httpHost: '127.0.0.1', httpPort: null, ...overrides });
  const log = logger ?? (options.logLevel ? createLogger(options.logLevel) : silentLogger);
  // Read before anything opens, so bad files fail the start cleanly.
  const credentials = config.tlsPort !== null ? loadTlsCredentials(config) : null;
  const broker = new Broker(config, store ?? (await openStore(config, log)), log, hooks);
  const address = await broker.listen();
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const user = config.users[0];
  const auth = user ? `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@` : '';
  let tlsPort: number | null = null;
  if (credentials !== null) {
    try {
      tlsPort = (await broker.listenTls(credentials)).port;
    } catch (e) {
      await broker.close();
      throw e;
    }
  }
  let admin: AdminServer | null = null;
  let httpUrl: string | null = null;
  if (config.httpPort !== null) {
    admin = new AdminServer(broker, { host: config.httpHost, port: config.httpPort, log, statsInterval: config.statsInterval, amqp: address });
    try {
      const a = await admin.listen();
      httpUrl = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    } catch (e) {
      await broker.close();
      throw e;
    }
  }
  return {
    url: `amqp://${auth}${host}:${address.port}`,
    host: address.address,
    port: address.port,
    broker,
    httpUrl,
    httpPort: admin?.address?.port ?? null,
    admin,
    tlsUrl: tlsPort === null ? null : `amqps://${auth}${host}:${tlsPort}`,
    tlsPort,
    close: async () => {
      await admin?.close();
      await broker.close();
    },
  };
}

/**
 * The store a configuration asks for: PostgreSQL at `storeUrl`, SQLite in `dataDir`, or memory when there is neither.
 * `createDataDir` creates a missing directory (the default location) instead of refusing it.
 * `fence`: the lease a node writes under (PostgreSQL, nodes).
 */
export async function openStore(config: BrokerConfig, log: Logger, createDataDir = true, fatal?: (err: unknown, what: string) => void, fence: Fence | null = null): Promise<Store> {
  if (config.storeUrl !== null) return PgStore.open(config.storeUrl, log, { fence, leaseMs: config.leaseMs, ackWaitMs: config.storeAckWait, ...(fatal ? { fatal } : {}) });
  if (config.dataDir === null) return new MemoryStore();
  return SqliteStore.open(config.dataDir, log, { createDir: createDataDir, maxBytes: config.maxStoreBytes, ackWaitMs: config.storeAckWait, ...(fatal ? { fatal } : {}) });
}
