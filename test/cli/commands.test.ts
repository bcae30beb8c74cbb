// The CLI commands in-process against a broker's HTTP API: tables and --json, columns as
// arguments or --columns, the management commands, and the exit codes (1 broker error,
// 2 usage, 3 no broker).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/program.js';
import { adminBroker, type AdminTestBroker } from '../admin/helpers.js';

let t: AdminTestBroker;
beforeEach(async () => {
  t = await adminBroker();
});
afterEach(async () => {
  await t.close();
});

interface Run {
  code: number;
  out: string;
  err: string;
}

async function warren(args: string[], stdin = ''): Promise<Run> {
  let out = '';
  let err = '';
  const code = await runCli(['node', 'warren', ...args, ...(args[0] === 'start' ? [] : ['--url', t.running.httpUrl!])], {
    out: (s) => (out += s),
    err: (s) => (err += s),
    readStdin: async () => stdin,
  });
  return { code, out, err };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('list commands', () => {
  it('print an aligned table with the default columns, or the chosen ones, or JSON', async () => {
    expect((await warren(['declare-queue', 'orders'])).code).toBe(0);
    await t.api.post('/exchanges/%2F/amq.default/publish', { routing_key: 'orders', payload: 'x', payload_encoding: 'string', properties: {} });
    const table = await warren(['queues']);
    expect(table).toEqual({
      code: 0,
      out: ['vhost  name    messages  messages_ready  messages_unacknowledged  consumers', '/      orders         1               1                        0          0', ''].join('\n'),
      err: '',
    });
    expect((await warren(['queues', 'name', 'messages'])).out).toBe('name    messages\norders         1\n');
    expect((await warren(['queues', '--columns', 'name,durable'])).out).toBe('name    durable\norders  true\n');
    const json = JSON.parse((await warren(['queues', '--json', '--columns', 'name,messages'])).out);
    expect(json).toEqual([{ name: 'orders', messages: 1 }]);
    const full = JSON.parse((await warren(['queues', '--json'])).out) as Record<string, unknown>[];
    expect(full[0]).toMatchObject({ name: 'orders', vhost: '/', durable: true, messages_ready: 1 });
  });

  it('list exchanges, bindings, vhosts, users and permissions', async () => {
    await warren(['declare-queue', 'q']);
    expect((await warren(['exchanges', 'name', 'type'])).out.split('\n')[2]).toBe('amq.direct          direct');
    expect((await warren(['bindings'])).out).toBe('vhost  source  destination  destination_type  routing_key\n/              q            queue             q\n');
    expect((await warren(['vhosts', 'list'])).out).toBe('name  messages  description\n/            0\n');
    expect((await warren(['users', 'list'])).out).toBe('name   tags\nguest  administrator\n');
    expect((await warren(['permissions', 'list'])).out).toBe('user   vhost  configure  write  read\nguest  /      .*         .*     .*\n');
  });

  it('refuses an unknown column with a usage error (exit 2)', async () => {
    await warren(['declare-queue', 'q']);
    const r = await warren(['queues', 'nmae']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^warren: unknown column 'nmae'; the fields here are: .*\bname\b/);
  });
});

describe('management commands', () => {
  it('publish and get (peek by default, --remove takes), purge and delete a queue', async () => {
    await warren(['declare-queue', 'jobs']);
    expect((await warren(['publish', '--routing-key', 'jobs', '--payload', 'first'])).out).toBe('message published\n');
    expect((await warren(['publish', '--routing-key', 'jobs'], 'from stdin')).out).toBe('message published\n');
    expect((await warren(['publish', '--routing-key', 'nobody', '--payload', 'x'])).out).toMatch(/not routed/);
    const peek = await warren(['get', 'jobs', '--count', '5']);
    expect(peek.out.split('\n')[0]).toMatch(/^routing_key\s+exchange\s+message_count\s+redelivered\s+payload_bytes\s+payload_encoding\s+payload$/);
    expect(peek.out).toContain('first');
    expect(peek.out).toContain('from stdin');
    const taken = JSON.parse((await warren(['get', 'jobs', '--remove', '--json'])).out) as Record<string, unknown>[];
    expect(taken).toEqual([expect.objectContaining({ payload: 'first', redelivered: true })]);
    expect((await warren(['purge-queue', 'jobs'])).out).toBe("purged 1 messages from queue 'jobs' in vhost '/'\n");
    expect((await warren(['get', 'jobs'])).out).toBe("queue 'jobs' is empty\n");
    expect((await warren(['delete-queue', 'jobs'])).out).toBe("deleted queue 'jobs' in vhost '/'\n");
  });

  it('manage users, vhosts and permissions', async () => {
    expect((await warren(['users', 'add', 'alice', 's3cret', '--tags', 'management'])).code).toBe(0);
    expect(t.running.broker.checkPassword('alice', 's3cret')).toBe(true);
    expect((await warren(['users', 'set-password', 'alice'], 'n3w\n')).code).toBe(0);
    expect(t.running.broker.checkPassword('alice', 'n3w')).toBe(true);
    expect(t.running.broker.access.user('alice')?.tags).toEqual(['management']);
    expect((await warren(['vhosts', 'add', 'staging', '--description', 'pre-prod'])).out).toBe("added vhost 'staging'\n");
    expect((await warren(['permissions', 'set', 'alice', '^a', '.*', '', '--vhost', 'staging'])).code).toBe(0);
    expect(t.running.broker.access.permission('alice', 'staging')).toEqual({ user: 'alice', vhost: 'staging', configure: '^a', write: '.*', read: '' });
    expect((await warren(['permissions', 'list', '--vhost', 'staging', 'user', 'configure'])).out).toBe('user   configure\nalice  ^a\nguest  .*\n');
    expect((await warren(['permissions', 'clear', 'alice', '--vhost', 'staging'])).code).toBe(0);
    expect((await warren(['vhosts', 'delete', 'staging'])).code).toBe(0);
    expect((await warren(['users', 'delete', 'alice'])).code).toBe(0);
    expect(t.running.broker.access.user('alice')).toBeUndefined();
  });

  it('set, list and clear vhost and user limits', async () => {
    expect((await warren(['vhost-limits', 'list'])).out).toBe('no virtual host limits set\n');
    expect((await warren(['vhost-limits', 'set', 'max-queues', '100'])).out).toBe("set max-queues of virtual host '/' to 100\n");
    expect((await warren(['vhost-limits', 'set', 'max-connections', '-1', '--vhost', '/'])).code).toBe(0);
    expect((await warren(['vhost-limits', 'list'])).out).toBe('vhost  max-connections  max-queues\n/                   -1         100\n');
    expect(t.running.broker.limits.limit('vhost', '/', 'max-queues')).toBe(100);
    expect((await warren(['vhost-limits', 'clear', 'max-queues'])).out).toBe("cleared max-queues of virtual host '/'\n");
    expect(JSON.parse((await warren(['vhost-limits', 'list', '--json'])).out)).toEqual([{ vhost: '/', value: { 'max-connections': -1 } }]);
    const bad = await warren(['vhost-limits', 'set', 'max-foo', '1']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('Unrecognised terms');
    expect((await warren(['vhost-limits', 'set', 'max-queues', 'many'])).code).toBe(2);
    expect((await warren(['vhost-limits', 'set', 'max-queues', '1', '--vhost', 'nowhere'])).err).toBe("warren: no virtual host 'nowhere'\n");

    await warren(['users', 'add', 'alice', 's3cret']);
    expect((await warren(['user-limits', 'set', 'alice', 'max-channels', '8'])).out).toBe("set max-channels of user 'alice' to 8\n");
    expect((await warren(['user-limits', 'list'])).out).toBe('user   max-connections  max-channels\nalice                              8\n');
    expect((await warren(['user-limits', 'list', '--user-name', 'alice', '--json'])).out).toContain('"max-channels": 8');
    expect((await warren(['user-limits', 'clear', 'alice', 'max-channels'])).code).toBe(0);
    expect(t.running.broker.limits.of('user', 'alice')).toEqual({});
  });

  it('export and import definitions through a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-cli-'));
    await warren(['declare-queue', 'kept', '--arguments', '{"x-max-length": 7}']);
    const file = join(dir, 'defs.json');
    expect((await warren(['export', file])).err).toBe(`exported definitions to ${file}\n`);
    const defs = JSON.parse(readFileSync(file, 'utf8'));
    expect(defs.queues).toEqual([{ name: 'kept', vhost: '/', durable: true, auto_delete: false, arguments: { 'x-max-length': 7 } }]);
    defs.queues.push({ name: 'added', vhost: '/', durable: true, auto_delete: false, arguments: {} });
    writeFileSync(file, JSON.stringify(defs));
    expect((await warren(['import', file])).out).toBe(`imported definitions from ${file}\n`);
    expect(t.running.broker.vhost('/')?.getQueue('added')).toBeDefined();
    expect(JSON.parse((await warren(['export'])).out).queues).toHaveLength(2);
  });
});

