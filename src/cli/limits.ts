// `warren vhost-limits` and `warren user-limits`: list, set and clear the limits RabbitMQ names
// (vhost max-connections and max-queues, user max-connections and max-channels) through the
// management API's /api/vhost-limits and /api/user-limits, like `rabbitmqctl set_vhost_limits`
// and `set_user_limits`. A negative value means no limit; 0 refuses everything.

import { Command, InvalidArgumentError } from 'commander';
import { seg } from './client.js';
import { client, examples, withClientOptions, type ClientFlags, type CliIo } from './command-kit.js';
import { formatTable, type Row } from './table.js';

function wholeNumber(v: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new InvalidArgumentError('must be a whole number (negative: no limit).');
  return Number(v);
}

interface LimitsSpec {
  readonly command: string;
  readonly what: string;
  /** 'vhost' or 'user': the field naming the owner in the API's rows. */
  readonly owner: 'vhost' | 'user';
  readonly names: readonly string[];
  readonly path: string;
}

const SPECS: readonly LimitsSpec[] = [
  { command: 'vhost-limits', what: 'virtual host', owner: 'vhost', names: ['max-connections', 'max-queues'], path: '/vhost-limits' },
  { command: 'user-limits', what: 'user', owner: 'user', names: ['max-connections', 'max-channels'], path: '/user-limits' },
];

/** One row per vhost or user, a column per limit ('' where it is not set). */
function limitRows(spec: LimitsSpec, rows: { vhost?: string; user?: string; value: Record<string, number> }[]): Row[] {
  return rows.map((r) => ({ [spec.owner]: r[spec.owner] ?? '', ...Object.fromEntries(spec.names.map((n) => [n, r.value[n] ?? ''])) }));
}

export function registerLimitCommands(program: Command, io: CliIo): void {
  for (const spec of SPECS) {
    const byVhost = spec.owner === 'vhost';
    const sample = byVhost ? '--vhost staging' : 'alice';
    const group = program
      .command(spec.command)
      .description(`List, set and clear ${spec.what} limits (${spec.names.join(', ')}).`)
      .addHelpText('after', examples(`warren ${spec.command} list`, `warren ${spec.command} set ${byVhost ? '' : 'alice '}${spec.names[0]} 100${byVhost ? ' --vhost staging' : ''}`, `warren ${spec.command} clear ${byVhost ? '' : 'alice '}${spec.names[0]}${byVhost ? ' --vhost staging' : ''}`));

    const list = group.command('list').description(`List the limits of every ${spec.what} that has some.`);
    list.option(byVhost ? '--vhost <name>' : '--user-name <name>', `only this ${spec.what}`);
    withClientOptions(list.addHelpText('after', examples(`warren ${spec.command} list`, `warren ${spec.command} list --json`))).action(
      async (f: ClientFlags & { vhost?: string; userName?: string }) => {
        const one = byVhost ? f.vhost : f.userName;
        const rows = await client(f).get<{ vhost?: string; user?: string; value: Record<string, number> }[]>(one === undefined ? spec.path : `${spec.path}/${seg(one)}`, {
          notFound: `no ${spec.what} '${one}'`,
        });
        if (f.json) io.out(JSON.stringify(rows, null, 2) + '\n');
        else if (rows.length === 0) io.out(`no ${spec.what} limits set\n`);
        else io.out(formatTable(limitRows(spec, rows), [spec.owner, ...spec.names]));
      },
    );

    const set = group.command('set').description(`Set one limit of a ${spec.what} (negative: no limit; 0 refuses everything).`);
    if (!byVhost) set.argument('<user>', 'user name');
    set.argument('<limit>', spec.names.join(' or ')).argument('<value>', 'a whole number', wholeNumber);
    if (byVhost) set.option('--vhost <name>', 'virtual host', '/');
    withClientOptions(set.addHelpText('after', examples(`warren ${spec.command} set ${byVhost ? '' : 'alice '}${spec.names[1]} 10 ${byVhost ? sample : ''}`.trim())), false).action(
      async (...args: unknown[]) => {
        const [who, limit, value, f] = (byVhost ? [undefined, ...args] : args) as [string | undefined, string, number, ClientFlags & { vhost: string }];
        const name = who ?? f.vhost;
        await client(f).put(`${spec.path}/${seg(name)}/${seg(limit)}`, { value }, { notFound: `no ${spec.what} '${name}'` });
        io.out(`set ${limit} of ${spec.what} '${name}' to ${value}\n`);
      },
    );

    const clear = group.command('clear').description(`Clear one limit of a ${spec.what}.`);
    if (!byVhost) clear.argument('<user>', 'user name');
    clear.argument('<limit>', spec.names.join(' or '));
    if (byVhost) clear.option('--vhost <name>', 'virtual host', '/');
    withClientOptions(clear.addHelpText('after', examples(`warren ${spec.command} clear ${byVhost ? '' : 'alice '}${spec.names[0]}`.trim())), false).action(
      async (...args: unknown[]) => {
        const [who, limit, f] = (byVhost ? [undefined, ...args] : args) as [string | undefined, string, ClientFlags & { vhost: string }];
        const name = who ?? f.vhost;
        await client(f).delete(`${spec.path}/${seg(name)}/${seg(limit)}`, { notFound: `no ${spec.what} '${name}'` });
        io.out(`cleared ${limit} of ${spec.what} '${name}'\n`);
      },
    );
  }
}
