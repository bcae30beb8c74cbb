#!/usr/bin/env bash
# under the lock: warren with trace-gc, the real responsiveness scenario against it
cd /work/wt/latency
tag=${TAG:-r1}
data=$(mktemp -d /tmp/latency-diag/data-XXXX)
node ${NODEFLAGS:---max-semi-space-size=4 --initial-old-space-size=32} --trace-gc dist/src/main.js start --host 127.0.0.1 --port 0 --http-port off --data-dir "$data" --log-level warn > /tmp/latency-diag/broker-$tag.log 2>&1 &
W=$!
for _ in $(seq 100); do port=$(ss -ltnpH | grep "pid=$W," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$port" ] && break; sleep 0.1; done
echo "load $(cut -d' ' -f1 /proc/loadavg) port $port $(date -u +%T)"
BENCH_SHARED_DIR=/work/shared/bench BENCH_PROBE_S=6 node dist/bench/run.js responsiveness --target rabbitmq --url amqp://guest:guest@127.0.0.1:$port --out /tmp/latency-diag/scen-$tag > /tmp/latency-diag/scen-$tag.out 2>&1
grep -E "RPC p99|confirmed" /tmp/latency-diag/scen-$tag.out | head -8
kill $W; wait $W 2>/dev/null; rm -rf "$data"
echo "MC: $(grep -c Mark-Compact /tmp/latency-diag/broker-$tag.log); scav $(grep -c Scavenge /tmp/latency-diag/broker-$tag.log)"
grep Mark-Compact /tmp/latency-diag/broker-$tag.log | awk '{print $2}' | tr '\n' ' ' | cut -c1-400; echo
