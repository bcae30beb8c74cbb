// Runs the broker `warren start` configured: the store, AMQP on --port (and AMQPS on
// --tls-port), the management HTTP API and /metrics on --http-port (and HTTPS on
// --https-port). Logs go to stdout as JSON lines, or readable ones on a terminal
// (--log-format) ("http listening", then "listening" with the ports); SIGTERM/SIGINT close
// clients with 320 CONNECTION_FORCED and exit 0 (an active node of several gives its lease up
// first, so a standby takes over at once); SIGHUP re-reads the TLS files. A failure to start is a CliError with one line saying what to do (exit 1). An error
// outside any connection's handling is logged at fatal with its stack and the process exits
// with EXIT_INTERNAL_ERROR, for the service manager to restart it: what is durable is safe on
// disk, and carrying on in an unknown state is not. Errors inside a connection stay there.

import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { AdminServer } from '../admin/server.js';
import { Broker } from '../broker.js';
import type { BrokerConfig, ResolvedConfig } from '../config.js';
import { openStore } from '../index.js';
import { Node } from '../nodes/node.js';
import { PgStore, redact, type WarmPgStore } from '../store/postgres/pg-store.js';
import type { Store } from '../store/store.js';
import { createLogger, type Logger } from '../logger.js';
import { chooseLogFormat, useColour } from '../log-pretty.js';
import { loadTlsCredentials, secureContextOptions, tlsServerOptions, TlsFileError, type TlsCredentials } from '../tls/credentials.js';
import { lowerOtherThreads } from '../util/thread-priority.js';
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



/** Exit code after an error outside any connection (sysexits' EX_SOFTWARE). */
export const EXIT_INTERNAL_ERROR = 70;

/** Logs `err` at fatal, with its stack, and ends the process (pino writes stdout synchronously). */
function die(log: Logger, err: unknown, msg: string, context: Record<string, string> = {}): never {
  log.fatal({ err, ...context }, `${msg}; exiting with code ${EXIT_INTERNAL_ERROR} so that the service manager restarts warren`);
  process.exit(EXIT_INTERNAL_ERROR);
}

