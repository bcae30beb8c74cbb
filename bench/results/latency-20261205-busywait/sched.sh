#!/usr/bin/env bash
# warren (main) on CPU 0; raw probe every 1 ms on CPU 1; perf sched record of CPU 0 during 8 s of it.
set -u
DIR=/work/main; PORT=5690
data=$(mktemp -d /tmp/wake-data-XXXX)
flags=$(node --input-type=module -e "import('$DIR/dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
taskset -c 0 node $flags $DIR/dist/src/main.js start --host 127.0.0.1 --port $PORT --http-port off --data-dir $data --log-level warn > /dev/null 2>&1 &
BP=$!; echo "broker $BP"; sleep 1.5
taskset -c 1 chrt -f 1 /usr/bin/python3 /work/main/bench/lib/probe-raw.py amqp://guest:guest@127.0.0.1:$PORT per 3000 1 > /dev/null
taskset -c 1 chrt -f 1 /usr/bin/python3 /work/main/bench/lib/probe-raw.py amqp://guest:guest@127.0.0.1:$PORT per 9000 1 > sched-probe.json &
PP=$!; sleep 0.5
perf sched record -a -o /tmp/sched.data -- sleep 8 2>/dev/null
wait $PP
ps -L -o tid,comm,cls,ni -p $BP > sched-threads.txt
kill $BP; wait $BP 2>/dev/null; rm -rf $data
