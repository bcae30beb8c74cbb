#!/usr/bin/env bash
# Idle raw probe (every 10 ms, 6 s) against the warren on 5690 and the RabbitMQ node on 5698, both started at 20:17 UTC, alternating, each pinned to CPU 0 while measured (the other moved to CPU 1).
pin() { for p in $(pgrep -f "$1"); do taskset -a -p -c $2 $p > /dev/null; done; }
for r in 1 2 3; do
  for t in warren rabbit; do
    if [ $t = warren ]; then port=5690; pin "port 5690" 0; pin "beam.smp.*rabbit-ref-5698" 1; else port=5698; pin "beam.smp.*rabbit-ref-5698" 0; pin "port 5690" 1; fi
    sleep 0.5
    taskset -c 1 /usr/bin/python3 /work/main/bench/lib/probe-raw.py amqp://guest:guest@127.0.0.1:$port age-$r 6000 10 > /tmp/age-$t-$r.json
    python3 -c "
import json;p=json.loads(open('/tmp/age-$t-$r.json').read().strip().splitlines()[-1]);r=sorted(p['rpc'])
print('$(date +%H:%M:%S) round $r $t: idle probe rpc p50 %.3f p99 %.2f' % (r[len(r)//2], r[int(.99*len(r))]))"
  done
done
pin "port 5690" 0,1; pin "beam.smp.*rabbit-ref-5698" 0,1
cat /proc/loadavg
