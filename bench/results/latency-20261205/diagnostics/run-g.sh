#!/usr/bin/env bash
cd /work/wt/latency
data=$(mktemp -d /tmp/latency-diag/data-XXXX)
taskset -c 0 node --max-semi-space-size=4 --initial-old-space-size=32 dist/src/main.js start --host 127.0.0.1 --port 0 --http-port off --data-dir "$data" --log-level warn > /tmp/latency-diag/broker-g.log 2>&1 &
W=$!
for _ in $(seq 100); do port=$(ss -ltnpH | grep "pid=$W," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$port" ] && break; sleep 0.1; done
echo "load $(cut -d' ' -f1 /proc/loadavg) port $port $(date -u +%T)"
for m in plain rt plain rt; do
  pre=""; [ $m = rt ] && pre="chrt -f 1"
  echo -n "$m: "
  $pre taskset -c 1 bench/results/tmp/shared-bench/amqp-perf --uri amqp://guest:guest@127.0.0.1:$port --quiet -x 1 -y 1 -s 1024 -a -r 1000 --warmup 2 --duration 8 2>/dev/null | tail -1 | grep -o '"lat_us":{[^}]*}'
done
kill $W; wait $W 2>/dev/null; rm -rf "$data"
