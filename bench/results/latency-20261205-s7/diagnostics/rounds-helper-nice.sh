#!/bin/bash
# 5 rounds: transient and persistent load, helpers at nice 10 (as landed) vs 19, order alternating
cd /tmp/idle
for r in 1 2 3 4 5; do
  if [ $((r % 2)) = 1 ]; then order="10 19"; else order="19 10"; fi
  for kind in transient persistent; do
    if [ $kind = transient ]; then L="-x 1 -y 1 -s 1024 -a"; else L="-x 1 -y 1 -s 1024 -f -D -c 500 -q 200 -A 1"; fi
    for h in $order; do
      hn=""; [ $h = 19 ] && hn=19
      WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o /work/wt/_quiet/measure.lock nice -n -19 env HNICE=$hn LOAD="$L" ./load.sh > s7/out.txt 2>&1
      echo "{\"round\":$r,\"kind\":\"$kind\",\"helper_nice\":$h,\"time\":\"$(date -u +%H:%M:%S)\",\"load\":$(cut -d' ' -f1 /proc/loadavg),\"probe\":$(cat raw.json | python3 -c 'import json,sys; d=json.load(sys.stdin); d.pop("late",None); d.pop("rpc_epoch",None); print(json.dumps(d))'),\"perf\":$(cat load.json)}" >> s7/lines.jsonl
      echo "r$r $kind nice$h $(head -1 s7/out.txt | cut -c1-80)"
    done
  done
done
