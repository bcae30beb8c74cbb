#!/bin/bash
# 40 s transient flat-out load; --trace-deopt/--trace-opt lines timestamped from the broker's start; the raw probe
# from 12 s to 26 s into the load (where a connection's byte counters pass 2 GiB at 100-130k msg/s)
DIR=${DIR:-/work/wt/before}; cd $DIR; rm -rf /tmp/idle/data; mkdir -p /tmp/idle/data
(env MALLOC_MMAP_THRESHOLD_=4194304 taskset -c 0 node --max-semi-space-size=4 --initial-old-space-size=32 --trace-opt --trace-deopt dist/src/main.js start --host 127.0.0.1 --port 5790 --http-port off --data-dir /tmp/idle/data --log-level warn 2>&1 | taskset -c 1 python3 -u /tmp/idle/ts.py > /tmp/idle/opt.log) &
sleep 3; URL=amqp://guest:guest@127.0.0.1:5790
taskset -c 1 /tmp/sbench/amqp-perf -h $URL -x 1 -y 1 -s 1024 -a -w 0 -z 40 --quiet > /tmp/idle/load.json 2>/dev/null &
L=$!; sleep 11.7
chrt -f 1 taskset -c 1 /usr/bin/python3 /work/main/bench/lib/probe-raw.py $URL rawq 14000 10 > /tmp/idle/raw.json
wait $L; pkill -f "data-dir /tmp/idle/data"; sleep 1
node -e '
const s=JSON.parse(require("fs").readFileSync("/tmp/idle/raw.json"));
const q=(a,p)=>{a=[...a].sort((x,y)=>x-y);return a[Math.min(a.length-1,Math.floor(p*a.length))].toFixed(3)};
process.stdout.write("rpc n "+s.rpc.length+" p50 "+q(s.rpc,.5)+" p99 "+q(s.rpc,.99)+" p999 "+q(s.rpc,.999)+" max "+q(s.rpc,1)+" | ");'
awk '$1>=13 && /completed (compiling|optimizing)/ {c++} $1>=13 && /bailout \(kind/ {d++} $1>=13 && /reason: overflow/ {o++} END {printf "after 10 s of load: compiled %d deopts %d (overflow %d) | ", c, d, o}' /tmp/idle/opt.log
grep -o '"recv_rate":[0-9]*' /tmp/idle/load.json
