#!/usr/bin/env bash
# g (amqp-perf, 1 KiB at 1000 msg/s, 10 s) against a fresh warren on CPU 0, alternating: the kernel's DAMON thread (kdamond) free to run on CPU 0, or kept on CPU 1.
DIR=${DIR:-/work/main}; PORT=5690; R=${R:-3}; KD=$(pgrep kdamond | head -1)
flags=$(node --input-type=module -e "import('$DIR/dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
for r in $(seq $R); do for mode in cpu01 cpu1; do
  if [ $mode = cpu01 ]; then taskset -p -c 0,1 $KD >/dev/null; else taskset -p -c 1 $KD >/dev/null; fi
  data=$(mktemp -d /tmp/g-data-XXXX)
  env MALLOC_MMAP_THRESHOLD_=4194304 taskset -c 0 node $flags $DIR/dist/src/main.js start --host 127.0.0.1 --port $PORT --http-port off --data-dir $data --log-level warn > /dev/null 2>&1 &
  BP=$!; for i in $(seq 50); do ss -ltn | grep -q ":$PORT " && break; sleep 0.2; done
  kd0=$(awk '{print $14+$15}' /proc/$KD/stat)
  taskset -c 1 /tmp/sbench/amqp-perf --port $PORT -x 1 -y 1 -s 1024 -a -r 1000 -z 10 -w 2 --quiet > /tmp/abkd.json
  kd1=$(awk '{print $14+$15}' /proc/$KD/stat)
  python3 -c "
import json; d=json.load(open('/tmp/abkd.json'))['lat_us']; print('$(date -u +%T) $(cut -d' ' -f1 /proc/loadavg) kdamond on $mode: g p50 %.3f p99 %.3f p99.9 %.3f ms  (kdamond cpu $((kd1-kd0)) ticks)' % (d['p50']/1e3, d['p99']/1e3, d['p999']/1e3))"
  kill $BP; wait $BP 2>/dev/null; rm -rf $data
done; done
taskset -p -c 1 $KD >/dev/null
