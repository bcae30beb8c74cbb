// The broker under test. `warren`: the built broker (dist/src/main.js) spawned per scenario on
// a fresh data dir and a free port, pinned with taskset; it can be killed and started again on
// the same data (restart-time measurement). `rabbitmq`: an already running broker given by URL
// (its process found by its listening port, for RSS); it can be restarted only when a control
// script (conformance/rabbitmq-ref.sh) is given.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { dirname, join } from 'node:path';
import { WARREN_MAIN } from './paths.js';
import { canPin, dirSize, pidsListeningOn, pinAll, restoreAffinities, threadAffinities, type DirSize } from './proc.js';
import { now, sleep, waitFor } from './util.js';
import { LAUNCH_ENV, LAUNCH_NODE_FLAGS } from '../../src/cli/node-flags.js';

export interface RestartTiming {
  /** From the stop signal until the old process was gone. */
  readonly downMs: number;
  /** From spawning the new process until it listens (warren: its "listening" line; RabbitMQ: port open). */
  readonly upMs: number;
  /** now() when the new process was spawned: time to first message is measured from here. */
  readonly spawnedAt: number;
}

export interface Target {
  readonly kind: 'warren' | 'rabbitmq';
  readonly url: string;
  /** Broker process ids (for RSS/CPU readings); may change across a restart. */
  pids(): number[];
  /** Gets a broker ready for a scenario: warren starts afresh, RabbitMQ is the running one. */
  begin(scenario: string): Promise<void>;
  readonly canRestart: boolean;
  /** Kills the broker (SIGKILL: a crash; SIGTERM: a clean stop) and starts it again on the same data. */
  restart(signal: 'SIGKILL' | 'SIGTERM'): Promise<RestartTiming>;
  /** Size of the data directory, if known. */
  dataSize(): DirSize | null;
  /** Peak RSS of the current process since it started (VmHWM), kB: meaningful for a fresh process only. */
  readonly freshProcess: boolean;
  /** Ends a scenario (warren: stops the broker, removes its data). */
  end(): Promise<void>;
  /** Warnings, errors and unexpected exits seen in the broker's output during the scenario. */
  problems(): string[];
  /** Everything started is stopped, everything changed is put back. */
  close(): Promise<void>;
  describe(): Record<string, unknown>;
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ port, host });
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------
// warren

/**
 * Copies the built broker (dist/src, dist/protocol) into `dir` and returns the copy's main.js,
 * so a rebuild of dist/ while a long run goes on (other work in the same checkout) cannot change
 * the broker between scenarios or between a kill and the restart. Packages still resolve from
 * the repository's node_modules as long as `dir` is inside the repository.
 */
export function snapshotBroker(dir: string): string {
  const dist = dirname(dirname(WARREN_MAIN));
  for (const part of ['src', 'protocol']) {
    const from = join(dist, part);
    if (existsSync(from)) cpSync(from, join(dir, 'dist', part), { recursive: true, filter: (p) => !p.endsWith('.map') && !p.endsWith('.d.ts') });
  }
  return join(dir, 'dist', 'src', 'main.js');
}

interface WarrenProc {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly spawnedAt: number;
  readonly listeningMs: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitInfo: { code: number | null; signal: NodeJS.Signals | null } | null;
}

/** Live children, killed on exit whatever happens. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
});

export interface WarrenTargetOptions {
  /** Data dirs and logs go here. */
  readonly runDir: string;
  /** taskset CPU list for the broker ("" = no pinning). */
  readonly cpus: string;
  readonly logLevel: string;
  readonly keepData: boolean;
  readonly extraArgs: readonly string[];
  /** The broker's main.js (default: dist/src/main.js; run.ts passes a snapshot of it). */
  readonly main?: string;
}

export class WarrenTarget implements Target {
  readonly kind = 'warren' as const;
  readonly canRestart = true;
  #proc: WarrenProc | null = null;
  #dataDir = '';
  #logFile = '';
  #log: WriteStream | null = null;
  #scenario = '';
  #problems: string[] = [];
  #stopping = false;
  #fresh = true;

  constructor(private readonly opts: WarrenTargetOptions) {}

