// A throwaway RabbitMQ node with its management plugin, for tests that need a real RabbitMQ
// as a source (conformance/migrate.test.ts): Debian's rabbitmq-server, started from a clean
// state directory on free ports, stopped and its directory removed afterwards. The approach of
// conformance/rabbitmq-ref.sh, from TypeScript.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RMQ_BIN = process.env['RABBITMQ_REF_BIN'] ?? '/usr/lib/rabbitmq/bin';

/** Why no node can be started here, or null when rabbitmq-server is installed. */
export function rabbitmqMissing(): string | null {
  return existsSync(join(RMQ_BIN, 'rabbitmq-server')) ? null : `rabbitmq-server is not installed (no ${RMQ_BIN}/rabbitmq-server; apt-get install rabbitmq-server)`;
}

/** A port nobody listens on right now (bound to 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RabbitNode {
  readonly amqpPort: number;
  readonly httpPort: number;
  readonly amqpUrl: string;
  readonly httpUrl: string;
  /** rabbitmqctl against this node. */
  ctl(...args: string[]): string;
  stop(): Promise<void>;
}

async function httpUp(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/api/overview`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` }, signal: AbortSignal.timeout(2000) });
    return r.ok;
  } catch {
    return false;
  }
}

/** Starts a node (management plugin on), waits until its HTTP API answers. */
export async function startRabbitNode(timeoutMs = 120_000): Promise<RabbitNode> {
  const amqpPort = await freePort();
  const httpPort = await freePort();
  const distPort = await freePort();
  const base = mkdtempSync(join(tmpdir(), 'warren-rmq-'));
  const nodename = `rabbit-warren-${amqpPort}@localhost`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: join(base, 'home'),
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(base, 'mnesia'),
    RABBITMQ_LOG_BASE: join(base, 'log'),
    RABBITMQ_PID_FILE: join(base, 'rabbit.pid'),
    RABBITMQ_CONFIG_FILE: join(base, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'),
    RABBITMQ_PLUGINS_EXPAND_DIR: join(base, 'plugins-expand'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(base, 'advanced.config'),
  };
  for (const d of ['home', 'mnesia', 'log', 'plugins-expand']) mkdirSync(join(base, d), { recursive: true, mode: 0o700 });
  writeFileSync(join(base, 'enabled_plugins'), '[rabbitmq_management].\n');
  writeFileSync(join(base, 'advanced.config'), '[].\n');
  writeFileSync(
    join(base, 'rabbitmq.conf'),
    [`listeners.tcp.default = 127.0.0.1:${amqpPort}`, `management.tcp.port = ${httpPort}`, 'management.tcp.ip = 127.0.0.1', 'log.console = false', 'log.file.level = warning', ''].join('\n'),
  );
  const child: ChildProcess = spawn(join(RMQ_BIN, 'rabbitmq-server'), [], { env, stdio: 'ignore', detached: true });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let dead = false;
  void exited.then(() => (dead = true));
  const ctl = (...args: string[]): string => {
    const r = spawnSync(join(RMQ_BIN, 'rabbitmqctl'), ['-n', nodename, ...args], { env, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`rabbitmqctl ${args.join(' ')}: ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const stop = async (): Promise<void> => {
    if (!dead) {
      // SIGTERM stops the node as `rabbitmqctl stop` does, without starting a second Erlang VM
      // for rabbitmqctl (which took over a minute on a loaded machine); SIGKILL if it lingers.
      const signal = (sig: NodeJS.Signals): void => {
        try {
          process.kill(-child.pid!, sig);
        } catch {
          // already gone
        }
      };
      signal('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
      if (!stopped) {
        signal('SIGKILL');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      }
    }
    rmSync(base, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!(await httpUp(httpUrl))) {
    if (dead || Date.now() > deadline) {
      await stop();
      throw new Error(`RabbitMQ node ${nodename} did not start within ${timeoutMs} ms${dead ? ' (it exited)' : ''}`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return { amqpPort, httpPort, amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`, httpUrl, ctl, stop };
}
