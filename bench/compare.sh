#!/usr/bin/env bash
# bench/compare.sh -- warren vs RabbitMQ on this machine, in one sitting.
#
# 1. builds warren (tsc) and amqp-perf (from a copy of ../shared/bench);
# 2. starts a RabbitMQ with conformance/rabbitmq-ref.sh on RABBIT_PORT (wiped first), unless one
#    already answers there (then it is used as is and left running), and the built warren
#    pinned to BROKER_CPUS on WARREN_PORT with a fresh data dir;
# 3. runs ../shared/bench/compare.sh (the a-j matrix, interleaved, ROUNDS rounds, both brokers
#    pinned to BROKER_CPUS with PIN_BROKER=1, clients on CLIENT_CPUS), then scenario h again
#    with BACKLOG_N=BACKLOG_1M;
# 4. runs warren's own scenarios (bench/run.ts: OWN) against the RabbitMQ and against warren;
# 5. writes bench/results/compare-TAG.md: goals with verdicts, the summarize.mjs tables, the
#    own scenarios side by side. Raw JSON lines and broker logs stay in
#    bench/results/tmp/compare-TAG/.
# Every broker it started is stopped on exit (also on Ctrl-C).
#
# Environment (defaults in brackets):
#   ROUNDS [5]  ONLY ["a b c d e f g h i j"]  BACKLOG_1M [1000000] (0 = skip)  ROUNDS_1M [1]
#   OWN ["steady backlog responsiveness ttl priority"] ("" = skip)  OWN_N [1000000] (BENCH_N)
#   RABBIT_PORT [5674]  WARREN_PORT [5675]  BROKER_CPUS [0]  CLIENT_CPUS [1]  TAG [date-time]
#   SKIP_BUILD [0]  KEEP_DATA [0] (keep warren's data dir)  NOTE (a line for the report)
#   plus anything run-matrix.sh reads (DURATION, WARMUP, PAUSE, CONNS_N, ...)
#   and bench/run.ts reads (BENCH_*).
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1

ROUNDS=${ROUNDS:-5}
ONLY=${ONLY-"a b c d e f g h i j"}
BACKLOG_1M=${BACKLOG_1M:-1000000}
ROUNDS_1M=${ROUNDS_1M:-1}
OWN=${OWN-"steady backlog responsiveness ttl priority"}
OWN_N=${OWN_N:-1000000}
RABBIT_PORT=${RABBIT_PORT:-5674}
WARREN_PORT=${WARREN_PORT:-5675}
BROKER_CPUS=${BROKER_CPUS:-0}
CLIENT_CPUS=${CLIENT_CPUS-1}
TAG=${TAG:-$(date +%Y%m%d-%H%M%S)}
SKIP_BUILD=${SKIP_BUILD:-0}

SCRATCH=$root/bench/results/tmp/compare-$TAG
PERFDIR=$root/bench/results/tmp/shared-bench
SHARED=${BENCH_SHARED_DIR:-$root/../shared/bench}
REPORT=$root/bench/results/compare-$TAG.md
REF=$root/conformance/rabbitmq-ref.sh
RABBIT_BASE=${RABBITMQ_REF_BASE:-/tmp/warren-rabbitmq-ref-$RABBIT_PORT}
RABBIT_URL=amqp://guest:guest@127.0.0.1:$RABBIT_PORT
WARREN_URL=amqp://guest:guest@127.0.0.1:$WARREN_PORT
export RABBITMQ_REF_PORT=$RABBIT_PORT

