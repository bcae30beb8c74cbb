// `warren readers STREAM` (named readers: committed offset, lag, in use), `warren reset-reader`
// and `warren delete-reader`, `warren add-super-stream` / `add-partitions` / `delete-super-stream` / `super-streams`, and
// `warren consumer-groups`: warren's own stream features, through the HTTP API routes in
// admin/routes/stream-readers.ts.

import { Command, InvalidArgumentError } from 'commander';
import { seg, UsageError } from './client.js';
import { client, examples, withClientOptions, type ClientFlags, type CliIo } from './command-kit.js';
import { formatTable, type Row } from './table.js';

interface VhostFlags extends ClientFlags {
  vhost: string;
}

function partitions(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new InvalidArgumentError('must be a whole number from 1 to 1024.');
  return n;
}

/** --offset first|last|next|N, or --timestamp (ms since the epoch or an ISO 8601 date). */
function resetBody(f: { offset?: string; timestamp?: string }): Record<string, unknown> {
  if ((f.offset === undefined) === (f.timestamp === undefined)) throw new UsageError('give one of --offset (first, last, next or a number) and --timestamp');
  if (f.offset !== undefined) {
    if (f.offset === 'first' || f.offset === 'last' || f.offset === 'next') return { offset: f.offset };
    if (/^\d+$/.test(f.offset)) return { offset: Number(f.offset) };
    throw new UsageError(`--offset must be first, last, next or a number, got ${JSON.stringify(f.offset)}`);
  }
  const t = f.timestamp!;
  return { timestamp: /^\d+$/.test(t) ? Number(t) : t };
}

