// The warren CLI's inspection and management commands. Each one is a request or two to the
// management HTTP API of a running broker (see client.ts for the exit codes), printed as an
// aligned table, key/value lines, or JSON with --json. List commands take the columns to show
// as arguments or with --columns, as `rabbitmqctl list_queues name messages` does.

import { readFile, writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiClient, seg, UsageError } from './client.js';
import { client, examples, withClientOptions, type ClientFlags, type CliIo } from './command-kit.js';
import { registerLimitCommands } from './limits.js';
import { registerMessageCommands } from './messages.js';
import { registerPolicyCommands } from './policies.js';
import { registerStreamReaderCommands } from './stream-readers.js';
import { checkColumns, chooseColumns, formatPairs, formatTable, pick, type Row } from './table.js';

interface ListFlags extends ClientFlags {
  columns?: string;
  vhost?: string;
}

function parseJsonOption(name: string): (v: string) => Record<string, unknown> {
  return (v) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(v);
    } catch {
      throw new InvalidArgumentError(`${name} must be a JSON object, e.g. '{"x-max-length": 1000}'.`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError(`${name} must be a JSON object.`);
    return parsed as Record<string, unknown>;
  };
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of at least 1.');
  return n;
}

interface ListSpec {
  readonly name: string;
  readonly what: string;
  /** API path for all vhosts, and for one (null: the list is not per vhost). */
  readonly path: string;
  readonly vhostPath: ((vhost: string) => string) | null;
  readonly columns: readonly string[];
  readonly example: string;
  /** Keeps only some of the rows (e.g. streams among the queues). */
  readonly rows?: (rows: Row[]) => Row[];
}

const LISTS: readonly ListSpec[] = [
  { name: 'queues', what: 'queues', path: '/queues', vhostPath: (v) => `/queues/${seg(v)}`, columns: ['vhost', 'name', 'messages', 'messages_ready', 'messages_unacknowledged', 'consumers'], example: 'warren queues name messages consumers' },
  {
    name: 'streams',
    what: 'streams (queues of type stream) with their sizes',
    path: '/queues',
    vhostPath: (v) => `/queues/${seg(v)}`,
    columns: ['vhost', 'name', 'stream.messages', 'stream.bytes', 'stream.segments', 'stream.first_offset', 'stream.last_offset', 'stream.first_timestamp', 'consumers'],
    example: 'warren streams name stream.messages stream.bytes',
    rows: (rows) => rows.filter((r) => r['type'] === 'stream'),
  },
  { name: 'exchanges', what: 'exchanges', path: '/exchanges', vhostPath: (v) => `/exchanges/${seg(v)}`, columns: ['vhost', 'name', 'type', 'durable', 'auto_delete', 'internal'], example: 'warren exchanges --vhost / name type' },
  { name: 'bindings', what: 'bindings', path: '/bindings', vhostPath: (v) => `/bindings/${seg(v)}`, columns: ['vhost', 'source', 'destination', 'destination_type', 'routing_key'], example: 'warren bindings --columns source,destination,routing_key' },
  { name: 'connections', what: 'client connections', path: '/connections', vhostPath: (v) => `/vhosts/${seg(v)}/connections`, columns: ['name', 'user', 'vhost', 'channels', 'state'], example: 'warren connections name user client_properties.product' },
  { name: 'channels', what: 'channels', path: '/channels', vhostPath: (v) => `/vhosts/${seg(v)}/channels`, columns: ['name', 'user', 'vhost', 'consumer_count', 'messages_unacknowledged', 'prefetch_count'], example: 'warren channels --json' },
  { name: 'consumers', what: 'consumers', path: '/consumers', vhostPath: (v) => `/consumers/${seg(v)}`, columns: ['queue.vhost', 'queue.name', 'consumer_tag', 'ack_required', 'prefetch_count', 'channel_details.name'], example: 'warren consumers queue.name consumer_tag' },
];

/** Prints rows as a table (or JSON), with the chosen columns. */
function printRows(io: CliIo, rows: Row[], columns: string[], json: boolean | undefined, explicitColumns: boolean): void {
  checkColumns(rows, columns);
  if (json) io.out(JSON.stringify(explicitColumns ? pick(rows, columns) : rows, null, 2) + '\n');
  else io.out(formatTable(rows, columns));
}

