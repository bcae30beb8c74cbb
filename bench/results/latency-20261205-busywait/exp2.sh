#!/usr/bin/env bash
# Per condition: a fresh warren from DIR on CPU 0 (args by condition), a 5 s warm-up g run (dropped),
# then g (1 KiB at 1000/s, SECS s) and the raw probe against the idle broker (SECS s, every 10 ms), clients on CPU 1.
# conditions: off | bwN (--busy-wait N) | spin (off + an external SCHED_IDLE spinner on CPU 0)
set -u
DIR=${DIR:-/work/wt/hwake}; PORT=${PORT:-5690}; OUT=${OUT:-$PWD/out2-$(date +%H%M%S)}; CONDS=${CONDS:-"off bw2 bw20 spin"}
SECS=${SECS:-10}
mkdir -p "$OUT"
flags=$(node --input-type=module -e "import('$DIR/dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
envs=$(node --input-type=module -e "import('$DIR/dist/src/cli/node-flags.js').then((m) => console.log(Object.entries(m.LAUNCH_ENV ?? {}).map(([k, v]) => k + '=' + v).join(' ')))")
i=0
for c in $CONDS; do
  i=$((i+1))
  args=""; case $c in bw*) args="--busy-wait ${c#bw}";; esac
  data=$(mktemp -d /tmp/wake-data-XXXX)
  env $envs taskset -c 0 node $flags $DIR/dist/src/main.js start --host 127.0.0.1 --port $PORT --http-port off --data-dir $data --log-level warn $args > $OUT/broker-$i.log 2>&1 &
  BP=$!
  sleep 1.5
  SP=""
  if [ "$c" = spin ]; then taskset -c 0 chrt -i 0 sh -c 'while :; do :; done' & SP=$!; fi
  taskset -c 1 chrt -f 1 /tmp/sbench/amqp-perf -h amqp://guest:guest@127.0.0.1:$PORT -x 1 -y 1 -s 1024 -a -r 1000 -z 4 -w 1 --quiet > /dev/null 2>&1
  taskset -c 1 chrt -f 1 /tmp/sbench/amqp-perf -h amqp://guest:guest@127.0.0.1:$PORT -x 1 -y 1 -s 1024 -a -r 1000 -z $SECS -w 2 -p $BP --quiet > $OUT/g-$i-$c.json 2>/dev/null
  taskset -c 1 chrt -f 1 /usr/bin/python3 /work/main/bench/lib/probe-raw.py amqp://guest:guest@127.0.0.1:$PORT wakeprobe-$i $((SECS*1000)) 10 > $OUT/p-$i-$c.json 2>/dev/null
  [ -n "$SP" ] && kill $SP
  kill $BP; wait $BP 2>/dev/null; rm -rf $data
  python3 - "$OUT/g-$i-$c.json" "$OUT/p-$i-$c.json" "$c" <<'PY'
import json,sys
g=json.load(open(sys.argv[1])); p=json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
def pct(a,q):
    a=sorted(a); return a[min(len(a)-1,int(q*len(a)))] if a else None
l=g.get('lat_us',{})
print(f"{sys.argv[3]:5} g p50 {l.get('p50',0)/1000:.3f} p99 {l.get('p99',0)/1000:.3f} max {l.get('max',0)/1000:.2f} cpu {g.get('broker_cpu_pct')} | probe rpc p50 {pct(p['rpc'],.5):.3f} p99 {pct(p['rpc'],.99):.3f} deliver p99 {pct(p['deliver'],.99):.3f} n {len(p['rpc'])}", flush=True)
PY
done
cat /proc/loadavg
