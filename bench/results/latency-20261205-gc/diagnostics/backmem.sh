#!/usr/bin/env bash
# under the lock: 1M flat-out backlog (bench/flatout-backlog.js), before and after, one run each, order by $1
cd /work/wt/gc
out=/work/wt/gc/bench/results/tmp/backmem.jsonl
order=${ORDER:-"before after"}
for b in $order; do
  dir=/work/wt/gc; [ $b = before ] && dir=/work/wt/before
  data=$(mktemp -d /work/wt/gc/bench/results/tmp/bm-data-XXXX)
  MALLOC_MMAP_THRESHOLD_=4194304 taskset -c 0 node --max-semi-space-size=4 --initial-old-space-size=32 $dir/dist/src/main.js start --host 127.0.0.1 --port 0 --http-port off --data-dir "$data" --log-level warn > /dev/null 2>&1 &
  W=$!
  for _ in $(seq 100); do port=$(ss -ltnpH | grep "pid=$W," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$port" ] && break; sleep 0.1; done
  line=$(taskset -c 1 node dist/bench/flatout-backlog.js --url amqp://guest:guest@127.0.0.1:$port --pid $W --data-dir "$data" --n 1000000 2>/dev/null | tail -1)
  echo "{\"broker\":\"$b\",\"at\":\"$(date -u +%FT%TZ)\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"result\":$line}" | tee -a $out
  kill $W; wait $W 2>/dev/null; rm -rf "$data"
done
