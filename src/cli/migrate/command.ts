// `warren migrate`: copies a running RabbitMQ into a running warren. First the definitions
// (RabbitMQ's export through its management API, narrowed by definitions.ts, imported through
// warren's), then each queue's messages (move-queue.ts: get from RabbitMQ, publish to warren
// with confirms, ack on RabbitMQ after each confirm), with progress per queue. Rerunning it
// carries on with what is left; the state file (state.ts) keeps a killed run's last window of
// confirmed messages from being published twice.

import { Command, InvalidArgumentError, Option } from 'commander';
import { CliError, UsageError } from '../client.js';
import { DEFAULT_URL, examples, type CliIo } from '../command-kit.js';
import { MAX_DEFINITIONS_BYTES } from './limits.js';
// Only the type: run.ts itself is loaded when the command runs (below).
import type { MigrateFlags } from './run.js';

function wholeNumber(min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}.`);
    return n;
  };
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerMigrateCommand(program: Command, io: CliIo): void {
  program
    .command('migrate')
    .description('Copy a running RabbitMQ into a running warren: definitions (users with their password hashes, vhosts, permissions, policies, exchanges, queues, bindings), then every queue\'s messages, each acked on RabbitMQ only after warren confirmed it.')
    .requiredOption('--from-api <url>', "RabbitMQ's management API, e.g. http://admin:secret@rabbit:15672 (login: the URL's, else --from-amqp's, else guest)")
    .option('--from-amqp <url>', 'RabbitMQ over AMQP, e.g. amqp://admin:secret@rabbit:5672 (needed to move messages)')
    .addOption(new Option('--to <url>', "warren's HTTP API").env('WARREN_URL').default(DEFAULT_URL))
    .addOption(new Option('--user <name>', 'warren user (an administrator)').env('WARREN_USER').default('guest'))
    .addOption(new Option('--password <password>', "that user's password").env('WARREN_PASSWORD').default('guest'))
    .option('--to-amqp <url>', "warren over AMQP (default: --to's host, the AMQP port warren lists, --user and --password)")
    .addOption(new Option('--vhost <name>', 'only this vhost (repeat for more)').argParser(collect).default([], 'all'))
    .addOption(new Option('--queue <name>', 'move the messages of this queue only (repeat for more; definitions are still imported whole)').argParser(collect).default([], 'all'))
    .option('--definitions-only', 'import the definitions, move no messages')
    .option('--messages-only', 'move messages only (the definitions are already in warren)')
    .option('--window <n>', 'messages in flight at once (asked of RabbitMQ and not yet confirmed by warren)', wholeNumber(1, 65535), 500)
    .option('--state <file>', 'state file that lets a killed migration resume without publishing its last messages twice', 'warren-migrate-state.json')
    .option('--max-definitions-bytes <n>', "largest definitions document accepted from RabbitMQ", wholeNumber(1024, 2 ** 31 - 1), MAX_DEFINITIONS_BYTES)
    .option('--json', 'print the final report as JSON')
    .addHelpText(
      'after',
      `
Stop the applications first: messages published to RabbitMQ meanwhile are moved only if they
arrive before a queue is finished, and messages other consumers hold unacknowledged stay in
RabbitMQ. Rerun the same command to carry on after an interruption.
${examples(
  'warren migrate --from-api http://admin:secret@rabbit:15672 --from-amqp amqp://admin:secret@rabbit:5672',
  'warren migrate --from-api http://rabbit:15672 --from-amqp amqp://admin:secret@rabbit:5672 --to http://warren:15672 --user admin --password s3cret',
  'warren migrate --from-api http://rabbit:15672 --from-amqp amqp://admin:secret@rabbit --vhost orders --json',
)}`,
    )
    .action(async (f: MigrateFlags) => {
      if (f.definitionsOnly && f.messagesOnly) throw new UsageError('--definitions-only and --messages-only exclude each other');
      if (!f.definitionsOnly && f.fromAmqp === undefined) throw new UsageError('moving messages needs --from-amqp amqp://user:password@rabbit:5672 (or give --definitions-only)');
      // Loaded here, so that the other commands start without the codec.
      const { migrate } = await import('./run.js');
      const code = await migrate(f, io);
      if (code !== 0) throw new CliError('not everything was migrated (see above); rerun the same command to carry on', code);
    });
}

