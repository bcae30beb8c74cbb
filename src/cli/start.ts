// `warren start`: builds the one BrokerConfig from flags, WARREN_* environment variables and an
// optional JSON config file (flags > environment > file > defaults), then runs the broker: the
// store, AMQP on --port, the management HTTP API and /metrics on --http-port. Logs go to
// stdout as JSON lines; SIGTERM/SIGINT close clients with 320 CONNECTION_FORCED and exit 0.

import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Command, Option } from 'commander';
import { AdminServer } from '../admin/server.js';
import { Broker } from '../broker.js';
import { CONFIG_OPTIONS, ConfigError, DEFAULT_CONFIG, flagName, printableConfig, resolveConfig, type BrokerConfig, type ResolvedConfig } from '../config.js';
import { openStore } from '../index.js';
import { createLogger, type Logger } from '../logger.js';
import { VERSION } from '../version.js';
import { CliError, EXIT_BROKER_ERROR } from './client.js';
import type { CliIo } from './commands.js';

/** Flag values as commander hands them over (camelCase of the flag). */
type StartFlags = Record<string, string | boolean | undefined>;

function defaultText(key: keyof BrokerConfig): string {
  const v = DEFAULT_CONFIG[key];
  if (v === null) return 'off';
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.map((x) => (typeof x === 'string' ? x : (x as { name: string }).name)).join(',');
  return String(v);
}

function camel(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Reads the config file named by --config or WARREN_CONFIG_FILE, if any. */
function readConfigFile(path: string | undefined): { path: string; text: string } | null {
  if (path === undefined || path === '') return null;
  try {
    return { path, text: readFileSync(path, 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : (e as Error).message;
    throw new ConfigError(`config file ${path} ${why}`);
  }
}

/** Resolves the configuration of `warren start` from its flags and the environment. */
export function startConfig(flags: StartFlags, env: NodeJS.ProcessEnv): ResolvedConfig {
  const values: Partial<Record<keyof BrokerConfig, string>> = {};
  for (const o of CONFIG_OPTIONS) {
    if (o.flag === null) continue;
    const v = flags[camel(flagName(o))];
    if (typeof v === 'string') values[o.key] = v;
  }
  const configPath = typeof flags['config'] === 'string' ? flags['config'] : env['WARREN_CONFIG_FILE'];
  return resolveConfig({ file: readConfigFile(configPath), env, flags: values });
}

export function registerStartCommand(program: Command, io: CliIo): void {
  const cmd = program
    .command('start')
    .description('Run the broker in the foreground; logs go to stdout as JSON lines.')
    .addOption(new Option('--config <file>', 'JSON config file (keys as in warren.example.json) [env WARREN_CONFIG_FILE]'))
    .option('--print-config', 'print the effective configuration (passwords masked) and exit');
  for (const o of CONFIG_OPTIONS) {
    if (o.flag === null) continue;
    cmd.addOption(new Option(o.flag, `${o.help} [env ${o.env}] (default: ${defaultText(o.key)})`));
  }
  cmd.addHelpText(
    'after',
    `
Settings come from flags, then WARREN_* environment variables, then the --config file, then
the defaults (flags win). Config-file keys are the option names in camelCase (port, httpPort,
dataDir, users, ...); see warren.example.json and the README.

Examples:
  $ warren start
  $ warren start --port 5673 --http-port 15673 --data-dir /var/lib/warren --log-level debug
  $ WARREN_PORT=5673 warren start --config /etc/warren/warren.json
  $ warren start --config warren.json --print-config`,
  );
  cmd.action(async (flags: StartFlags) => {
    let resolved: ResolvedConfig;
    try {
      resolved = startConfig(flags, process.env);
    } catch (e) {
      if (e instanceof ConfigError) throw new CliError(e.message, EXIT_BROKER_ERROR);
      throw e;
    }
    if (flags['printConfig']) {
      io.out(printableConfig(resolved.config) + '\n');
      return;
    }
    await runBroker(resolved);
  });
}

function fail(message: string): never {
  throw new CliError(message, EXIT_BROKER_ERROR);
}

function listenError(what: string, host: string, port: number, flag: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'EADDRINUSE') return `${what} port ${port} on ${host} is already in use (another broker running?); pick another with ${flag}`;
  if (err.code === 'EACCES') return `not allowed to listen on ${host}:${port}; use a port above 1024 or run with the needed privileges`;
  return `cannot listen on ${host}:${port}: ${err.message}`;
}

async function runBroker({ config, origin }: ResolvedConfig): Promise<void> {
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
