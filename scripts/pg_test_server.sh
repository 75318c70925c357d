#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests; never touches the system cluster.
#   scripts/pg_test_server.sh [start]   initdb (once) + start (if stopped) + create the database;
#                                       prints the DATABASE_URL on stdout, logs on stderr
#   scripts/pg_test_server.sh url       print the DATABASE_URL of the running cluster
#   scripts/pg_test_server.sh stop      stop the cluster (its files stay for the next start)
#   scripts/pg_test_server.sh destroy   stop it and delete its directory
# The cluster listens on a unix socket only (no TCP port), in its own directory, with
# trust authentication: it is reachable by its owner (and root) only. Settings:
#   XIHU_PG_TEST_DIR   cluster directory   (default ${TMPDIR:-/tmp}/xihu-pg-test-<uid>)
#   XIHU_PG_TEST_PORT  socket number       (default 55432; only names the socket file)
#   PG_BIN             PostgreSQL binaries (default the newest /usr/lib/postgresql/*/bin)
set -euo pipefail

ACTION="${1:-start}"
ROOT="${XIHU_PG_TEST_DIR:-${TMPDIR:-/tmp}/xihu-pg-test-$(id -u)}"
PORT="${XIHU_PG_TEST_PORT:-55432}"
DB=xihu_test
PGDATA="$ROOT/data"
SOCK="$ROOT/sock"
LOG="$ROOT/server.log"

log() { echo "pg_test_server: $*" >&2; }

if [ -z "${PG_BIN:-}" ]; then
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
fi
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/initdb" ]; then
  log "PostgreSQL server binaries not found (install Debian's 'postgresql': scripts/setup.sh --dev)"
  exit 1
fi

# initdb and postgres refuse to run as root: the cluster then belongs to the 'postgres' user
if [ "$(id -u)" -eq 0 ]; then
  OWNER=postgres
  as_owner() { runuser -u "$OWNER" -- "$@"; }
else
  OWNER="$(id -un)"
  as_owner() { "$@"; }
fi

url() { echo "postgresql+psycopg://$OWNER@/$DB?host=$SOCK&port=$PORT"; }
running() { [ -f "$PGDATA/PG_VERSION" ] && as_owner "$PG_BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

stop() {
  if running; then
    as_owner "$PG_BIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
    log "stopped the cluster in $ROOT"
  fi
}

case "$ACTION" in
  start) ;;
  url)
    running || { log "no cluster running in $ROOT"; exit 1; }
    url
    exit 0
    ;;
  stop)
    stop
    exit 0
    ;;
  destroy)
    stop
    rm -rf "$ROOT"
    exit 0
    ;;
  *)
    log "unknown action '$ACTION' (start | url | stop | destroy)"
    exit 2
    ;;
esac

if [ -e "$ROOT" ] && [ "$(stat -c %U "$ROOT")" != "$OWNER" ]; then
  log "$ROOT exists but does not belong to $OWNER; remove it or set XIHU_PG_TEST_DIR"
  exit 1
fi
if [ ! -f "$PGDATA/PG_VERSION" ]; then
  rm -rf "$ROOT"
  mkdir -p -m 700 "$ROOT"
  if [ "$(id -u)" -eq 0 ]; then chown "$OWNER:" "$ROOT"; fi
  as_owner mkdir -m 700 "$SOCK"
  log "initdb in $PGDATA"
  as_owner "$PG_BIN/initdb" -D "$PGDATA" -U "$OWNER" --auth=trust -E UTF8 --locale=C.UTF-8 >"$ROOT/initdb.log" 2>&1 ||
    { log "initdb failed:"; cat "$ROOT/initdb.log" >&2; exit 1; }
fi

if ! running; then
  # unix socket only, in our own directory; fsync off: the data is disposable
  opts="-c listen_addresses='' -c unix_socket_directories='$SOCK' -c port=$PORT -c fsync=off"
  opts="$opts -c synchronous_commit=off -c full_page_writes=off"
  as_owner "$PG_BIN/pg_ctl" -D "$PGDATA" -l "$LOG" -o "$opts" -w -t 60 start >/dev/null ||
    { log "the server did not start:"; tail -n 20 "$LOG" >&2; exit 1; }
  log "started PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on socket $SOCK (port $PORT)"
fi

psql_() { as_owner "$PG_BIN/psql" -h "$SOCK" -p "$PORT" -U "$OWNER" -X -q -v ON_ERROR_STOP=1 "$@"; }
if [ "$(psql_ -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
  psql_ -d postgres -c "CREATE DATABASE $DB" >/dev/null
  log "created database $DB"
fi
url