function addListCommand(
  parent: Command,
  io: CliIo,
  spec: { name: string; description: string; path: (f: ListFlags) => string; columns: readonly string[]; vhostOption: boolean; examples: string; rows?: (rows: Row[]) => Row[] },
): Command {
  const cmd = parent
    .command(spec.name)
    .description(spec.description)
    .argument('[columns...]', `fields to show (default: ${spec.columns.join(' ')})`)
    .option('--columns <list>', 'fields to show, comma-separated');
  if (spec.vhostOption) cmd.option('--vhost <name>', 'only this virtual host (default: all)');
  withClientOptions(cmd).addHelpText('after', spec.examples);
  cmd.action(async (positional: string[], f: ListFlags) => {
    const all = await client(f).get<Row[]>(spec.path(f), { notFound: f.vhost !== undefined ? `no vhost '${f.vhost}'` : undefined });
    const rows = spec.rows ? spec.rows(all) : all;
    const columns = chooseColumns(positional, f.columns, spec.columns);
    printRows(io, rows, columns, f.json, positional.length > 0 || f.columns !== undefined);
  });
  return cmd;
}

function formatDuration(ms: number): string {
  let s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return [d ? `${d}d` : '', d || h ? `${h}h` : '', d || h || m ? `${m}m` : '', `${s}s`].filter((x) => x !== '').join(' ');
}

function mib(n: unknown): string {
  return typeof n === 'number' ? `${(n / 1024 / 1024).toFixed(1)} MiB` : '';
}

function rate(o: unknown, key: string): string {
  const r = (o as Record<string, { rate?: number }> | undefined)?.[`${key}_details`]?.rate ?? 0;
  return `${r}/s`;
}

