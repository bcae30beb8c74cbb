#!/usr/bin/env bash
# Stream append with confirms (and replay from `first`), one sitting: warren with segment files
# (the SQLite store, --data-dir) against warren whose streams are chunks in PostgreSQL (--store,
# a throwaway server from conformance/postgres-temp.sh, fsync and synchronous_commit on).
# The brokers and PostgreSQL on CPU 0, the load generator (bench/streams.ts --only append,replay)
# on CPU 1; the two alternate within each round. Run under the measurement lock:
#
#   npm run build
#   WARREN_MEASURE=1 flock /work/wt/_quiet/measure.lock bench/stream-store-compare.sh [rounds] [n]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-2}"
n="${2:-200000}"
read -r PG_URL PG_DIR < <(taskset -c 0 conformance/postgres-temp.sh start)
data=$(mktemp -d /tmp/warren-bench-streams.XXXXXX)
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
files_port=$(free_port)
start_warren "$files_port" --data-dir "$data"
files_pid=${pids[-1]}
pg_port=$(free_port)
start_warren "$pg_port" --data-dir none --store "$PG_URL"
pg_pid=${pids[-1]}
run() { taskset -c 1 node dist/bench/streams.js --only append,replay --n "$n" --label "$1" --url "$2" --pid "$3" ${4:+--data-dir "$4"}; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  echo "round $r $(date -u +%FT%TZ)"
  run warren-files "amqp://guest:guest@127.0.0.1:$files_port" "$files_pid" "$data"
  run warren-postgres "amqp://guest:guest@127.0.0.1:$pg_port" "$pg_pid"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
