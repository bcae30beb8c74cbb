#!/usr/bin/env bash
cd /tmp/latency-diag
for spec in "$@"; do
  tag=${spec%%=*}; sch=${spec#*=}
  echo "== $tag writer sched $sch"
  if [ "$sch" = none ]; then unset WARREN_WRITER_SCHED; else export WARREN_WRITER_SCHED=$sch; fi
  TAG=$tag PROF=" " ./run-prof.sh 2>&1 | grep -v "t= " | grep -E "rpc|deliver|late|confirm_rate" | sed 's/"version".*"confirm_rate"/ confirm_rate/;s/,"recv_rate_1s.*"p99":/ lat p99 /;s/,"p999".*//'
  echo "MC: $(grep -c Mark-Compact broker-$tag.log) scav: $(grep -c Scavenge broker-$tag.log)"
done
