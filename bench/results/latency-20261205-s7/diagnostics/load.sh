#!/bin/bash
# warren (DIR, default /work/wt/before) + load (LOAD args to amqp-perf) + raw probe 6 s; EXTRA node flags
DIR=${DIR:-/work/wt/before}
cd $DIR
rm -rf /tmp/idle/data; mkdir -p /tmp/idle/data
env MALLOC_MMAP_THRESHOLD_=4194304 $ENVX taskset -c 0 node --max-semi-space-size=4 --initial-old-space-size=32 $EXTRA dist/src/main.js start --host 127.0.0.1 --port 5790 --http-port off --data-dir /tmp/idle/data --log-level warn > /tmp/idle/b.log 2>&1 &
B=$!; sleep 3; [ -n "$SLICE" ] && /usr/bin/python3 /tmp/idle/slice.py $B $SLICE ${SLICE_WHO:-helpers}; [ -n "$HNICE" ] && for t in $(ls /proc/$B/task); do [ $t != $B ] && [ "$(awk "{print \$19}" /proc/$B/task/$t/stat)" = 10 ] && renice -n $HNICE -p $t >/dev/null; done; URL=amqp://guest:guest@127.0.0.1:5790
taskset -c 1 /tmp/sbench/amqp-perf -h $URL ${LOAD:--x 1 -y 1 -s 1024 -a} -w 0 -z ${LOADS:-10} --broker-pid $B --quiet > /tmp/idle/load.json 2>/dev/null &
L=$!; sleep ${PDELAY:-1.5}
case "$PERF" in
 thr) /tmp/idle/thr.sh > /tmp/idle/thr.txt 2>&1 & ;;
 sched) perf sched record -q -k CLOCK_MONOTONIC -C 0 -o /tmp/idle/sched.data -- sleep 3 >/dev/null 2>&1 & ;;
 record) perf record -F 10000 -g -C 0 -o /tmp/idle/perf.data -- sleep 3 >/dev/null 2>&1 & ;;
esac
chrt -f 1 taskset -c 1 /usr/bin/python3 ${PROBE:-/work/main/bench/lib/probe-raw.py} $URL rawq 6000 10 > /tmp/idle/raw.json
wait $L
kill $B; wait $B 2>/dev/null
node -e '
const s=JSON.parse(require("fs").readFileSync(process.argv[1]));
const q=(a,p)=>{a=[...a].sort((x,y)=>x-y);return a[Math.min(a.length-1,Math.floor(p*a.length))].toFixed(3)};
console.log("rpc n",s.rpc.length,"p50",q(s.rpc,.5),"p90",q(s.rpc,.9),"p99",q(s.rpc,.99),"max",q(s.rpc,1),"| deliver p50",q(s.deliver,.5),"p99",q(s.deliver,.99));' /tmp/idle/raw.json
grep -o '"publish_rate":[0-9.]*\|"consume_rate":[0-9.]*\|"broker_cpu[a-z_]*":[0-9.]*' /tmp/idle/load.json | tr '\n' ' '; echo
