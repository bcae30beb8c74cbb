// Conformance harness: start the broker under test (or use an external one). The helpers every
// conformance file shares live in harness/ and are re-exported here, so tests import one module:
// util.ts (names, waiting), amqplib.ts (connection tracking, error capture), external.ts (pika and
// amqp-tools runners), raw-wire.ts and raw-client.ts (a raw-socket AMQP 0-9-1 client for the things
// no client library will send).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { listeningRecord, REPO_ROOT } from './harness/util.js';

export * from './harness/util.js';
export * from './harness/amqplib.js';
export * from './harness/external.js';
export * from './harness/raw-wire.js';
export * from './harness/raw-client.js';

// ---------------------------------------------------------------------------------------------
// Broker under test
// ---------------------------------------------------------------------------------------------

export interface BrokerUnderTest {
  url: string;
  host: string;
  port: number;
  stop(): Promise<void>;
  logs(): string;
  external: boolean;
}

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

export async function startBroker(opts?: { args?: string[]; env?: Record<string, string> }): Promise<BrokerUnderTest> {
  const external = process.env['WARREN_CONFORMANCE_URL'];
  if (external) {
    const u = new URL(external);
    return {
      url: external,
      host: u.hostname,
      port: u.port ? Number(u.port) : 5672,
      stop: async () => {},
      logs: () => '',
      external: true,
    };
  }

  const mainJs = path.join(REPO_ROOT, 'dist', 'src', 'main.js');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'warren-conformance-'));
  const args = [
    mainJs,
    'start',
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--log-level',
    'info',
    // No management listener unless a test asks for one: parallel brokers would race for 15672.
    '--http-port',
    'off',
    ...(opts?.args ?? []),
  ];
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...(opts?.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let output = '';
  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString('utf8');
  });

  const port = await new Promise<number>((resolve, reject) => {
    let pending = '';
    let done = false;
    const finish = (err: Error | null, p?: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(p as number);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`warren did not report "listening" within ${READY_TIMEOUT_MS} ms; output:\n${output}`));
    }, READY_TIMEOUT_MS);
    child.stdout?.on('data', (d: Buffer) => {
      const text = d.toString('utf8');
      output += text;
      pending += text;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          if (rec['msg'] === 'listening' && typeof rec['port'] === 'number') finish(null, rec['port']);
        } catch {
          // not JSON; ignore
        }
      }
    });
    child.once('error', (err) => finish(new Error(`could not spawn warren: ${err.message}\n${output}`)));
    child.once('exit', (code, signal) =>
      finish(new Error(`warren exited before listening (code ${code}, signal ${signal}); output:\n${output}`)),
    );
  }).catch(async (err: unknown) => {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  });

  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    external: false,
    logs: () => output,
    stop: async () => {
      if (!exited) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => {
          if (!exited) child.kill('SIGKILL');
        }, STOP_GRACE_MS);
        await exitPromise;
        clearTimeout(killer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The HTTP port of a broker this harness started with `--http-port 0`. */
export function httpPortOf(broker: BrokerUnderTest): number {
  return listeningRecord(broker.logs())['httpPort'] as number;
}
