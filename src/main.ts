#!/usr/bin/env node
// The `warren` command: `warren start` runs the daemon; the other commands talk to a running
// broker. Flags become one BrokerConfig here, at the edge; nothing below reads flags or env.

import { Command, InvalidArgumentError, Option } from 'commander';
import { Broker } from './broker.js';
import { DEFAULT_CONFIG, makeConfig } from './config.js';
import { openStore } from './index.js';
import { createLogger } from './logger.js';
import { VERSION } from './version.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535).');
  return n;
}

function bytes(value: string): number {
  const m = /^(\d+)([kmg]i?b?)?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('must be a size in bytes, e.g. 1073741824 or 1GiB.');
  const unit = (m[2] ?? '').toLowerCase()[0];
  const scale = unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1;
  return Number(m[1]) * scale;
}

function fail(message: string): never {
  process.stderr.write(`warren: ${message}\n`);
  process.exit(1);
}

const program = new Command()
  .name('warren')
  .description('An AMQP 0-9-1 message broker that RabbitMQ clients connect to unchanged.')
  .version(VERSION)
  .showHelpAfterError(false);

program
  .command('start')
  .description('Run the broker in the foreground; logs go to stdout as JSON lines.')
  .option('--host <address>', 'interface to listen on', DEFAULT_CONFIG.host)
  .option('--port <port>', 'AMQP port (0 picks a free one)', port, DEFAULT_CONFIG.port)
  .option('--data-dir <dir>', 'directory for the database', DEFAULT_CONFIG.dataDir ?? './data')
  .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default(DEFAULT_CONFIG.logLevel))
  .option('--max-db-size <bytes>', 'cap on the database size; past it persistent publishes are nacked (0: no cap)', bytes, 0)
  .addHelpText('after', '\nExamples:\n  warren start\n  warren start --port 5673 --data-dir /var/lib/warren --log-level debug')
  .action(async (opts: { host: string; port: number; dataDir: string; logLevel: (typeof LOG_LEVELS)[number]; maxDbSize: number }, cmd: Command) => {
    const config = makeConfig({ host: opts.host, port: opts.port, dataDir: opts.dataDir, logLevel: opts.logLevel, maxStoreBytes: opts.maxDbSize });
    const log = createLogger(config.logLevel);
    let broker: Broker;
    try {
      // The default data directory is created on first start; one named with --data-dir must exist.
      const createDataDir = cmd.getOptionValueSource('dataDir') === 'default';
      broker = new Broker(config, await openStore(config, log, createDataDir), log);
    } catch (e) {
      fail((e as Error).message);
    }
    try {
      const address = await broker.listen();
      log.info({ host: address.address, port: address.port, version: VERSION, dataDir: config.dataDir }, 'listening');
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EADDRINUSE') fail(`port ${config.port} on ${config.host} is already in use (another broker running?); pick another with --port`);
      if (err.code === 'EACCES') fail(`not allowed to listen on ${config.host}:${config.port}; use a port above 1024 or run with the needed privileges`);
      fail(`cannot listen on ${config.host}:${config.port}: ${err.message}`);
    }
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down: closing client connections');
      broker.close().then(
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
  });

program.parseAsync(process.argv).catch((e: unknown) => fail((e as Error).message));
