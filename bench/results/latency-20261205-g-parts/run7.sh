#!/usr/bin/env bash
# g against a fresh warren on CPU 0; every context switch on CPU 0, the broker's wake-ups and writes (no sampling), to name what held CPU 0 while a message waited.
DIR=${DIR:-/work/main}; PORT=5690
flags=$(node --input-type=module -e "import('$DIR/dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
data=$(mktemp -d /tmp/g-data-XXXX)
env MALLOC_MMAP_THRESHOLD_=4194304 taskset -c 0 node $flags $DIR/dist/src/main.js start --host 127.0.0.1 --port $PORT --http-port off --data-dir $data --log-level warn > /tmp/g-broker.log 2>&1 &
BP=$!; for i in $(seq 50); do ss -ltn | grep -q ":$PORT " && break; sleep 0.2; done; echo $BP > broker.pid
if [ -n "$IDLE_HELPERS" ]; then for t in $(ls /proc/$BP/task | sort -n | head -n -1); do [ $t = $BP ] || chrt -i -p 0 $t; done; fi
[ -n "$KD_CPUS" ] && taskset -p -c $KD_CPUS $(pgrep kdamond) >/dev/null
taskset -c 1 /tmp/sbench/amqp-perf --port $PORT -x 1 -y 1 -s 1024 -a -r 1000 -z 10 -w 2 --quiet > g7.json &
AP=$!; sleep 3; echo $AP > client.pid
F="common_pid == $AP"; for t in /proc/$AP/task/*; do F="$F || common_pid == ${t##*/}"; done
taskset -c 1 perf record -m 2048 -a -o perf7.data \
  -e sched:sched_switch --filter "common_cpu == 0" \
  -e sched:sched_wakeup --filter "pid == $BP" \
  -e syscalls:sys_enter_sendto --filter "$F" \
  -e syscalls:sys_enter_write --filter "common_pid == $BP" -e syscalls:sys_enter_writev --filter "common_pid == $BP" \
  -- sleep 8 2> perf7.err
wait $AP
for t in /proc/$BP/task/*; do echo "${t##*/} $(cat $t/comm) $(awk "{print \$14, \$15}" $t/stat)"; done > tasks7.txt
kill $BP; wait $BP 2>/dev/null; rm -rf $data
perf script -i perf7.data -F pid,tid,cpu,time,event,trace 2>/dev/null > ps7.txt
taskset -p -c 1 $(pgrep kdamond) >/dev/null
