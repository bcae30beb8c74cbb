#!/usr/bin/env bash
# (h)'s drain, the store's part alone: schema 5's layout (bench/sqlite-drain.ts, one row a message)
# against a log-shaped one (bench/sqlite-log-drain.ts, one row a publish commit, acks as bitmaps)
# and the same log as a plain file without SQLite (bench/file-log-drain.ts, FILE=1), interleaved: each round, in one hold of the measurement lock, runs every configuration once on
# BENCH_CPU (the order rotating by round). One JSON line a run to OUT (the bench's own line plus
# round, time and load); medians of CPU a message on stdout.
#
#   npm run build && ROUNDS=5 bench/h-floor-store.sh
#
# Environment: ROUNDS [5] N [200000] BATCHES ["100 700"] (acks a commit) ROWS_OF ["100"] (messages
#   a log row) CUTS ["copy view"] (the log's messages copied into the read slab, or views of the
#   row: bench/sqlite-log-drain.ts --cut) FILE [] (1: the plain-file log too) BENCH_CPU [0] OUT [bench/results/tmp/h-floor-store-<time>.jsonl]
#   LOCK [/work/wt/_quiet/measure.lock] (empty: no lock)
set -u
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}; N=${N:-200000}; BATCHES=${BATCHES:-"100 700"}; ROWS_OF=${ROWS_OF:-100}; CUTS=${CUTS:-"copy view"}; BENCH_CPU=${BENCH_CPU:-0}
OUT=${OUT:-bench/results/tmp/h-floor-store-$(date +%Y%m%d-%H%M%S).jsonl}
LOCK=${LOCK-/work/wt/_quiet/measure.lock}
mkdir -p "$(dirname "$OUT")"

if [ "${1:-}" = "--round" ]; then
  round=$2
  runs=()
  for b in $BATCHES; do
    runs+=("dist/bench/sqlite-drain.js --n $N --per 512 --batch $b --read solo")
    for r in $ROWS_OF; do for c in $CUTS; do
      runs+=("dist/bench/sqlite-log-drain.js --n $N --per 512 --batch $b --rows-of $r --cut $c")
      [ -n "${FILE:-}" ] && runs+=("dist/bench/file-log-drain.js --n $N --per 512 --batch $b --rows-of $r --cut $c")
    done; done
  done
  k=${#runs[@]}
  for j in $(seq 0 $((k - 1))); do
    run=${runs[$(((j + round) % k))]}
    # shellcheck disable=SC2086
    line=$(taskset -c "$BENCH_CPU" node $run) || exit 1
    echo "{\"round\":$round,\"time\":\"$(date -u +%H:%M:%S)\",\"load\":$(cut -d' ' -f1 /proc/loadavg),\"run\":\"$run\",\"result\":$line}" >> "$OUT"
    tail -1 "$OUT" | cut -c1-240 >&2
  done
  exit 0
fi

for i in $(seq 1 "$ROUNDS"); do
  echo "round $i: waiting for the lock (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  if [ -n "$LOCK" ]; then
    WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o "$LOCK" "$0" --round "$i" || exit 1
  else
    "$0" --round "$i" || exit 1
  fi
done

node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[(s.length - 1) >> 1]; };
  const runs = [...new Set(lines.map((j) => j.run))];
  console.log("| run | read us/msg | write us/msg | both us/msg | writes alone msg/s | rounds |\n| --- | ---: | ---: | ---: | ---: | ---: |");
  for (const run of runs) {
    const rs = lines.filter((j) => j.run === run).map((j) => j.result);
    const cell = (f) => { const xs = rs.map(f); return `${med(xs)} (${Math.min(...xs)}-${Math.max(...xs)})`; };
    console.log(`| ${run.replace("dist/bench/", "")} | ${cell((r) => r.read_us_per_msg)} | ${cell((r) => r.write_us_per_msg)} | ${cell((r) => r.both_us_per_msg)} | ${cell((r) => r.writes_msgs_per_s)} | ${rs.length} |`);
  }
' "$OUT"
