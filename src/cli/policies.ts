// `warren policies` and `warren operator-policies`: list, set and clear policies through the
// management API's /api/policies and /api/operator-policies, with the arguments of
// `rabbitmqctl set_policy NAME PATTERN DEFINITION [--priority N] [--apply-to ...]`. A refused
// policy prints RabbitMQ's validation text as plain lines and exits 1.

import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiError, CliError, EXIT_BROKER_ERROR, seg } from './client.js';
import { client, examples, withClientOptions, type ClientFlags, type CliIo } from './command-kit.js';
import { formatTable } from './table.js';

interface PolicyJson {
  vhost: string;
  name: string;
  pattern: string;
  'apply-to': string;
  definition: Record<string, unknown>;
  priority: number;
}

function definitionArg(v: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch {
    throw new InvalidArgumentError(`must be a JSON object, e.g. '{"max-length": 1000}'.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError('must be a JSON object.');
  return parsed as Record<string, unknown>;
}

function priorityArg(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number.');
  return n;
}

/** RabbitMQ's "Validation failed" reason as plain lines (the API escapes < and > as HTML for policies). */
function refusal(e: unknown, what: string): unknown {
  if (!(e instanceof ApiError) || e.status !== 400 || typeof e.reason !== 'string') return e;
  const text = e.reason.replace(/^Validation failed\n\n/, '').replace(/\n$/, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  return new CliError(`${what} refused: ${text.split('\n').join('; ')}`, EXIT_BROKER_ERROR);
}

export function registerPolicyCommands(program: Command, io: CliIo): void {
  for (const [command, what, path] of [
    ['policies', 'policy', '/policies'],
    ['operator-policies', 'operator policy', '/operator-policies'],
  ] as const) {
    const sampleDef = command === 'policies' ? `'{"message-ttl": 60000, "dead-letter-exchange": "dlx"}'` : `'{"max-length": 100000}'`;
    const group = program
      .command(command)
      .description(
        command === 'policies'
          ? 'List, set and clear policies: settings (TTL, length limits, dead-lettering, alternate exchange, ...) for the queues and exchanges whose names match a pattern.'
          : 'List, set and clear operator policies: limits (TTL, expires, max-length, delivery-limit) that cap what policies and queue arguments ask for.',
      )
      .addHelpText('after', examples(`warren ${command} list`, `warren ${command} set ${command === 'policies' ? 'ttl' : 'cap'} '^orders\\.' ${sampleDef} --apply-to queues`, `warren ${command} clear ${command === 'policies' ? 'ttl' : 'cap'}`));

    const list = group.command('list').description(`List the ${what === 'policy' ? 'policies' : 'operator policies'} (of one vhost with --vhost).`).option('--vhost <name>', 'only this virtual host');
    withClientOptions(list).action(async (f: ClientFlags & { vhost?: string }) => {
      const rows = await client(f).get<PolicyJson[]>(f.vhost === undefined ? path : `${path}/${seg(f.vhost)}`, { notFound: `no vhost '${f.vhost}'` });
      if (f.json) io.out(JSON.stringify(rows, null, 2) + '\n');
      else if (rows.length === 0) io.out(`no ${what === 'policy' ? 'policies' : 'operator policies'}\n`);
      else io.out(formatTable(rows as unknown as Record<string, unknown>[], ['vhost', 'name', 'pattern', 'apply-to', 'definition', 'priority']));
    });

    const set = group
      .command('set')
      .description(`Create or replace a ${what}; it applies at once to existing and new objects.`)
      .argument('<name>', `${what} name`)
      .argument('<pattern>', 'regular expression matched against queue and exchange names (RE2 syntax)')
      .argument('<definition>', 'JSON object of settings', definitionArg)
      .option('--vhost <name>', 'virtual host', '/')
      .option('--priority <n>', 'the highest priority matching policy applies', priorityArg, 0)
      .addOption(new Option('--apply-to <kind>', 'which objects it applies to').choices(['queues', 'exchanges', 'all']).default('all'));
    withClientOptions(set, false).action(async (name: string, pattern: string, definition: Record<string, unknown>, f: ClientFlags & { vhost: string; priority: number; applyTo: string }) => {
      try {
        await client(f).put(`${path}/${seg(f.vhost)}/${seg(name)}`, { pattern, definition, priority: f.priority, 'apply-to': f.applyTo }, { notFound: `no vhost '${f.vhost}'` });
      } catch (e) {
        throw refusal(e, `${what} '${name}'`);
      }
      io.out(`set ${what} '${name}' in vhost '${f.vhost}'\n`);
    });

    const clear = group.command('clear').description(`Remove a ${what}.`).argument('<name>', `${what} name`).option('--vhost <name>', 'virtual host', '/');
    withClientOptions(clear, false).action(async (name: string, f: ClientFlags & { vhost: string }) => {
      await client(f).delete(`${path}/${seg(f.vhost)}/${seg(name)}`, { notFound: `no ${what} '${name}' in vhost '${f.vhost}'` });
      io.out(`cleared ${what} '${name}' in vhost '${f.vhost}'\n`);
    });
  }
}
