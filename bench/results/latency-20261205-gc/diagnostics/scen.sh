#!/usr/bin/env bash
# under the lock: warren (DIR, default this worktree) with extra node flags, the responsiveness scenario against it
# usage: TAG=x EXTRA="--trace-gc" DIR=/work/wt/gc scen.sh
cd /work/wt/gc
D=${DIR:-/work/wt/gc}
tag=${TAG:-r1}
out=/work/wt/gc/bench/results/tmp/diag
data=$(mktemp -d $out/data-XXXX)
flags=${FLAGS:---max-semi-space-size=4 --initial-old-space-size=32}
MALLOC_MMAP_THRESHOLD_=4194304 taskset -c 0 node $flags $EXTRA $D/dist/src/main.js start --host 127.0.0.1 --port 0 --http-port off --data-dir "$data" --log-level warn $BARGS > $out/broker-$tag.log 2>&1 &
W=$!
for _ in $(seq 100); do port=$(ss -ltnpH | grep "pid=$W," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$port" ] && break; sleep 0.1; done
echo "== $tag load $(cut -d' ' -f1 /proc/loadavg) port $port $(date -u +%T) flags $flags $EXTRA"
BENCH_SHARED_DIR=/tmp/sbench BENCH_PERF_BIN=/tmp/sbench/amqp-perf BENCH_BLAST_BIN=/tmp/sbench/amqp-blast BENCH_PROBE_S=${PS:-6} node dist/bench/run.js responsiveness --target rabbitmq --url amqp://guest:guest@127.0.0.1:$port --out $out/scen-$tag > $out/scen-$tag.out 2>&1
grep -E "RPC p99|confirmed" $out/scen-$tag.out | head -5
grep VmHWM /proc/$W/status
kill $W; wait $W 2>/dev/null; rm -rf "$data"
echo "MC: $(grep -c Mark-Compact $out/broker-$tag.log); scav $(grep -c Scavenge $out/broker-$tag.log)"