/** Registers every command except `start` on `program`. */
export function registerCliCommands(program: Command, io: CliIo): void {
  // ---- status ----------------------------------------------------------------------------
  withClientOptions(
    program
      .command('status')
      .description('Show whether the broker is up, its listeners, and its totals (exit code 3 when no broker answers).')
      .addHelpText('after', examples('warren status', 'warren status --url http://10.0.0.5:15672 --user admin --password s3cret', 'warren status --json')),
  ).action(async (f: ClientFlags) => {
    const c = client(f);
    const overview = await c.get<Row>('/overview');
    const nodes = await c.get<Row[]>('/nodes');
    const node = nodes[0] ?? {};
    // Several nodes on one PostgreSQL store: each one's role, epoch, lease age and lag.
    const members = await c.get<Row[]>('/warren/nodes').catch(() => [] as Row[]);
    if (f.json) {
      io.out(JSON.stringify({ overview, node, nodes: members }, null, 2) + '\n');
      return;
    }
    const totals = (overview['object_totals'] ?? {}) as Record<string, number>;
    const q = (overview['queue_totals'] ?? {}) as Record<string, number>;
    const listeners = ((overview['listeners'] ?? []) as Row[]).map((l) => `${String(l['protocol'])} ${hostPort(String(l['ip_address']), String(l['port']))}`);
    const ms = overview['message_stats'];
    io.out(
      formatPairs([
        ['status', 'running'],
        ['node', String(overview['node'] ?? '')],
        ['version', `${String(overview['product_name'] ?? 'warren')} ${String(overview['product_version'] ?? '')} (RabbitMQ management API ${String(overview['rabbitmq_version'] ?? '')})`],
        ['uptime', typeof node['uptime'] === 'number' ? formatDuration(node['uptime']) : ''],
        ['listeners', listeners.join(', ')],
        ['connections', String(totals['connections'] ?? 0)],
        ['channels', String(totals['channels'] ?? 0)],
        ['queues', String(totals['queues'] ?? 0)],
        ['consumers', String(totals['consumers'] ?? 0)],
        ['messages', `${q['messages'] ?? 0} (ready ${q['messages_ready'] ?? 0}, unacknowledged ${q['messages_unacknowledged'] ?? 0})`],
        ['publish rate', rate(ms, 'publish')],
        ['deliver rate', rate(ms, 'deliver_get')],
        ['ack rate', rate(ms, 'ack')],
        ['memory', mib(node['mem_used'])],
        ...(members.length > 1 || (members.length === 1 && members[0]!['role'] !== 'single')
          ? [['nodes', members.map((m) => `${String(m['name'])} ${String(m['role'])} epoch ${String(m['epoch'])}${m['lease_age_ms'] === null ? '' : ` lease age ${String(m['lease_age_ms'])} ms`} lag ${String(m['lag_ms'])} ms`).join('; ')] as [string, string]]
          : []),
      ]),
    );
  });

  // ---- lists -----------------------------------------------------------------------------
  for (const spec of LISTS) {
    addListCommand(program, io, {
      name: spec.name,
      description: `List ${spec.what}.`,
      path: (f) => (f.vhost !== undefined && spec.vhostPath ? spec.vhostPath(f.vhost) : spec.path),
      columns: spec.columns,
      vhostOption: spec.vhostPath !== null,
      examples: examples(`warren ${spec.name}`, spec.example),
      ...(spec.rows ? { rows: spec.rows } : {}),
    });
  }

  // ---- queue operations ------------------------------------------------------------------
  withClientOptions(
    program
      .command('declare-queue')
      .description('Declare a queue (durable unless --no-durable); declaring an existing one with the same settings is fine.')
      .argument('<name>', 'queue name')
      .option('--vhost <name>', 'virtual host', '/')
      .option('--no-durable', 'a transient queue (gone when the broker restarts)')
      .option('--auto-delete', 'delete the queue when its last consumer goes')
      .option('--arguments <json>', 'queue arguments as a JSON object', parseJsonOption('--arguments'))
      .addHelpText('after', examples('warren declare-queue orders', `warren declare-queue jobs --arguments '{"x-max-length": 10000}'`, 'warren declare-queue scratch --no-durable --auto-delete')),
    false,
  ).action(async (name: string, f: ClientFlags & { vhost: string; durable: boolean; autoDelete?: boolean; arguments?: Record<string, unknown> }) => {
    await client(f).put(`/queues/${seg(f.vhost)}/${seg(name)}`, { durable: f.durable, auto_delete: f.autoDelete ?? false, arguments: f.arguments ?? {} }, { notFound: `no vhost '${f.vhost}'` });
    io.out(`declared queue '${name}' in vhost '${f.vhost}'\n`);
  });

  withClientOptions(
    program
      .command('delete-queue')
      .description('Delete a queue with its messages and bindings.')
      .argument('<name>', 'queue name')
      .option('--vhost <name>', 'virtual host', '/')
      .option('--if-empty', 'only if it has no ready messages')
      .option('--if-unused', 'only if it has no consumers')
      .addHelpText('after', examples('warren delete-queue orders', 'warren delete-queue jobs --vhost staging --if-empty')),
    false,
  ).action(async (name: string, f: ClientFlags & { vhost: string; ifEmpty?: boolean; ifUnused?: boolean }) => {
    const query = [f.ifEmpty ? 'if-empty=true' : '', f.ifUnused ? 'if-unused=true' : ''].filter((x) => x !== '').join('&');
    await client(f).delete(`/queues/${seg(f.vhost)}/${seg(name)}${query ? `?${query}` : ''}`, { notFound: `no queue '${name}' in vhost '${f.vhost}'` });
    io.out(`deleted queue '${name}' in vhost '${f.vhost}'\n`);
  });

  withClientOptions(
    program
      .command('purge-queue')
      .description('Remove every ready message from a queue (unacknowledged ones stay).')
      .argument('<name>', 'queue name')
      .option('--vhost <name>', 'virtual host', '/')
      .addHelpText('after', examples('warren purge-queue orders', 'warren purge-queue jobs --vhost staging')),
    false,
  ).action(async (name: string, f: ClientFlags & { vhost: string }) => {
    const c = client(f);
    const path = `/queues/${seg(f.vhost)}/${seg(name)}`;
    const notFound = `no queue '${name}' in vhost '${f.vhost}'`;
    const before = await c.get<Row>(path, { notFound });
    await c.delete(`${path}/contents`, { notFound });
    io.out(`purged ${String(before['messages_ready'] ?? 0)} messages from queue '${name}' in vhost '${f.vhost}'\n`);
  });

  // ---- messages --------------------------------------------------------------------------
  withClientOptions(
    program
      .command('publish')
      .description('Publish one message (the payload comes from --payload, or else from standard input).')
      .requiredOption('--routing-key <key>', 'routing key (for the default exchange: the queue name)')
      .option('--exchange <name>', 'exchange (amq.default is the default exchange)', 'amq.default')
      .option('--vhost <name>', 'virtual host', '/')
      .option('--payload <text>', 'message body (default: read standard input)')
      .option('--properties <json>', 'message properties as JSON, e.g. {"delivery_mode": 2, "headers": {"k": "v"}}', parseJsonOption('--properties'))
      .addHelpText('after', examples("warren publish --routing-key orders --payload 'hello'", 'echo hello | warren publish --exchange amq.topic --routing-key stock.nyse', `warren publish --routing-key jobs --payload x --properties '{"delivery_mode": 2}'`)),
  ).action(async (f: ClientFlags & { routingKey: string; exchange: string; vhost: string; payload?: string; properties?: Record<string, unknown> }) => {
    const body = f.payload !== undefined
      ? { payload: f.payload, payload_encoding: 'string' }
      : { payload: Buffer.from(await io.readStdin(), 'utf8').toString('base64'), payload_encoding: 'base64' };
    const res = await client(f).post<{ routed: boolean }>(
      `/exchanges/${seg(f.vhost)}/${seg(f.exchange)}/publish`,
      { routing_key: f.routingKey, properties: f.properties ?? {}, ...body },
      { notFound: `no exchange '${f.exchange}' in vhost '${f.vhost}'` },
    );
    if (f.json) io.out(JSON.stringify(res) + '\n');
    else if (res.routed) io.out('message published\n');
    else io.out('message published but not routed: no queue is bound for that routing key\n');
  });

  const ACKMODES = ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'];
  withClientOptions(
    program
      .command('get')
      .description('Fetch messages from a queue; by default they go back to the queue (marked redelivered), as with rabbitmqadmin.')
      .argument('<queue>', 'queue name')
      .option('--vhost <name>', 'virtual host', '/')
      .option('--count <n>', 'how many messages at most', positiveInt, 1)
      .addOption(new Option('--ackmode <mode>', 'what happens to them').choices(ACKMODES).default('ack_requeue_true'))
      .option('--remove', 'take them off the queue (same as --ackmode ack_requeue_false)')
      .addHelpText('after', examples('warren get orders', 'warren get orders --count 10 --json', 'warren get orders --remove')),
  ).action(async (queue: string, f: ClientFlags & { vhost: string; count: number; ackmode: string; remove?: boolean }) => {
    const msgs = await client(f).post<Row[]>(
      `/queues/${seg(f.vhost)}/${seg(queue)}/get`,
      { count: f.count, ackmode: f.remove ? 'ack_requeue_false' : f.ackmode, encoding: 'auto' },
      { notFound: `no queue '${queue}' in vhost '${f.vhost}'` },
    );
    if (f.json) io.out(JSON.stringify(msgs, null, 2) + '\n');
    else if (msgs.length === 0) io.out(`queue '${queue}' is empty\n`);
    else io.out(formatTable(msgs, ['routing_key', 'exchange', 'message_count', 'redelivered', 'payload_bytes', 'payload_encoding', 'payload']));
  });

  registerAccessCommands(program, io);
  registerDefinitionCommands(program, io);
  registerLimitCommands(program, io);
  registerMessageCommands(program, io);
  registerPolicyCommands(program, io);
  registerStreamReaderCommands(program, io);
}

