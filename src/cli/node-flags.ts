// V8 flags warren's launchers give Node: the `warren` command's #! line (src/main.ts) and
// `npm start`. V8 sizes the young generation when it starts, so unlike --heap-growth
// (setFlagsFromString in run-broker.ts) the broker cannot set this for itself. Capping the
// semi-spaces at 4 MiB keeps the young generation at 8 MiB instead of up to 32 MiB, which was
// most of what a busy broker held above idle, at no measured cost in throughput (README
// "Under abuse"). --initial-old-space-size=32 lets the old generation reach 32 MiB before V8
// runs a full collection (a floor under --heap-growth's limit, which still rules once more is
// live): with a live set of 13 MiB, scenario (c) ran a mark-compact every 170 ms, and objects
// that survived a scavenge during its incremental marking were promoted, filling the old
// generation again at once; without those cycles (c) ran 71-74k msg/s against 56-63k, p99
// 1.6 ms against 4.4 (README "Persistent path"). What promoted those objects was found later:
// the store's pending messages in a Map (src/store/pending-by-id.ts). The bench harness and the
// soak start the broker with the same list; test/cli/node-flags.test.ts checks that the #! line
// and the npm script carry it.
export const LAUNCH_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--initial-old-space-size=32'];

// Environment the same launchers set before node starts (glibc reads it once, at start-up).
// MALLOC_MMAP_THRESHOLD_: allocations of 4 MiB and more (the store's batch buffers, up to
// 16 MiB while a backlog is published flat out) always get their own mapping, returned to the
// system when freed. By default glibc raises its threshold to the size of the largest mapped
// block freed (up to 32 MiB), after which such buffers came from the main heap, and that heap
// is only ever given back from its top: a 1M x 1 KiB backlog left it 20 MiB larger for the
// rest of the run (README "Persistent path", memory of a 1M backlog). Setting it also fixes
// glibc's trim threshold at its default (128 KiB) instead of letting it grow with the first.
export const LAUNCH_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '4194304' };

/** LAUNCH_ENV as shell assignments (`NAME=value ...`), as the #! line and npm start give them. */
export function launchEnvWords(): string[] {
  return Object.entries(LAUNCH_ENV).map(([k, v]) => `${k}=${v}`);
}
