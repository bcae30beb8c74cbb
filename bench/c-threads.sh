#!/usr/bin/env bash
# Scenario (c) once (1 KiB persistent, durable queue, confirms 100 outstanding, prefetch 100, an
# ack each) against a fresh broker from CHECKOUT (its launch flags and environment), broker on
# CPU 0 and amqp-perf on CPU 1, with the CPU each thread used per message: every thread of the
# broker and amqp-perf are read (/proc/PID/task/TID/stat) when the warm-up ends and when the run
# ends, and the difference is divided by the messages received in between (amqp-perf's rate
# times the wall time). Prints one JSON line: rate, p99, and per thread [user, system] us a
# message ("main" is the main thread, other threads by id; "client" is amqp-perf). Run it inside a hold
# of the measurement lock:
#
#   WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o /work/wt/_quiet/measure.lock bench/c-threads.sh . bench/results/tmp/c-1
#
# Environment: SECS [10] WARMUP [3] BENCH_PERF_BIN [/tmp/sbench/amqp-perf]
set -u
co=$1; out=$2; SECS=${SECS:-10}; WARMUP=${WARMUP:-3}
work=$(mktemp -d /tmp/c-threads-XXXXXX); mkdir "$work/data"
flags=$(cd "$co" && node --input-type=module -e "import('./dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")
envs=$(cd "$co" && node --input-type=module -e "import('./dist/src/cli/node-flags.js').then((m) => console.log(Object.entries(m.LAUNCH_ENV ?? {}).map(([k, v]) => k + '=' + v).join(' ')))")
# shellcheck disable=SC2086
env $envs taskset -c 0 node $flags "$co/dist/src/main.js" start --host 127.0.0.1 --port 0 --http-port off --data-dir "$work/data" --log-level warn > "$work/log" 2>&1 &
WPID=$!
for _ in $(seq 200); do port=$(ss -ltnpH 2>/dev/null | grep "pid=$WPID," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$port" ] && break; sleep 0.1; done
snap() { # $1: client pid -> lines "tid user sys" (clock ticks)
  echo "t $(date +%s.%N)"
  for t in /proc/$WPID/task/* /proc/$1; do [ -r "$t/stat" ] && echo "$(basename "$t" | sed "s/^$1\$/client/; s/^$WPID\$/main/") $(cut -d')' -f2 "$t/stat" | awk '{print $12, $13}')"; done
}
taskset -c 1 "${BENCH_PERF_BIN:-/tmp/sbench/amqp-perf}" --uri "amqp://guest:guest@127.0.0.1:$port" --broker-pid $WPID -x 1 -y 1 -s 1024 -f -D -c 100 -q 100 -A 1 -z "$SECS" -w "$WARMUP" --quiet > "$out.json" &
CP=$!
sleep "$WARMUP"; snap $CP > "$out.threads"
# PERFSTAT=1: also count the broker's and the client's system calls over the same window.
if [ "${PERFSTAT:-}" = 1 ]; then
  ev=$(for s in read write writev sendto recvfrom epoll_wait poll futex pwrite64 fdatasync; do printf 'syscalls:sys_enter_%s,' $s; done)
  for p in $WPID $CP; do timeout -s INT "$(echo "$SECS - 0.4" | bc)" perf stat -x, -e "${ev%,}" -p $p -o "$out.perf.$([ $p = $CP ] && echo client || echo broker)" > /dev/null 2>&1 & done
fi
# The last snapshot a second before amqp-perf ends (it reports over SECS after the warm-up).
sleep "$(echo "$SECS - 1" | bc)"; snap $CP >> "$out.threads"
wait $CP
kill $WPID; wait $WPID 2>/dev/null
rm -rf "$work"
python3 - "$out" <<'PY'
import sys, json
out = sys.argv[1]
r = json.load(open(out + '.json'))
snaps = []
for l in open(out + '.threads'):
    p = l.split()
    if p[0] == 't': snaps.append((float(p[1]), {}))
    else: snaps[-1][1][p[0]] = (int(p[1]), int(p[2]))
(t0, a), (t1, b) = snaps[0], snaps[1]
n = r['recv_rate'] * (t1 - t0)
per = {}
for k, v in b.items():
    u0, s0 = a.get(k, (0, 0))
    if v[0] - u0 + v[1] - s0: per[k] = [round((v[0] - u0) / 100 / n * 1e6, 2), round((v[1] - s0) / 100 / n * 1e6, 2)]
broker = round(sum(x[0] + x[1] for k, x in per.items() if k != 'client'), 2)
import os
calls = {}
for who in ('broker', 'client'):
    f = out + '.perf.' + who
    if os.path.exists(f):
        c = {}
        for l in open(f):
            p = l.strip().split(',')
            if len(p) > 2 and p[0].isdigit() and int(p[0]): c[p[2].replace('syscalls:sys_enter_', '')] = round(int(p[0]) / (r['recv_rate'] * (t1 - t0 - 0.4)), 3)
        calls[who] = c
print(json.dumps({'calls_per_msg': calls, 'rate': round(r['recv_rate']), 'p99_us': r['lat_us']['p99'], 'broker_cpu_pct': r['broker_cpu_pct'], 'client_cpu_pct': r['client_cpu_pct'], 'broker_us': broker, 'us_per_msg': per}))
PY
