// The work of `warren migrate` (command.ts parses its options): the definitions through both
// HTTP APIs, then the messages queue by queue over AMQP, with progress lines and a report.

import { ApiClient, ApiError, CliError, EXIT_BROKER_ERROR, seg, UsageError } from '../client.js';
import type { CliIo } from '../command-kit.js';
import { AmqpPeer, parseAmqpUrl } from './amqp-peer.js';
import { fetchJson, prepareDefinitions, type PreparedDefinitions } from './definitions.js';
import { moveQueue, type MoveResult } from './move-queue.js';
import { MigrationState } from './state.js';

/** The options of `warren migrate`, as command.ts parses them. */
export interface MigrateFlags {
  fromApi: string;
  fromAmqp?: string;
  to: string;
  toAmqp?: string;
  user: string;
  password: string;
  vhost: string[];
  queue: string[];
  definitionsOnly?: boolean;
  messagesOnly?: boolean;
  window: number;
  state: string;
  maxDefinitionsBytes: number;
  json?: boolean;
}

interface QueueReport extends Partial<MoveResult> {
  vhost: string;
  queue: string;
  error?: string;
}

function rate(n: number, ms: number): number {
  return ms <= 0 ? 0 : Math.round((n * 1000) / ms);
}

/** RabbitMQ's HTTP API URL and the login for it: the URL's own, else --from-amqp's, else guest. */
function sourceApi(f: MigrateFlags): { url: string; user: string; password: string } {
  let u: URL;
  try {
    u = new URL(f.fromApi);
  } catch {
    throw new UsageError(`--from-api must be RabbitMQ's management URL, e.g. http://rabbit:15672, got ${JSON.stringify(f.fromApi)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--from-api must be an http(s) URL, got ${JSON.stringify(f.fromApi)}`);
  let user = decodeURIComponent(u.username);
  let password = decodeURIComponent(u.password);
  if (user === '' && f.fromAmqp !== undefined) ({ user, password } = parseAmqpUrl(f.fromAmqp));
  if (user === '') user = password = 'guest';
  u.username = '';
  u.password = '';
  return { url: `${u.origin}${u.pathname.replace(/\/+$/, '').replace(/\/api$/, '')}`, user, password };
}

/** warren's AMQP URL: --to-amqp, or the host of --to with the port warren's overview lists. */
async function warrenAmqpUrl(f: MigrateFlags, overview: { listeners?: { protocol?: string; port?: number }[] }): Promise<string> {
  if (f.toAmqp !== undefined) return f.toAmqp;
  const amqp = overview.listeners?.find((l) => l.protocol === 'amqp');
  if (amqp?.port === undefined) throw new UsageError('warren lists no AMQP listener; give --to-amqp amqp://user:password@host:5672');
  const host = new URL(f.to).hostname;
  return `amqp://${encodeURIComponent(f.user)}:${encodeURIComponent(f.password)}@${host}:${amqp.port}`;
}

export async function migrate(f: MigrateFlags, io: CliIo): Promise<number> {
  const say = (s: string): void => (f.json ? io.err(s) : io.out(s));
  if (f.fromAmqp !== undefined) {
    try {
      parseAmqpUrl(f.fromAmqp);
    } catch (e) {
      throw new UsageError(`--from-amqp: ${(e as Error).message}`);
    }
  }
  const warren = new ApiClient({ url: f.to, user: f.user, password: f.password });
  const overview = await warren.get<{ exchange_types?: { name: string }[]; listeners?: { protocol?: string; port?: number }[] }>('/overview');
  const exchangeTypes = new Set((overview.exchange_types ?? []).map((t) => t.name));
  const api = sourceApi(f);

  // ---- definitions ---------------------------------------------------------------------
  let raw: unknown;
  try {
    raw = await fetchJson(`${api.url}/api/definitions`, api.user, api.password, f.maxDefinitionsBytes);
  } catch (e) {
    throw new CliError((e as Error).message, EXIT_BROKER_ERROR);
  }
  let prepared: PreparedDefinitions;
  try {
    prepared = prepareDefinitions(raw, { vhosts: f.vhost, exchangeTypes, warrenUser: f.user });
  } catch (e) {
    throw new CliError((e as Error).message, EXIT_BROKER_ERROR);
  }
  const c = prepared.counts;
  if (!f.messagesOnly) {
    await warren.post('/definitions', prepared.doc);
    say(
      `definitions imported: ${c['users']} users, ${c['vhosts']} vhosts, ${c['permissions']} permissions, ${c['policies']} policies, ${c['exchanges']} exchanges, ${c['queues']} queues, ${c['bindings']} bindings\n`,
    );
  }
  for (const s of prepared.skipped) say(`  not migrated: ${s.kind} ${s.vhost === null ? '' : `'${s.vhost}' `}'${s.name}': ${s.reason}\n`);
  const report: { definitions: unknown; queues: QueueReport[]; moved: number; bytes: number; ms: number; msgPerSec: number } = {
    definitions: { imported: !f.messagesOnly, counts: c, skipped: prepared.skipped },
    queues: [],
    moved: 0,
    bytes: 0,
    ms: 0,
    msgPerSec: 0,
  };
  if (f.definitionsOnly) {
    if (f.json) io.out(`${JSON.stringify(report)}\n`);
    return 0;
  }

  // ---- messages ------------------------------------------------------------------------
  const state = new MigrationState(f.state === '' ? null : f.state, api.url);
  if (state.pendingCount > 0) say(`resuming: ${state.pendingCount} messages of an interrupted run are known to be in warren already (${f.state})\n`);
  const toAmqp = await warrenAmqpUrl(f, overview);
  const queues = prepared.queues.filter((q) => f.queue.length === 0 || f.queue.includes(q.name));
  const byVhost = new Map<string, string[]>();
  for (const q of queues) byVhost.set(q.vhost, [...(byVhost.get(q.vhost) ?? []), q.name]);
  const started = Date.now();
  let failed = 0;
  for (const [vhost, names] of byVhost) {
    let src: AmqpPeer | null = null;
    let dst: AmqpPeer | null = null;
    try {
      src = await AmqpPeer.connect({ url: f.fromAmqp!, vhost, name: 'warren migrate (source)', label: 'RabbitMQ' });
      dst = await AmqpPeer.connect({ url: toAmqp, vhost, name: 'warren migrate', label: 'warren' });
      await dst.confirmSelect();
      dst.onBlocked = (blocked, reason) => say(blocked ? `  warren blocked publishing (${reason}); waiting\n` : '  warren unblocked publishing\n');
      for (const queue of names) {
        const entry: QueueReport = { vhost, queue };
        report.queues.push(entry);
        try {
          await warren.get(`/queues/${seg(vhost)}/${seg(queue)}`, { notFound: `warren has no queue '${queue}' in vhost '${vhost}' (import the definitions first)` });
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          entry.error = e.message;
          failed++;
          say(`  '${vhost}' ${queue}: ${e.message}\n`);
          continue;
        }
        const total = (await src.queueCounts(queue)).messages;
        let lastShown = Date.now();
        const t0 = Date.now();
        const r = await moveQueue(src, dst, vhost, queue, {
          window: f.window,
          maxInFlightBytes: 64 * 1024 * 1024,
          limit: null,
          now: Date.now,
          state,
          progress: (moved) => {
            const now = Date.now();
            if (now - lastShown < 1000) return;
            lastShown = now;
            say(`  '${vhost}' ${queue}: ${moved} of ${total} moved (${rate(moved, now - t0)} msg/s)\n`);
          },
        });
        Object.assign(entry, r);
        report.moved += r.moved;
        report.bytes += r.bytes;
        const notes = [
          r.alreadyMoved > 0 ? `${r.alreadyMoved} already moved by the interrupted run` : '',
          r.ttlAdjusted > 0 ? `${r.ttlAdjusted} TTLs shortened by the message's age` : '',
          r.ttlRestarted > 0 ? `${r.ttlRestarted} TTLs restarted (no timestamp)` : '',
          r.userIdRemoved > 0 ? `${r.userIdRemoved} user_id removed` : '',
          r.left > 0 ? `${r.left} left in RabbitMQ (published meanwhile?)` : '',
        ].filter((s) => s !== '');
        say(`  '${vhost}' ${queue}: ${r.moved} moved in ${(r.ms / 1000).toFixed(1)} s (${rate(r.moved, r.ms)} msg/s)${notes.length > 0 ? `; ${notes.join('; ')}` : ''}\n`);
      }
    } catch (e) {
      failed++;
      const last = report.queues.at(-1);
      const message = (e as Error).message;
      if (last !== undefined && last.vhost === vhost && last.error === undefined && last.moved === undefined) last.error = message;
      say(`  vhost '${vhost}': ${message}\n`);
    } finally {
      await src?.close();
      await dst?.close();
    }
  }
  report.ms = Date.now() - started;
  report.msgPerSec = rate(report.moved, report.ms);
  state.flush();
  if (failed === 0) state.remove();
  say(`messages: ${report.moved} moved from ${queues.length} queues in ${(report.ms / 1000).toFixed(1)} s (${report.msgPerSec} msg/s)${failed > 0 ? `; ${failed} failed` : ''}\n`);
  if (f.json) io.out(`${JSON.stringify(report)}\n`);
  return failed === 0 ? 0 : EXIT_BROKER_ERROR;
}
