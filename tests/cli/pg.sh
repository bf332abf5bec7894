# pg.sh: a real PostgreSQL server for CLI tests, started by the test itself
# in a private directory, on a free loopback port, and removed at the end.
# Source it after lib.sh:
#   . "$(dirname "$0")/lib.sh"
#   . "$(dirname "$0")/pg.sh"
#   trap 'pg_stop' EXIT          # chain pg_stop into the test's own trap
#   if ! pg_start; then pg_not_run "pg: a check" "pg: another"; exit 0; fi
#   check "..." 0 "" -- "$VOUCH" --db "$PG_URI" ...
#
# pg_start sets PG_URI (role and database "vouch", reached through the
# Unix socket), PG_DIR (the private directory: data/, log, the socket),
# PG_PORT and PG_BIN. pg_newdb NAME (a new database) and pg_sql URI SQL
# are lib.sh's, which a test under pg_run reaches the server with too. It returns 0 when the server answers; 1 with PG_SKIP
# set to the reason when no server binaries are installed; 2 when they are
# but the server would not start, after printing the log's last lines as
# TAP comments. A missing server is a skip, never a pass.
#
# As root the server runs as the "postgres" user (it refuses to run as
# root), so the directory is made outside $TMP, whose parents that user may
# not enter: /tmp/vouch-pg.XXXXXX, which also keeps the socket's path short.
# A watchdog stops the server if the test dies without calling pg_stop.
#
# pg_run runs a test written for a SQLite file on the server instead (the
# pg_*.sh wrappers): `pg_run schedule sh "$ROOT/tests/cli/schedule.sh"`.

PG_DIR= PG_PORT= PG_URI= PG_SKIP= PG_KILLED=
_pg_watch= _pg_root=

# _pg_as CMD...: runs CMD as the server's user, from the private directory
# (as root, the test's own directory may be closed to that user).
_pg_as() {
  if [ -n "$_pg_root" ]; then
    (cd "$PG_DIR" && runuser -u postgres -- "$@")
  else
    (cd "$PG_DIR" && "$@")
  fi
}

# A port free at this moment; the server may still lose it to another
# process before it binds, so pg_start tries again on "Address in use".
_pg_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000))
}

# _pg_ready: waits, up to 60 s, until the server accepts connections.
_pg_ready() {
  _i=0
  while [ $_i -lt 600 ]; do
    "$PG_BIN/pg_isready" -q -h "$PG_DIR" -p "$PG_PORT" -t 5 && return 0
    [ -f "$PG_DIR/data/postmaster.pid" ] || return 1
    sleep 0.1; _i=$((_i + 1))
  done
  return 1
}

# _pg_halt: stops the server at once, whatever state it is in, and removes
# its directory. Shared by pg_stop and the watchdog.
_pg_halt() {
  [ -n "$PG_DIR" ] || return 0
  _pid=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null)
  if [ -n "$_pid" ]; then
    _pg_as "$PG_BIN/pg_ctl" stop -D data -m immediate -w -t 30 >/dev/null 2>&1 ||
      kill -KILL "$_pid" 2>/dev/null
  fi
  case $PG_DIR in /tmp/vouch-pg.*) rm -rf "$PG_DIR" ;; esac
}

# _pg_fail WHY LOG: reports a server that would not start, with the last
# lines of LOG (initdb.log or the server's log).
_pg_fail() {
  echo "# pg_start: $1"
  [ ! -s "$PG_DIR/$2" ] || tail -n 20 "$PG_DIR/$2" | sed "s|^|# $2: |"
  pg_stop
  return 2
}

