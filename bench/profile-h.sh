#!/usr/bin/env bash
# Scenario (h) (a persistent backlog of H_N x 1 KiB published with confirms, window 100, then
# drained with prefetch 100 and an ack each) against one warren from this checkout started with
# `node --cpu-prof`: every thread's profile is kept (main thread and the SQLite writer), and the
# store's counters (`warren_store_*` from /metrics) are sampled every 500 ms with a timestamp, so
# publish and drain can be told apart. Not a measurement of the rate (the profiler costs CPU);
# run it outside the measurement lock.
#
#   npm run build && bench/profile-h.sh OUT-DIR   # OUT-DIR/{main,writer}.cpuprofile + .svg, metrics.txt, perf.json
#
# Environment: H_N [100000] BROKER_CPUS [0] CLIENT_CPUS [1] BROKER_ARGS []
set -eu
cd "$(dirname "$0")/.."
out=$1; mkdir -p "$out"
H_N=${H_N:-100000}; BROKER_CPUS=${BROKER_CPUS:-0}; CLIENT_CPUS=${CLIENT_CPUS:-1}
[ -d ../shared/bench ] || export BENCH_SHARED_DIR=${BENCH_SHARED_DIR:-/work/shared/bench}
PERF=$(node -e "import('./dist/bench/lib/perf.js').then(m => { const b = m.buildPerf(); if (!b.bin) { console.error(b.reason); process.exit(1); } console.log(b.bin); })")
work=$(mktemp -d /tmp/warren-profile-h-XXXXXX); mkdir "$work/data"
trap '[ -n "${WPID:-}" ] && kill "$WPID" 2>/dev/null; [ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null; rm -rf "$work"' EXIT
hport=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
flags=$(node --input-type=module -e "import('./dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
# shellcheck disable=SC2086
taskset -c "$BROKER_CPUS" node $flags --cpu-prof --cpu-prof-dir="$work/prof" dist/src/main.js start \
  --host 127.0.0.1 --port 0 --http-host 127.0.0.1 --http-port "$hport" --data-dir "$work/data" --log-level warn ${BROKER_ARGS:-} > "$work/log" 2>&1 &
WPID=$!; port=""
for _ in $(seq 200); do port=$(ss -ltnpH 2>/dev/null | grep "pid=$WPID," | awk '{print $4}' | sed 's/.*://' | grep -v "^$hport\$" | head -1); [ -n "$port" ] && break; sleep 0.1; done
: > "$out/metrics.txt"
( while :; do echo "t $(date +%s.%N)"; curl -s -u guest:guest "http://127.0.0.1:$hport/metrics" | grep "^warren_store_" || true; sleep 0.5; done >> "$out/metrics.txt" ) &
SPID=$!
echo "start $(date +%s.%N)" > "$out/times.txt"
taskset -c "$CLIENT_CPUS" "$PERF" --uri "amqp://guest:guest@127.0.0.1:$port" --broker-pid "$WPID" --mode backlog -n "$H_N" -s 1024 -f -D -c 100 -q 100 -A 1 --quiet > "$out/perf.json"
echo "end $(date +%s.%N)" >> "$out/times.txt"
kill "$SPID" 2>/dev/null || true; SPID=""
kill -TERM "$WPID"; wait "$WPID" || true; WPID=""
# The main thread's profile is the largest one (the others are worker threads).
ls -S "$work"/prof/*.cpuprofile
main=$(ls -S "$work"/prof/*.cpuprofile | head -1); writer=$(ls -S "$work"/prof/*.cpuprofile | sed -n 2p)
cp "$main" "$out/main.cpuprofile"; cp "$writer" "$out/writer.cpuprofile"
node dist/bench/flamegraph.js "$out/main.cpuprofile" "$out/main.svg" "scenario h, main thread"
node dist/bench/flamegraph.js "$out/writer.cpuprofile" "$out/writer.svg" "scenario h, SQLite writer thread"
cut -c1-400 "$out/perf.json"
