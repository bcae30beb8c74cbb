#!/usr/bin/env bash
# Scenario (h) under `perf record -g` with V8's jitdump, so JIT frames keep their names across
# code moves (--perf-basic-prof's map went stale: bytecode trampolines and reused code space gave
# samples the names of start-up functions). One warren from CHECKOUT (built) on CPU 0 started with
# `node --perf-prof --interpreted-frames-native-stack`, confirm-blast's backlog mode on CPU 1 (N x
# 1 KiB persistent, window 100, then drained with prefetch 100), perf on CPU 1 for the whole run
# with CLOCK_MONOTONIC stamps; then `perf inject --jit`. Prints each phase's time window (for
# `perf script --time A,B`) and the main thread's id. Run it inside a hold of the lock:
#
#   WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o /work/wt/_quiet/measure.lock bench/h-perf.sh CHECKOUT N OUT-DIR
#   bench/h-perf-report.py OUT-DIR publish|drain [top] [--callees REGEX]
#
# Environment: CONFIRM_BLAST [/work/main/bench/results/tmp/confirm-blast/confirm-blast] CB_ARGS []
#   (more confirm-blast arguments: "-T -N" for transient messages in a non-durable queue)
set -u
CO=${1:?checkout}; N=${2:-200000}; OUT=${3:?out dir}
CB=${CONFIRM_BLAST:-/work/main/bench/results/tmp/confirm-blast/confirm-blast}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
D=$(mktemp -d /tmp/hdata-XXXX)
# node writes jit-PID.dump into its working directory.
cd "$OUT"
env MALLOC_MMAP_THRESHOLD_=4194304 taskset -c 0 node --perf-prof --interpreted-frames-native-stack --max-semi-space-size=4 --initial-old-space-size=32 \
  "$CO/dist/src/main.js" start --host 127.0.0.1 --port 0 --http-port off --data-dir "$D" --log-level warn > "$OUT/log" 2>&1 &
P=$!
PORT=""
for _ in $(seq 100); do PORT=$(ss -ltnpH | grep "pid=$P," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$PORT" ] && break; sleep 0.1; done
taskset -c 1 perf record -k CLOCK_MONOTONIC -F 1999 -g -p "$P" -o "$OUT/perf.data" > /dev/null 2>&1 &
R=$!
sleep 0.5
T0=$(python3 -c 'import time; print(time.monotonic())')
taskset -c 1 "$CB" -P "$PORT" -b "$P" -m backlog -n "$N" -s 1024 -c 100 -q 100 -d 60 ${CB_ARGS:-} > "$OUT/h.out"
T3=$(python3 -c 'import time; print(time.monotonic())')
kill -INT "$R"; wait "$R"
kill "$P"; wait "$P" 2> /dev/null; rm -rf "$D"
perf inject --jit -i "$OUT/perf.data" -o "$OUT/perf.jit.data" 2> /dev/null
python3 - "$OUT" "$T0" "$T3" "$P" << 'PY'
import json, sys
out, t0, t3, pid = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
r = json.loads(open(f'{out}/h.out').read().strip().splitlines()[-1])
p, d = r['publish_s'], r['drain_s']
# The publish phase starts after the generator's set-up; the drain ends a little before exit.
times = {'pid': pid, 'publish': f'{t0 + 0.3:.3f},{t0 + p - 0.2:.3f}', 'drain': f'{t3 - d + 0.1:.3f},{t3 - 0.2:.3f}',
         'publish_rate': r['publish_rate'], 'drain_rate': r['drain_rate']}
json.dump(times, open(f'{out}/times.json', 'w'))
print(json.dumps(times))
PY
