// SQLite stores a test file opens in temporary directories: each test's stores are closed and
// their directories removed after it, so a failing test leaves nothing open behind it.

import { rmSync } from 'node:fs';
import { afterEach } from 'vitest';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

/** Registers the cleanup; push what a test opens onto `open` and the directories onto `dirs`. */
export function trackStores(): { dirs: string[]; open: SqliteStore[] } {
  const dirs: string[] = [];
  const open: SqliteStore[] = [];
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return { dirs, open };
}

/** Resolves after the event loop's current turn (and the store's turn-end flush). */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