describe('exit codes and messages', () => {
  it('1 when the broker refuses: a 404 named in words', async () => {
    const r = await warren(['delete-queue', 'ghost']);
    expect(r).toEqual({ code: 1, out: '', err: "warren: no queue 'ghost' in vhost '/'\n" });
    const bad = await warren(['declare-queue', 'q', '--arguments', '{"x-max-length": "many"}']);
    expect(bad.code).toBe(1);
  });

  it('1 with a hint when the credentials are wrong', async () => {
    const r = await warren(['queues', '--password', 'wrong']);
    expect(r.code).toBe(1);
    expect(r.err).toBe("warren: access refused for user 'guest': Login failed (check --user and --password)\n");
  });

  it('2 for usage errors', async () => {
    expect((await warren(['queues', '--bogus'])).code).toBe(2);
    expect((await warren(['publish', '--payload', 'x'])).code).toBe(2);
    expect((await warren(['get', 'q', '--count', 'zero'])).code).toBe(2);
    expect((await warren(['no-such-command'])).code).toBe(2);
  });

  it('3 and how to start one when no broker answers', async () => {
    const port = await closedPort();
    let err = '';
    const code = await runCli(['node', 'warren', 'queues', '--url', `http://127.0.0.1:${port}`], { out: () => undefined, err: (s) => (err += s), readStdin: async () => '' });
    expect(code).toBe(3);
    expect(err).toBe(`warren: no warren is answering at http://127.0.0.1:${port} (connection refused); start one with \`warren start\`, or point --url at a running broker's HTTP API\n`);
  });

  it('0 for --help, which shows examples', async () => {
    for (const cmd of [['queues'], ['publish'], ['users', 'add'], ['permissions', 'set'], ['status'], ['export']]) {
      const r = await warren([...cmd, '--help']);
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(r.out, cmd.join(' ')).toMatch(/Examples:\n {2}\$ warren /);
    }
  });

  it('status shows that the broker runs, and what it holds', async () => {
    const r = await warren(['status']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^status\s+running$/m);
    expect(r.out).toMatch(/^listeners\s+amqp 127\.0\.0\.1:\d+, http 127\.0\.0\.1:\d+$/m);
    expect(r.out).toMatch(/^queues\s+0$/m);
    const json = JSON.parse((await warren(['status', '--json'])).out);
    expect(json.overview.product_name).toBe('warren');
    expect(json.node.running).toBe(true);
  });
});
