// Public API for embedding: start a real wire-level broker in-process, e.g. in another
// project's tests.
//
//   import { startBroker } from 'warren';
//   const broker = await startBroker();          // 127.0.0.1, a free port, state in memory
//   const conn = await amqplib.connect(broker.url);
//   ...
//   await broker.close();

import { Broker } from './broker.js';
import { makeConfig, type BrokerConfig } from './config.js';
import { createLogger, silentLogger, type Logger } from './logger.js';
import { MemoryStore } from './store/memory-store.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import type { Store } from './store/store.js';

export { Broker } from './broker.js';
export type { BrokerConfig } from './config.js';
export { DEFAULT_CONFIG, makeConfig } from './config.js';

export interface StartOptions extends Partial<BrokerConfig> {
  /** A pino logger; by default the embedded broker logs nothing. */
  logger?: Logger;
  /** A store; by default state lives in memory (or in `dataDir` when one is given). */
  store?: Store;
}

export interface RunningBroker {
  /** amqp://guest:guest@host:port, ready for any AMQP 0-9-1 client. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly broker: Broker;
  close(): Promise<void>;
}

export async function startBroker(options: StartOptions = {}): Promise<RunningBroker> {
  const { logger, store, ...overrides } = options;
  const config = makeConfig({ host: '127.0.0.1', port: 0, dataDir: null, ...overrides });
  const log = logger ?? (options.logLevel ? createLogger(options.logLevel) : silentLogger);
  const broker = new Broker(config, store ?? (await openStore(config, log)), log);
  const address = await broker.listen();
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const user = config.users[0];
  const auth = user ? `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@` : '';
  return {
    url: `amqp://${auth}${host}:${address.port}`,
    host: address.address,
    port: address.port,
    broker,
    close: () => broker.close(),
  };
}

/**
 * The store a configuration asks for: SQLite in `dataDir`, or memory when there is none.
 * `createDataDir` creates a missing directory (the default location) instead of refusing it.
 */
export async function openStore(config: BrokerConfig, log: Logger, createDataDir = true): Promise<Store> {
  if (config.dataDir === null) return new MemoryStore();
  return SqliteStore.open(config.dataDir, log, { createDir: createDataDir, maxBytes: config.maxStoreBytes });
}
