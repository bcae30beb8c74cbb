#!/usr/bin/env bash
cd /tmp/latency-diag
for spec in "$@"; do
  tag=${spec%%|*}; extra=${spec#*|}
  echo "== $tag: $extra"
  TAG=$tag NODEFLAGS="--max-semi-space-size=4 --initial-old-space-size=32 $extra" WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o /work/wt/_quiet/measure.lock ./run-scen.sh
done
