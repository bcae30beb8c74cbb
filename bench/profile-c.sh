#!/usr/bin/env bash
# Scenario (c) (1 KiB persistent, durable queue, confirms 100 outstanding, prefetch 100, ack each)
# against one warren from this checkout started with `node --cpu-prof`: one amqp-perf run, then
# the broker is stopped (SIGTERM) so V8 writes its profiles (one per thread), and the main
# thread's profile becomes a flame graph. Not a measurement of the rate (the profiler costs
# CPU); run it outside the measurement lock.
#
#   npm run build && bench/profile-c.sh OUT-PREFIX [title]   # OUT-PREFIX.svg, OUT-PREFIX.cpuprofile, OUT-PREFIX.json
#
# Environment: SECS [10] WARMUP [2] BROKER_CPUS [0] CLIENT_CPUS [1] BROKER_ARGS []
set -eu
cd "$(dirname "$0")/.."
out=$1; title=${2:-"scenario c, main thread"}
SECS=${SECS:-10}; WARMUP=${WARMUP:-2}; BROKER_CPUS=${BROKER_CPUS:-0}; CLIENT_CPUS=${CLIENT_CPUS:-1}
[ -d ../shared/bench ] || export BENCH_SHARED_DIR=${BENCH_SHARED_DIR:-/work/shared/bench}
PERF=$(node -e "import('./dist/bench/lib/perf.js').then(m => { const b = m.buildPerf(); if (!b.bin) { console.error(b.reason); process.exit(1); } console.log(b.bin); })")
work=$(mktemp -d /tmp/warren-profile-c-XXXXXX); mkdir "$work/data"
trap '[ -n "${WPID:-}" ] && kill "$WPID" 2>/dev/null; rm -rf "$work"' EXIT
# Node's flags as `warren start` gives them (src/cli/node-flags.ts), plus the profiler.
flags=$(node --input-type=module -e "import('./dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
# shellcheck disable=SC2086
taskset -c "$BROKER_CPUS" node $flags --cpu-prof --cpu-prof-dir="$work/prof" dist/src/main.js start \
  --host 127.0.0.1 --port 0 --http-port off --data-dir "$work/data" --log-level warn ${BROKER_ARGS:-} > "$work/log" 2>&1 &
WPID=$!; port=""
for _ in $(seq 200); do port=$(ss -ltnpH 2>/dev/null | grep "pid=$WPID," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$port" ] && break; sleep 0.1; done
taskset -c "$CLIENT_CPUS" "$PERF" --uri "amqp://guest:guest@127.0.0.1:$port" --broker-pid "$WPID" -x 1 -y 1 -s 1024 -f -D -c 100 -q 100 -A 1 -z "$SECS" -w "$WARMUP" --quiet > "$out.json"
kill -TERM "$WPID"; wait "$WPID" || true; WPID=""
# The main thread's profile is the largest one (the others are worker threads).
main=$(ls -S "$work"/prof/*.cpuprofile | head -1)
cp "$main" "$out.cpuprofile"
node dist/bench/flamegraph.js "$out.cpuprofile" "$out.svg" "$title"
cut -c1-300 "$out.json"
