// Limits as RabbitMQ names them, through real clients: vhost max-connections and max-queues,
// user max-connections and max-channels, set through the management API with curl on warren
// and with `rabbitmqctl set_vhost_limits` / `set_user_limits` on the reference RabbitMQ (run
// with WARREN_CONFORMANCE_URL=amqp://guest:guest@127.0.0.1:5673: the same tests pass against
// RabbitMQ 3.10.8; what they set there is cleared again). warren only: limits survive kill -9,
// the broker-wide connectionMax and consumerMaxPerChannel (RabbitMQ 3.10 has no refusal for
// these; the texts are those of later RabbitMQ releases), and the fatal-exit policy.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp, { type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFORMANCE_DIR, enc, listeningRecord, parseClose, RawClient, REPO_ROOT, runProcess, uid, type CloseInfo } from './harness.js';
import { startWarren, type WarrenProcess } from './warren-process.js';

const REFERENCE = process.env['WARREN_CONFORMANCE_URL'];

/** How limits, users and vhosts are set on the broker under test. */
interface Admin {
  addVhost(v: string): Promise<void>;
  deleteVhost(v: string): Promise<void>;
  /** A user with full permissions on the given vhosts. */
  addUser(u: string, vhosts: string[]): Promise<void>;
  deleteUser(u: string): Promise<void>;
  setVhostLimit(v: string, name: string, value: number): Promise<void>;
  setUserLimit(u: string, name: string, value: number): Promise<void>;
}

async function must(p: Promise<{ code: number | null; stdout: string; stderr: string }>, what: string): Promise<string> {
  const r = await p;
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** warren's management API, driven with curl. */
function curlAdmin(httpPort: number): Admin {
  const curl = async (method: string, path: string, body?: unknown): Promise<void> => {
    const args = ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-u', 'guest:guest', '-X', method, `http://127.0.0.1:${httpPort}/api${path}`];
    if (body !== undefined) args.push('-H', 'content-type: application/json', '-d', JSON.stringify(body));
    const status = await must(runProcess('curl', args), `curl ${method} ${path}`);
    if (!/^2\d\d$/.test(status)) throw new Error(`curl ${method} ${path}: HTTP ${status}`);
  };
  const seg = encodeURIComponent;
  return {
    addVhost: (v) => curl('PUT', `/vhosts/${seg(v)}`, {}),
    deleteVhost: (v) => curl('DELETE', `/vhosts/${seg(v)}`),
    async addUser(u, vhosts) {
      await curl('PUT', `/users/${seg(u)}`, { password: 'pw', tags: '' });
      for (const v of vhosts) await curl('PUT', `/permissions/${seg(v)}/${seg(u)}`, { configure: '.*', write: '.*', read: '.*' });
    },
    deleteUser: (u) => curl('DELETE', `/users/${seg(u)}`),
    setVhostLimit: (v, name, value) => curl('PUT', `/vhost-limits/${seg(v)}/${seg(name)}`, { value }),
    setUserLimit: (u, name, value) => curl('PUT', `/user-limits/${seg(u)}/${seg(name)}`, { value }),
  };
}

/** The reference RabbitMQ, driven with rabbitmqctl (limits are set as a whole JSON object there). */
function ctlAdmin(port: number): Admin {
  const ctl = (...args: string[]) => must(runProcess(join(CONFORMANCE_DIR, 'rabbitmq-ref.sh'), ['ctl', ...args], { env: { RABBITMQ_REF_PORT: String(port) } }), `rabbitmqctl ${args[0]}`);
  const vhostLimits = new Map<string, Record<string, number>>();
  const userLimits = new Map<string, Record<string, number>>();
  return {
    addVhost: async (v) => void (await ctl('add_vhost', v)),
    deleteVhost: async (v) => void (await ctl('delete_vhost', v)),
    async addUser(u, vhosts) {
      await ctl('add_user', u, 'pw');
      for (const v of vhosts) await ctl('set_permissions', '-p', v, u, '.*', '.*', '.*');
    },
    deleteUser: async (u) => void (await ctl('delete_user', u)),
    async setVhostLimit(v, name, value) {
      const all = { ...vhostLimits.get(v), [name]: value };
      vhostLimits.set(v, all);
      await ctl('set_vhost_limits', '-p', v, JSON.stringify(all));
    },
    async setUserLimit(u, name, value) {
      const all = { ...userLimits.get(u), [name]: value };
      userLimits.set(u, all);
      await ctl('set_user_limits', u, JSON.stringify(all));
    },
  };
}

let w: WarrenProcess | null = null;
let port: number;
let admin: Admin;
const dirs: string[] = [];
const created = { vhosts: [] as string[], users: [] as string[] };
const conns: ChannelModel[] = [];
const raws: RawClient[] = [];

beforeAll(async () => {
  if (REFERENCE) {
    port = Number(new URL(REFERENCE).port || 5672);
    admin = ctlAdmin(port);
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'warren-limits-'));
    dirs.push(dir);
    w = await startWarren(dir);
    port = w.port;
    admin = curlAdmin(w.httpPort!);
  }
});