pg_start() {
  PG_SKIP=
  if [ -z "${PG_BIN:-}" ]; then  # Debian's layout, else initdb on PATH
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$PG_BIN" ] || PG_BIN=$(dirname "$(command -v initdb 2>/dev/null || echo /nowhere/x)")
  fi
  for _b in initdb pg_ctl postgres pg_isready psql; do
    if [ ! -x "$PG_BIN/$_b" ]; then
      PG_SKIP="no PostgreSQL server installed (no $_b in $PG_BIN)"; return 1
    fi
  done
  if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
      PG_SKIP="running as root and there is no postgres user to run the server"; return 1
    fi
    _pg_root=1
  fi
  PG_DIR=$(mktemp -d /tmp/vouch-pg.XXXXXX) || { PG_DIR=; echo "# pg_start: mktemp failed"; return 2; }
  chmod 0755 "$PG_DIR"
  [ -z "$_pg_root" ] || chown postgres: "$PG_DIR"
  _pg_watch_start

  # No fsync anywhere: the data lives only as long as the test.
  _pg_as "$PG_BIN/initdb" -D data --auth=trust --no-sync -U postgres -E UTF8 \
    --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 || { _pg_fail "initdb failed" initdb.log; return 2; }
  cat >>"$PG_DIR/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR'
max_connections = 100
shared_buffers = 16MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  for _try in 1 2 3 4 5; do
    PG_PORT=$(_pg_free_port)
    [ ! -f "$PG_DIR/log" ] || : >"$PG_DIR/log"  # keeps its owner
    echo "port = $PG_PORT" >>"$PG_DIR/data/postgresql.conf"  # the last one counts
    _pg_as "$PG_BIN/pg_ctl" start -D data -l log -w -t 60 >/dev/null 2>&1 && break
    grep -q "Address already in use" "$PG_DIR/log" 2>/dev/null || break
  done
  _pg_ready || { _pg_fail "the server did not become ready" log; return 2; }
  _pg_su -c "create role vouch login" -c "create database vouch owner vouch" >/dev/null 2>&1 ||
    { _pg_fail "could not create the vouch role and database" log; return 2; }
  PG_URI=$(_pg_uri vouch)
  export PG_URI PG_DIR PG_PORT PG_BIN
}

# The watchdog: polls the test's shell and halts the server once it is gone.
_pg_watch_start() {
  _pg_parent=$$
  (trap '' INT HUP
   while kill -0 "$_pg_parent" 2>/dev/null; do sleep 1; done
   _pg_halt) </dev/null >/dev/null 2>&1 &
  _pg_watch=$!
}

# pg_restart: a fast shutdown and a start on the same directory, port and
# socket; returns once the server answers again.
pg_restart() {
  _pg_as "$PG_BIN/pg_ctl" restart -D data -l log -m fast -w -t 60 >/dev/null 2>&1 &&
    _pg_ready
}

# pg_kill_backends DB: ends every connection to the database DB (a name or
# a URI from pg_start or pg_newdb) and waits for them to go; sets PG_KILLED
# to how many there were.
pg_kill_backends() {
  _db=${1%%\?*}; _db=${_db##*/}
  PG_KILLED=$(_pg_su -v db="$_db" <<'EOF'
select count(pg_terminate_backend(pid, 10000)) from pg_stat_activity
 where datname = :'db' and pid <> pg_backend_pid();
EOF
) || return 1
}

# pg_run NAME CMD...: runs CMD, a test of its own, with its record on a new
# database NAME of the server (VOUCH_TEST_DB, which lib.sh's tests read,
# and VOUCH_DB, which vouch reads) and in a directory of its own,
# $TMP/NAME (so CMD names its files by absolute paths). Its TAP lines pass
# through with "pg: " before each name, so that a failure says which record
# it was on; returns CMD's exit status. CMD gets the server too (PG_DIR,
# PG_PORT, PG_BIN, and PG_RUNUSER=1 when its programs run as the postgres
# user), so that lib.sh's `record` makes it more databases; and
# XDG_CACHE_HOME in its directory, where vouch keeps its copies of the
# server's runs, so that no test writes the user's own.
pg_run() {
  _name=$1; shift
  if ! _db=$(pg_newdb "$_name"); then
    echo "not ok - pg: $_name: the database could not be made"; return 1
  fi
  mkdir -p "$TMP/$_name/.cache"
  { (cd "$TMP/$_name" && export PG_DIR PG_PORT PG_BIN PG_RUNUSER="$_pg_root" &&
     TEST_TMP="$TMP/$_name" XDG_CACHE_HOME="$TMP/$_name/.cache" VOUCH_TEST_DB="$_db" \
       VOUCH_DB="$_db" "$@")
    echo $? >"$TMP/$_name.rc"; } | sed -e 's/^ok - /ok - pg: /' -e 's/^not ok - /not ok - pg: /'
  return "$(cat "$TMP/$_name.rc")"
}

# pg_stop: stops the server (immediate mode) and removes its directory.
# Safe to call twice, and before or after a failed pg_start.
pg_stop() {
  [ -z "$_pg_watch" ] || kill "$_pg_watch" 2>/dev/null
  _pg_watch=
  _pg_halt
  PG_DIR= PG_URI=
}

# pg_not_run NAME...: reports checks that could not run: skipped when there
# is no server to run them on, failed when there is one that did not start.
pg_not_run() {
  for _n in "$@"; do
    if [ -n "$PG_SKIP" ]; then echo "ok - $_n # SKIP $PG_SKIP"
    else echo "not ok - $_n: PostgreSQL did not start"; fi
  done
}
