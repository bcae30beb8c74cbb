#!/usr/bin/env bash
# Scenario (h)'s publish once (N x 1 KiB persistent, confirms window 100, no consumer) against a
# fresh broker from CHECKOUT started with WARREN_STORE_TRACE, broker on CPU 0 and amqp-perf on
# CPU 1, then bench/store-timeline.js on the trace: each step of a batch's round trip. Run it
# inside a hold of the measurement lock:
#
#   WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o /work/wt/_quiet/measure.lock bench/store-timeline.sh . bench/results/tmp/tl-1 200000
#
# Writes OUT.trace, OUT.json (amqp-perf's result), OUT.txt (the timeline) and OUT.log (the
# broker's). BROKER_ARGS are passed to `warren start`. Needs amqp-perf at /tmp/sbench/amqp-perf
# (or BENCH_PERF_BIN).
set -u
co=$1; out=$2; N=${3:-200000}
work=$(mktemp -d /tmp/store-tl-XXXXXX); mkdir "$work/data"
flags=$(cd "$co" && node --input-type=module -e "import('./dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
envs=$(cd "$co" && node --input-type=module -e "import('./dist/src/cli/node-flags.js').then((m) => console.log(Object.entries(m.LAUNCH_ENV ?? {}).map(([k, v]) => k + '=' + v).join(' ')))")
# shellcheck disable=SC2086
env $envs WARREN_STORE_TRACE="$(realpath -m "$out.trace")" taskset -c 0 node $flags "$co/dist/src/main.js" start --host 127.0.0.1 --port 0 --http-port off --data-dir "$work/data" --log-level warn ${BROKER_ARGS:-} > "$work/log" 2>&1 &
WPID=$!
for _ in $(seq 200); do port=$(ss -ltnpH 2>/dev/null | grep "pid=$WPID," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$port" ] && break; sleep 0.1; done
taskset -c 1 "${BENCH_PERF_BIN:-/tmp/sbench/amqp-perf}" --uri "amqp://guest:guest@127.0.0.1:$port" --broker-pid $WPID --mode backlog -n "$N" -s 1024 -f -D -c 100 -q 100 -A 1 --quiet > "$out.json" 2>/dev/null
kill $WPID; wait $WPID 2>/dev/null
cp "$work/log" "$out.log"; rm -rf "$work"
node "$(dirname "$0")/../dist/bench/store-timeline.js" "$out.trace" > "$out.txt"
cat "$out.txt"; cut -c1-300 "$out.json"
