#!/usr/bin/env bash
# Fresh warren (main) on CPU 0; the raw probe (every 10 ms, 6 s, after its 300 ms warm-up) three times in a row against it, idle; x3 brokers.
set -u
DIR=/work/main; PORT=5690
flags=$(node --input-type=module -e "import('$DIR/dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
for b in 1 2 3; do
  data=$(mktemp -d /tmp/wake-data-XXXX)
  taskset -c 0 node $flags $DIR/dist/src/main.js start --host 127.0.0.1 --port $PORT --http-port off --data-dir $data --log-level warn > /dev/null 2>&1 &
  BP=$!; sleep 1.5
  line="broker $b:"
  for k in 1 2 3; do
    taskset -c 1 /usr/bin/python3 /work/main/bench/lib/probe-raw.py amqp://guest:guest@127.0.0.1:$PORT cold-$k 6000 10 > /tmp/cold-$b-$k.json
    line="$line $(python3 -c "
import json;p=json.loads(open('/tmp/cold-$b-$k.json').read().strip().splitlines()[-1]);r=sorted(p['rpc']);print('%.2f' % r[int(.99*len(r))])")"
  done
  echo "$line (rpc p99 ms, runs 1-3)"
  kill $BP; wait $BP 2>/dev/null; rm -rf $data
done
cat /proc/loadavg
