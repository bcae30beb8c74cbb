#!/usr/bin/env bash
# g against a fresh warren on CPU 0 (kdamond kept on CPU 1), alternating: V8's platform threads as they are (nice +10) or SCHED_IDLE (chrt -i), and optionally the writer too (MODE list).
DIR=${DIR:-/work/main}; PORT=5690; R=${R:-3}; MODES=${MODES:-"as-is idle"}
flags=$(node --input-type=module -e "import('$DIR/dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
for r in $(seq $R); do for mode in $MODES; do
  data=$(mktemp -d /tmp/g-data-XXXX)
  env MALLOC_MMAP_THRESHOLD_=4194304 taskset -c 0 node $flags $DIR/dist/src/main.js start --host 127.0.0.1 --port $PORT --http-port off --data-dir $data --log-level warn > /dev/null 2>&1 &
  BP=$!; for i in $(seq 50); do ss -ltn | grep -q ":$PORT " && break; sleep 0.2; done
  # threads: main = BP; the writer is the last started (highest tid); the rest are V8 platform / libuv threads
  tids=$(ls /proc/$BP/task | sort -n); writer=$(echo "$tids" | tail -1)
  if [ $mode != as-is ]; then for t in $tids; do [ $t = $BP ] && continue; [ $t = $writer ] && [ $mode != idle-all ] && continue; chrt -i -p 0 $t; done; fi
  taskset -c 1 /tmp/sbench/amqp-perf --port $PORT -x 1 -y 1 -s 1024 -a -r 1000 -z 10 -w 2 --quiet > /tmp/abidle.json
  python3 -c "
import json; d=json.load(open('/tmp/abidle.json'))['lat_us']; print('$(date -u +%T) $(cut -d' ' -f1 /proc/loadavg) $mode: g p50 %.3f p99 %.3f p99.9 %.3f ms' % (d['p50']/1e3, d['p99']/1e3, d['p999']/1e3))"
  kill $BP; wait $BP 2>/dev/null; rm -rf $data
done; done
