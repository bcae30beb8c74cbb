#!/usr/bin/env bash
# g against warren (or RabbitMQ with TARGET=rabbit) with tracepoints on the broker's main thread and amqp-perf's threads.
DIR=${DIR:-/work/main}; PORT=5690
if [ "${TARGET:-warren}" = warren ]; then
flags=$(node --input-type=module -e "import('$DIR/dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
data=$(mktemp -d /tmp/g-data-XXXX)
env MALLOC_MMAP_THRESHOLD_=4194304 taskset -c 0 node $flags $DIR/dist/src/main.js start --host 127.0.0.1 --port $PORT --http-port off --data-dir $data --log-level warn > /tmp/g-broker.log 2>&1 &
BP=$!; for i in $(seq 50); do ss -ltn | grep -q ":$PORT " && break; sleep 0.2; done
else PORT=5698; BP=$(pgrep -f "beam.smp.*rabbit-ref-5698"); taskset -a -p -c 0 $BP >/dev/null; sleep 0.5; fi
echo $BP > broker3.pid
taskset -c 1 chrt -f 1 /tmp/sbench/amqp-perf --port $PORT -x 1 -y 1 -s 1024 -a -r 1000 -z 10 -w 2 --quiet > g.json &
AP=$!; sleep 3; echo $AP > client3.pid
F="common_pid == $AP"; for t in /proc/$AP/task/*; do F="$F || common_pid == ${t##*/}"; done
B="common_pid == $BP"; for t in /proc/$BP/task/*; do B="$B || common_pid == ${t##*/}"; done
taskset -c 1 perf record -q -a -o perf3.data \
  -e sched:sched_wakeup \
  -e syscalls:sys_enter_sendto --filter "$F" \
  -e syscalls:sys_exit_recvfrom --filter "$F" \
  -e syscalls:sys_enter_writev --filter "$B" -e syscalls:sys_enter_write --filter "$B" -e syscalls:sys_enter_sendmsg --filter "$B" -e syscalls:sys_enter_sendto --filter "$B" \
  -- sleep 8 2>/dev/null
wait $AP
if [ "${TARGET:-warren}" = warren ]; then kill $BP; wait $BP 2>/dev/null; rm -rf $data; else taskset -a -p -c 0,1 $BP >/dev/null; fi
perf script -i perf3.data -F pid,tid,cpu,time,event,trace 2>/dev/null > ps3.txt
