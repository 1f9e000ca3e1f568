# A private PostgreSQL 15 for the scripts in bench/ (sourced, not run), as tests/support/postgres.*
# does it for the tests: initdb as the non-root user "postgres" into a scratch directory under
# /dev/shm (else $TMPDIR or /tmp), a server on a free loopback port with its socket in that
# directory, and stop_postgres (pg_ctl stop, then the directory is removed). The caller must
# call stop_postgres from its EXIT trap: pg_ctl detaches the server, so killing the script's
# children does not stop it. Needs free_port from bench/lib/common.bash.
# Server settings are PostgreSQL's defaults (fsync and synchronous_commit on, shared_buffers
# 128 MB) except the listen address, port and socket directory: the data directory is in memory
# when /dev/shm is writable, so an fsync costs little there.
# shellcheck shell=bash

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=""
PG_PORT=""
PG_URL=""

pg_as() { runuser -u postgres -- "$@"; }

# Exits 2 unless PostgreSQL 15 and its user are installed (scripts/install-deps.sh).
require_postgres() {
  [[ -x $PG_BIN/initdb ]] || { echo "missing $PG_BIN/initdb (install postgresql-15)" >&2; exit 2; }
  id postgres >/dev/null 2>&1 || { echo "no user 'postgres' (install postgresql-15)" >&2; exit 2; }
  command -v runuser >/dev/null || { echo "missing runuser (util-linux)" >&2; exit 2; }
}

# Sets PG_DIR, PG_PORT, PG_URL (database "hecs", user postgres, trust auth on 127.0.0.1).
start_postgres() {
  local base
  require_postgres
  if [[ -w /dev/shm && -x /dev/shm ]]; then base=/dev/shm; else base=${TMPDIR:-/tmp}; fi
  PG_DIR=$(mktemp -d "$base/hecs-bench-pg.XXXXXX")
  chown postgres: "$PG_DIR"
  pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres -E UTF8 --locale=C --no-sync \
    --no-instructions >"$PG_DIR/initdb.log" 2>&1 ||
    { echo "initdb failed:" >&2; tail -n 20 "$PG_DIR/initdb.log" >&2; exit 1; }
  for _ in 1 2 3 4 5; do  # the port is free when picked, but may be taken before the bind
    PG_PORT=$(free_port)
    if pg_as "$PG_BIN/pg_ctl" start -w -t 30 -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" \
      -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1" >/dev/null 2>&1; then
      break
    fi
    PG_PORT=""
  done
  [[ -n $PG_PORT ]] ||
    { echo "postgres did not start:" >&2; tail -n 20 "$PG_DIR/postgres.log" >&2; exit 1; }
  pg_as "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres hecs
  # shellcheck disable=SC2034  # for the caller
  PG_URL="postgresql://postgres@127.0.0.1:$PG_PORT/hecs"
}

# The postmaster's pid, then its children's (backends, checkpointer, WAL writer...).
postgres_pids() {
  local main
  [[ -n $PG_DIR && -f $PG_DIR/data/postmaster.pid ]] || return 0
  main=$(head -n 1 "$PG_DIR/data/postmaster.pid")
  echo "$main"
  ps -o pid= --ppid "$main" 2>/dev/null || true
}

# Fast shutdown (immediate if that hangs), then the directory goes. Safe to call twice.
stop_postgres() {
  [[ -n $PG_DIR ]] || return 0
  if [[ -f $PG_DIR/data/postmaster.pid ]]; then
    pg_as "$PG_BIN/pg_ctl" stop -w -t 20 -m fast -D "$PG_DIR/data" >/dev/null 2>&1 ||
      pg_as "$PG_BIN/pg_ctl" stop -w -t 10 -m immediate -D "$PG_DIR/data" >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_DIR"
  PG_DIR=""
}
