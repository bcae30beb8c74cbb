// The built `warren` command as an operator runs it: `warren start` configured by file,
// environment and flags (and refusing bad settings with the key named), then the inspection
// and management commands against the running broker's HTTP API, with their exit codes.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWarren, WARREN_MAIN, type WarrenProcess } from './warren-process.js';

let dir: string;
let w: WarrenProcess;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-cli-'));
  w = await startWarren(join(dir, 'data'), ['--data-dir', 'none']);
});

afterAll(async () => {
  await w?.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `warren <args>` to completion with extra environment and standard input. */
function warren(args: string[], options: { env?: Record<string, string>; stdin?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    for (const k of Object.keys(env)) if (k.startsWith('WARREN_') && !(options.env && k in options.env)) delete env[k];
    const child = spawn(process.execPath, [WARREN_MAIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

const api = () => ['--url', `http://127.0.0.1:${w.httpPort}`];

describe('warren start configuration', () => {
  it('--print-config shows flags over environment over the config file, passwords masked', async () => {
    const file = join(dir, 'warren.json');
    writeFileSync(file, JSON.stringify({ port: 6001, httpPort: 16001, heartbeat: 30, users: [{ name: 'admin', password: 'hunter2', tags: ['administrator'] }] }));
    const r = await warren(['start', '--config', file, '--port', '6003', '--print-config'], { env: { WARREN_PORT: '6002', WARREN_HTTP_PORT: '16002' } });
    expect(r.code).toBe(0);
    const config = JSON.parse(r.stdout);
    expect(config).toMatchObject({ port: 6003, httpPort: 16002, heartbeat: 30, host: '::', users: [{ name: 'admin', password: '********', tags: ['administrator'] }] });
    expect(r.stdout).not.toContain('hunter2');
    const viaEnv = await warren(['start', '--print-config'], { env: { WARREN_CONFIG_FILE: file } });
    expect(JSON.parse(viaEnv.stdout).port).toBe(6001);
  });

  it('refuses an unknown key or a bad value at start: one line naming it, exit 1', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ port: 5672, heartbaet: 10 }));
    const unknown = await warren(['start', '--config', file]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(new RegExp(`^warren: config file ${file}: unknown key "heartbaet" \\(known keys: .*\\)\\n$`));
    const env = await warren(['start', '--data-dir', 'none'], { env: { WARREN_MAX_DB_SIZE: 'lots' } });
    expect(env).toMatchObject({ code: 1, stderr: 'warren: WARREN_MAX_DB_SIZE: must be a size in bytes, e.g. 1073741824 or 1GiB, got "lots"\n' });
    const flag = await warren(['start', '--http-port', '99999']);
    expect(flag).toMatchObject({ code: 1, stderr: 'warren: --http-port: must be a port number (0-65535) or "off", got "99999"\n' });
    const usage = await warren(['start', '--no-such-flag']);
    expect(usage.code).toBe(2);
  });

  it('refuses an HTTP port that is taken when it was asked for', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await warren(['start', '--host', '127.0.0.1', '--port', '0', '--http-host', '127.0.0.1', '--http-port', String(port), '--data-dir', 'none']);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`warren: HTTP API port ${port} on 127.0.0.1 is already in use (another broker running?); pick another with --http-port\n`);
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
  });

  it('serves no HTTP API with --http-port off', async () => {
    const off = await startWarren(join(dir, 'off'), ['--data-dir', 'none', '--http-port', 'off']);
    try {
      expect(off.httpPort).toBeNull();
      expect(off.output()).not.toContain('http listening');
    } finally {
      await off.kill('SIGTERM');
    }
  });
});

describe('commands against the running broker', () => {
  it('status, then queues as a table, with chosen columns, and as JSON', async () => {
    const status = await warren(['status', ...api()]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^status\s+running$/m);
    // startWarren puts AMQP on 127.0.0.1; the HTTP API keeps its default interface, every one (::).
    expect(status.stdout).toMatch(new RegExp(`^listeners\\s+amqp 127\\.0\\.0\\.1:${w.port}, http \\[::\\]:${w.httpPort}$`, 'm'));

    const conn = await amqp.connect(w.url);
    const ch = await conn.createChannel();
    await ch.assertQueue('cli-orders');
    for (let i = 0; i < 3; i++) ch.sendToQueue('cli-orders', Buffer.from(`m${i}`));
    await ch.checkQueue('cli-orders');
    await conn.close();

    expect((await warren(['queues', 'name', 'messages', 'consumers', ...api()])).stdout).toBe('name        messages  consumers\ncli-orders         3          0\n');
    expect((await warren(['queues', '--columns', 'name,durable', ...api()])).stdout).toBe('name        durable\ncli-orders  true\n');
    const json = JSON.parse((await warren(['queues', '--json', ...api()])).stdout) as Record<string, unknown>[];
    expect(json).toEqual([expect.objectContaining({ name: 'cli-orders', vhost: '/', messages: 3, messages_ready: 3, messages_unacknowledged: 0 })]);
  });

  it('manages queues, messages, users, vhosts and permissions; --url can come from WARREN_URL', async () => {
    const env = { WARREN_URL: `http://127.0.0.1:${w.httpPort}` };
    expect(await warren(['declare-queue', 'cli-jobs'], { env })).toMatchObject({ code: 0, stdout: "declared queue 'cli-jobs' in vhost '/'\n" });
    expect(await warren(['publish', '--routing-key', 'cli-jobs'], { env, stdin: 'from a pipe' })).toMatchObject({ code: 0, stdout: 'message published\n' });
    const got = JSON.parse((await warren(['get', 'cli-jobs', '--remove', '--json'], { env })).stdout);
    expect(got).toEqual([expect.objectContaining({ payload: 'from a pipe', routing_key: 'cli-jobs', exchange: '' })]);
    expect((await warren(['users', 'add', 'dora', 'dora-pw', '--tags', 'management'], { env })).code).toBe(0);
    expect((await warren(['vhosts', 'add', 'dora-vh'], { env })).code).toBe(0);
    expect((await warren(['permissions', 'set', 'dora', '.*', '.*', '.*', '--vhost', 'dora-vh'], { env })).code).toBe(0);
    const dora = await amqp.connect(`amqp://dora:dora-pw@127.0.0.1:${w.port}/dora-vh`);
    await dora.close();
    expect((await warren(['users', 'list', '--json', '--columns', 'name,tags'], { env })).stdout).toContain('"name": "dora"');
    expect((await warren(['delete-queue', 'cli-jobs'], { env })).code).toBe(0);
  });

  it('exit 1 for what the broker refuses, 2 for usage errors, 3 when no broker answers', async () => {
    expect(await warren(['purge-queue', 'ghost', ...api()])).toMatchObject({ code: 1, stderr: "warren: no queue 'ghost' in vhost '/'\n" });
    expect(await warren(['queues', '--password', 'nope', ...api()])).toMatchObject({ code: 1, stderr: "warren: access refused for user 'guest': Login failed (check --user and --password)\n" });
    expect((await warren(['queues', '--frobnicate', ...api()])).code).toBe(2);
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const port = (free.address() as { port: number }).port;
    await new Promise<void>((r) => free.close(() => r()));
    const down = await warren(['status', '--url', `http://127.0.0.1:${port}`]);
    expect(down).toEqual({
      code: 3,
      stdout: '',
      stderr: `warren: no warren is answering at http://127.0.0.1:${port} (connection refused); start one with \`warren start\`, or point --url at a running broker's HTTP API\n`,
    });
  });

  it('--help for every command, with examples', async () => {
    const top = await warren(['--help']);
    expect(top.code).toBe(0);
    const commands = ['start', 'status', 'queues', 'exchanges', 'bindings', 'connections', 'channels', 'consumers', 'purge-queue', 'delete-queue', 'declare-queue', 'publish', 'get', 'users', 'vhosts', 'permissions', 'export', 'import'];
    for (const c of commands) expect(top.stdout, c).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    for (const c of [...commands, 'users add', 'users set-password', 'vhosts delete', 'permissions clear']) {
      const r = await warren([...c.split(' '), '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toContain('Examples:');
    }
  });
});
