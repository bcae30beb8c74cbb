// External clients run as processes: pika scripts (conformance/pika/*.py, one JSON event a
// line on stdout) under Debian's python3, and the amqp-tools commands.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { CONFORMANCE_DIR, waitFor } from './util.js';

export interface ProcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Killed by the hang guard (timeoutMs), so its output is partial. */
  timedOut: boolean;
}

export function runProcess(
  cmd: string,
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ProcResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...(opts.env ?? {}) },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timeoutMs = opts.timeoutMs ?? 30_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      });
    });
    child.stdin.on('error', () => {});
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

export const PYTHON = '/usr/bin/python3';

function parseJsonLines(text: string): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try {
      events.push(JSON.parse(t) as Record<string, unknown>);
    } catch {
      // ignore
    }
  }
  return events;
}

export interface PikaResult extends ProcResult {
  events: Record<string, unknown>[];
}

/** Run conformance/pika/<script>.py <url> [args]; each stdout line is a JSON event. */
export async function runPika(
  url: string,
  script: string,
  args: string[] = [],
  timeoutMs = 30_000,
): Promise<PikaResult> {
  const res = await runProcess(PYTHON, [path.join(CONFORMANCE_DIR, 'pika', `${script}.py`), url, ...args], {
    timeoutMs,
  });
  return { ...res, events: parseJsonLines(res.stdout) };
}

/** Like runPika, but runs in the background; events stream in while it runs. */
export class PikaProcess {
  readonly events: Record<string, unknown>[] = [];
  private child: ChildProcess;
  private pending = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(url: string, script: string, args: string[] = []) {
    this.child = spawn(PYTHON, [path.join(CONFORMANCE_DIR, 'pika', `${script}.py`), url, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (d: Buffer) => {
      this.pending += d.toString('utf8');
      let nl: number;
      while ((nl = this.pending.indexOf('\n')) >= 0) {
        const line = this.pending.slice(0, nl);
        this.pending = this.pending.slice(nl + 1);
        this.events.push(...parseJsonLines(line));
      }
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString('utf8');
    });
    this.exited = new Promise((r) => this.child.once('close', (code) => r(code)));
  }

  async waitForEvent(
    pred: (e: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<Record<string, unknown>> {
    try {
      return await waitFor(() => this.events.find(pred), what, timeoutMs);
    } catch (err) {
      throw new Error(`${(err as Error).message}; pika events so far: ${JSON.stringify(this.events)}; stderr: ${this.stderr}`);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Run an amqp-tools command (amqp-publish, amqp-consume, amqp-get, amqp-declare-queue, ...) against url. */
export function amqpTool(
  url: string,
  tool: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<ProcResult> {
  return runProcess(tool, ['-u', url, ...args], opts);
}