export async function runBroker({ config, origin }: ResolvedConfig): Promise<void> {
  // V8 would let the old generation grow to four times what survived the last full collection.
  // A broker's live set is small but it churns through messages and socket buffers, so that
  // slack would be most of its footprint; config.heapGrowth trades it against collections
  // (figures in README "Under abuse").
  setFlagsFromString(`--heap-growing-percent=${config.heapGrowth}`);
  const stdoutIsTty = process.stdout.isTTY === true;
  const log = createLogger(config.logLevel, undefined, { format: chooseLogFormat(config.logFormat, stdoutIsTty), colour: useColour(stdoutIsTty, process.env) });
  // From the start: a stray error while starting up is just as fatal.
  process.on('uncaughtException', (err) => die(log, err, 'uncaught error outside any connection'));
  process.on('unhandledRejection', (err) => die(log, err, 'unhandled promise rejection outside any connection'));
  // V8's platform threads yield a shared core to the event loop (util/thread-priority.ts).
  const lowered = lowerOtherThreads();
  if (typeof lowered === 'string') log.debug({ reason: lowered }, 'helper threads keep the event loop\'s priority');
  // Before anything is opened: a bad certificate or key stops the start with one line.
  let credentials: TlsCredentials | null = null;
  if (config.tlsPort !== null || config.httpsPort !== null) {
    try {
      credentials = loadTlsCredentials(config);
    } catch (e) {
      if (e instanceof TlsFileError) fail(e.message);
      throw e;
    }
  }
  // Several nodes: serve as a standby (forwarding) until this node holds the lease, then open
  // the store under its epoch on the ports the standby listened on.
  let node: Node | null = null;
  let store: Store | null = null;
  // Takeover timings (ms since the lease was taken), logged once serving: where failover time goes.
  let tookAt = 0;
  const takeover: Record<string, number> = {};
  if (config.nodeName !== null) {
    if (config.storeUrl === null) fail('--node-name needs --store postgres://... (the nodes share that database)');
    const fatal = (err: unknown, what: string): never => die(log, err, what);
    let warm: WarmPgStore;
    try {
      node = await Node.start(config, config.storeUrl, log, fatal);
      // Standing by with the store's thread, connections and schema check already done.
      warm = await PgStore.warm(config.storeUrl, log, { leaseMs: config.leaseMs, fatal });
    } catch (e) {
      fail(`cannot reach the store at ${redact(config.storeUrl)}: ${(e as Error).message}`);
    }
    const won = await node.waitForLease();
    tookAt = performance.now();
    config = { ...config, port: won.port, httpPort: won.httpPort, tlsPort: won.tlsPort };
    try {
      store = await warm.activate(won.fence);
    } catch (e) {
      fail((e as Error).message);
    }
    takeover['storeReadyMs'] = Math.round(performance.now() - tookAt);
  }
  let broker: Broker;
  try {
    // The default data directory is created on first start; one given explicitly must exist.
    broker = new Broker(config, store ?? (await openStore(config, log, origin.dataDir === 'default', (err, what) => die(log, err, what))), log, {
      fatal: (err, context) => die(log, err, 'internal error in a queue or exchange timer', context),
    });
  } catch (e) {
    fail((e as Error).message);
  }
  if (node !== null) takeover['loadedMs'] = Math.round(performance.now() - tookAt);
  let address: AddressInfo;
  try {
    address = await broker.listen();
  } catch (e) {
    await broker.close();
    fail(listenError('AMQP', config.host, config.port, '--port', e));
  }
  let tlsAddress: AddressInfo | null = null;
  if (credentials !== null && config.tlsPort !== null) {
    try {
      tlsAddress = await broker.listenTls(credentials);
    } catch (e) {
      await broker.close();
      fail(listenError('AMQPS', config.host, config.tlsPort, '--tls-port', e));
    }
  }
  if (node !== null) takeover['listeningMs'] = Math.round(performance.now() - tookAt);
  if (node !== null) broker.nodes = node;
  const admin = await startAdmin(broker, config, origin.httpPort === 'default', address, tlsAddress, credentials, log);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: closing client connections');
    Promise.resolve(admin?.close())
      .then(() => broker.close())
      // Several nodes: with the store closed (nothing more to write), hand the lease over now.
      .then(() => node?.release())
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
  // SIGHUP: new TLS connections get the files as they are now; open ones keep their session.
  // Bad files leave the running credentials in place.
  process.on('SIGHUP', () => {
    if (credentials === null) {
      log.info('SIGHUP: no TLS listener, nothing to reload');
      return;
    }
    try {
      const next = loadTlsCredentials(config);
      broker.reloadTls(next);
      admin?.reloadTls(secureContextOptions(next));
      credentials = next;
      log.info({ serial: next.serial, subject: next.subject, validTo: next.validTo }, 'TLS certificate reloaded');
    } catch (err) {
      log.error({ err: (err as Error).message }, 'TLS reload failed; keeping the certificate in use');
    }
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Announced once the signal handlers are in place: whoever waits for this line may stop us.
  log.info(
    { host: address.address, port: address.port, tlsPort: tlsAddress?.port ?? null, httpPort: admin?.address?.port ?? null, httpsPort: admin?.httpsAddress?.port ?? null, version: VERSION, dataDir: config.dataDir, ...(node !== null ? { role: 'active', node: node.name, epoch: node.epoch, takeover } : {}) },
    'listening',
  );
  if (credentials !== null) log.info({ serial: credentials.serial, subject: credentials.subject, validTo: credentials.validTo }, 'TLS certificate loaded');
}

/**
 * Starts the HTTP API. When its port is only the default and is taken (say, by another broker
 * on this machine), AMQP keeps serving without it and the log says so; a port that was asked
 * for must be had.
 */
async function startAdmin(
  broker: Broker,
  config: BrokerConfig,
  portIsDefault: boolean,
  amqp: AddressInfo,
  amqps: AddressInfo | null,
  credentials: TlsCredentials | null,
  log: Logger,
): Promise<AdminServer | null> {
  if (config.httpPort === null && config.httpsPort === null) return null;
  const admin = new AdminServer(broker, { host: config.httpHost, port: config.httpPort ?? 0, log, statsInterval: config.statsInterval, amqp, amqps });
  if (credentials !== null && config.httpsPort !== null) {
    try {
      const a = await admin.listenHttps(config.httpHost, config.httpsPort, tlsServerOptions(config, credentials));
      log.info({ host: a.address, port: a.port }, 'https listening');
    } catch (e) {
      await admin.close().catch(() => undefined);
      await broker.close();
      fail(listenError('HTTPS API', config.httpHost, config.httpsPort, '--https-port', e));
    }
  }
  if (config.httpPort === null) return admin;
  try {
    const a = await admin.listen();
    log.info({ host: a.address, port: a.port }, 'http listening');
    return admin;
  } catch (e) {
    const message = listenError('HTTP API', config.httpHost, config.httpPort, '--http-port', e);
    if (portIsDefault && (e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      log.warn(`${message}, or turn it off with --http-port off; AMQP is served without the plain HTTP API`);
      if (admin.httpsAddress !== null) return admin;
      await admin.close().catch(() => undefined);
      return null;
    }
    await admin.close().catch(() => undefined);
    await broker.close();
    fail(message);
  }
}
