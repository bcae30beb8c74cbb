// Readings from /proc: a broker's resident memory (VmRSS, VmHWM) and CPU time, the process
// listening on a port, directory sizes, CPU pinning, and a description of the machine.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export interface ProcStatus {
  readonly rssKb: number;
  /** Peak RSS of the process since it started (VmHWM). */
  readonly hwmKb: number;
}

export function procStatus(pid: number): ProcStatus | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { rssKb: field('VmRSS'), hwmKb: field('VmHWM') };
}

/** Sum of RSS over processes (kB); 0 if none can be read. */
export function rssKb(pids: readonly number[]): number {
  let sum = 0;
  for (const p of pids) sum += procStatus(p)?.rssKb ?? 0;
  return sum;
}

const CLK_TCK = 100;

/** user + system CPU seconds of a process (all its threads). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

/**
 * Samples the summed VmRSS of the broker process(es) on a timer. `pids` is asked at every tick,
 * so a broker restarted meanwhile is followed. Keeps the overall peak and a per-phase peak.
 */
export class RssSampler {
  #timer: NodeJS.Timeout | null = null;
  #peakKb = 0;
  #phasePeakKb = 0;
  #lastKb = 0;

  constructor(
    private readonly pids: () => readonly number[],
    private readonly everyMs = 100,
  ) {}

  start(): this {
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.everyMs);
    this.#timer.unref();
    return this;
  }

  sample(): number {
    const kb = rssKb(this.pids());
    if (kb > 0) {
      this.#lastKb = kb;
      if (kb > this.#peakKb) this.#peakKb = kb;
      if (kb > this.#phasePeakKb) this.#phasePeakKb = kb;
    }
    return kb;
  }

  get peakKb(): number {
    return this.#peakKb;
  }

  get lastKb(): number {
    return this.#lastKb;
  }

  /** Peak since the previous call (or since start), and starts a new phase. */
  phasePeakKb(): number {
    this.sample();
    const p = this.#phasePeakKb;
    this.#phasePeakKb = this.#lastKb;
    return p;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.sample();
  }
}

/** Pids of the processes with a listening TCP socket on this port (IPv4 or IPv6). */
export function pidsListeningOn(port: number): number[] {
  const inodes = new Set<string>();
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      if (f[3] === '0A' && f[1]!.endsWith(`:${hex}`)) inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m && inodes.has(m[1]!)) {
        found.push(Number(entry));
        break;
      }
    }
  }
  return found;
}

export interface DirSize {
  /** Sum of file sizes (what `ls -l` says). */
  readonly bytes: number;
  /** Blocks allocated on disk (what `du` says). */
  readonly allocated: number;
  /** Size of each file at the top level (subdirectories summed under their name). */
  readonly files: Record<string, number>;
}

export function dirSize(dir: string): DirSize {
  let bytes = 0;
  let allocated = 0;
  const files: Record<string, number> = {};
  const walk = (path: string, top: string | null): void => {
    let names: string[];
    try {
      names = readdirSync(path);
    } catch {
      return;
    }
    for (const name of names) {
      const p = join(path, name);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      const key = top ?? name;
      if (st.isDirectory()) {
        walk(p, key);
      } else {
        bytes += st.size;
        allocated += st.blocks * 512;
        files[key] = (files[key] ?? 0) + st.size;
      }
    }
  };
  walk(dir, null);
  return { bytes, allocated, files };
}

let tasksetChecked: boolean | null = null;
export function hasTaskset(): boolean {
  if (tasksetChecked === null) {
    try {
      execFileSync('taskset', ['-V'], { stdio: 'ignore' });
      tasksetChecked = true;
    } catch {
      tasksetChecked = false;
    }
  }
  return tasksetChecked;
}

/** True when pinning to `list` (e.g. "0" or "1") makes sense on this machine. */
export function canPin(list: string): boolean {
  if (list === '' || !hasTaskset()) return false;
  const max = Math.max(...list.split(/[,-]/).map(Number));
  return Number.isFinite(max) && max < cpus().length;
}

/** Current affinity of every thread of a process: [tid, cpu list]. */
export function threadAffinities(pid: number): [number, string][] {
  const out: [number, string][] = [];
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const text = execFileSync('taskset', ['-cp', tid], { encoding: 'utf8' });
      const m = /affinity list:\s*(\S+)/.exec(text);
      if (m) out.push([Number(tid), m[1]!]);
    } catch {
      // thread gone
    }
  }
  return out;
}

/** Pins every thread of a process to `list`. */
export function pinAll(pid: number, list: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-cp', list, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function restoreAffinities(saved: readonly [number, string][]): void {
  for (const [tid, list] of saved) {
    try {
      execFileSync('taskset', ['-cp', list, String(tid)], { stdio: 'ignore' });
    } catch {
      // thread gone
    }
  }
}

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly loadavg: string;
  readonly hostname: string;
}

export function machineInfo(): MachineInfo {
  const read = (p: string): string => {
    try {
      return readFileSync(p, 'utf8').trim();
    } catch {
      return '';
    }
  };
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cpus: cpus().length,
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: read('/proc/sys/kernel/osrelease'),
    node: process.version,
    loadavg: read('/proc/loadavg').split(' ').slice(0, 3).join(' '),
    hostname: read('/proc/sys/kernel/hostname'),
  };
}

export function loadavg1(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}

export function processExists(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}
