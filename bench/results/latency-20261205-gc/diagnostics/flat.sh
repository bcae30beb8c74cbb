#!/usr/bin/env bash
# under the lock: warren + flat-out persistent amqp-perf for DUR s
cd /work/wt/gc/bench/results/tmp/diag
D=${DIR:-/work/wt/gc}
tag=${TAG:-flat}
data=$(mktemp -d ./data-XXXX)
MALLOC_MMAP_THRESHOLD_=4194304 taskset -c 0 node ${FLAGS:---max-semi-space-size=4 --initial-old-space-size=32} $EXTRA $D/dist/src/main.js start --host 127.0.0.1 --port 0 --http-port off --data-dir "$data" --log-level warn > broker-$tag.log 2>&1 &
W=$!
for _ in $(seq 100); do port=$(ss -ltnpH | grep "pid=$W," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$port" ] && break; sleep 0.1; done
taskset -c 1 /tmp/sbench/amqp-perf --uri amqp://guest:guest@127.0.0.1:$port ${LOAD:--x 1 -y 1 -s 1024 -f -D -c 500 -q 200 -A 1} --warmup 0 --duration ${DUR:-8} > perf-$tag.out 2>&1
kill $W; wait $W; rm -rf "$data"
echo "== $tag $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg): $(tail -1 perf-$tag.out | grep -o '"confirm_rate":[0-9.]*') MC $(grep -c Mark-Compact broker-$tag.log) scav $(grep -c Scavenge broker-$tag.log)"
