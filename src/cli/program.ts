// The warren program: `start` and the commands that talk to a running broker, commander's
// usage errors mapped to exit code 2, CliErrors to their one-line message and exit code.

import { Command, CommanderError } from 'commander';
import { CliError, EXIT_USAGE } from './client.js';
import type { CliIo } from './command-kit.js';
import { registerCliCommands } from './commands.js';
import { registerMigrateCommand } from './migrate/command.js';
import { registerStartCommand } from './start.js';
import { VERSION } from '../version.js';

/** Builds the program; commands write through `io`. */
export function buildProgram(io: CliIo): Command {
  const program = new Command()
    .name('warren')
    .description('An AMQP 0-9-1 message broker that RabbitMQ clients connect to unchanged.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .showHelpAfterError('(add --help for usage and examples)')
    .addHelpText(
      'after',
      `
Exit codes: 0 done, 1 the broker refused the request or failed (or a bad configuration at
start), 2 usage error, 3 no broker answering at --url.

Examples:
  $ warren start
  $ warren status
  $ warren queues name messages consumers
  $ warren publish --routing-key orders --payload hello
  $ warren export definitions.json`,
    );
  registerStartCommand(program, io);
  registerCliCommands(program, io);
  registerMigrateCommand(program, io);
  return program;
}

/** Runs the CLI; resolves with the exit code (a started broker keeps running after it resolves). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE;
    if (e instanceof CliError) {
      io.err(`warren: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}

/** Standard input and output of the process. */
export const processIo: CliIo = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

