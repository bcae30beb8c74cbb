// `warren peek`, `warren redrive` and `warren move`: look at a queue's messages without taking
// them, send dead letters back where they came from, and move messages between queues, through
// the management API's /messages, /redrive and /move routes (admin/routes/peek.ts). A move runs
// as long as the queue needs, so these requests wait up to an hour instead of the usual 15 s.

import { Command, InvalidArgumentError } from 'commander';
import { ApiClient, seg } from './client.js';
import { examples, withClientOptions, type ClientFlags, type CliIo } from './command-kit.js';
import { formatTable, type Row } from './table.js';

const MOVE_TIMEOUT_MS = 3_600_000;
const REASONS = ['rejected', 'expired', 'maxlen', 'delivery_limit'];

function wholeNumber(min: number): (v: string) => number {
  return (v) => {
    if (!/^\d+$/.test(v.trim()) || Number(v) < min) throw new InvalidArgumentError(`must be a whole number of at least ${min}.`);
    return Number(v);
  };
}

/** --reason, repeatable: each one of REASONS. */
function collectReason(v: string, previous: string[] | undefined): string[] {
  if (!REASONS.includes(v)) throw new InvalidArgumentError(`must be one of ${REASONS.join(', ')}.`);
  return [...(previous ?? []), v];
}

function moveClient(f: ClientFlags): ApiClient {
  return new ApiClient({ url: f.url, user: f.user, password: f.password, timeoutMs: MOVE_TIMEOUT_MS });
}

/** "work: 3, other: 2" */
function counts(o: Record<string, number>): string {
  return Object.entries(o)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
}

interface MoveAnswer {
  moved: number;
  skipped: number;
  dry_run: boolean;
  by_target?: Record<string, number>;
  skipped_reasons?: Record<string, number>;
}

function moveSummary(a: MoveAnswer): string {
  const verb = a.dry_run ? 'would move' : 'moved';
  let s = `${a.dry_run ? 'dry run: ' : ''}${verb} ${a.moved} message${a.moved === 1 ? '' : 's'}`;
  if (a.by_target !== undefined && a.moved > 0) s += ` (${counts(a.by_target)})`;
  if (a.skipped > 0) s += `; skipped ${a.skipped} (${counts(a.skipped_reasons ?? {})})`;
  return `${s}\n`;
}

