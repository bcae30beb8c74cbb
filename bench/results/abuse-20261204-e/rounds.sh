#!/bin/bash
# 3 interleaved rounds of the abuse scenario: warren as launched now (both flags) vs without --initial-old-space-size.
cd /work/main
out=bench/results/tmp/abuse-20261204-e; mkdir -p $out
for r in 1 2 3; do
  WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o /work/wt/_quiet/measure.lock bash -c "
    for v in \$( [ \$(( $r % 2 )) = 1 ] && echo 'now semi4' || echo 'semi4 now'); do
      echo \"round $r: \$v (\$(date -u +%H:%M:%S), load \$(cut -d' ' -f1 /proc/loadavg))\"
      if [ \$v = semi4 ]; then export BENCH_WARREN_NODE_FLAGS='--max-semi-space-size=4'; else unset BENCH_WARREN_NODE_FLAGS; fi
      node dist/bench/run.js abuse --out $out --tag \$v-r$r > $out/\$v-r$r.out 2>&1 || echo \"failed \$v r$r\"
    done"
done
echo "done $(date -u +%H:%M:%S)"
