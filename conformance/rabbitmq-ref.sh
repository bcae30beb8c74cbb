#!/usr/bin/env bash
# Start/stop a reference RabbitMQ node used to validate the conformance suite.
#
#   conformance/rabbitmq-ref.sh start     # start (idempotent), wait until AMQP port accepts
#   conformance/rabbitmq-ref.sh stop      # stop the node
#   conformance/rabbitmq-ref.sh status    # exit 0 if running
#   conformance/rabbitmq-ref.sh logs      # print the node's log file
#   conformance/rabbitmq-ref.sh reset     # stop, wipe its data dir, start again
#
# Environment (all optional):
#   RABBITMQ_REF_PORT       AMQP port                     (default 5673)
#   RABBITMQ_REF_DIST_PORT  Erlang distribution port      (default RABBITMQ_REF_PORT + 20000)
#   RABBITMQ_REF_NODENAME   Erlang node name              (default rabbit-ref-<port>@localhost)
#   RABBITMQ_REF_BASE       state dir (data, logs, cookie) (default /tmp/warren-rabbitmq-ref-<port>)
#
# Then: WARREN_CONFORMANCE_URL=amqp://guest:guest@127.0.0.1:5673 npx vitest run conformance/
set -euo pipefail

PORT="${RABBITMQ_REF_PORT:-5673}"
DIST_PORT="${RABBITMQ_REF_DIST_PORT:-$((PORT + 20000))}"
NODENAME="${RABBITMQ_REF_NODENAME:-rabbit-ref-${PORT}@localhost}"
BASE="${RABBITMQ_REF_BASE:-/tmp/warren-rabbitmq-ref-${PORT}}"
RMQ_BIN="${RABBITMQ_REF_BIN:-/usr/lib/rabbitmq/bin}"

export HOME="$BASE/home"                # erlang cookie lives here, shared by server and ctl
export RABBITMQ_NODENAME="$NODENAME"
export RABBITMQ_NODE_PORT="$PORT"
export RABBITMQ_NODE_IP_ADDRESS="127.0.0.1"
export RABBITMQ_DIST_PORT="$DIST_PORT"
export RABBITMQ_MNESIA_BASE="$BASE/mnesia"
export RABBITMQ_LOG_BASE="$BASE/log"
export RABBITMQ_PID_FILE="$BASE/rabbit.pid"
export RABBITMQ_CONFIG_FILE="$BASE/rabbitmq.conf"
export RABBITMQ_ENABLED_PLUGINS_FILE="$BASE/enabled_plugins"
export RABBITMQ_PLUGINS_EXPAND_DIR="$BASE/plugins-expand"
export RABBITMQ_ADVANCED_CONFIG_FILE="$BASE/advanced.config"

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

ctl() {
  "$RMQ_BIN/rabbitmqctl" -n "$NODENAME" "$@"
}

prepare() {
  mkdir -p "$HOME" "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE" "$RABBITMQ_PLUGINS_EXPAND_DIR"
  chmod 700 "$HOME"
  # Only the consistent-hash exchange (conformance/consistent-hash.test.ts); no management
  # listener to clash with anything.
  echo '[rabbitmq_consistent_hash_exchange].' > "$RABBITMQ_ENABLED_PLUGINS_FILE"
  echo '[].' > "$RABBITMQ_ADVANCED_CONFIG_FILE"
  cat > "$RABBITMQ_CONFIG_FILE" <<EOF
listeners.tcp.default = 127.0.0.1:$PORT
log.console = false
log.file.level = info
EOF
}

start() {
  if port_open; then
    echo "rabbitmq-ref: already listening on 127.0.0.1:$PORT"
    return 0
  fi
  prepare
  nohup "$RMQ_BIN/rabbitmq-server" > "$BASE/startup.log" 2>&1 < /dev/null &
  echo $! > "$BASE/launcher.pid"
  for _ in $(seq 1 120); do
    if port_open; then
      echo "rabbitmq-ref: node $NODENAME listening on 127.0.0.1:$PORT (state in $BASE)"
      return 0
    fi
    sleep 0.5
  done
  echo "rabbitmq-ref: did not start within 60 s; startup output:" >&2
  cat "$BASE/startup.log" >&2 || true
  return 1
}

stop() {
  if ctl stop >/dev/null 2>&1; then
    echo "rabbitmq-ref: stopped $NODENAME"
  elif [ -f "$BASE/launcher.pid" ] && kill -0 "$(cat "$BASE/launcher.pid")" 2>/dev/null; then
    kill "$(cat "$BASE/launcher.pid")" || true
    echo "rabbitmq-ref: sent SIGTERM to launcher $(cat "$BASE/launcher.pid")"
  else
    echo "rabbitmq-ref: not running"
  fi
  for _ in $(seq 1 60); do
    port_open || break
    sleep 0.5
  done
  rm -f "$BASE/launcher.pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  reset) stop; rm -rf "$RABBITMQ_MNESIA_BASE"; start ;;
  status)
    if port_open; then echo "rabbitmq-ref: up on 127.0.0.1:$PORT"; else echo "rabbitmq-ref: down"; exit 1; fi ;;
  logs) cat "$RABBITMQ_LOG_BASE"/*.log 2>/dev/null ;;
  ctl) shift; ctl "$@" ;;
  *)
    echo "usage: $0 start|stop|restart|reset|status|logs|ctl <rabbitmqctl args>" >&2
    exit 2 ;;
esac
