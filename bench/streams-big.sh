#!/usr/bin/env bash
# The 10M-message stream (1 KiB) of the replay target, written and read over several measure-lock
# holds (each at most 5 minutes), one broker at a time; the same bench/streams.ts client as
# bench/streams-compare.sh, pinned to CPU 1, the broker to CPU 0:
#   WARREN_MEASURE=1 bench/streams-big.sh warren start   # outside the lock: it keeps running
#   WARREN_MEASURE=1 flock /work/wt/_quiet/measure.lock bench/streams-big.sh warren fill
#   WARREN_MEASURE=1 flock /work/wt/_quiet/measure.lock bench/streams-big.sh warren replay
#   bench/streams-big.sh warren stop                 # stops that warren and removes its data
#   WARREN_MEASURE=1 flock /work/wt/_quiet/measure.lock bench/streams-big.sh rabbitmq fill
#   WARREN_MEASURE=1 flock /work/wt/_quiet/measure.lock bench/streams-big.sh rabbitmq replay
#   bench/streams-big.sh rabbitmq delete
# warren keeps running between holds (in BIG_DIR, port in BIG_DIR/port); RabbitMQ is the running
# node of RABBIT_URL / RABBIT_BASE, pinned to CPU 0 only during a step. Environment: N (10000000),
# REPLAY_ROUNDS (1), BIG_DIR (/tmp/warren-streams-big), RABBIT_URL
# (amqp://guest:guest@127.0.0.1:5693), RABBIT_BASE (/tmp/warren-rabbitmq-ref-5693), OUT (results
# file, default bench/results/streams-<date>.jsonl), WARREN_NODE_FLAGS (Node flags for warren; default
# warren's launch flags, src/cli/node-flags.ts). A second `fill` appends N more to the same stream
# (so a 10M stream can be written in two holds of 5M: N=5000000 twice, then N=10000000 replay).
set -euo pipefail
cd "$(dirname "$0")/.."
BROKER="$1"; STEP="$2"
N="${N:-10000000}"; REPLAY_ROUNDS="${REPLAY_ROUNDS:-1}"; BIG_DIR="${BIG_DIR:-/tmp/warren-streams-big}"
RABBIT_URL="${RABBIT_URL:-amqp://guest:guest@127.0.0.1:5693}"; RABBIT_BASE="${RABBIT_BASE:-/tmp/warren-rabbitmq-ref-5693}"
Q=big-stream-10m
echo "# $(date -u +%FT%TZ) $BROKER $STEP, load $(cut -d' ' -f1-3 /proc/loadavg), N=$N" >&2

client() { # url pid data-dir label args...
  local url="$1" pid="$2" data="$3" label="$4"; shift 4
  taskset -c 1 node dist/bench/streams.js --url "$url" --pid "$pid" --data-dir "$data" --label "$label" --n "$N" --queue "$Q" --out "${OUT:-}" "$@"
}
# fill: the append only (no replay); replay: read the stream that is there; both leave it.
steps() {
  case "$STEP" in
    fill) echo --only replay --replay-rounds 0 --keep ;;
    replay) echo --only replay --replay-rounds "$REPLAY_ROUNDS" --existing --keep ;;
    *) echo "unknown step $STEP" >&2; exit 2 ;;
  esac
}

if [[ "$BROKER" == warren ]]; then
  if [[ "$STEP" == stop ]]; then
    [[ -f "$BIG_DIR/pid" ]] && kill "$(cat "$BIG_DIR/pid")" 2>/dev/null || true
    rm -rf "$BIG_DIR"
    exit 0
  fi
  running() { [[ -f "$BIG_DIR/pid" ]] && kill -0 "$(cat "$BIG_DIR/pid")" 2>/dev/null; }
  if [[ "$STEP" == start ]]; then
    running && exit 0
    # Started outside the lock: a broker started under flock would inherit (and keep) the lock.
    mkdir -p "$BIG_DIR/data"
    port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
    echo "$port" > "$BIG_DIR/port"
    flags="${WARREN_NODE_FLAGS-$(node --input-type=module -e "import('./dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")}"
    # shellcheck disable=SC2086
    setsid taskset -c 0 node $flags dist/src/main.js start --host 127.0.0.1 --port "$port" --http-port off --data-dir "$BIG_DIR/data" --log-level warn > "$BIG_DIR/log" 2>&1 < /dev/null &
    echo $! > "$BIG_DIR/pid"
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
    exit 0
  fi
  running || { echo "no warren running: bench/streams-big.sh warren start first" >&2; exit 1; }
  taskset -a -p -c 0 "$(cat "$BIG_DIR/pid")" > /dev/null
  # shellcheck disable=SC2046
  client "amqp://guest:guest@127.0.0.1:$(cat "$BIG_DIR/port")" "$(cat "$BIG_DIR/pid")" "$BIG_DIR/data" warren $(steps)
  exit 0
fi

RPID="$(cat "$RABBIT_BASE/rabbit.pid")"
if [[ "$STEP" == delete ]]; then
  client "$RABBIT_URL" "$RPID" "$RABBIT_BASE/mnesia" rabbitmq-3.10.8 --only replay --replay-rounds 0 --existing
  exit 0
fi
SAVED="$(taskset -p "$RPID" | awk '{print $NF}')"
taskset -a -p -c 0 "$RPID" > /dev/null
# shellcheck disable=SC2046
client "$RABBIT_URL" "$RPID" "$RABBIT_BASE/mnesia" rabbitmq-3.10.8 $(steps) || true
taskset -a -p "$SAVED" "$RPID" > /dev/null
