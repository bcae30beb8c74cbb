// `warren start`: builds the one BrokerConfig from flags, WARREN_* environment variables and an
// optional JSON config file (flags > environment > file > defaults), prints it
// (--print-config) or hands it to run-broker.ts.

import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { CONFIG_OPTIONS, ConfigError, DEFAULT_CONFIG, flagName, printableConfig, resolveConfig, type BrokerConfig, type ResolvedConfig } from '../config.js';
import { CliError, EXIT_BROKER_ERROR } from './client.js';
import type { CliIo } from './command-kit.js';

/** Flag values as commander hands them over (camelCase of the flag). */
type StartFlags = Record<string, string | boolean | undefined>;

function defaultText(key: keyof BrokerConfig): string {
  const v = DEFAULT_CONFIG[key];
  if (v === null) return key === 'connectionMax' || key === 'consumerMaxPerChannel' ? 'infinity' : 'off';
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
    else if (v === true && o.bare !== undefined) values[o.key] = o.bare;
  }
  const configPath = typeof flags['config'] === 'string' ? flags['config'] : env['WARREN_CONFIG_FILE'];
  return resolveConfig({ file: readConfigFile(configPath), env, flags: values });
}

export function registerStartCommand(program: Command, io: CliIo): void {
  const cmd = program
    .command('start')
    .description('Run the broker in the foreground; logs go to stdout (readable on a terminal, JSON lines otherwise).')
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
    // Loaded here, so that the other commands start without the broker's modules.
    const { runBroker } = await import('./run-broker.js');
    await runBroker(resolved);
  });
}
