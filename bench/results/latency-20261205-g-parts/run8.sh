#!/usr/bin/env bash
# g against a fresh warren on CPU 0; perf record -g of every thread but the event loop over 8 s, jitdump, to name what they run.
DIR=${DIR:-/work/main}; PORT=5690; OUT=$(pwd)/p8; rm -rf $OUT; mkdir -p $OUT; cd $OUT
data=$(mktemp -d /tmp/g-data-XXXX)
env MALLOC_MMAP_THRESHOLD_=4194304 taskset -c 0 node --perf-prof --interpreted-frames-native-stack --max-semi-space-size=4 --initial-old-space-size=32 $DIR/dist/src/main.js start --host 127.0.0.1 --port $PORT --http-port off --data-dir $data --log-level warn > log 2>&1 &
BP=$!; for i in $(seq 50); do ss -ltn | grep -q ":$PORT " && break; sleep 0.2; done; echo $BP > broker.pid
taskset -c 1 /tmp/sbench/amqp-perf --port $PORT -x 1 -y 1 -s 1024 -a -r 1000 -z 10 -w 2 --quiet > g.json &
AP=$!; sleep 3
T=$(ls /proc/$BP/task | grep -vx $BP | paste -sd,)
for t in /proc/$BP/task/*; do echo "${t##*/} $(cat $t/comm)"; done > tasks.txt
taskset -c 1 perf record -q -k CLOCK_MONOTONIC -F 4999 -g -t $T -o perf.data -- sleep 8 2>/dev/null
wait $AP
kill $BP; wait $BP 2>/dev/null; rm -rf $data
perf inject --jit -i perf.data -o perf.jit.data 2>/dev/null
