#!/usr/bin/env bash
# bench/large-compare.sh -- large messages (scenario f), warren vs RabbitMQ, interleaved rounds.
#
# Each round, under the measurement lock (ROUNDS_PER_HOLD rounds per hold [1]), runs on every
# broker in turn (the order rotates per round): amqp-blast 64 KiB and 1 MiB (the copy built by
# bench/lib/blast.ts, bodies split at frame_max), amqp-perf 64 KiB and 1 MiB (-x 1 -y 1 -a).
# warren is started fresh for each round (port 0, no data dir) pinned to BROKER_CPUS; RabbitMQ
# is the one answering on RABBIT_PORT, pinned to BROKER_CPUS for the run. Clients on CLIENT_CPUS.
# With BEFORE=DIR an earlier warren build (DIR/dist/src/main.js) runs beside the current one.
# Then, with RSS_SECONDS>0, one more lock hold: amqp-blast 64 KiB for RSS_SECONDS on each broker
# (and 1 MiB on this warren), broker RSS every 5 s. JSON lines -> OUT; medians printed at the end.
#
# Environment: ROUNDS [5] ROUNDS_PER_HOLD [1] SECS [10] WARMUP [2] RABBIT_PORT [5673] BEFORE [] RSS_SECONDS [60]
#   BROKER_CPUS [0] CLIENT_CPUS [1] OUT [bench/results/tmp/large-DATE.jsonl]
#   LOCK [/work/wt/_quiet/measure.lock] ("" = no lock)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
ROUNDS=${ROUNDS:-5}; SECS=${SECS:-10}; WARMUP=${WARMUP:-2}; RABBIT_PORT=${RABBIT_PORT:-5673}
BEFORE=${BEFORE:-}; RSS_SECONDS=${RSS_SECONDS:-60}; BROKER_CPUS=${BROKER_CPUS:-0}; CLIENT_CPUS=${CLIENT_CPUS:-1}
OUT=${OUT:-bench/results/tmp/large-$(date +%Y%m%d-%H%M%S).jsonl}
LOCK=${LOCK-/work/wt/_quiet/measure.lock}
mkdir -p "$(dirname "$OUT")"
[ -d ../shared/bench ] || export BENCH_SHARED_DIR=${BENCH_SHARED_DIR:-/work/shared/bench}
BLAST=$(node -e "import('./dist/bench/lib/blast.js').then(m => { const b = m.buildBlast(); if (!b.bin) { console.error(b.reason); process.exit(1); } console.log(b.bin); })") || exit 1
PERF=$(node -e "import('./dist/bench/lib/perf.js').then(m => { const b = m.buildPerf(); if (!b.bin) { console.error(b.reason); process.exit(1); } console.log(b.bin); })") || exit 1

if [ "${1:-}" = "--rounds" ]; then
  for r in $(seq "$2" "$3"); do "$0" --round "$r" || exit 1; done
  exit 0
fi

