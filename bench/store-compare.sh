#!/usr/bin/env bash
# Persistent throughput with confirms, one sitting: warren on SQLite, warren on PostgreSQL
# (--store, a throwaway server from conformance/postgres-temp.sh) and RabbitMQ durable queues
# (a node already running at $RABBITMQ_URL). The brokers (and PostgreSQL) on CPU 0, the load
# generator (bench/store-confirms.ts) on CPU 1. Run under the measurement lock:
#
#   npm run build
#   WARREN_MEASURE=1 flock /work/wt/_quiet/measure.lock bench/store-compare.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
RABBITMQ_URL="${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5684}"
SECONDS_EACH="${SECONDS_EACH:-10}"
read -r PG_URL PG_DIR < <(taskset -c 0 conformance/postgres-temp.sh start)
data=$(mktemp -d /tmp/warren-bench-sqlite.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; conformance/postgres-temp.sh stop "$PG_DIR"; rm -rf "$data"; }
trap cleanup EXIT

start_warren() { # port, extra args...
  local port=$1; shift
  taskset -c 0 node dist/src/main.js start --host 127.0.0.1 --port "$port" --http-port off --log-level warn "$@" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/"$port") 2>/dev/null && return; sleep 0.2; done
  echo "warren on $port did not start" >&2; exit 1
}
start_warren 5791 --data-dir "$data"
start_warren 5792 --data-dir none --store "$PG_URL"
run() { echo -n "$1 "; taskset -c 1 node dist/bench/store-confirms.js --url "$2" --seconds "$SECONDS_EACH"; }
for r in $(seq "$rounds"); do
  echo "round $r $(date -u +%FT%TZ)"
  run sqlite amqp://guest:guest@127.0.0.1:5791
  run postgres amqp://guest:guest@127.0.0.1:5792
  run rabbitmq "$RABBITMQ_URL"
done