afterAll(async () => {
  for (const c of conns) await c.close().catch(() => undefined);
  for (const r of raws) r.destroy();
  // Deleting them clears their limits too (on both brokers), so the shared reference is left as it was.
  for (const v of created.vhosts) await admin.deleteVhost(v).catch(() => undefined);
  for (const u of created.users) await admin.deleteUser(u).catch(() => undefined);
  await w?.kill('SIGTERM');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function vhost(prefix: string): Promise<string> {
  const v = uid(prefix);
  await admin.addVhost(v);
  created.vhosts.push(v);
  return v;
}

async function user(prefix: string, vhosts: string[]): Promise<string> {
  const u = uid(prefix);
  await admin.addUser(u, vhosts);
  created.users.push(u);
  return u;
}

async function connect(u: string, password: string, v: string): Promise<ChannelModel> {
  const c = await amqp.connect(`amqp://${u}:${password}@127.0.0.1:${port}/${encodeURIComponent(v)}`);
  c.on('error', () => undefined);
  conns.push(c);
  return c;
}

/** Runs the handshake by hand; returns the server's connection.close for connection.open, or null for open-ok. */
async function rawOpen(u: string, password: string, v: string): Promise<{ client: RawClient; close: CloseInfo | null }> {
  const c = await RawClient.connect('127.0.0.1', port);
  raws.push(c);
  await c.handshake({ user: u, password, stopAfterStartOk: true });
  await c.expectMethod(0, 10, 30);
  c.sendMethod(0, 10, 31, Buffer.concat([enc.u16(2047), enc.u32(131072), enc.u16(0)]));
  c.sendMethod(0, 10, 40, Buffer.concat([enc.shortstr(v), enc.shortstr(''), enc.u8(0)]));
  const f = await c.nextNonHeartbeat();
  if (f.classId === 10 && f.methodId === 41) return { client: c, close: null };
  if (f.classId === 10 && f.methodId === 50) return { client: c, close: parseClose(f) };
  throw new Error(`unexpected answer to connection.open: ${f.classId}/${f.methodId}`);
}

describe('vhost limits', () => {
  it('max-connections: connection.open past it is refused with 530 and RabbitMQ\'s text, before the permission check', async () => {
    const v = await vhost('lim-vh');
    const u = await user('lim-u', [v]);
    await admin.setVhostLimit(v, 'max-connections', 1);
    await connect(u, 'pw', v);
    expect((await rawOpen(u, 'pw', v)).close).toEqual({ code: 530, text: `NOT_ALLOWED - access to vhost '${v}' refused for user '${u}': connection limit (1) is reached`, classId: 10, methodId: 40 });
    // guest has no permissions on the vhost, and still hears about the limit first.
    expect((await rawOpen('guest', 'guest', v)).close?.text).toBe(`NOT_ALLOWED - access to vhost '${v}' refused for user 'guest': connection limit (1) is reached`);
    await expect(amqp.connect(`amqp://${u}:pw@127.0.0.1:${port}/${encodeURIComponent(v)}`)).rejects.toThrow();
  });

  it('max-queues: a queue past it is refused with 406 on queue.declare; existing queues may be declared again', async () => {
    const v = await vhost('lim-vq');
    const u = await user('lim-u', [v]);
    await admin.setVhostLimit(v, 'max-queues', 2);
    const conn = await connect(u, 'pw', v);
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    await ch.assertQueue('q1', { exclusive: true });
    await ch.assertQueue('', { exclusive: true });
    const err = (await ch.assertQueue('q3', { exclusive: true }).catch((e: unknown) => e)) as { code?: number; classId?: number; methodId?: number; message: string };
    expect(err).toMatchObject({ code: 406, classId: 50, methodId: 10 });
    expect(err.message).toContain(`"PRECONDITION_FAILED - cannot declare queue 'q3': queue limit in vhost '${v}' (2) is reached"`);
    const ch2 = await conn.createChannel();
    await ch2.assertQueue('q1', { exclusive: true });
    await ch2.checkQueue('q1');
  });
});

describe('user limits', () => {
  it('max-connections counts the user\'s connections in every vhost: 530 with RabbitMQ\'s text', async () => {
    const v = await vhost('lim-uc');
    const u = await user('lim-u', ['/', v]);
    await admin.setUserLimit(u, 'max-connections', 2);
    await connect(u, 'pw', '/');
    await connect(u, 'pw', v);
    expect((await rawOpen(u, 'pw', v)).close).toEqual({ code: 530, text: `NOT_ALLOWED - connection refused for user '${u}': user connection limit (2) is reached`, classId: 10, methodId: 40 });
    expect((await rawOpen('guest', 'guest', '/')).close).toBeNull();
  });

  it('the vhost limit is heard before the user limit, the user limit before a missing permission', async () => {
    const v = await vhost('lim-order');
    const noPerm = await vhost('lim-noperm');
    const u = await user('lim-u', [v]);
    await admin.setVhostLimit(v, 'max-connections', 0);
    await admin.setUserLimit(u, 'max-connections', 0);
    expect((await rawOpen(u, 'pw', v)).close?.text).toBe(`NOT_ALLOWED - access to vhost '${v}' refused for user '${u}': connection limit (0) is reached`);
    expect((await rawOpen(u, 'pw', noPerm)).close?.text).toBe(`NOT_ALLOWED - connection refused for user '${u}': user connection limit (0) is reached`);
  });

  it('max-channels: one channel more closes the connection with 530 and RabbitMQ\'s text', async () => {
    const u = await user('lim-u', ['/']);
    await admin.setUserLimit(u, 'max-channels', 2);
    const { client, close } = await rawOpen(u, 'pw', '/');
    expect(close).toBeNull();
    await client.openChannel(1);
    await client.openChannel(2);
    client.sendMethod(3, 20, 10, enc.shortstr(''));
    const f = await client.nextNonHeartbeat();
    expect({ channel: f.channel, ...parseClose(f) }).toMatchObject({
      channel: 0,
      code: 530,
      text: `NOT_ALLOWED - number of channels opened for user '${u}' has reached the maximum allowed user limit of (2)`,
    });
    // Through amqplib: the connection is closed with the same code.
    const conn = await connect(u, 'pw', '/');
    const closed = new Promise<{ code?: number; message?: string }>((resolve) => conn.once('error', resolve));
    await conn.createChannel();
    await conn.createChannel().catch(() => undefined);
    await conn.createChannel().catch(() => undefined);
    expect(await closed).toMatchObject({ code: 530 });
  });
});

describe.skipIf(REFERENCE !== undefined)('warren only', () => {
  it('limits set through the API survive kill -9', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-limits-restart-'));
    dirs.push(dir);
    const p = await startWarren(dir);
    const a = curlAdmin(p.httpPort!);
    await a.setVhostLimit('/', 'max-queues', 0);
    await a.addUser('lu', ['/']);
    await a.setUserLimit('lu', 'max-connections', 0);
    await p.kill('SIGKILL');
    const again = await startWarren(dir);
    try {
      const res = await runProcess('curl', ['-s', '-u', 'guest:guest', `http://127.0.0.1:${again.httpPort}/api/vhost-limits`]);
      expect(JSON.parse(res.stdout)).toEqual([{ vhost: '/', value: { 'max-queues': 0 } }]);
      const conn = await amqp.connect(again.url);
      const ch = await conn.createChannel();
      ch.on('error', () => undefined);
      await expect(ch.assertQueue('nope')).rejects.toThrow(/queue limit in vhost '\/' \(0\) is reached/);
      await conn.close().catch(() => undefined);
      await expect(amqp.connect(`amqp://lu:pw@127.0.0.1:${again.port}`)).rejects.toThrow();
    } finally {
      await again.kill('SIGTERM');
    }
  });

  it('--connection-max and --consumer-max-per-channel: 530 with the texts of later RabbitMQ releases', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warren-limits-caps-'));
    dirs.push(dir);
    const p = await startWarren(dir, ['--connection-max', '1', '--consumer-max-per-channel', '1']);
    try {
      const conn = await amqp.connect(p.url);
      conn.on('error', () => undefined);
      const c = await RawClient.connect('127.0.0.1', p.port);
      raws.push(c);
      await c.handshake({ stopAfterStartOk: true });
      await c.expectMethod(0, 10, 30);
      c.sendMethod(0, 10, 31, Buffer.concat([enc.u16(2047), enc.u32(131072), enc.u16(0)]));
      c.sendMethod(0, 10, 40, Buffer.concat([enc.shortstr('/'), enc.shortstr(''), enc.u8(0)]));
      expect(parseClose(await c.nextNonHeartbeat())).toEqual({ code: 530, text: 'NOT_ALLOWED - connection refused: node connection limit (1) is reached', classId: 10, methodId: 40 });
      const ch = await conn.createChannel();
      const q = (await ch.assertQueue('', { exclusive: true })).queue;
      await ch.consume(q, () => undefined);
      const closed = new Promise<{ code?: number; message?: string }>((resolve) => conn.once('error', resolve));
      await ch.consume(q, () => undefined).catch(() => undefined);
      const e = await closed;
      expect(e.code).toBe(530);
      expect(e.message).toContain('NOT_ALLOWED - reached maximum (1) of consumers per channel');
    } finally {
      await p.kill('SIGTERM');
    }
  });
});