if [ "${1:-}" = "--round" ]; then
  round=$2; shift 2
  WPID=""
  trap '[ -n "$WPID" ] && kill "$WPID" 2>/dev/null' EXIT
  start_warren() { # $1: repo dir -> sets WPID, WPORT
    taskset -c "$BROKER_CPUS" node "$1/dist/src/main.js" start --host 127.0.0.1 --port 0 --http-port off --data-dir none --log-level warn > "$OUT.$round.log" 2>&1 &
    WPID=$!; WPORT=""
    for _ in $(seq 100); do WPORT=$(ss -ltnpH 2>/dev/null | grep "pid=$WPID," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$WPORT" ] && break; sleep 0.1; done
  }
  cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
  rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
  one() { # broker pid port test
    local pid=$2 port=$3 t=$4 size c0 c1 t0 t1 line
    case $t in *64k) size=65536 ;; *) size=1048576 ;; esac
    c0=$(cpu "$pid"); t0=$(date +%s.%N)
    case $t in
      blast*) line=$(taskset -c "$CLIENT_CPUS" "$BLAST" -P "$port" -s $size -t "$SECS" -w "$WARMUP") ;;
      perf*) line=$(taskset -c "$CLIENT_CPUS" "$PERF" --uri "amqp://guest:guest@127.0.0.1:$port" -x 1 -y 1 -s $size -a -z "$SECS" -w "$WARMUP" --quiet) ;;
    esac
    c1=$(cpu "$pid"); t1=$(date +%s.%N)
    node -e '
      const [broker, round, test, size, line, cpu, secs, rss] = process.argv.slice(1);
      let j = {}; try { j = JSON.parse(line); } catch {}
      const rate = j.consumed_per_s ?? j.recv_rate ?? null;
      console.log(JSON.stringify({ broker, round: +round, test, msg_s: rate, mib_s: rate === null ? null : rate * size / 1048576,
        broker_cpu_pct: Math.round(cpu / 100 / secs * 1000) / 10, rss_mib: Math.round(rss / 102.4) / 10, client: j }));
    ' "$1" "$round" "$t" $size "$line" "$(echo "$c1 - $c0" | bc)" "$(echo "$t1 - $t0" | bc)" "$(rss "$pid")" >> "$OUT"
    tail -1 "$OUT" | cut -c1-160 >&2
  }
  brokers=(after rabbit); [ -n "$BEFORE" ] && brokers=(before after rabbit)
  n=${#brokers[@]}
  for k in $(seq 0 $((n - 1))); do
    b=${brokers[$(((k + round) % n))]}
    if [ "$b" = rabbit ]; then
      rpid=$(ss -ltnpH "sport = :$RABBIT_PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
      saved=$(taskset -p "$rpid" | awk '{print $NF}')
      taskset -a -cp "$BROKER_CPUS" "$rpid" > /dev/null
      for t in blast64k blast1m perf64k perf1m; do one rabbit "$rpid" "$RABBIT_PORT" $t; done
      taskset -a -p "$saved" "$rpid" > /dev/null
    else
      dir=$root; [ "$b" = before ] && dir=$BEFORE
      start_warren "$dir"
      for t in blast64k blast1m perf64k perf1m; do one "$b" "$WPID" "$WPORT" $t; done
      kill "$WPID"; wait "$WPID" 2>/dev/null; WPID=""
    fi
  done
  exit 0
fi

if [ "${1:-}" = "--rss" ]; then
  WPID=""
  trap '[ -n "$WPID" ] && kill "$WPID" 2>/dev/null' EXIT
  rssrun() { # name pid port size
    local samples=() 
    taskset -c "$CLIENT_CPUS" "$BLAST" -P "$3" -s "$4" -t "$RSS_SECONDS" -w 0 > "$OUT.rss.tmp" &
    local cl=$!
    while kill -0 $cl 2>/dev/null; do samples+=("$(awk '/VmRSS/ {print $2}' "/proc/$2/status")"); sleep 5; done
    echo "{\"rss_run\":\"$1\",\"size\":$4,\"seconds\":$RSS_SECONDS,\"rss_kb_every_5s\":[$(IFS=,; echo "${samples[*]}")],\"client\":$(cat "$OUT.rss.tmp")}" >> "$OUT"
    tail -1 "$OUT" | cut -c1-200 >&2
  }
  echo "rss runs (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  brokers=(after rabbit); [ -n "$BEFORE" ] && brokers=(before after rabbit)
  for b in "${brokers[@]}"; do
    if [ "$b" = rabbit ]; then
      rpid=$(ss -ltnpH "sport = :$RABBIT_PORT" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
      saved=$(taskset -p "$rpid" | awk '{print $NF}'); taskset -a -cp "$BROKER_CPUS" "$rpid" > /dev/null
      rssrun rabbit "$rpid" "$RABBIT_PORT" 65536
      taskset -a -p "$saved" "$rpid" > /dev/null
    else
      dir=$root; [ "$b" = before ] && dir=$BEFORE
      for size in 65536 1048576; do
        [ "$b" = before ] && [ $size = 1048576 ] && continue
        taskset -c "$BROKER_CPUS" node "$dir/dist/src/main.js" start --host 127.0.0.1 --port 0 --http-port off --data-dir none --log-level warn > "$OUT.rss.log" 2>&1 &
        WPID=$!; WPORT=""
        for _ in $(seq 100); do WPORT=$(ss -ltnpH 2>/dev/null | grep "pid=$WPID," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$WPORT" ] && break; sleep 0.1; done
        rssrun "$b" "$WPID" "$WPORT" $size
        kill "$WPID"; wait "$WPID" 2>/dev/null; WPID=""
      done
    fi
  done
  exit 0
fi

locked() { if [ -n "$LOCK" ]; then WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o "$LOCK" "$@"; else WARREN_MEASURE=1 WARREN_RESERVED=1 "$@"; fi; }
PER=${ROUNDS_PER_HOLD:-1}
for ((r = 1; r <= ROUNDS; r += PER)); do
  last=$((r + PER - 1)); [ $last -gt "$ROUNDS" ] && last=$ROUNDS
  echo "rounds $r-$last of $ROUNDS (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  locked "$0" --rounds "$r" "$last"
done
[ "$RSS_SECONDS" -gt 0 ] && locked "$0" --rss
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse).filter((l) => l.test);
  const med = (a) => { const s = [...a].sort((x, y) => x - y); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };
  const tests = [...new Set(lines.map((l) => l.test))], brokers = [...new Set(lines.map((l) => l.broker))];
  console.log("| test | " + brokers.map((b) => b + " MiB/s (msg/s), CPU %").join(" | ") + " | " + brokers.filter((b) => b !== "rabbit").map((b) => b + " / rabbit").join(" | ") + " |");
  console.log("|" + " --- |".repeat(1 + brokers.length * 2 - 1));
  for (const t of tests) {
    const m = Object.fromEntries(brokers.map((b) => { const xs = lines.filter((l) => l.test === t && l.broker === b); return [b, { mib: med(xs.map((l) => l.mib_s)), msg: med(xs.map((l) => l.msg_s)), cpu: med(xs.map((l) => l.broker_cpu_pct)), n: xs.length }]; }));
    console.log(`| ${t} | ` + brokers.map((b) => `${m[b].mib.toFixed(0)} (${m[b].msg.toFixed(0)}), ${m[b].cpu} % [n=${m[b].n}]`).join(" | ") + " | " + brokers.filter((b) => b !== "rabbit").map((b) => (m[b].mib / m.rabbit.mib).toFixed(2)).join(" | ") + " |");
  }
' "$OUT"
