#!/usr/bin/env bash
# Scenario (h) once (N x 1 KiB persistent, confirms window 100, then drained with prefetch 100
# and an ack each) against a fresh broker from CHECKOUT (its launch flags and environment),
# broker on CPU 0 and amqp-perf on CPU 1. Every thread of the broker, and amqp-perf, is sampled
# every 0.25 s (/proc/PID/task/TID/stat and schedstat), and amqp-perf's progress lines are time
# stamped, so each phase gets its own figures. Prints one JSON line: per phase, the rate and, per
# thread id (the lowest is the main thread; "client" is amqp-perf), microseconds a message of
# [user CPU, system CPU, time on a CPU, time waiting for one]; "busy" is the broker's and
# client's CPU over the phase's wall time. Run it inside a hold of the measurement lock:
#
#   WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o /work/wt/_quiet/measure.lock bench/h-threads.sh . bench/results/tmp/h-1 200000
#
# Needs amqp-perf at /tmp/sbench/amqp-perf (or BENCH_PERF_BIN). Writes OUT.threads, OUT.phases,
# OUT.json (amqp-perf's result) and OUT.log (the broker's).
set -u
co=$1; out=$2; N=${3:-200000}
work=$(mktemp -d /tmp/drain-h-XXXXXX); mkdir "$work/data"
flags=$(cd "$co" && node --input-type=module -e "import('./dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
envs=$(cd "$co" && node --input-type=module -e "import('./dist/src/cli/node-flags.js').then((m) => console.log(Object.entries(m.LAUNCH_ENV ?? {}).map(([k, v]) => k + '=' + v).join(' ')))")
env $envs taskset -c 0 node $flags ${NODE_EXTRA:-} "$co/dist/src/main.js" start --host 127.0.0.1 --port 0 --http-port off --data-dir "$work/data" --log-level warn ${BROKER_ARGS:-} > "$work/log" 2>&1 &
WPID=$!
for _ in $(seq 200); do port=$(ss -ltnpH 2>/dev/null | grep "pid=$WPID," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$port" ] && break; sleep 0.1; done
( while kill -0 $WPID 2>/dev/null; do echo "t $(date +%s.%N)"; CP=$(pgrep -f "amqp-perf --uri amqp://guest:guest@127.0.0.1:$port " | head -1); for t in /proc/$WPID/task/* ${CP:+/proc/$CP}; do [ -r $t/stat ] && echo "$(basename $t | sed "s/^$CP\$/client/") $(cut -d')' -f1 $t/stat | sed 's/.*(//' | tr ' ' '_') $(cut -d')' -f2 $t/stat | awk '{print $12, $13}') $(cut -d' ' -f1,2 $t/schedstat 2>/dev/null)"; done; sleep 0.25; done > "$out.threads" ) &
SPID=$!
taskset -c 1 ${BENCH_PERF_BIN:-/tmp/sbench/amqp-perf} --uri "amqp://guest:guest@127.0.0.1:$port" --broker-pid $WPID --mode backlog -n $N -s 1024 -f -D -c 100 -q 100 -A 1 2>&1 >"$out.json" | stdbuf -o0 tr '\r' '\n' | while IFS= read -r l; do echo "$(date +%s.%N) $l"; done > "$out.phases"
kill $WPID; wait $WPID 2>/dev/null
kill $SPID 2>/dev/null
cp "$work/log" "$out.log"; rm -rf "$work"
python3 - "$out" "$N" <<'PY'
import sys, json
out, n = sys.argv[1], int(sys.argv[2])
ph = [l.split(' ', 1) for l in open(out + '.phases')]
def when(s):
    for t, l in ph:
        if s in l: return float(t)
t_pub0, t_pub1, t_dr0, t_dr1 = when('publishing'), when('published in'), when('draining with'), when('drained in')
snaps = []; cur = None
for l in open(out + '.threads'):
    p = l.split()
    if p[0] == 't': cur = (float(p[1]), {}); snaps.append(cur)
    elif len(p) >= 4: cur[1][p[0]] = (int(p[2]), int(p[3]), int(p[4]) if len(p) > 5 else 0, int(p[5]) if len(p) > 5 else 0)
def at(t):  # the last snapshot at or before t
    best = snaps[0]
    for s in snaps:
        if s[0] <= t: best = s
    return best
hz = 100
res = {}
for name, a, b in (('publish', t_pub0, t_pub1), ('drain', t_dr0, t_dr1)):
    s0, s1 = at(a), at(b)
    per = {}
    for k, v in s1[1].items():
        u0, y0, r0, w0 = s0[1].get(k, (0, 0, 0, 0))
        du, dy = v[0] - u0, v[1] - y0
        # user us, sys us, on-cpu us (schedstat), waiting-to-run us, per message
        if du + dy: per[k] = [round(du / hz / n * 1e6, 2), round(dy / hz / n * 1e6, 2), round((v[2] - r0) / 1e3 / n, 2), round((v[3] - w0) / 1e3 / n, 2)]
    tot = sum(x[0] + x[1] for x in per.values())
    res[name] = {'secs': round(b - a, 2), 'rate': round(n / (b - a)), 'us_per_msg': per, 'total_us': round(tot, 2), 'busy': round(tot * n / 1e6 / (s1[0] - s0[0]), 3)}
print(json.dumps({'json': json.load(open(out + '.json')).get('broker_rss_kb'), **res}))
PY
