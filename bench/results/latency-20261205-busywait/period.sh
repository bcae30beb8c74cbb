#!/usr/bin/env bash
# warren (main) on CPU 0; raw probe every 1 ms for 10 s on CPU 1 (SCHED_FIFO): prints the deliver samples in order
set -u
DIR=/work/main; PORT=5690
data=$(mktemp -d /tmp/wake-data-XXXX)
flags=$(node --input-type=module -e "import('$DIR/dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
taskset -c 0 node $flags ${NODEX:-} $DIR/dist/src/main.js start --host 127.0.0.1 --port $PORT --http-port off --data-dir $data --log-level warn ${ARGS:-} > ${BLOG:-/dev/null} 2>&1 &
BP=$!; sleep 1.5
taskset -c 1 chrt -f 1 /usr/bin/python3 /work/main/bench/lib/probe-raw.py amqp://guest:guest@127.0.0.1:$PORT per 3000 1 > /dev/null
taskset -c 1 chrt -f 1 /usr/bin/python3 /work/main/bench/lib/probe-raw.py amqp://guest:guest@127.0.0.1:$PORT per 10000 1 > $1
kill $BP; wait $BP 2>/dev/null; rm -rf $data
