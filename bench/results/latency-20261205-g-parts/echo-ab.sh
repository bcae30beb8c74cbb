#!/usr/bin/env bash
# alternate python and node echo servers on CPU 0, client on CPU 1 (SCHED_FIFO), N rounds of S seconds, SIZE bytes
# run from this folder: the ping-pong is the eighth sitting's pingpong.py, which takes the size and period as optional arguments
N=${N:-3}; S=${S:-8}; SIZE=${SIZE:-16}
for r in $(seq $N); do
  for srv in py node; do
    if [ $srv = py ]; then taskset -c 0 /usr/bin/python3 ../latency-20261205-busywait/pingpong.py server & SP=$!; else taskset -c 0 node echo.js & SP=$!; fi
    sleep 0.7
    echo "$(date -u +%T) $srv $(cat /proc/loadavg | cut -d' ' -f1) $(taskset -c 1 chrt -f 1 /usr/bin/python3 ../latency-20261205-busywait/pingpong.py client $S $SIZE ${PERIOD:-1})"
    kill $SP 2>/dev/null; wait $SP 2>/dev/null; sleep 0.3
  done
done
