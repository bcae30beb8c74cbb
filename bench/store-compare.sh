#!/usr/bin/env bash
# Persistent throughput with confirms, one sitting: warren on SQLite, warren on PostgreSQL
# (--store, a throwaway server from conformance/postgres-temp.sh) and RabbitMQ durable queues
# (a node already running at $RABBITMQ_URL). The brokers (and PostgreSQL) on CPU 0, the load
# generator (bench/store-confirms.ts) on CPU 1. The three alternate within each round, so a
# change in the machine's load hits all three alike. Run under the measurement lock, with the
# RabbitMQ node started with WARREN_MEASURE=1 and pinned to CPU 0 too:
#
#   npm run build
#   WARREN_MEASURE=1 RABBITMQ_REF_PORT=5692 taskset -c 0 conformance/rabbitmq-ref.sh start
#   WARREN_MEASURE=1 RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5692 flock /work/wt/_quiet/measure.lock bench/store-compare.sh [rounds]
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
# Ports the kernel picks now (fixed ones would collide with other sessions' brokers).
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
sqlite_port=$(free_port)
pg_port=$(free_port)
start_warren "$sqlite_port" --data-dir "$data"
start_warren "$pg_port" --data-dir none --store "$PG_URL"
run() { echo -n "$1 "; taskset -c 1 node dist/bench/store-confirms.js --url "$2" --seconds "$SECONDS_EACH"; }
for r in $(seq "$rounds"); do
  echo "round $r $(date -u +%FT%TZ)"
  run sqlite "amqp://guest:guest@127.0.0.1:$sqlite_port"
  run postgres "amqp://guest:guest@127.0.0.1:$pg_port"
  run rabbitmq "$RABBITMQ_URL"
done
