// The SQLite store's writer thread runs under SCHED_BATCH (src/store/sqlite/writer-sched.ts): a
// batch posted to it must not let it preempt the event loop, which serves every other client.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/logger.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const SCHED_BATCH = 3;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** The ids of this process's threads under SCHED_BATCH (/proc/<pid>/task/<tid>/stat, field 41). */
function batchThreads(): string[] {
  const out: string[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      // fields after the command name, which is in parentheses and may hold spaces
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[41 - 3]) === SCHED_BATCH) out.push(tid);
    } catch {
      // the thread ended while we looked
    }
  }
  return out;
}

const linuxWithChrt = process.platform === 'linux' && (existsSync('/usr/bin/chrt') || existsSync('/bin/chrt'));

describe.runIf(linuxWithChrt)('the SQLite writer thread', () => {
  it('runs under SCHED_BATCH, and only it: the event loop keeps the ordinary policy', async () => {
    const before = batchThreads();
    const dir = mkdtempSync(join(tmpdir(), 'warren-sched-'));
    dirs.push(dir);
    const s = SqliteStore.open(dir, silentLogger);
    s.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: new Map() });
    // a committed batch: the writer has started and set its policy before taking it
    await s.whenIdle();
    const during = batchThreads().filter((t) => !before.includes(t));
    expect(during).toHaveLength(1);
    expect(during[0]).not.toBe(String(process.pid));
    await s.close();
  });
});
