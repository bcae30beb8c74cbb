#!/usr/bin/env bash
# The persistent path, warren vs RabbitMQ (issue 14 item 2), interleaved rounds with amqp-perf:
#   c  1 KiB persistent, durable queue, confirms 100 outstanding, prefetch 100, ack each
#   h  a 200k x 1 KiB persistent backlog published with confirms (window 100), then drained
# Each round runs every broker in turn (the order rotates by round): a fresh warren (data dir on
# disk, removed after) from this checkout ("after") and optionally from BEFORE=<dir of another
# built checkout>, and the RabbitMQ answering on RABBIT_PORT (queues deleted by amqp-perf). The
# broker is pinned to BROKER_CPUS, amqp-perf to CLIENT_CPUS. ROUNDS_PER_HOLD rounds run in one
# hold of the measurement lock (keep a hold under 5 minutes). JSON lines to OUT, medians on stdout.
# GEN picks the load generators: amqp-perf ("perf", the default), confirm-blast
# (bench/confirm-blast.c, raw sockets: amqp-perf's own CPU caps (c) near 73k msg/s; it writes
# the confirm window's free room at once; (h) with its backlog mode), "confirm-blast-single"
# (the same, one message a write, as a client without write coalescing), or several
# ("confirm-blast confirm-blast-single perf": each broker runs each scenario with each, one after
# the other, in every round). Each JSON line names its generator ("gen"); its result is under
# "perf"; "broker_cpu_s" and "gen_cpu_s" are the broker's and the generator's CPU over the whole
# run (for (h): both phases, and amqp-perf's waits for a settled RSS between them).
#
#   npm run build && ROUNDS=5 ROUNDS_PER_HOLD=1 RABBIT_PORT=5696 BEFORE=/tmp/main bench/persistent-compare.sh
#   ONLY=c GEN="confirm-blast perf" RABBIT_PORT=5694 bench/persistent-compare.sh
#   ONLY=h GEN="confirm-blast confirm-blast-single perf" RABBIT_PORT=5694 bench/persistent-compare.sh
#
# Environment: ROUNDS [5] ROUNDS_PER_HOLD [1] SECS [10] WARMUP [3] H_N [200000] RABBIT_PORT [5673]
#   (RABBIT_PORT=off: no RabbitMQ) BEFORE [] ONLY ["c h"] GEN [perf] H_SETTLE_MAX [] (amqp-perf's
#   --settle-max for (h): its wait for a steady RSS after each phase, 60 s by default, which can
#   keep a round with RabbitMQ past 5 minutes; the peak is sampled during the phases either way)
#   H_TRANSIENT [] (1: (h) with transient messages in a non-durable queue, confirm-blast -T -N and
#   amqp-perf without -f -D: the same drain with nothing stored; the lines say "transient":true) OUT [bench/results/tmp/persistent-<time>.jsonl] LOCK [/work/wt/_quiet/measure.lock]
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
ROUNDS=${ROUNDS:-5}; ROUNDS_PER_HOLD=${ROUNDS_PER_HOLD:-1}; SECS=${SECS:-10}; WARMUP=${WARMUP:-3}
H_N=${H_N:-200000}; H_TRANSIENT=${H_TRANSIENT:-}; RABBIT_PORT=${RABBIT_PORT:-5673}; BEFORE=${BEFORE:-}; ONLY=${ONLY:-"c h"}; GEN=${GEN:-perf}
BROKER_CPUS=${BROKER_CPUS:-0}; CLIENT_CPUS=${CLIENT_CPUS:-1}
OUT=${OUT:-bench/results/tmp/persistent-$(date +%Y%m%d-%H%M%S).jsonl}
LOCK=${LOCK-/work/wt/_quiet/measure.lock}
mkdir -p "$(dirname "$OUT")"
[ -d ../shared/bench ] || export BENCH_SHARED_DIR=${BENCH_SHARED_DIR:-/work/shared/bench}
PERF=""; CBLAST=""
for g in $GEN; do
  case $g in
    perf) PERF=$(node -e "import('./dist/bench/lib/perf.js').then(m => { const b = m.buildPerf(); if (!b.bin) { console.error(b.reason); process.exit(1); } console.log(b.bin); })") || exit 1 ;;
    confirm-blast|confirm-blast-single)
      CBLAST=$(node -e "import('./dist/bench/lib/confirm-blast.js').then(m => { const b = m.buildConfirmBlast(); if (!b.bin) { console.error(b.reason); process.exit(1); } console.log(b.bin); })") || exit 1 ;;
    *) echo "persistent-compare: GEN takes perf, confirm-blast, confirm-blast-single, not '$g'" >&2; exit 1 ;;
  esac
done