  get url(): string {
    if (!this.#proc) throw new Error('warren is not running');
    return `amqp://guest:guest@127.0.0.1:${this.#proc.port}`;
  }

  get freshProcess(): boolean {
    return this.#fresh;
  }

  pids(): number[] {
    return this.#proc && this.#proc.exitInfo === null ? [this.#proc.pid] : [];
  }

  describe(): Record<string, unknown> {
    return { kind: this.kind, pinned: canPin(this.opts.cpus) ? this.opts.cpus : null, main: this.opts.main ?? WARREN_MAIN, logLevel: this.opts.logLevel };
  }

  async begin(scenario: string): Promise<void> {
    await this.end();
    this.#scenario = scenario;
    this.#problems = [];
    this.#dataDir = join(this.opts.runDir, `data-${scenario}`);
    rmSync(this.#dataDir, { recursive: true, force: true });
    mkdirSync(this.#dataDir, { recursive: true });
    this.#logFile = join(this.opts.runDir, `warren-${scenario}.log`);
    this.#log = createWriteStream(this.#logFile, { flags: 'a' });
    this.#proc = await this.#spawn(0);
    this.#fresh = true;
  }

  async #spawn(port: number): Promise<WarrenProc> {
    // BENCH_WARREN_NODE_FLAGS: V8/Node flags for the broker alone (e.g. --max-semi-space-size=8);
    // unset: the flags warren's own launchers give it, so figures are those of `warren start`.
    const nodeFlags = (process.env['BENCH_WARREN_NODE_FLAGS'] ?? LAUNCH_NODE_FLAGS.join(' ')).split(' ').filter((f) => f !== '');
    const args = [
      ...nodeFlags,
      this.opts.main ?? WARREN_MAIN,
      'start',
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--http-port',
      'off',
      '--data-dir',
      this.#dataDir,
      '--log-level',
      this.opts.logLevel,
      ...this.opts.extraArgs,
    ];
    const pin = canPin(this.opts.cpus);
    const cmd = pin ? 'taskset' : process.execPath;
    const argv = pin ? ['-c', this.opts.cpus, process.execPath, ...args] : args;
    const spawnedAt = now();
    // The launchers' environment too (glibc settings), unless BENCH_WARREN_NODE_FLAGS overrides the launch.
    const env = process.env['BENCH_WARREN_NODE_FLAGS'] === undefined ? { ...process.env, ...LAUNCH_ENV } : process.env;
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env });
    children.add(child);
    const log = this.#log;
    let proc: WarrenProc | null = null;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => {
        children.delete(child);
        if (proc) proc.exitInfo = { code, signal };
        if (!this.#stopping) this.#problems.push(`warren exited unexpectedly during "${this.#scenario}" (code ${code}, signal ${signal})`);
        resolve({ code, signal });
      }),
    );
    const problems = this.#problems;
    const keep = (line: string): void => {
      if (problems.length < 200) problems.push(line.length > 2000 ? line.slice(0, 2000) + '...' : line);
    };
    child.stderr!.on('data', (d: Buffer) => {
      log?.write(d);
      for (const line of d.toString().split('\n')) if (line.trim()) keep(`stderr: ${line}`);
    });
    const listening = new Promise<{ port: number; at: number }>((resolve, reject) => {
      let pending = '';
      child.stdout!.on('data', (d: Buffer) => {
        log?.write(d);
        pending += d.toString();
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          let rec: { level?: number; msg?: string; port?: number } | null = null;
          try {
            rec = JSON.parse(line) as { level?: number; msg?: string; port?: number };
          } catch {
            if (line.trim()) keep(`stdout: ${line}`);
            continue;
          }
          if (rec.msg === 'listening' && typeof rec.port === 'number') resolve({ port: rec.port, at: now() });
          else if ((rec.level ?? 0) >= 40) keep(line);
        }
      });
      void exited.then(({ code, signal }) => reject(new Error(`warren exited before listening (code ${code}, signal ${signal}); log: ${this.#logFile}`)));
      setTimeout(() => reject(new Error(`warren did not log "listening" within 120 s; log: ${this.#logFile}`)), 120_000).unref();
    });
    const l = await listening;
    const p: WarrenProc = { child, pid: child.pid!, port: l.port, spawnedAt, listeningMs: l.at - spawnedAt, exited, exitInfo: null };
    proc = p;
    return p;
  }

  async #stop(signal: NodeJS.Signals, graceMs: number): Promise<void> {
    const p = this.#proc;
    if (!p) return;
    this.#stopping = true;
    try {
      if (p.exitInfo === null) {
        p.child.kill(signal);
        const t = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
        await p.exited;
        clearTimeout(t);
      }
    } finally {
      this.#stopping = false;
    }
  }

  async restart(signal: 'SIGKILL' | 'SIGTERM'): Promise<RestartTiming> {
    const p = this.#proc;
    if (!p) throw new Error('warren is not running');
    const t0 = now();
    await this.#stop(signal, 30_000);
    const downMs = now() - t0;
    this.#proc = await this.#spawn(p.port);
    this.#fresh = true;
    return { downMs, upMs: this.#proc.listeningMs, spawnedAt: this.#proc.spawnedAt };
  }

  dataSize(): DirSize | null {
    return this.#dataDir ? dirSize(this.#dataDir) : null;
  }

  problems(): string[] {
    return [...this.#problems];
  }

  async end(): Promise<void> {
    if (this.#proc) {
      await this.#stop('SIGTERM', 20_000);
      this.#proc = null;
    }
    if (this.#log) {
      const l = this.#log;
      await new Promise<void>((resolve) => l.end(resolve));
      this.#log = null;
    }
    if (this.#dataDir && !this.opts.keepData) rmSync(this.#dataDir, { recursive: true, force: true });
  }

  async close(): Promise<void> {
    await this.end();
  }
}

// ---------------------------------------------------------------------------------------------
// RabbitMQ (or any broker already running)

export interface RabbitTargetOptions {
  readonly url: string;
  /** Broker pid(s); found from the listening port when not given. */
  readonly pids: number[] | null;
  /** conformance/rabbitmq-ref.sh (with RABBITMQ_REF_PORT matching the URL): enables restarts. */
  readonly ctl: string | null;
  /** Its data directory (for the DB-size figure). */
  readonly dataDir: string | null;
  /** Pin every broker thread to these CPUs for the run (restored at the end); "" = no. */
  readonly pinCpus: string;
}

export class ExternalTarget implements Target {
  readonly kind = 'rabbitmq' as const;
  readonly freshProcess = false;
  readonly #port: number;
  #pids: number[] = [];
  #saved: [number, string][] = [];
  #pinnedPids = new Set<number>();

  constructor(private readonly opts: RabbitTargetOptions) {
    const u = new URL(opts.url);
    this.#port = u.port ? Number(u.port) : 5672;
    this.#pids = opts.pids ?? pidsListeningOn(this.#port);
  }

  get url(): string {
    return this.opts.url;
  }

  get canRestart(): boolean {
    return this.opts.ctl !== null;
  }

  pids(): number[] {
    return this.#pids;
  }

  describe(): Record<string, unknown> {
    return { kind: this.kind, url: this.opts.url.replace(/\/\/[^@]*@/, '//'), pids: this.#pids, pinned: this.opts.pinCpus || null, ctl: this.opts.ctl };
  }

  #pin(): void {
    if (!canPin(this.opts.pinCpus)) return;
    for (const pid of this.#pids) {
      if (this.#pinnedPids.has(pid)) continue;
      this.#saved.push(...threadAffinities(pid));
      pinAll(pid, this.opts.pinCpus);
      this.#pinnedPids.add(pid);
    }
  }

  async begin(): Promise<void> {
    if (this.#pids.length === 0) this.#pids = pidsListeningOn(this.#port);
    this.#pin();
  }

  #ctl(cmd: string): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(this.opts.ctl!, [cmd], { env: { ...process.env, RABBITMQ_REF_PORT: String(this.#port) }, timeout: 600_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${this.opts.ctl} ${cmd}: ${err.message}\n${stdout}${stderr}`));
        else resolve(stdout + stderr);
      });
    });
  }

  async restart(signal: 'SIGKILL' | 'SIGTERM'): Promise<RestartTiming> {
    if (!this.opts.ctl) throw new Error('restarting RabbitMQ needs --ctl (conformance/rabbitmq-ref.sh)');
    const t0 = now();
    if (signal === 'SIGKILL') {
      for (const pid of this.#pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await waitFor(async () => !(await portOpen(this.#port)), 60_000, 'RabbitMQ to go down');
    } else {
      await this.#ctl('stop');
    }
    await sleep(200);
    const downMs = now() - t0;
    const spawnedAt = now();
    const starting = this.#ctl('start');
    let up = 0;
    await waitFor(async () => {
      if (await portOpen(this.#port)) {
        up = now();
        return true;
      }
      return false;
    }, 600_000, 'RabbitMQ to listen again', 20);
    await starting;
    this.#pids = pidsListeningOn(this.#port);
    this.#pin();
    return { downMs, upMs: up - spawnedAt, spawnedAt };
  }

  dataSize(): DirSize | null {
    return this.opts.dataDir ? dirSize(this.opts.dataDir) : null;
  }

  problems(): string[] {
    return [];
  }

  async end(): Promise<void> {
    // the broker keeps running; scenarios delete their own queues
  }

  async close(): Promise<void> {
    restoreAffinities(this.#saved);
    this.#saved = [];
  }
}

/** The comm name of a process (e.g. beam.smp), for messages. */
export function procName(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}
