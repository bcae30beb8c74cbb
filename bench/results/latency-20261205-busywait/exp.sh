#!/usr/bin/env bash
# Idle wake-up experiment: warren (DIST dir) on CPU 0; per condition (none|spin) run amqp-perf g
# (1 KiB at 1000/s, 10 s) and the raw probe against the idle broker (10 s, every 10 ms), client on CPU 1.
# spin = a SCHED_IDLE busy loop on CPU 0 (keeps the vCPU from halting).
set -u
DIR=${DIR:-/work/main}; PORT=${PORT:-5690}; OUT=${OUT:-$PWD/out-$(date +%H%M%S)}; CONDS=${CONDS:-"none spin none spin none spin"}
SECS=${SECS:-10}
mkdir -p "$OUT"
data=$(mktemp -d /tmp/wake-data-XXXX)
flags=$(node --input-type=module -e "import('$DIR/dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
envs=$(node --input-type=module -e "import('$DIR/dist/src/cli/node-flags.js').then((m) => console.log(Object.entries(m.LAUNCH_ENV ?? {}).map(([k, v]) => k + '=' + v).join(' ')))")
env $envs taskset -c 0 node $flags $DIR/dist/src/main.js start --host 127.0.0.1 --port $PORT --http-port off --data-dir $data --log-level warn > $OUT/broker.log 2>&1 &
BP=$!
sleep 2
i=0
for c in $CONDS; do
  i=$((i+1))
  SP=""
  if [ "$c" = spin ]; then taskset -c 0 chrt -i 0 sh -c 'while :; do :; done' & SP=$!; fi
  if [ "$c" = hog ]; then taskset -c 0 nice -n 19 sh -c 'while :; do :; done' & SP=$!; fi
  sleep 0.5
  taskset -c 1 /tmp/sbench/amqp-perf -h amqp://guest:guest@127.0.0.1:$PORT -x 1 -y 1 -s 1024 -a -r 1000 -z $SECS -w ${WARM:-2} -p $BP --quiet > $OUT/g-$i-$c.json 2>/dev/null
  if [ "${PROBE:-1}" = 1 ]; then taskset -c 1 /usr/bin/python3 /work/main/bench/lib/probe-raw.py amqp://guest:guest@127.0.0.1:$PORT wakeprobe-$i $((SECS*1000)) 10 > $OUT/p-$i-$c.json 2>/dev/null; else echo '{"rpc":[0],"deliver":[0]}' > $OUT/p-$i-$c.json; fi
  [ -n "$SP" ] && kill $SP
  python3 - "$OUT/g-$i-$c.json" "$OUT/p-$i-$c.json" "$c" <<'PY'
import json,sys
g=json.load(open(sys.argv[1])); p=json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
def pct(a,q):
    a=sorted(a); return a[min(len(a)-1,int(q*len(a)))] if a else None
l=g.get('lat_us',{})
print(f"{sys.argv[3]:5} g p50 {l.get('p50',0)/1000:.3f} p99 {l.get('p99',0)/1000:.3f} max {l.get('max',0)/1000:.2f} cpu {g.get('broker_cpu_pct')} | probe rpc p50 {pct(p['rpc'],.5):.3f} p99 {pct(p['rpc'],.99):.3f} deliver p99 {pct(p['deliver'],.99):.3f} n {len(p['rpc'])}")
PY
done
kill $BP; wait $BP 2>/dev/null; rm -rf $data
cat /proc/loadavg
