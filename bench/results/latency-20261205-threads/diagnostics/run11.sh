#!/bin/bash
# probe beside persistent flat-out load, broker with --trace-gc; probe writes per-sample timestamps
cd /work/wt/probe
rm -rf /tmp/floor/data; mkdir -p /tmp/floor/data
MALLOC_MMAP_THRESHOLD_=4194304 taskset -c 0 node --max-semi-space-size=4 --initial-old-space-size=32 $EXTRA dist/src/main.js start --host 127.0.0.1 --port 5790 --http-port off --data-dir /tmp/floor/data --log-level warn > /tmp/floor/gc.log 2>&1 &
B=$!; sleep 4; URL=amqp://guest:guest@127.0.0.1:5790
if [ -n "$HIDLE" ]; then for t in $(ps -Lo tid=,cls= -p $B | awk -v b=$B '$1!=b && ($2!="B" || ENVIRON["HIDLE"]=="all"){print $1}'); do chrt -i -p 0 $t; done; ps -Lo tid,cls,ni -p $B | tr "\n" " "; echo; fi
if [ -n "$HNICE" ]; then for t in $(ps -Lo tid= -p $B); do [ $t != $B ] && renice -n $HNICE -p $t >/dev/null; done; fi
if [ -n "$WNICE" ]; then W=$(ps -Lo tid,cls -p $B | awk '$2=="B"{print $1}'); renice -n $WNICE -p $W >/dev/null; ps -Lo tid,cls,ni -p $B | grep " B "; fi
[ -z "$NOLOAD" ] && taskset -c 1 /tmp/sbench/amqp-perf -h $URL -x 1 -y 1 -s 1024 -f -D -c 500 -q 200 -A 1 -w 0 -z 10 --quiet > /tmp/floor/load.json 2>/dev/null &
L=$!; sleep 1.5; [ -n "$NOLOAD" ] && L=
date +%s.%N > /tmp/floor/t0
[ -n "$PERFSCHED" ] && (cd /tmp/floor && perf sched record -q -C 0 -o /tmp/floor/sched.data -- sleep 3 >/dev/null 2>&1 &)
echo $B > /tmp/floor/bpid
PROBE_TRACE=/tmp/floor/trace.txt chrt -f 1 taskset -c 1 /usr/bin/python3 bench/lib/probe-raw.py $URL rawq 6000 10 > /tmp/floor/raw.json
[ -z "$NOLOAD" ] && wait $L
kill $B; wait $B 2>/dev/null
node -e '
const s=JSON.parse(require("fs").readFileSync(process.argv[1]));
const q=(a,p)=>{a=[...a].sort((x,y)=>x-y);return a[Math.min(a.length-1,Math.floor(p*a.length))].toFixed(3)};
console.log("rpc p50",q(s.rpc,.5),"p90",q(s.rpc,.9),"p99",q(s.rpc,.99),"max",q(s.rpc,1),"| deliver p99",q(s.deliver,.99));' /tmp/floor/raw.json
grep -o '"confirm_rate":[0-9.]*' /tmp/floor/load.json
