#!/usr/bin/env bash
# Streams, warren and RabbitMQ in one sitting (bench/streams.ts against each in turn): warren
# spawned fresh pinned to CPU 0, then a running RabbitMQ (RABBIT_URL, its pid file and mnesia
# dir) pinned to CPU 0 for the run; the clients on CPU 1. Take the measure lock around it:
#   WARREN_MEASURE=1 flock /work/wt/_quiet/measure.lock bench/streams-compare.sh
# Environment: N (1000000), WINDOW (500), RETAIN (1 GiB), RETAIN_S (90), CONSUMERS (100),
# RABBIT_URL (amqp://guest:guest@127.0.0.1:5682), RABBIT_BASE (/tmp/warren-rabbitmq-ref-5682),
# WARREN_PORT (5792), LATENCY_WINDOWS (50: windows of the append-latency runs, e.g. 50,100,250),
# WARREN_NODE_FLAGS (Node flags for warren; default warren's launch flags, src/cli/node-flags.ts,
# as the `warren` command runs it), ONLY (append,replay,fanout,retention), REPLAY_ROUNDS (1), BROKERS
# (warren,rabbitmq: one alone for rounds of a long run), WARREN_LABEL (warren: the label of warren's
# lines), WARREN_MAIN (dist/src/main.js: another build's, for a before/after), OUT (results file; default
# bench/results/streams-<date>.jsonl). For the 10M replay: N=10000000 (about 11 GB on disk per
# broker; see bench/streams.ts --keep/--existing to split it over several lock holds).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${N:-1000000}"; WINDOW="${WINDOW:-500}"; RETAIN="${RETAIN:-1073741824}"; RETAIN_S="${RETAIN_S:-90}"
CONSUMERS="${CONSUMERS:-100}"; RABBIT_URL="${RABBIT_URL:-amqp://guest:guest@127.0.0.1:5682}"
RABBIT_BASE="${RABBIT_BASE:-/tmp/warren-rabbitmq-ref-5682}"; WARREN_PORT="${WARREN_PORT:-5792}"
DATA="$(mktemp -d "${TMPDIR:-/tmp}/warren-streams-bench-XXXXXX")"
trap 'rm -rf "$DATA"' EXIT
ONLY="${ONLY:-append,replay,fanout,retention}"; REPLAY_ROUNDS="${REPLAY_ROUNDS:-1}"; BROKERS="${BROKERS:-warren,rabbitmq}"
LATENCY_WINDOWS="${LATENCY_WINDOWS:-50}"
NODE_FLAGS="${WARREN_NODE_FLAGS-$(node --input-type=module -e "import('./dist/src/cli/node-flags.js').then((m) => console.log(m.LAUNCH_NODE_FLAGS.join(' ')))")}"
common=(--n "$N" --window "$WINDOW" --latency-window "$LATENCY_WINDOWS" --retain "$RETAIN" --retain-s "$RETAIN_S" --consumers "$CONSUMERS" --only "$ONLY" --replay-rounds "$REPLAY_ROUNDS" --out "${OUT:-}")
echo "# $(date -u +%FT%TZ) $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg), N=$N WINDOW=$WINDOW LATENCY_WINDOWS=$LATENCY_WINDOWS warren node flags: $NODE_FLAGS" >&2

if [[ ",$BROKERS," == *,warren,* ]]; then
# shellcheck disable=SC2086
taskset -c 0 node $NODE_FLAGS "${WARREN_MAIN:-dist/src/main.js}" start --host 127.0.0.1 --port "$WARREN_PORT" --http-port off --data-dir "$DATA" --log-level warn &
WPID=$!
trap 'kill $WPID 2>/dev/null || true; rm -rf "$DATA"' EXIT
sleep 2
taskset -c 1 node dist/bench/streams.js --url "amqp://guest:guest@127.0.0.1:$WARREN_PORT" --pid "$WPID" --data-dir "$DATA" --label "${WARREN_LABEL:-warren}" "${common[@]}"
kill "$WPID"; wait "$WPID" 2>/dev/null || true
fi
[[ ",$BROKERS," == *,rabbitmq,* ]] || exit 0

RPID="$(cat "$RABBIT_BASE/rabbit.pid")"
SAVED="$(taskset -p "$RPID" | awk '{print $NF}')"
taskset -a -p -c 0 "$RPID" >/dev/null
taskset -c 1 node dist/bench/streams.js --url "$RABBIT_URL" --pid "$RPID" --data-dir "$RABBIT_BASE/mnesia" --label rabbitmq-3.10.8 "${common[@]}" || true
taskset -a -p "$SAVED" "$RPID" >/dev/null