if [ "${1:-}" = "--round" ]; then
  round=$2
  WPID=""; WDIR=""
  trap '[ -n "$WPID" ] && kill "$WPID" 2>/dev/null; [ -n "$WDIR" ] && rm -rf "$WDIR"' EXIT
  launch_flags() { # $1: checkout; its LAUNCH_NODE_FLAGS (older checkouts: the semi-space cap only)
    (cd "$1" && node --input-type=module -e "import('./dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')), () => console.log('--max-semi-space-size=4'))")
  }
  launch_env() { # $1: checkout; its LAUNCH_ENV as NAME=value words (older checkouts: none)
    (cd "$1" && node --input-type=module -e "import('./dist/src/cli/node-flags.js').then((m) => console.log(Object.entries(m.LAUNCH_ENV ?? {}).map(([k, v]) => k + '=' + v).join(' ')), () => console.log(''))")
  }
  start_warren() { # $1: checkout -> WPID, WPORT, WDIR
    WDIR=$(mktemp -d "$root/bench/results/tmp/persistent-data-XXXXXX")
    # Node's flags and environment as `warren start` gives them (src/cli/node-flags.ts of that checkout).
    # shellcheck disable=SC2046
    env $(launch_env "$1") taskset -c "$BROKER_CPUS" node $(launch_flags "$1") "$1/dist/src/main.js" start --host 127.0.0.1 --port 0 --http-port off --data-dir "$WDIR" --log-level warn > "$OUT.$round.log" 2>&1 &
    WPID=$!; WPORT=""
    for _ in $(seq 200); do WPORT=$(ss -ltnpH 2>/dev/null | grep "pid=$WPID," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$WPORT" ] && break; sleep 0.1; done
  }
  proc_cpu_ticks() { # $1: pid -> utime + stime of the process, in clock ticks
    awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
  }
  # (h) with nothing stored: transient messages, non-durable queue (H_TRANSIENT=1).
  CB_KEEP="" PERF_KEEP="-f -D" TRANSIENT_JSON=false
  [ -n "$H_TRANSIENT" ] && CB_KEEP="-T -N" PERF_KEEP="" TRANSIENT_JSON=true
  one() { # broker pid port scenario gen
    local line b0 b1 tfile
    tfile=$(mktemp "$root/bench/results/tmp/gen-time-XXXXXX")
    b0=$(proc_cpu_ticks "$2")
    case $5-$4 in
      confirm-blast-c) line=$(/usr/bin/time -f "%U %S" -o "$tfile" taskset -c "$CLIENT_CPUS" "$CBLAST" -P "$3" -b "$2" -s 1024 -c 100 -q 100 -t "$SECS" -w "$WARMUP") ;;
      confirm-blast-single-c) line=$(/usr/bin/time -f "%U %S" -o "$tfile" taskset -c "$CLIENT_CPUS" "$CBLAST" -P "$3" -b "$2" -s 1024 -c 100 -B 1 -q 100 -t "$SECS" -w "$WARMUP") ;;
      confirm-blast-h) line=$(/usr/bin/time -f "%U %S" -o "$tfile" taskset -c "$CLIENT_CPUS" "$CBLAST" -P "$3" -b "$2" -m backlog -n "$H_N" -s 1024 -c 100 -q 100 -d 60 $CB_KEEP) ;;
      confirm-blast-single-h) line=$(/usr/bin/time -f "%U %S" -o "$tfile" taskset -c "$CLIENT_CPUS" "$CBLAST" -P "$3" -b "$2" -m backlog -n "$H_N" -s 1024 -c 100 -B 1 -q 100 -d 60 $CB_KEEP) ;;
      perf-c) line=$(/usr/bin/time -f "%U %S" -o "$tfile" taskset -c "$CLIENT_CPUS" "$PERF" --uri "amqp://guest:guest@127.0.0.1:$3" --broker-pid "$2" -x 1 -y 1 -s 1024 -f -D -c 100 -q 100 -A 1 -z "$SECS" -w "$WARMUP" --quiet) ;;
      perf-h) line=$(/usr/bin/time -f "%U %S" -o "$tfile" taskset -c "$CLIENT_CPUS" "$PERF" --uri "amqp://guest:guest@127.0.0.1:$3" --broker-pid "$2" --mode backlog -n "$H_N" -s 1024 $PERF_KEEP -c 100 -q 100 -A 1 ${H_SETTLE_MAX:+--settle-max "$H_SETTLE_MAX"} --quiet) ;;
    esac
    b1=$(proc_cpu_ticks "$2")
    local hz gen_cpu
    hz=$(getconf CLK_TCK)
    gen_cpu=$(awk 'NF == 2 && $1 ~ /^[0-9.]+$/ { printf "%.2f", $1 + $2 }' "$tfile"); rm -f "$tfile"
    echo "{\"broker\":\"$1\",\"gen\":\"$5\",\"round\":$round,\"scenario\":\"$4\",\"transient\":$TRANSIENT_JSON,\"time\":\"$(date -u +%H:%M:%S)\",\"load\":$(cut -d' ' -f1 /proc/loadavg),\"broker_cpu_s\":$(awk -v a="$b0" -v b="$b1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }'),\"gen_cpu_s\":${gen_cpu:-null},\"perf\":${line:-null}}" >> "$OUT"
    tail -1 "$OUT" | cut -c1-200 >&2
  }
  brokers=(after rabbit); [ -n "$BEFORE" ] && brokers=(before after rabbit)
  # RABBIT_PORT=off: warren only (before/after rounds that need no RabbitMQ, shorter holds).
  if [ "$RABBIT_PORT" = off ]; then brokers=(after); [ -n "$BEFORE" ] && brokers=(before after); fi
  n=${#brokers[@]}
  for k in $(seq 0 $((n - 1))); do
    b=${brokers[$(((k + round) % n))]}
    if [ "$b" = rabbit ]; then
      rpid=$(ss -ltnpH "sport = :$RABBIT_PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
      saved=$(taskset -p "$rpid" | awk '{print $NF}')
      taskset -a -cp "$BROKER_CPUS" "$rpid" > /dev/null
      for g in $GEN; do for s in $ONLY; do one rabbit "$rpid" "$RABBIT_PORT" "$s" "$g"; done; done
      taskset -a -p "$saved" "$rpid" > /dev/null
    else
      dir=$root; [ "$b" = before ] && dir=$BEFORE
      for g in $GEN; do for s in $ONLY; do
        # A fresh broker and data dir per scenario, so h does not start on c's database.
        start_warren "$dir"
        one "$b" "$WPID" "$WPORT" "$s" "$g"
        kill "$WPID"; wait "$WPID" 2>/dev/null; WPID=""; rm -rf "$WDIR"; WDIR=""
      done; done
    fi
  done
  exit 0
fi

r=1
while [ "$r" -le "$ROUNDS" ]; do
  last=$((r + ROUNDS_PER_HOLD - 1)); [ "$last" -gt "$ROUNDS" ] && last=$ROUNDS
  echo "rounds $r-$last: waiting for the lock (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  if [ -n "$LOCK" ]; then
    # -o: brokers started inside must not hold the lock's descriptor.
    WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o "$LOCK" bash -c "for i in \$(seq $r $last); do '$0' --round \$i || exit 1; done" || exit 1
  else
    for i in $(seq "$r" "$last"); do "$0" --round "$i" || exit 1; done
  fi
  r=$((last + 1))
done

node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((j) => j.perf);
  const med = (xs) => { const s = xs.filter((x) => x != null).sort((a, b) => a - b); return s.length ? s[(s.length - 1) >> 1] : null; };
  // One column per broker, or per broker and generator when lines came from more than one.
  const gens = new Set(lines.map((j) => j.gen ?? "perf"));
  const col = (j) => gens.size > 1 ? `${j.broker} (${j.gen ?? "perf"})` : j.broker;
  for (const j of lines) j.col = col(j);
  const brokers = [...new Set(lines.map((j) => j.col))];
  const rows = [
    ["c: delivered msg/s", "c", (p) => p.recv_rate], ["c: latency p50 ms", "c", (p) => p.lat_us?.p50 / 1000], ["c: latency p99 ms", "c", (p) => p.lat_us?.p99 / 1000],
    ["c: broker peak RSS MiB", "c", (p) => p.broker_rss_kb?.peak / 1024], ["c: broker CPU %", "c", (p) => p.broker_cpu_pct], ["c: client CPU %", "c", (p) => p.client_cpu_pct],
    ["h: publish msg/s", "h", (p) => p.publish_rate], ["h: drain msg/s", "h", (p) => p.drain_rate], ["h: broker peak RSS MiB", "h", (p) => p.broker_rss_kb?.peak / 1024],
    // per phase: confirm-blast only; CPU a message over the whole run (both phases, N messages): any generator
    ["h: peak RSS publishing MiB", "h", (p) => p.broker_rss_kb?.publish_peak / 1024], ["h: peak RSS draining MiB", "h", (p) => p.broker_rss_kb?.drain_peak / 1024],
    ["h: broker CPU % publishing", "h", (p) => p.publish_broker_cpu_pct], ["h: broker CPU % draining", "h", (p) => p.drain_broker_cpu_pct],
    ["h: generator CPU % publishing", "h", (p) => p.publish_client_cpu_pct], ["h: generator CPU % draining", "h", (p) => p.drain_client_cpu_pct],
    ["h: broker CPU us/msg, whole run", "h", (p, j) => j.broker_cpu_s != null && p.count ? 1e6 * j.broker_cpu_s / p.count : null],
    ["h: generator CPU us/msg, whole run", "h", (p, j) => j.gen_cpu_s != null && p.count ? 1e6 * j.gen_cpu_s / p.count : null],
  ];
  console.log("| figure | " + brokers.join(" | ") + " |\n| --- |" + brokers.map(() => " ---: |").join(""));
  for (const [name, s, f] of rows) {
    const cells = brokers.map((b) => { const xs = lines.filter((j) => j.col === b && j.scenario === s).map((j) => f(j.perf, j)).filter((x) => x != null && !Number.isNaN(x)); const m = med(xs); return m == null ? "" : `${m.toFixed(m < 100 ? 2 : 0)} [n=${xs.length}]`; });
    console.log(`| ${name} | ${cells.join(" | ")} |`);
  }
' "$OUT"