function registerAccessCommands(program: Command, io: CliIo): void {
  // ---- users -----------------------------------------------------------------------------
  const users = program.command('users').description('List, add and delete users, and set their passwords.').addHelpText('after', examples('warren users list', 'warren users add alice s3cret --tags administrator', 'warren users set-password alice n3w', 'warren users delete alice'));
  addListCommand(users, io, { name: 'list', description: 'List users.', path: () => '/users', columns: ['name', 'tags'], vhostOption: false, examples: examples('warren users list', 'warren users list --json') });
  withClientOptions(
    users
      .command('add')
      .description('Add a user (or replace one), with a password and tags; give no password to read it from standard input.')
      .argument('<name>', 'user name')
      .argument('[password]', 'password (default: the first line of standard input)')
      .option('--tags <list>', 'comma-separated tags, e.g. administrator or management,monitoring', '')
      .addHelpText('after', examples('warren users add alice s3cret', 'warren users add ops s3cret --tags administrator', 'printf "s3cret\\n" | warren users add bob')),
    false,
  ).action(async (name: string, password: string | undefined, f: ClientFlags & { tags: string }) => {
    const pw = password ?? (await io.readStdin()).split('\n')[0]!;
    await client(f).put(`/users/${seg(name)}`, { password: pw, tags: f.tags });
    io.out(`added user '${name}'\n`);
  });
  withClientOptions(users.command('delete').description('Delete a user (its connections are closed).').argument('<name>', 'user name').addHelpText('after', examples('warren users delete alice')), false).action(
    async (name: string, f: ClientFlags) => {
      await client(f).delete(`/users/${seg(name)}`, { notFound: `no user '${name}'` });
      io.out(`deleted user '${name}'\n`);
    },
  );
  withClientOptions(
    users
      .command('set-password')
      .description("Change a user's password (tags stay).")
      .argument('<name>', 'user name')
      .argument('[password]', 'new password (default: the first line of standard input)')
      .addHelpText('after', examples('warren users set-password alice n3w')),
    false,
  ).action(async (name: string, password: string | undefined, f: ClientFlags) => {
    const c = client(f);
    const u = await c.get<{ tags: string[] }>(`/users/${seg(name)}`, { notFound: `no user '${name}'` });
    const pw = password ?? (await io.readStdin()).split('\n')[0]!;
    await c.put(`/users/${seg(name)}`, { password: pw, tags: u.tags });
    io.out(`changed the password of user '${name}'\n`);
  });

  // ---- vhosts ----------------------------------------------------------------------------
  const vhosts = program.command('vhosts').description('List, add and delete virtual hosts.').addHelpText('after', examples('warren vhosts list', 'warren vhosts add staging', 'warren vhosts delete staging'));
  addListCommand(vhosts, io, { name: 'list', description: 'List virtual hosts.', path: () => '/vhosts', columns: ['name', 'messages', 'description'], vhostOption: false, examples: examples('warren vhosts list', 'warren vhosts list name tags') });
  withClientOptions(
    vhosts
      .command('add')
      .description('Add a virtual host; you get full permissions on it.')
      .argument('<name>', 'vhost name')
      .option('--description <text>', 'description', '')
      .option('--tags <list>', 'comma-separated tags', '')
      .addHelpText('after', examples('warren vhosts add staging --description "pre-production"')),
    false,
  ).action(async (name: string, f: ClientFlags & { description: string; tags: string }) => {
    await client(f).put(`/vhosts/${seg(name)}`, { description: f.description, tags: f.tags });
    io.out(`added vhost '${name}'\n`);
  });
  withClientOptions(vhosts.command('delete').description('Delete a virtual host with everything in it.').argument('<name>', 'vhost name').addHelpText('after', examples('warren vhosts delete staging')), false).action(
    async (name: string, f: ClientFlags) => {
      await client(f).delete(`/vhosts/${seg(name)}`, { notFound: `no vhost '${name}'` });
      io.out(`deleted vhost '${name}'\n`);
    },
  );

  // ---- permissions -----------------------------------------------------------------------
  const perms = program
    .command('permissions')
    .description("List, set and clear users' permissions (configure, write and read regular expressions per vhost).")
    .addHelpText('after', examples('warren permissions list', `warren permissions set alice '^alice-.*' '.*' '.*' --vhost /`, 'warren permissions clear alice --vhost /'));
  addListCommand(perms, io, {
    name: 'list',
    description: 'List permissions.',
    path: (f) => (f.vhost !== undefined ? `/vhosts/${seg(f.vhost)}/permissions` : '/permissions'),
    columns: ['user', 'vhost', 'configure', 'write', 'read'],
    vhostOption: true,
    examples: examples('warren permissions list', 'warren permissions list --vhost staging'),
  });
  withClientOptions(
    perms
      .command('set')
      .description("Set a user's permissions in a vhost ('' grants nothing, '.*' everything).")
      .argument('<user>', 'user name')
      .argument('<configure>', 'regular expression of the queues and exchanges the user may declare and delete')
      .argument('<write>', 'regular expression of what the user may publish to and bind to')
      .argument('<read>', 'regular expression of what the user may consume from and bind from')
      .option('--vhost <name>', 'virtual host', '/')
      .addHelpText('after', examples(`warren permissions set alice '.*' '.*' '.*'`, `warren permissions set app '^app\\.' '^app\\.' '^app\\.' --vhost prod`)),
    false,
  ).action(async (user: string, configure: string, write: string, read: string, f: ClientFlags & { vhost: string }) => {
    await client(f).put(`/permissions/${seg(f.vhost)}/${seg(user)}`, { configure, write, read });
    io.out(`set permissions of user '${user}' in vhost '${f.vhost}'\n`);
  });
  withClientOptions(
    perms.command('clear').description("Remove a user's permissions in a vhost (its connections there are closed).").argument('<user>', 'user name').option('--vhost <name>', 'virtual host', '/').addHelpText('after', examples('warren permissions clear alice --vhost staging')),
    false,
  ).action(async (user: string, f: ClientFlags & { vhost: string }) => {
    await client(f).delete(`/permissions/${seg(f.vhost)}/${seg(user)}`, { notFound: `user '${user}' has no permissions in vhost '${f.vhost}'` });
    io.out(`cleared permissions of user '${user}' in vhost '${f.vhost}'\n`);
  });
}