export function registerMessageCommands(program: Command, io: CliIo): void {
  withClientOptions(
    program
      .command('peek')
      .description("Show a queue's messages by position without taking them (ready ones, or with --unacked those delivered and not yet acknowledged).")
      .argument('<queue>', 'queue name')
      .option('--vhost <name>', 'virtual host', '/')
      .option('--unacked', 'show unacknowledged messages, with their consumer, channel and age')
      .option('--offset <n>', 'first position to show', wholeNumber(0), 0)
      .option('--limit <n>', 'how many to show (at most 500)', wholeNumber(1), 20)
      .option('--payload-bytes <n>', 'bytes of each payload to show (at most 1 MiB)', wholeNumber(0), 200)
      .addHelpText('after', examples('warren peek orders', 'warren peek orders --unacked --limit 20', 'warren peek orders --offset 1000 --limit 50 --json')),
  ).action(async (queue: string, f: ClientFlags & { vhost: string; unacked?: boolean; offset: number; limit: number; payloadBytes: number }) => {
    const state = f.unacked ? 'unacked' : 'ready';
    const page = await new ApiClient({ url: f.url, user: f.user, password: f.password }).get<{ total: number; items: Row[] }>(
      `/queues/${seg(f.vhost)}/${seg(queue)}/messages?state=${state}&offset=${f.offset}&limit=${f.limit}&payload_bytes=${f.payloadBytes}`,
      { notFound: `no queue '${queue}' in vhost '${f.vhost}'` },
    );
    if (f.json) {
      io.out(JSON.stringify(page, null, 2) + '\n');
      return;
    }
    if (page.items.length === 0) {
      io.out(`no ${state} messages at position ${f.offset} and after (${page.total} in all)\n`);
      return;
    }
    const rows = page.items.map((i) => ({ ...i, payload: String(i['payload']) + (i['payload_truncated'] === true ? '...' : '') }));
    const columns = f.unacked
      ? ['position', 'consumer_tag', 'channel', 'delivery_tag', 'age_ms', 'routing_key', 'redelivered', 'payload_bytes', 'payload']
      : ['position', 'exchange', 'routing_key', 'redelivered', 'delivery_count', 'payload_bytes', 'payload'];
    io.out(formatTable(rows, columns));
    const last = f.offset + page.items.length - 1;
    io.out(`positions ${f.offset}-${last} of ${page.total} ${state}\n`);
  });

  withClientOptions(
    program
      .command('redrive')
      .description("Move a dead-letter queue's messages back to the queue each died in (the first entry of its x-death header), or to --to. Confirmed: a message leaves the DLQ only once the target has it on disk.")
      .argument('<dlq>', 'the dead-letter queue')
      .option('--vhost <name>', 'virtual host', '/')
      .option('--to <queue>', 'send them all to this queue instead')
      .option('--reason <reason>', `only messages that died for this reason: ${REASONS.join(', ')} (repeatable)`, collectReason)
      .option('--min-count <n>', 'only messages whose latest x-death count is at least n', wholeNumber(0))
      .option('--max-count <n>', 'only messages whose latest x-death count is at most n', wholeNumber(0))
      .option('--limit <n>', 'move at most n messages', wholeNumber(1))
      .option('--dry-run', 'only say what would be moved')
      .addHelpText('after', examples('warren redrive orders.dlq --dry-run', 'warren redrive orders.dlq --reason rejected --max-count 3', 'warren redrive orders.dlq --to orders.retry --limit 100')),
  ).action(async (dlq: string, f: ClientFlags & { vhost: string; to?: string; reason?: string[]; minCount?: number; maxCount?: number; limit?: number; dryRun?: boolean }) => {
    const body: Record<string, unknown> = { dry_run: f.dryRun === true };
    if (f.to !== undefined) body['to'] = f.to;
    if (f.reason !== undefined) body['reasons'] = f.reason;
    if (f.minCount !== undefined) body['min_count'] = f.minCount;
    if (f.maxCount !== undefined) body['max_count'] = f.maxCount;
    if (f.limit !== undefined) body['limit'] = f.limit;
    const a = await moveClient(f).post<MoveAnswer>(`/queues/${seg(f.vhost)}/${seg(dlq)}/redrive`, body, { notFound: `no queue '${f.to !== undefined ? `${dlq}' or '${f.to}` : dlq}' in vhost '${f.vhost}'` });
    io.out(f.json ? JSON.stringify(a, null, 2) + '\n' : moveSummary(a));
  });

  withClientOptions(
    program
      .command('move')
      .description('Move ready messages from one queue to another, in order. Confirmed: a message leaves the source only once the target has it on disk.')
      .argument('<source>', 'queue to take them from')
      .argument('<target>', 'queue to put them in')
      .option('--vhost <name>', 'virtual host', '/')
      .option('--limit <n>', 'move at most n messages', wholeNumber(1))
      .option('--dry-run', 'only say how many would be moved')
      .addHelpText('after', examples('warren move orders orders.v2', 'warren move orders orders.v2 --limit 1000 --dry-run')),
  ).action(async (source: string, target: string, f: ClientFlags & { vhost: string; limit?: number; dryRun?: boolean }) => {
    const body: Record<string, unknown> = { to: target, dry_run: f.dryRun === true };
    if (f.limit !== undefined) body['limit'] = f.limit;
    const a = await moveClient(f).post<MoveAnswer>(`/queues/${seg(f.vhost)}/${seg(source)}/move`, body, { notFound: `no queue '${source}' or '${target}' in vhost '${f.vhost}'` });
    io.out(f.json ? JSON.stringify(a, null, 2) + '\n' : moveSummary(a));
  });
}
