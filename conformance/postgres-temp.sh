#!/usr/bin/env bash
# A throwaway PostgreSQL for the PostgreSQL store's tests and the chaos script: initdb in a
# temporary directory, started on a free loopback port, trust authentication.
#
#   conformance/postgres-temp.sh start   # prints "<url> <dir>" once it accepts connections
#   conformance/postgres-temp.sh stop DIR  # immediate stop, directory removed
#
# Uses Debian's `postgresql` (the newest /usr/lib/postgresql/*/bin, or initdb on PATH). As root,
# the server runs as the `postgres` user (PostgreSQL refuses to run as root).
# Exit 3 when no PostgreSQL binaries are installed.
set -euo pipefail

bindir() {
  local b
  if b=$(command -v initdb 2>/dev/null); then dirname "$(readlink -f "$b")"; return; fi
  b=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$b" ] && [ -x "$b/initdb" ] && { echo "$b"; return; }
  return 1
}
BIN=$(bindir) || { echo "no PostgreSQL binaries (apt-get install -y postgresql)" >&2; exit 3; }
as=()
if [ "$(id -u)" = 0 ]; then as=(runuser -u postgres --); fi

case "${1:-}" in
  start)
    dir=$(mktemp -d /tmp/warren-pg.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as[@]}" "$BIN/initdb" -D "$dir/data" -U warren --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # fsync and synchronous_commit stay on: the tests check durability, not speed.
    "${as[@]}" "$BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null \
      || { cat "$dir/log" >&2; exit 1; }
    echo "postgres://warren@127.0.0.1:$port/postgres $dir"
    ;;
  stop)
    dir="${2:?usage: $0 stop DIR}"
    "${as[@]}" "$BIN/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start | stop DIR" >&2
    exit 2
    ;;
esac
