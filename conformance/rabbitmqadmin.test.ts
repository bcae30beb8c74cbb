// RabbitMQ's own CLI, rabbitmqadmin 3.10.8 (Debian's rabbitmq-server package), pointed at the
// built warren's management HTTP API unchanged: list, declare, publish, get, delete, purge,
// export and import. The expected outputs are what rabbitmqadmin printed against RabbitMQ
// 3.10.8 for the same commands (RabbitMQ shows a queue's message count only after its 5 s
// statistics interval; warren at once, so the tests wait for it where they look at it).

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWarren, type WarrenProcess } from './warren-process.js';

const RABBITMQADMIN = '/usr/bin/rabbitmqadmin';
/** The definitions RabbitMQ 3.10.8 exported (real password hashes: guest/guest, alice/alice-pw, bob/bob-pw). */
const RABBITMQ_EXPORT = join(import.meta.dirname, '..', 'test', 'admin', 'fixtures', 'rabbitmq-3.10.8-definitions.json');

let w: WarrenProcess;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-rabbitmqadmin-'));
  w = await startWarren(dir);
});

afterAll(async () => {
  await w?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs rabbitmqadmin against warren as guest (or with the -u/-p given first). */
function rabbitmqadmin(...args: string[]): Promise<Result> {
  const auth = args[0] === '-u' ? [] : ['-u', 'guest', '-p', 'guest'];
  return new Promise((resolve, reject) => {
    execFile(RABBITMQADMIN, ['-H', '127.0.0.1', '-P', String(w.httpPort), ...auth, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error(`${RABBITMQADMIN} not found: install Debian's rabbitmq-server package (it ships rabbitmqadmin)`));
        return;
      }
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function ok(...args: string[]): Promise<string> {
  const r = await rabbitmqadmin(...args);
  if (r.code !== 0) throw new Error(`rabbitmqadmin ${args.join(' ')} failed (${r.code}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function table(...lines: string[]): string {
  return lines.join('\n') + '\n';
}

describe('rabbitmqadmin against warren', () => {
  it('declares, lists, publishes, gets, unbinds, purges and deletes, printing what it prints for RabbitMQ', async () => {
    expect(await ok('declare', 'vhost', 'name=seq')).toBe('vhost declared\n');
    const V = ['-V', 'seq'];
    expect(await ok(...V, 'list', 'queues')).toBe('No items\n');
    expect(await ok(...V, 'declare', 'queue', 'name=orders')).toBe('queue declared\n');
    expect(await ok(...V, 'declare', 'exchange', 'name=shop', 'type=topic')).toBe('exchange declared\n');
    expect(await ok(...V, 'declare', 'binding', 'source=shop', 'destination=orders', 'routing_key=order.*')).toBe('binding declared\n');
    expect(await ok(...V, 'publish', 'exchange=shop', 'routing_key=order.new', 'payload=hello')).toBe('Message published\n');
    expect(await ok(...V, 'publish', 'exchange=shop', 'routing_key=nothing', 'payload=lost')).toBe('Message published but NOT routed\n');
    expect(await ok(...V, 'list', 'queues')).toBe(table('+--------+----------+', '|  name  | messages |', '+--------+----------+', '| orders | 1        |', '+--------+----------+'));
    expect(await ok(...V, 'list', 'queues', 'name', 'messages', 'durable', 'auto_delete')).toBe(
      table(
        '+--------+----------+---------+-------------+',
        '|  name  | messages | durable | auto_delete |',
        '+--------+----------+---------+-------------+',
        '| orders | 1        | True    | False       |',
        '+--------+----------+---------+-------------+',
      ),
    );
    expect(await ok(...V, 'list', 'exchanges', 'name', 'type', 'durable')).toBe(
      table(
        '+--------------------+---------+---------+',
        '|        name        |  type   | durable |',
        '+--------------------+---------+---------+',
        '|                    | direct  | True    |',
        '| amq.direct         | direct  | True    |',
        '| amq.fanout         | fanout  | True    |',
        '| amq.headers        | headers | True    |',
        '| amq.match          | headers | True    |',
        '| amq.rabbitmq.trace | topic   | True    |',
        '| amq.topic          | topic   | True    |',
        '| shop               | topic   | True    |',
        '+--------------------+---------+---------+',
      ),
    );
    expect(await ok(...V, 'list', 'bindings', 'source', 'destination', 'routing_key', 'properties_key')).toBe(
      table(
        '+--------+-------------+-------------+----------------+',
        '| source | destination | routing_key | properties_key |',
        '+--------+-------------+-------------+----------------+',
        '|        | orders      | orders      | orders         |',
        '| shop   | orders      | order.*     | order.%2A      |',
        '+--------+-------------+-------------+----------------+',
      ),
    );
    const getHeader = [
      '+-------------+----------+---------------+---------+---------------+------------------+------------+-------------+',
      '| routing_key | exchange | message_count | payload | payload_bytes | payload_encoding | properties | redelivered |',
      '+-------------+----------+---------------+---------+---------------+------------------+------------+-------------+',
    ];
    const getFooter = getHeader[0]!;
    expect(await ok(...V, 'get', 'queue=orders')).toBe(table(...getHeader, '| order.new   | shop     | 0             | hello   | 5             | string           |            | False       |', getFooter));
    expect(await ok(...V, 'get', 'queue=orders', 'ackmode=ack_requeue_false')).toBe(
      table(...getHeader, '| order.new   | shop     | 0             | hello   | 5             | string           |            | True        |', getFooter),
    );
    expect(await ok(...V, '-f', 'tsv', 'list', 'queues', 'name', 'messages')).toBe('name\tmessages\norders\t0\n');
    expect((await ok(...V, '-f', 'kvp', 'list', 'exchanges', 'name', 'type')).split('\n')).toContain('name="shop" type="topic"');
    expect(await ok(...V, 'delete', 'binding', 'source=shop', 'destination_type=queue', 'destination=orders', 'properties_key=order.%2A')).toBe('binding deleted\n');
    expect(await ok(...V, 'list', 'bindings', 'source', 'destination', 'routing_key')).toBe(
      table('+--------+-------------+-------------+', '| source | destination | routing_key |', '+--------+-------------+-------------+', '|        | orders      | orders      |', '+--------+-------------+-------------+'),
    );
    expect(await ok(...V, 'purge', 'queue', 'name=orders')).toBe('queue purged\n');
    expect(await ok(...V, 'delete', 'queue', 'name=orders')).toBe('queue deleted\n');
    expect(await ok(...V, 'delete', 'exchange', 'name=shop')).toBe('exchange deleted\n');
    expect(await ok('delete', 'vhost', 'name=seq')).toBe('vhost deleted\n');
  });

  it('reports errors as it does for RabbitMQ: the reason of a 400, "Not found", "Access refused", exit code 1', async () => {
    await ok('declare', 'queue', 'name=errs');
    expect(await rabbitmqadmin('declare', 'queue', 'name=errs', 'durable=false')).toEqual({
      code: 1,
      stdout: '',
      stderr: "*** inequivalent arg 'durable' for queue 'errs' in vhost '/': received 'false' but current is 'true'\n\n",
    });
    expect(await rabbitmqadmin('delete', 'queue', 'name=nope')).toEqual({ code: 1, stdout: '', stderr: '*** Not found: /api/queues/%2F/nope\n\n' });
    expect(await rabbitmqadmin('-u', 'guest', '-p', 'wrong', 'list', 'queues')).toEqual({ code: 1, stdout: '', stderr: '*** Access refused: /api/queues?columns=name,messages\n\n' });
    await ok('delete', 'queue', 'name=errs');
  });

  it('manages users, vhosts and permissions', async () => {
    await ok('declare', 'vhost', 'name=team');
    expect(await ok('declare', 'user', 'name=carol', 'password=carol-pw', 'tags=management')).toBe('user declared\n');
    expect(await ok('declare', 'permission', 'vhost=team', 'user=carol', 'configure=^carol-', 'write=.*', 'read=.*')).toBe('permission declared\n');
    expect(await ok('list', 'permissions', 'user', 'vhost', 'configure')).toContain('| carol | team  | ^carol-   |');
    expect(await ok('list', 'users', 'name', 'tags')).toContain('| carol | management    |');
    expect(await ok('-u', 'carol', '-p', 'carol-pw', '-V', 'team', 'declare', 'queue', 'name=carol-q')).toBe('queue declared\n');
    const refused = await rabbitmqadmin('-u', 'carol', '-p', 'carol-pw', '-V', 'team', 'declare', 'queue', 'name=other-q');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe('*** Access refused: /api/queues/team/other-q\n\n');
    const conn = await amqp.connect(`amqp://carol:carol-pw@127.0.0.1:${w.port}/team`);
    await conn.close();
    expect(await ok('delete', 'user', 'name=carol')).toBe('user deleted\n');
    expect(await ok('delete', 'vhost', 'name=team')).toBe('vhost deleted\n');
  });

  it('shows the overview, nodes and connections, and closes a connection', async () => {
    const show = (await ok('-f', 'tsv', 'show', 'overview')).trim().split('\n');
    expect(show[0]).toBe('rabbitmq_version\tcluster_name\tqueue_totals.messages\tobject_totals.queues');
    expect(show[1]).toMatch(/^3\.10\.8\twarren@\S+\t\d+\t\d+$/);
    const conn = await amqp.connect(w.url);
    const closed = new Promise<Error | undefined>((resolve) => conn.once('close', (e?: Error) => resolve(e)));
    conn.on('error', () => undefined);
    const rows = (await ok('-f', 'tsv', 'list', 'connections', 'name', 'user', 'channels')).trim().split('\n');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toBe('name\tuser\tchannels');
    const [name, user, channels] = rows[1]!.split('\t');
    expect(name).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+ -> 127\\.0\\.0\\.1:${w.port}$`));
    expect([user, channels]).toEqual(['guest', '0']);
    expect((await ok('-f', 'tsv', 'list', 'nodes', 'name', 'type')).trim()).toMatch(/^name\ttype\nwarren@\S+\tdisc$/);
    expect(await ok('close', 'connection', `name=${name}`)).toBe('connection closed\n');
    expect((await closed)?.message).toMatch(/CONNECTION_FORCED - Closed via management plugin/);
  });

  it('imports an export from RabbitMQ and exports the same definitions back', async () => {
    const exported = join(dir, 'from-warren.json');
    expect(await ok('import', RABBITMQ_EXPORT)).toMatch(/^Uploaded definitions from "127\.0\.0\.1" to /);
    expect(await ok('export', exported)).toBe(`Exported definitions for 127.0.0.1 to "${exported}"\n`);
    const original = JSON.parse(readFileSync(RABBITMQ_EXPORT, 'utf8')) as Defs;
    const again = JSON.parse(readFileSync(exported, 'utf8')) as Defs;
    expect(normalize(again)).toEqual(normalize(original));
    // The users log in with the passwords RabbitMQ hashed.
    const alice = await amqp.connect(`amqp://alice:alice-pw@127.0.0.1:${w.port}/`);
    await alice.close();
    const bob = await amqp.connect(`amqp://bob:bob-pw@127.0.0.1:${w.port}/staging`);
    await bob.close();
    // And warren's export imports into warren again (a vhost-scoped one too).
    writeFileSync(join(dir, 'again.json'), JSON.stringify(again));
    expect((await rabbitmqadmin('import', join(dir, 'again.json'))).code).toBe(0);
    const staging = join(dir, 'staging.json');
    await ok('-V', 'staging', 'export', staging);
    expect(JSON.parse(readFileSync(staging, 'utf8'))).toMatchObject({ queues: [{ name: 'bob-inbox', durable: true }] });
  });
});

type Defs = Record<string, Record<string, unknown>[]>;

/** JSON with sorted keys at every level. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The content an import and export must keep. */
function normalize(d: Defs): Record<string, string[]> {
  const sorted = (items: unknown[] | undefined): string[] => (items ?? []).map(canonical).sort();
  return {
    users: sorted(d['users']?.map((u) => ({ name: u['name'], password_hash: u['password_hash'], hashing_algorithm: u['hashing_algorithm'], tags: u['tags'] }))),
    vhosts: sorted(d['vhosts']?.map((v) => v['name'])),
    permissions: sorted(d['permissions']),
    queues: sorted(d['queues']),
    exchanges: sorted(d['exchanges']),
    bindings: sorted(d['bindings']),
  };
}
