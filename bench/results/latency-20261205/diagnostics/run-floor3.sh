#!/usr/bin/env bash
cd /work/wt/latency
data=$(mktemp -d /tmp/latency-diag/data-XXXX)
taskset -c 0 node --max-semi-space-size=4 --initial-old-space-size=32 dist/src/main.js start --host 127.0.0.1 --port 0 --http-port off --data-dir "$data" --log-level warn > /tmp/latency-diag/broker.log 2>&1 &
W=$!
for _ in $(seq 100); do port=$(ss -ltnpH | grep "pid=$W," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$port" ] && break; sleep 0.1; done
echo "load $(cut -d' ' -f1 /proc/loadavg) port $port $(date -u +%T)"
for m in ${MODES:-orig orig:rt orig:hog orig:rt:hog}; do
  H=""
  case $m in *hog*) taskset -c 1 node -e 'for(;;){}' & H=$!;; esac
  pre=""; case $m in *rt*) pre="chrt -f 1";; esac
  $pre taskset -c 1 node /tmp/latency-diag/floor.mjs amqp://guest:guest@127.0.0.1:$port ${SECS:-6} $m | grep -v slow
  [ -n "$H" ] && kill $H
done
kill $W; wait $W 2>/dev/null; rm -rf "$data"
