// The data directory: checks that it is usable, and a lock file so that two brokers never share
// one. Errors are StoreOpenError with a one-line message naming the path and what to do.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync, accessSync, constants } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

export class StoreOpenError extends Error {
  override readonly name = 'StoreOpenError';
}

const LOCK_FILE = 'warren.lock';

/**
 * Makes sure `dir` is a writable directory. A missing directory is an error unless `create`
 * (the default location is created on first start; one named explicitly must exist, so a typo
 * does not silently start an empty broker).
 */
export function prepareDataDir(dir: string, create: boolean): string {
  const path = resolve(dir);
  if (!existsSync(path)) {
    if (!create) throw new StoreOpenError(`data directory ${path} does not exist; create it or pass another --data-dir`);
    try {
      mkdirSync(path, { recursive: true });
    } catch (e) {
      throw new StoreOpenError(`cannot create data directory ${path}: ${(e as Error).message}`);
    }
  }
  if (!statSync(path).isDirectory()) throw new StoreOpenError(`data directory ${path} is not a directory`);
  try {
    accessSync(path, constants.W_OK | constants.R_OK | constants.X_OK);
    // access() says yes to root everywhere; a real write also catches read-only mounts.
    const probe = join(path, `.write-test-${process.pid}`);
    closeSync(openSync(probe, 'w'));
    rmSync(probe);
  } catch {
    throw new StoreOpenError(`data directory ${path} is not writable by this user; fix its permissions or pass another --data-dir`);
  }
  return path;
}

/** An exclusive claim on a data directory, held while the broker runs. */
export class DataDirLock {
  readonly #path: string;
  #held = false;

  private constructor(path: string) {
    this.#path = path;
  }

  /** Takes the lock, or throws naming the process that holds it. A stale lock is taken over. */
  static acquire(dir: string): DataDirLock {
    const path = join(dir, LOCK_FILE);
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        writeSync(fd, `${process.pid}\n${hostname()}\n`);
        closeSync(fd);
        const lock = new DataDirLock(path);
        lock.#held = true;
        return lock;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
          throw new StoreOpenError(`cannot create lock file ${path}: ${(e as Error).message}`);
        }
      }
      const holder = readHolder(path);
      if (holder !== null && holder.host === hostname() && isWarren(holder.pid)) {
        throw new StoreOpenError(
          `data directory ${dir} is in use by another warren (pid ${holder.pid}); stop it first or pass another --data-dir`,
        );
      }
      // The holder is gone (crash, kill -9): the lock is stale.
      rmSync(path, { force: true });
    }
    throw new StoreOpenError(`cannot take the lock ${path}; remove it if no warren is running on ${dir}`);
  }

  release(): void {
    if (!this.#held) return;
    this.#held = false;
    const holder = readHolder(this.#path);
    if (holder?.pid === process.pid) rmSync(this.#path, { force: true });
  }
}

function readHolder(path: string): { pid: number; host: string } | null {
  try {
    const [pid, host] = readFileSync(path, 'utf8').split('\n');
    const n = Number(pid);
    return Number.isInteger(n) && n > 0 ? { pid: n, host: host ?? '' } : null;
  } catch {
    return null;
  }
}

/** Whether `pid` is a live process that looks like a warren (a reused pid of another program is not). */
function isWarren(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /warren|main\.js|node/.test(cmdline);
  } catch {
    // No /proc (not Linux): trust that the process is alive.
    return true;
  }
}
