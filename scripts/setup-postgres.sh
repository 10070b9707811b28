#!/usr/bin/env bash
# Makes a throwaway Postgres answer on 127.0.0.1:<port> for the test suites: reuses one that already answers, else
# installs Debian's postgresql (when no initdb/pg_ctl is found), creates a cluster under the OS temp dir owned by the
# postgres user (initdb refuses root), starts it with trust auth on loopback only, and creates the test database.
# Idempotent and safe to run from several processes at once. Prints the database URL on stdout (progress on stderr).
# Usage: setup-postgres.sh [start|stop]   Environment: AIRLOCK_PG_PORT (default 55432), AIRLOCK_PG_DB (airlock_test).
set -euo pipefail

action="${1:-start}"
port="${AIRLOCK_PG_PORT:-55432}"
db_name="${AIRLOCK_PG_DB:-airlock_test}"
tmp="${TMPDIR:-/tmp}"
dir="$tmp/airlock-test-pg-$port"
data="$dir/data"
log="$dir/server.log"
url="postgres://postgres@127.0.0.1:$port/$db_name"

say() { echo "setup-postgres: $*" >&2; }
fail() { say "$*"; exit 1; }

# Two test workers may start at the same moment; the second waits and then finds the server running.
mkdir -p "$dir"
exec 9>"$dir.lock"
flock -w 300 9 || fail "another setup-postgres.sh held $dir.lock for 5 minutes; remove it if no such process runs"

find_bindir() {
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return
  fi
  # Debian keeps the server binaries off PATH, one folder per major version; take the newest.
  local candidate
  candidate="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$candidate" ] && [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then echo "$candidate"; fi
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
  fail "need root to run '$*' (run this script as root, install sudo, or install postgresql yourself)"; fi; }

# The server must not run as root: as root, run the cluster as the postgres user; otherwise as ourselves.
if [ "$(id -u)" = 0 ]; then owner=postgres; else owner="$(id -un)"; fi
as_owner() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

bindir="$(find_bindir)"

if [ "$action" = stop ]; then
  if [ -n "$bindir" ] && [ -f "$data/PG_VERSION" ]; then
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  say "stopped the test cluster on port $port (data kept in $dir)"
  exit 0
fi
[ "$action" = start ] || fail "unknown action '$action': use start or stop"

if [ -z "$bindir" ]; then
  command -v apt-get >/dev/null 2>&1 || fail "no initdb/pg_ctl found and no apt-get; install PostgreSQL 13 or newer yourself"
  say "installing postgresql with apt-get"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  bindir="$(find_bindir)"
  [ -n "$bindir" ] || fail "postgresql was installed but no initdb/pg_ctl is under /usr/lib/postgresql/*/bin"
fi

ready() { "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres -U postgres; }
psql_admin() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"; }

if ! ready; then
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    say "creating the postgres system user"
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi
  chown "$owner" "$dir"
  if [ ! -f "$data/PG_VERSION" ]; then
    say "creating a cluster in $data"
    rm -rf "$data"
    as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
      || fail "initdb failed; its output is in $dir/initdb.log: $(tail -n 5 "$dir/initdb.log")"
    # A test cluster: durability is not wanted, speed and enough connections for parallel workers are.
    cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  fi
  say "starting the cluster on 127.0.0.1:$port (log: $log)"
  # setsid: the server must outlive the shell (and test worker) that started it, which is what reuse relies on;
  # 9>&-: it must not inherit the lock, or every later run would wait for the server to exit.
  as_owner setsid "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 9>&- \
    || fail "the server did not start; last lines of $log: $(tail -n 10 "$log" 2>/dev/null)"
  ready || fail "the server started but does not answer on 127.0.0.1:$port; see $log"
fi

exists="$(psql_admin -tAc "select 1 from pg_database where datname = '$db_name'")" \
  || fail "Postgres answers on 127.0.0.1:$port but refused a trusted connection as postgres; stop whatever listens there or set AIRLOCK_PG_PORT"
if [ "$exists" != 1 ]; then
  psql_admin -c "create database \"$db_name\"" >/dev/null
fi
echo "$url"
