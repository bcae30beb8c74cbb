#!/usr/bin/env bash
cd /tmp/latency-diag
for spec in "$@"; do
  tag=${spec%%|*}; extra=${spec#*|}
  echo "== $tag: $extra ($(date -u +%T), load $(cut -d' ' -f1 /proc/loadavg))"
  DUR=24 DELAY=16 TAG=$tag PROF=" " NODEFLAGS="--max-semi-space-size=4 --initial-old-space-size=32 $extra" ./run-prof.sh 2>&1 | grep -v "t= " | grep -E "rpc|deliver|confirm_rate" | sed 's/"version".*"confirm_rate"/ confirm_rate/;s/,"recv_rate_1s.*"p99":/ lat p99 /;s/,"p999".*//'
  echo "MC: $(grep -c Mark-Compact broker-$tag.log) first at $(grep -m1 Mark-Compact broker-$tag.log | awk '{print $2}') ms; scav: $(grep -c Scavenge broker-$tag.log); last heap: $(grep Scavenge broker-$tag.log | tail -1 | cut -c20-75)"
done