function registerDefinitionCommands(program: Command, io: CliIo): void {
  withClientOptions(
    program
      .command('export')
      .description("Write the broker's definitions (users, vhosts, permissions, queues, exchanges, bindings) as RabbitMQ's definitions JSON.")
      .argument('[file]', 'file to write (default or "-": standard output)')
      .option('--vhost <name>', "only this vhost's queues, exchanges and bindings")
      .addHelpText('after', examples('warren export definitions.json', 'warren export - | jq .queues', 'warren export staging.json --vhost staging')),
    false,
  ).action(async (file: string | undefined, f: ClientFlags & { vhost?: string }) => {
    const defs = await client(f).get(f.vhost !== undefined ? `/definitions/${seg(f.vhost)}` : '/definitions', { notFound: `no vhost '${f.vhost}'` });
    const text = JSON.stringify(defs, null, 2) + '\n';
    if (file === undefined || file === '-') io.out(text);
    else {
      await writeFile(file, text);
      io.err(`exported definitions to ${file}\n`);
    }
  });

  withClientOptions(
    program
      .command('import')
      .description("Load definitions (RabbitMQ's definitions JSON, e.g. exported from RabbitMQ or warren) into the broker.")
      .argument('<file>', 'file to read ("-": standard input)')
      .option('--vhost <name>', 'load queues, exchanges and bindings into this vhost')
      .addHelpText('after', examples('warren import definitions.json', 'rabbitmqadmin export /dev/stdout | warren import -')),
    false,
  ).action(async (file: string, f: ClientFlags & { vhost?: string }) => {
    let text: string;
    try {
      text = file === '-' ? await io.readStdin() : await readFile(file, 'utf8');
    } catch (e) {
      throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new UsageError(`${file} is not JSON: ${(e as Error).message}`);
    }
    await client(f).post(f.vhost !== undefined ? `/definitions/${seg(f.vhost)}` : '/definitions', doc, { notFound: `no vhost '${f.vhost}'` });
    io.out(`imported definitions from ${file}\n`);
  });
}

/** host:port, with an IPv6 address in brackets ([::]:15672). */
function hostPort(ip: string, port: string): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
