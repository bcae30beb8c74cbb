// Starts the built warren as a child process on a free port, on a data directory the test
// chooses, so a test can kill it (SIGKILL included) and start it again on the same state.

import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const WARREN_MAIN = path.join(REPO_ROOT, 'dist', 'src', 'main.js');

export interface WarrenProcess {
  readonly url: string;
  readonly port: number;
  /** Port of the management HTTP API (started with --http-port 0 unless extraArgs say otherwise). */
  readonly httpPort: number | null;
  readonly pid: number;
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Sends a signal and waits for the process to exit; resolves with its exit code and signal. */
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `warren <args>` to completion (for commands expected to fail fast). */
export function runWarren(args: string[], options: { uid?: number; gid?: number; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WARREN_MAIN, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`warren ${args.join(' ')} did not exit within ${options.timeoutMs ?? 15000} ms:\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 15_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts `warren start --port 0 --data-dir <dir>` and waits for its "listening" line. */
export async function startWarren(dataDir: string, extraArgs: string[] = []): Promise<WarrenProcess> {
  const child = spawn(
    process.execPath,
    [WARREN_MAIN, 'start', '--host', '127.0.0.1', '--port', '0', '--http-port', '0', '--data-dir', dataDir, '--log-level', 'info', ...extraArgs],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let httpPort: number | null = null;
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not handed to the caller, so nobody else would stop it: it would outlive the test run.
      child.kill('SIGKILL');
      reject(new Error(`warren did not start within 20 s:\n${out}`));
    }, 20_000);
    let pending = '';
    child.stdout!.on('data', (d: Buffer) => {
      const text = d.toString();
      out += text;
      pending += text;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        const rec = JSON.parse(line) as { msg?: string; port?: number; httpPort?: number | null };
        if (rec.msg === 'listening' && typeof rec.port === 'number') {
          httpPort = rec.httpPort ?? null;
          clearTimeout(timer);
          resolve(rec.port);
        }
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`warren exited before listening (code ${code}, signal ${signal}):\n${out}`));
    });
  });
  return {
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    port,
    httpPort,
    pid: child.pid!,
    child,
    output: () => out,
    exited,
    kill: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
