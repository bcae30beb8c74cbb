#!/usr/bin/env bash
# A/B: warren (main) as is ("off") against the same with an always-pending setImmediate ("poll", node -r spin.cjs): idle raw probe every 10 ms for 6 s, then g (amqp-perf 1 KiB at 1000/s, 8 s).
set -u
DIR=/work/main; PORT=5690
flags=$(node --input-type=module -e "import('$DIR/dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
for c in ${CONDS:-off poll poll off off poll}; do
  data=$(mktemp -d /tmp/wake-data-XXXX)
  extra=""; [ "$c" = poll ] && extra="-r /work/wt/_h/wake/spin.cjs"
  taskset -c 0 node $flags $extra $DIR/dist/src/main.js start --host 127.0.0.1 --port $PORT --http-port off --data-dir $data --log-level warn > /dev/null 2>&1 &
  BP=$!; sleep 1.5
  taskset -c 1 /usr/bin/python3 /work/main/bench/lib/probe-raw.py amqp://guest:guest@127.0.0.1:$PORT w 3000 5 > /dev/null
  taskset -c 1 /usr/bin/python3 /work/main/bench/lib/probe-raw.py amqp://guest:guest@127.0.0.1:$PORT p 6000 10 > /tmp/pab.json
  taskset -c 1 /tmp/sbench/amqp-perf -h amqp://guest:guest@127.0.0.1:$PORT -x 1 -y 1 -s 1024 -a -r 1000 -z 8 -w 2 -p $BP --quiet > /tmp/pabg.json 2>/dev/null
  python3 -c "
import json;p=json.loads(open('/tmp/pab.json').read().strip().splitlines()[-1]);r=sorted(p['rpc']);g=json.load(open('/tmp/pabg.json'))
print('$c: idle probe rpc p50 %.3f p99 %.2f | g p50 %.3f p99 %.3f cpu %s' % (r[len(r)//2], r[int(.99*len(r))], g['lat_us']['p50']/1000, g['lat_us']['p99']/1000, g.get('broker_cpu_pct')))"
  kill $BP; wait $BP 2>/dev/null; rm -rf $data
done
cat /proc/loadavg
