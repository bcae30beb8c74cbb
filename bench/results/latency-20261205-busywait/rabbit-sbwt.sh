#!/usr/bin/env bash
# Idle raw probe (every 10 ms, 6 s) against two RabbitMQ nodes (5698 and 5697), alternating, each pinned to CPU 0 while measured; then g. Note: Debian's rabbitmq-env already passes +sbwt none, so the two nodes differ in age, not in busy waiting.
pin() { for p in $(pgrep -f "beam.smp.*$1"); do taskset -a -p -c 0 $p > /dev/null; done; }
unpin() { for p in $(pgrep -f "beam.smp.*$1"); do taskset -a -p -c 1 $p > /dev/null; done; }
for r in 1 2 3; do
  for port in 5698 5697; do
    pin "rabbit-ref-$port"; sleep 0.5
    taskset -c 1 /usr/bin/python3 /work/main/bench/lib/probe-raw.py amqp://guest:guest@127.0.0.1:$port sb-$r 6000 10 > /tmp/sb-$port-$r.json
    taskset -c 1 /tmp/sbench/amqp-perf -h amqp://guest:guest@127.0.0.1:$port -x 1 -y 1 -s 1024 -a -r 1000 -z 8 -w 2 --quiet > /tmp/sbg-$port-$r.json 2>/dev/null
    python3 -c "
import json;p=json.loads(open('/tmp/sb-$port-$r.json').read().strip().splitlines()[-1]);r=sorted(p['rpc']);g=json.load(open('/tmp/sbg-$port-$r.json'))['lat_us']
print('round $r port $port: idle probe rpc p50 %.3f p99 %.2f | g p50 %.3f p99 %.3f' % (r[len(r)//2], r[int(.99*len(r))], g['p50']/1000, g['p99']/1000))"
    unpin "rabbit-ref-$port"
  done
done
cat /proc/loadavg
