// Runs the broker `warren start` configured: the store, AMQP on --port, the management HTTP
// API and /metrics on --http-port. Logs go to stdout as JSON lines ("http listening", then
// "listening" with both ports); SIGTERM/SIGINT close clients with 320 CONNECTION_FORCED and
// exit 0. A failure to start is a CliError with one line saying what to do.

import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { AdminServer } from '../admin/server.js';
import { Broker } from '../broker.js';
import type { BrokerConfig, ResolvedConfig } from '../config.js';
import { openStore } from '../index.js';
import { createLogger, type Logger } from '../logger.js';
import { VERSION } from '../version.js';
import { CliError, EXIT_BROKER_ERROR } from './client.js';

function fail(message: string): never {
  throw new CliError(message, EXIT_BROKER_ERROR);
}

function listenError(what: string, host: string, port: number, flag: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'EADDRINUSE') return `${what} port ${port} on ${host} is already in use (another broker running?); pick another with ${flag}`;
  if (err.code === 'EACCES') return `not allowed to listen on ${host}:${port}; use a port above 1024 or run with the needed privileges`;
  return `cannot listen on ${host}:${port}: ${err.message}`;
}

/**
 * V8 lets the old generation grow to up to four times what survived the last full GC before
 * collecting again. A broker's live set is small (a long backlog is kept as numbers) but it
 * churns through message objects, so that slack would be most of its footprint. Doubling at
 * most keeps the 1M-message backlog benchmark near 250 MB instead of 330 MB; tighter (30%)
 * got it to 230 MB but cost 10% of persistent throughput and raised confirm-latency p99.
 * Only the daemon sets this; an embedding process keeps its own GC tuning.
 */
const HEAP_GROWING_PERCENT = 100;

export async function runBroker({ config, origin }: ResolvedConfig): Promise<void> {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const log = createLogger(config.logLevel);
  let broker: Broker;
  try {
    // The default data directory is created on first start; one given explicitly must exist.
    broker = new Broker(config, await openStore(config, log, origin.dataDir === 'default'), log);
  } catch (e) {
    fail((e as Error).message);
  }
  let address: AddressInfo;
  try {
    address = await broker.listen();
  } catch (e) {
    await broker.close();
    fail(listenError('AMQP', config.host, config.port, '--port', e));
  }
  const admin = await startAdmin(broker, config, origin.httpPort === 'default', address, log);
  log.info({ host: address.address, port: address.port, httpPort: admin?.address?.port ?? null, version: VERSION, dataDir: config.dataDir }, 'listening');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: closing client connections');
    Promise.resolve(admin?.close())
      .then(() => broker.close())
      .then(
        () => {
          log.info('stopped');
          process.exit(0);
        },
        (err: unknown) => {
          log.error({ err }, 'error while shutting down');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Last line of defence: connection and timer work is guarded where it starts, so reaching
  // here is a bug outside any connection. Log it and keep serving the others.
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught error outside any connection; warren keeps running'));
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection; warren keeps running'));
}

/**
 * Starts the HTTP API. When its port is only the default and is taken (say, by another broker
 * on this machine), AMQP keeps serving without it and the log says so; a port that was asked
 * for must be had.
 */
async function startAdmin(broker: Broker, config: BrokerConfig, portIsDefault: boolean, amqp: AddressInfo, log: Logger): Promise<AdminServer | null> {
  if (config.httpPort === null) return null;
  const admin = new AdminServer(broker, { host: config.httpHost, port: config.httpPort, log, statsInterval: config.statsInterval, amqp });
  try {
    const a = await admin.listen();
    log.info({ host: a.address, port: a.port }, 'http listening');
    return admin;
  } catch (e) {
    await admin.close().catch(() => undefined);
    const message = listenError('HTTP API', config.httpHost, config.httpPort, '--http-port', e);
    if (portIsDefault && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      log.warn(`${message}, or turn it off with --http-port off; AMQP is served without the HTTP API`);
      return null;
    }
    await broker.close();
    fail(message);
  }
}
