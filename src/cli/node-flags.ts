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
// 1.6 ms against 4.4 (README "Persistent path"). The bench harness and the soak start the
// broker with the same list; test/cli/node-flags.test.ts checks that the #! line and the npm
// script carry it.
export const LAUNCH_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--initial-old-space-size=32'];
