#!/usr/bin/env bash
# bench/small-compare.sh -- issue 14 items 3 and 4 (small messages on one core, latency while
# another client is busy): warren (this build, and with BEFORE=DIR an earlier build) against a
# running RabbitMQ, in interleaved rounds. Each round, under the measurement lock
# (ROUNDS_PER_HOLD rounds per hold), runs `node dist/bench/run.js SCENARIOS --target rabbitmq`
# against each broker in turn (the order rotates per round): every warren is started fresh
# (data dir in the scratch folder, pinned to BROKER_CPUS by run.js), RabbitMQ is the one on
# RABBIT_PORT (pinned for the run). Results: OUTDIR/<broker>-r<round>.jsonl; medians of every
# metric per broker with `node dist/bench/run.js --compare` or the summary printed at the end.
#
# Environment: ROUNDS [5] ROUNDS_PER_HOLD [2] SCENARIOS ["a-blast b-blast d-blast"]
#   RABBIT_PORT [5673] BEFORE [] AFTER [this repository] OUTDIR [bench/results/tmp/small-DATE] LOCK [/work/wt/_quiet/measure.lock]
#   NODE_FLAGS [each build's own launch flags, LAUNCH_NODE_FLAGS in dist/src/cli/node-flags.js]
#   Anything run.js reads (BENCH_DURATION, BENCH_WARMUP, BENCH_PROBE_S, BENCH_PROBE_LOAD ...).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
ROUNDS=${ROUNDS:-5}; PER=${ROUNDS_PER_HOLD:-2}; SCENARIOS=${SCENARIOS:-a-blast b-blast d-blast}
RABBIT_PORT=${RABBIT_PORT:-5673}; BEFORE=${BEFORE:-}; AFTER=${AFTER:-$root}
# As the warren command's #! line starts it (src/cli/node-flags.ts), read from each build: a
# fixed list here fell behind (it lacked --initial-old-space-size=32, and the persistent probe
# beside it saw the collector's mark-compacts that warren start no longer runs into).
NODE_FLAGS=${NODE_FLAGS:-}
launch_flags() {
  if [ -n "$NODE_FLAGS" ]; then echo "$NODE_FLAGS"; return; fi
  node --input-type=module -e "import('$1/dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')), () => console.log('--max-semi-space-size=4'))"
}
launch_env() { # NAME=value words of the build's LAUNCH_ENV (glibc settings; older builds: none)
  if [ -n "$NODE_FLAGS" ]; then return; fi
  node --input-type=module -e "import('$1/dist/src/cli/node-flags.js').then((m) => console.log(Object.entries(m.LAUNCH_ENV ?? {}).map(([k, v]) => k + '=' + v).join(' ')), () => console.log(''))"
}
OUTDIR=${OUTDIR:-bench/results/tmp/small-$(date +%Y%m%d-%H%M%S)}
LOCK=${LOCK-/work/wt/_quiet/measure.lock}
mkdir -p "$OUTDIR" "$root/bench/results/tmp"
[ -d ../shared/bench ] || export BENCH_SHARED_DIR=${BENCH_SHARED_DIR:-/work/shared/bench}

if [ "${1:-}" = "--rounds" ]; then
  WPID=""
  trap '[ -n "$WPID" ] && kill "$WPID" 2>/dev/null' EXIT
  brokers=(after rabbit); [ -n "$BEFORE" ] && brokers=(before after rabbit)
  n=${#brokers[@]}
  for round in $(seq "$2" "$3"); do
    for k in $(seq 0 $((n - 1))); do
      b=${brokers[$(((k + round) % n))]}
      echo "round $round: $b (load $(cut -d' ' -f1 /proc/loadavg))" >&2
      if [ "$b" = rabbit ]; then
        port=$RABBIT_PORT
      else
        dir=$AFTER; [ "$b" = before ] && dir=$BEFORE
        data=$(mktemp -d "$root/bench/results/tmp/small-data-XXXXXX")
        # shellcheck disable=SC2086
        flags=$(launch_flags "$dir"); echo "round $round: $b node $flags" >&2
        env $(launch_env "$dir") node $flags "$dir/dist/src/main.js" start --host 127.0.0.1 --port 0 --http-port off --data-dir "$data" --log-level warn > "$OUTDIR/$b-r$round.log" 2>&1 &
        WPID=$!; port=""
        for _ in $(seq 100); do port=$(ss -ltnpH 2>/dev/null | grep "pid=$WPID," | awk '{print $4}' | sed 's/.*://' | head -1); [ -n "$port" ] && break; sleep 0.1; done
      fi
      # shellcheck disable=SC2086
      node dist/bench/run.js $SCENARIOS --target rabbitmq --url "amqp://guest:guest@127.0.0.1:$port" --out "$OUTDIR" --tag "$b-r$round" > "$OUTDIR/$b-r$round.out" 2>&1 || echo "run.js failed for $b round $round (see $OUTDIR/$b-r$round.out)" >&2
      if [ "$b" != rabbit ]; then kill "$WPID"; wait "$WPID" 2>/dev/null; WPID=""; rm -rf "$data"; fi
    done
  done
  exit 0
fi

# -o: the lock's fd is closed before exec, so no broker started inside holds it.
locked() { if [ -n "$LOCK" ]; then WARREN_MEASURE=1 WARREN_RESERVED=1 flock -o "$LOCK" "$@"; else WARREN_MEASURE=1 WARREN_RESERVED=1 "$@"; fi; }
for ((r = 1; r <= ROUNDS; r += PER)); do
  last=$((r + PER - 1)); [ $last -gt "$ROUNDS" ] && last=$ROUNDS
  echo "rounds $r-$last of $ROUNDS ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1 /proc/loadavg))" >&2
  locked "$0" --rounds "$r" "$last"
done
echo "done $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1 /proc/loadavg)" >&2
node dist/bench/small-summary.js "$OUTDIR"