export function registerStreamReaderCommands(program: Command, io: CliIo): void {
  const vhostOption = (cmd: Command): Command => cmd.option('--vhost <name>', 'virtual host', '/');

  withClientOptions(
    vhostOption(
      program
        .command('readers')
        .description("List a stream's named readers: committed offset (the next offset each resumes at), lag (messages after it) and whether a consumer holds it.")
        .argument('<stream>', 'stream name'),
    ).addHelpText('after', examples('warren readers orders-0', 'warren readers events --vhost staging --json')),
  ).action(async (stream: string, f: VhostFlags) => {
    const rows = await client(f).get<Row[]>(`/stream-readers/${seg(f.vhost)}/${seg(stream)}`, { notFound: `no stream '${stream}' in vhost '${f.vhost}'` });
    if (f.json) io.out(JSON.stringify(rows, null, 2) + '\n');
    else if (rows.length === 0) io.out(`stream '${stream}' has no named readers\n`);
    else io.out(formatTable(rows, ['name', 'committed_offset', 'lag', 'in_use', 'committed_at']));
  });

  withClientOptions(
    vhostOption(
      program
        .command('reset-reader')
        .description('Move a named reader (creating it if needed); refused while a consumer holds it.')
        .argument('<stream>', 'stream name')
        .argument('<reader>', 'reader name')
        .option('--offset <where>', 'first, last, next, or an offset')
        .option('--timestamp <time>', 'the first message appended at or after this time (ms since the epoch or ISO 8601)'),
    ).addHelpText('after', examples('warren reset-reader orders-0 billing --offset first', 'warren reset-reader events audit --timestamp 2026-12-04T09:00:00Z')),
  ).action(async (stream: string, reader: string, f: VhostFlags & { offset?: string; timestamp?: string }) => {
    const r = (await client(f).put(`/stream-readers/${seg(f.vhost)}/${seg(stream)}/${seg(reader)}`, resetBody(f), { notFound: `no stream '${stream}' in vhost '${f.vhost}'` })) as Row;
    if (f.json) io.out(JSON.stringify(r, null, 2) + '\n');
    else io.out(`reader '${reader}' of stream '${stream}' now resumes at offset ${String(r.committed_offset)}\n`);
  });

  withClientOptions(
    vhostOption(program.command('delete-reader').description('Forget a named reader; refused while a consumer holds it.').argument('<stream>', 'stream name').argument('<reader>', 'reader name')),
    false,
  ).action(async (stream: string, reader: string, f: VhostFlags) => {
    await client(f).delete(`/stream-readers/${seg(f.vhost)}/${seg(stream)}/${seg(reader)}`, { notFound: `no reader '${reader}' of stream '${stream}' in vhost '${f.vhost}'` });
    io.out(`deleted reader '${reader}' of stream '${stream}'\n`);
  });

  withClientOptions(
    vhostOption(
      program
        .command('add-super-stream')
        .description('Declare a super stream: a direct exchange with x-super-stream and x-partitions, and its partition streams NAME-0 .. NAME-(N-1).')
        .argument('<name>', 'super stream (exchange) name')
        .requiredOption('--partitions <n>', 'number of partitions', partitions),
    ).addHelpText('after', examples('warren add-super-stream orders --partitions 4')),
    false,
  ).action(async (name: string, f: VhostFlags & { partitions: number }) => {
    await client(f).put(`/exchanges/${seg(f.vhost)}/${seg(name)}`, { type: 'direct', durable: true, auto_delete: false, internal: false, arguments: { 'x-super-stream': true, 'x-partitions': f.partitions } }, { notFound: `no vhost '${f.vhost}'` });
    io.out(`declared super stream '${name}' with ${f.partitions} partitions in vhost '${f.vhost}'\n`);
  });

  withClientOptions(
    vhostOption(
      program
        .command('add-partitions')
        .description('Grow a super stream to N partitions (keys move only to the new ones; see the README).')
        .argument('<name>', 'super stream name')
        .requiredOption('--partitions <n>', 'the new number of partitions', partitions),
    ).addHelpText('after', examples('warren add-partitions orders --partitions 6')),
    false,
  ).action(async (name: string, f: VhostFlags & { partitions: number }) => {
    const r = await client(f).post<{ partitions: number }>(`/super-streams/${seg(f.vhost)}/${seg(name)}/partitions`, { partitions: f.partitions }, { notFound: `no super stream '${name}' in vhost '${f.vhost}'` });
    io.out(`super stream '${name}' has ${r.partitions} partitions\n`);
  });

  withClientOptions(
    vhostOption(
      program
        .command('delete-super-stream')
        .description('Delete a super stream: its exchange and its partition streams NAME-0 .. NAME-(N-1), with their messages (as rabbitmq-streams delete_super_stream).')
        .argument('<name>', 'super stream name'),
    ).addHelpText('after', examples('warren delete-super-stream orders')),
    false,
  ).action(async (name: string, f: VhostFlags) => {
    await client(f).delete(`/super-streams/${seg(f.vhost)}/${seg(name)}`, { notFound: `no super stream '${name}' in vhost '${f.vhost}'` });
    io.out(`deleted super stream '${name}' and its partitions in vhost '${f.vhost}'\n`);
  });

  withClientOptions(vhostOption(program.command('super-streams').description('List super streams and their partitions.'))).action(async (f: VhostFlags) => {
    const rows = await client(f).get<{ name: string; partitions: string[] }[]>(`/super-streams/${seg(f.vhost)}`, { notFound: `no vhost '${f.vhost}'` });
    if (f.json) io.out(JSON.stringify(rows, null, 2) + '\n');
    else io.out(formatTable(rows.map((r) => ({ name: r.name, partitions: r.partitions.length, streams: r.partitions.join(' ') })), ['name', 'partitions', 'streams']));
  });

  withClientOptions(vhostOption(program.command('consumer-groups').description('List consumer groups: which consumer is active on each partition.'))).action(async (f: VhostFlags) => {
    const groups = await client(f).get<{ super_stream: string; name: string; generation: number; members: number; partitions: { partition: number; stream: string; consumer_tag: string; state: string }[] }[]>(`/consumer-groups/${seg(f.vhost)}`, { notFound: `no vhost '${f.vhost}'` });
    if (f.json) {
      io.out(JSON.stringify(groups, null, 2) + '\n');
      return;
    }
    const rows: Row[] = [];
    for (const g of groups) for (const p of g.partitions) rows.push({ group: g.name, super_stream: g.super_stream, generation: g.generation, members: g.members, stream: p.stream, consumer_tag: p.consumer_tag, state: p.state });
    io.out(rows.length === 0 ? 'no consumer groups\n' : formatTable(rows, ['group', 'super_stream', 'generation', 'members', 'stream', 'consumer_tag', 'state']));
  });
}
