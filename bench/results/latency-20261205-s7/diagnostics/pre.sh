#!/bin/bash
# main thread preempted for > 1 ms: count and total, from sched.data
M=$(perf sched timehist -i /tmp/idle/sched.data 2>/dev/null | awk '{print $3}' | grep -E "^node\[[0-9]+\]$" | sort | uniq -c | sort -rn | head -1 | awk '{print $2}')
perf sched timehist -i /tmp/idle/sched.data 2>/dev/null | awk -v m="$M" '$3==m && $4>1 {n++; s+=$4} $3!=m && $3 ~ /^node\[/ {h+=$6} END {printf "main off-cpu >1ms: %d times, %.0f ms; helper threads ran %.0f ms\n", n, s, h}'
