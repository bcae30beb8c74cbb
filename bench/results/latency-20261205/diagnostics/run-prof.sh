#!/usr/bin/env bash
# under the lock: warren (all threads CPU 0) with --cpu-prof and --trace-gc, persistent flat-out load, RT floor probe
cd /work/wt/latency
tag=${TAG:-p1}
data=$(mktemp -d /tmp/latency-diag/data-XXXX)
rm -rf /tmp/latency-diag/prof-$tag; mkdir -p /tmp/latency-diag/prof-$tag
taskset -c 0 node ${NODEFLAGS:---max-semi-space-size=4 --initial-old-space-size=32} ${PROF:---cpu-prof --cpu-prof-dir=/tmp/latency-diag/prof-$tag} --trace-gc dist/src/main.js start --host 127.0.0.1 --port 0 --http-port off --data-dir "$data" --log-level warn > /tmp/latency-diag/broker-$tag.log 2>&1 &
W=$!
for _ in $(seq 100); do port=$(ss -ltnpH | grep "pid=$W," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$port" ] && break; sleep 0.1; done
echo "load $(cut -d' ' -f1 /proc/loadavg) port $port $(date -u +%T)"
taskset -c 1 bench/results/tmp/shared-bench/amqp-perf --uri amqp://guest:guest@127.0.0.1:$port ${LOAD:--x 1 -y 1 -s 1024 -f -D -c 500 -q 200 -A 1} --warmup 0 --duration ${DUR:-9} > /tmp/latency-diag/perf-$tag.out 2>&1 &
P=$!
sleep ${DELAY:-1.5}
echo "probe start $(node -e 'console.log(performance.timeOrigin+performance.now())')" 
chrt -f 1 taskset -c 1 node /tmp/latency-diag/floor.mjs amqp://guest:guest@127.0.0.1:$port 6 ${MODE:-orig}-$tag | grep -v slow
wait $P
kill -INT $W; wait $W 2>/dev/null; rm -rf "$data"
tail -3 /tmp/latency-diag/perf-$tag.out