mkdir -p "$SCRATCH" "$root/bench/results"
say() { echo "[compare $(date +%H:%M:%S)] $*" >&2; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_on_port() { ss -ltnpH "( sport = :$1 )" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; }

rabbit_started=0
warren_pid=""
cleanup() {
  if [ -n "$warren_pid" ] && kill -0 "$warren_pid" 2>/dev/null; then
    kill "$warren_pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$warren_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$warren_pid" 2>/dev/null
    say "warren stopped"
  fi
  warren_pid=""
  [ "${KEEP_DATA:-0}" = 1 ] || rm -rf "$SCRATCH/warren-data"
  if [ "$rabbit_started" = 1 ]; then
    "$REF" stop >&2 || true
    rabbit_started=0
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# ---- 1. build ------------------------------------------------------------------------------
if [ "$SKIP_BUILD" != 1 ]; then
  say "building warren (tsc)"
  npx tsc -p tsconfig.json || { say "tsc failed"; exit 1; }
fi
say "building amqp-perf in $PERFDIR"
mkdir -p "$PERFDIR"
for f in "$SHARED"/*; do
  case "$(basename "$f")" in results | amqp-perf) continue ;; esac
  cp -rf "$f" "$PERFDIR/"
done
chmod -R u+w "$PERFDIR"
make -s -C "$PERFDIR" amqp-perf >&2 || { say "cannot build amqp-perf (apt-get install -y build-essential pkg-config librabbitmq-dev)"; exit 1; }

# ---- 2. brokers ----------------------------------------------------------------------------
if "$REF" status >/dev/null 2>&1; then
  say "RabbitMQ already running on $RABBIT_PORT: using it as is, leaving it running"
else
  say "starting RabbitMQ on $RABBIT_PORT (fresh data in $RABBIT_BASE)"
  "$REF" reset >&2 || { say "RabbitMQ did not start"; exit 1; }
  rabbit_started=1
fi
rabbit_pid=$(pid_on_port "$RABBIT_PORT")
[ -n "$rabbit_pid" ] || { say "cannot find the RabbitMQ process on port $RABBIT_PORT"; exit 1; }
rabbit_version=$("$REF" ctl version 2>/dev/null | tail -1)
erlang_version=$("$REF" ctl eval 'erlang:system_info(otp_release).' 2>/dev/null | tr -d '"' | tail -1)

# a private copy of the build: a rebuild of dist/ meanwhile (other work in this checkout)
# cannot change the broker under test
rm -rf "$SCRATCH/dist"
mkdir -p "$SCRATCH/dist"
cp -r dist/src "$SCRATCH/dist/src"
[ -d dist/protocol ] && cp -r dist/protocol "$SCRATCH/dist/protocol"

start_warren() {
  if port_open "$WARREN_PORT"; then say "port $WARREN_PORT is taken; set WARREN_PORT"; exit 1; fi
  rm -rf "$SCRATCH/warren-data"
  mkdir -p "$SCRATCH/warren-data"
  taskset -c "$BROKER_CPUS" node "$SCRATCH/dist/src/main.js" start --host 127.0.0.1 --port "$WARREN_PORT" \
    --http-port off --data-dir "$SCRATCH/warren-data" --log-level warn >>"$SCRATCH/warren.log" 2>&1 &
  warren_pid=$!
  for _ in $(seq 1 200); do port_open "$WARREN_PORT" && break; sleep 0.1; done
  port_open "$WARREN_PORT" || { say "warren did not start; see $SCRATCH/warren.log"; tail -20 "$SCRATCH/warren.log" >&2; exit 1; }
  say "warren pid $warren_pid on $WARREN_PORT, pinned to CPU $BROKER_CPUS"
}
check_warren() { # after a phase: did warren survive it?
  if ! kill -0 "$warren_pid" 2>/dev/null; then
    say "warren DIED during $1; log tail:"
    tail -20 "$SCRATCH/warren.log" >&2
    echo "warren died during $1" >>"$SCRATCH/incidents.txt"
    warren_pid=""
    start_warren
  fi
}
start_warren

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
date_start=$(date -u +%Y-%m-%dT%H:%MZ)

# ---- 3. the shared matrix, then h with 1M --------------------------------------------------
run_shared() { # tag-suffix, heading, env...
  local suffix=$1 heading=$2
  shift 2
  {
    echo "# $heading"
    env "$@" TAG="$TAG-$suffix" OUTDIR="$SCRATCH" PIN_BROKER=1 BROKER_CPUS="$BROKER_CPUS" CLIENT_CPUS="$CLIENT_CPUS" \
      "$PERFDIR/compare.sh" "$RABBIT_URL" "$rabbit_pid" "$WARREN_URL" "$warren_pid"
  } >"$SCRATCH/$suffix-summary.md"
  check_warren "$suffix"
}
if [ -n "$ONLY" ]; then
  say "matrix ($ONLY), $ROUNDS rounds, interleaved"
  run_shared matrix "Matrix a–j: RabbitMQ = base, warren = other; medians of $ROUNDS rounds (summarize.mjs)" \
    ROUNDS="$ROUNDS" ONLY="$ONLY"
fi
if [ "$BACKLOG_1M" != 0 ]; then
  say "scenario h with BACKLOG_N=$BACKLOG_1M, $ROUNDS_1M round(s)"
  run_shared h1m "Scenario h with BACKLOG_N=$BACKLOG_1M: RabbitMQ = base, warren = other ($ROUNDS_1M round(s))" \
    ROUNDS="$ROUNDS_1M" ONLY=h BACKLOG_N="$BACKLOG_1M"
fi
# the matrix's warren is done; the own scenarios start their own
cleanup_warren_only() {
  if [ -n "$warren_pid" ]; then kill "$warren_pid" 2>/dev/null; wait "$warren_pid" 2>/dev/null; warren_pid=""; fi
}
cleanup_warren_only

# ---- 4. warren's own scenarios on both -----------------------------------------------------
own_args=()
if [ -n "$OWN" ]; then
  ctl_args=()
  [ "$rabbit_started" = 1 ] && ctl_args=(--ctl "$REF")
  say "own scenarios ($OWN) against RabbitMQ"
  BENCH_N=$OWN_N BENCH_BROKER_CPUS=$BROKER_CPUS BENCH_CLIENT_CPUS=$CLIENT_CPUS \
    node dist/bench/run.js $OWN --target rabbitmq --url "$RABBIT_URL" --data-dir "$RABBIT_BASE/mnesia" \
    "${ctl_args[@]}" --out "$SCRATCH" --tag "$TAG-own-rabbitmq" >/dev/null
  say "own scenarios ($OWN) against warren"
  BENCH_N=$OWN_N BENCH_BROKER_CPUS=$BROKER_CPUS BENCH_CLIENT_CPUS=$CLIENT_CPUS \
    node dist/bench/run.js $OWN --target warren --out "$SCRATCH" --tag "$TAG-own-warren" >/dev/null
  own_args=(--own "$SCRATCH/$TAG-own-rabbitmq.jsonl" "$SCRATCH/$TAG-own-warren.jsonl")
fi

# ---- 5. the report -------------------------------------------------------------------------
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
mem=$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
matrix_args=()
[ -n "$ONLY" ] && matrix_args=(--matrix "$SCRATCH/$TAG-matrix-base.jsonl" "$SCRATCH/$TAG-matrix-other.jsonl" --summary "$SCRATCH/matrix-summary.md")
h1m_args=()
[ "$BACKLOG_1M" != 0 ] && h1m_args=(--h1m "$SCRATCH/$TAG-h1m-base.jsonl" "$SCRATCH/$TAG-h1m-other.jsonl" --summary "$SCRATCH/h1m-summary.md")
incidents=""
[ -f "$SCRATCH/incidents.txt" ] && incidents="INCIDENTS: $(tr '\n' ';' <"$SCRATCH/incidents.txt")"
node dist/bench/compare-report.js "${matrix_args[@]}" "${h1m_args[@]}" "${own_args[@]}" \
  --title "warren vs RabbitMQ $rabbit_version, $date_start" \
  --info "date: $date_start to $(date -u +%H:%MZ) (UTC)" \
  --info "machine: $cpu_model, $(nproc) CPUs, $mem, Linux $(uname -r); $(hostname)" \
  --info "warren: commit $commit, Node $(node -v), pinned to CPU $BROKER_CPUS (taskset), data dir on $(df --output=source "$SCRATCH" | tail -1)" \
  --info "RabbitMQ: $rabbit_version on Erlang/OTP $erlang_version, conformance/rabbitmq-ref.sh (default config), pinned to CPU $BROKER_CPUS (PIN_BROKER=1 / --pin), data in $RABBIT_BASE" \
  --info "clients: amqp-perf (../shared/bench) and bench/run.ts (amqplib) on CPU $CLIENT_CPUS; matrix interleaved scenario by scenario, $ROUNDS round(s); own scenarios with BENCH_N=$OWN_N" \
  --info "load average: $load_start at the start, $load_end at the end" \
  ${incidents:+--info "$incidents"} \
  ${NOTE:+--info "note: $NOTE"} \
  --info "raw results and broker logs: bench/results/tmp/compare-$TAG/" >"$REPORT"
say "report: $REPORT"
cat "$REPORT"
