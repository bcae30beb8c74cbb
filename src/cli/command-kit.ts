// What every CLI command that talks to a running broker shares: where it writes, the flags
// that reach the HTTP API, the API client they make, and the examples block of --help. Its own
// module so the command files (commands.ts and the families it registers) import it, not each other.

import { Option, type Command } from 'commander';
import { ApiClient } from './client.js';

/** Where commands write; tests capture it. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
}

export interface ClientFlags {
  url: string;
  user: string;
  password: string;
  json?: boolean;
}

export const DEFAULT_URL = 'http://127.0.0.1:15672';

/** Adds the options every command that talks to the broker takes. */
export function withClientOptions(cmd: Command, json = true): Command {
  cmd
    .addOption(new Option('--url <url>', "base URL of the broker's HTTP API").env('WARREN_URL').default(DEFAULT_URL))
    .addOption(new Option('--user <name>', 'user for the HTTP API').env('WARREN_USER').default('guest'))
    .addOption(new Option('--password <password>', 'password for the HTTP API').env('WARREN_PASSWORD').default('guest'));
  if (json) cmd.option('--json', 'print JSON (for scripts)');
  return cmd;
}

export function client(f: ClientFlags): ApiClient {
  return new ApiClient({ url: f.url, user: f.user, password: f.password });
}

export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;
}