/** A script that runs `warren start`'s code and then fails outside any connection when told to. */
function crashScript(dir: string): string {
  const file = join(dir, 'crash.mjs');
  const dist = (p: string) => JSON.stringify(join(REPO_ROOT, 'dist', 'src', p));
  writeFileSync(
    file,
    `import { runBroker } from ${dist('cli/run-broker.js')};
import { resolveConfig } from ${dist('config.js')};
await runBroker(resolveConfig({ flags: { host: '127.0.0.1', port: '0', httpPort: 'off', dataDir: process.argv[2] } }));
// The "bug": SIGUSR2 makes a timer throw, or a promise reject, outside any connection.
process.on('SIGUSR2', () => {
  if (process.argv[3] === 'reject') Promise.reject(new Error('injected rejection'));
  else setImmediate(() => { throw new Error('injected stray error'); });
});
`,
  );
  return file;
}

describe.skipIf(REFERENCE !== undefined)('an error outside any connection', () => {
  for (const kind of ['throw', 'reject'] as const) {
    it(`(${kind}) is logged at fatal with its stack, warren exits 70, and confirmed messages are there after the restart`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'warren-fatal-'));
      dirs.push(dir);
      const data = join(dir, 'data');
      const { spawn } = await import('node:child_process');
      const { mkdirSync } = await import('node:fs');
      mkdirSync(data);
      const child = spawn(process.execPath, [crashScript(dir), data, kind], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const deadline = Date.now() + 15_000;
      while (!/"msg":"listening"/.test(out)) {
        if (Date.now() > deadline) throw new Error(`no "listening" line:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const listening = listeningRecord(out) as { port: number };
      // Work in progress on a connection when it happens: confirmed persistent messages.
      const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${listening.port}`);
      conn.on('error', () => undefined);
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('kept', { durable: true });
      for (let i = 0; i < 20; i++) ch.sendToQueue('kept', Buffer.from(`m${i}`), { persistent: true });
      await ch.waitForConfirms();
      child.kill('SIGUSR2');
      expect(await exited).toBe(70);
      const fatal = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string; err?: { stack?: string } })
        .find((l) => l.level === 60);
      expect(fatal?.msg).toMatch(/outside any connection; exiting with code 70 so that the service manager restarts warren$/);
      expect(fatal?.err?.stack).toContain(kind === 'throw' ? 'Error: injected stray error' : 'Error: injected rejection');
      expect(fatal?.err?.stack).toMatch(/\n\s+at /);
      // What the service manager would do: start it again on the same data.
      const again = await startWarren(data);
      try {
        const c2 = await amqp.connect(again.url);
        const ch2 = await c2.createChannel();
        expect((await ch2.checkQueue('kept')).messageCount).toBe(20);
        await c2.close();
      } finally {
        await again.kill('SIGTERM');
      }
    });
  }
});
