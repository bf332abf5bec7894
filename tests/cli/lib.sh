# lib.sh: helpers for CLI tests, which drive vouch as a subprocess and check
# the exit code and the output together (as SQLite's shell tests do).
#   . "$(dirname "$0")/lib.sh"
#   check NAME CODE PATTERN -- CMD ARGS...
# runs CMD, and passes when it exits with CODE and its stdout+stderr
# matches the extended regular expression PATTERN (empty: anything).
: "${VOUCH:?VOUCH must name the vouch binary}"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=${TEST_TMP:-$(mktemp -d)}

check() {
  _name=$1 _code=$2 _pat=$3; shift 4
  _out=$("$@" 2>&1); _rc=$?
  if [ "$_rc" -ne "$_code" ]; then
    echo "not ok - $_name: exit $_rc, expected $_code"
    printf '%s\n' "$_out" | head -n 15 | sed 's/^/# /'
  elif [ -n "$_pat" ] && ! printf '%s\n' "$_out" | grep -Eq -- "$_pat"; then
    echo "not ok - $_name: output does not match /$_pat/"
    printf '%s\n' "$_out" | head -n 15 | sed 's/^/# /'
  else
    echo "ok - $_name"
  fi
}

# ok NAME COMMAND...: passes when the command succeeds (for checks on files).
ok() {
  _name=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ok - $_name"; else echo "not ok - $_name"; fi
}

# serve_start ARGS...: `vouch ARGS... serve --port 0` in the background, its
# output in serve.out and serve.err; sets SERVE_PID and URL (the printed
# link), BASE (without the token) and TOKEN. Stop it with kill -INT.
serve_start() {
  "$VOUCH" "$@" serve --port 0 >serve.out 2>serve.err &
  SERVE_PID=$!
  for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
    grep -q "token=" serve.out 2>/dev/null && break
    sleep 0.5
  done
  URL=$(grep -o 'http://[^ ]*' serve.out)
  BASE=${URL%%/?token=*}
  TOKEN=${URL##*token=}
}

# {== the record: a SQLite file or a PostgreSQL server ==}
# A test of the scheduler keeps its record in a file of its own,
#   export VOUCH_DB="${VOUCH_TEST_DB:-$TMP/s.db}"
# unless VOUCH_TEST_DB names another: the pg_*.sh wrappers set it to a
# database of a server they started (pg.sh's pg_run) and run the same test
# there. The variable is the test suite's own, so that a VOUCH_DB of the
# user's is never written to. on_pg says whether the record is on a server,
# and a check that only makes sense on one kind of record runs only there.
on_pg() {
  case ${VOUCH_TEST_DB:-} in postgres://*|postgresql://*) return 0 ;; esac
  return 1
}

# q [SQL]: runs SQL (else the statements on stdin) on $VOUCH_DB, with
# sqlite3 on a file and psql on a server, which print rows alike: columns
# joined by |, NULL as nothing. Their SQL differs; write what both take.
# Booleans print as 1 and t: compare with CASE WHEN ... THEN 1 ELSE 0 END.
# group_concat is SQLite's and string_agg PostgreSQL's: join rows with rows.
q() {
  case $VOUCH_DB in
    postgres://*|postgresql://*)
      "${PG_BIN:+$PG_BIN/}psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$VOUCH_DB" ${1+-c} ${1+"$1"} ;;
    *) sqlite3 "$VOUCH_DB" ${1+"$1"} ;;
  esac
}

# rows SQL: the rows of q SQL on one line, separated by spaces.
rows() { q "$1" | paste -sd ' ' -; }

# only_file WHY check|ok NAME ...: the check, on a file's record; on a
# server, where it means nothing (a file's size, its schema version ...),
# NAME is reported skipped for WHY, never passed.
only_file() {
  _why=$1; shift
  if on_pg; then echo "ok - $2 # SKIP $_why"; else "$@"; fi
}

# A test that keeps several records of its own names each of them by
#   A=$(record a)
# which is the file $TMP/a.db, or, under a pg_*.sh wrapper, a new database
# of that wrapper's server, made on first use (the same NAME gives the same
# one again). NAME is lower-case letters, digits and _.
record() {
  case $1 in ''|*[!a-z0-9_]*) echo "record: bad name '$1'" >&2; return 2 ;; esac
  if ! on_pg; then echo "$TMP/$1.db"; return 0; fi
  _rdb=${VOUCH_TEST_DB%%\?*}; _rdb=${_rdb##*/}_$1  # apart from other wrappers' records
  if [ -z "$(_pg_su -c "SELECT 1 FROM pg_database WHERE datname = '$_rdb'")" ]; then
    pg_newdb "$_rdb"
  else
    _pg_uri "$_rdb"
  fi
}

# on_server RECORD: whether RECORD (a --db argument) is on a server.
on_server() {
  case $1 in postgres://*|postgresql://*) return 0 ;; esac
  return 1
}

# seed FILE RECORD: copies the scoring runs of the SQLite file FILE (runs,
# their scorecards, loads, inputs and scores, and the partners) into
# RECORD when it is on a server, with their ids, as the rows a test writes
# by hand into a file's record; the server's own ids then go on after
# them. RECORD is migrated first. On a file it does nothing.
seed() {
  on_server "$2" || return 0
  "$VOUCH" --db "$2" runs >/dev/null || return 1
  for _t in "scorecards:hash, name, dimensions, weights, source, rules" \
            "loads:id, source, format, hash, rows, bad_rows, target, loaded_at, size, columns" \
            "runs:id, scorecard, scorecard_hash, inputs, started_at, ended_at, status, started_by, pid, partners, error" \
            "run_loads:run_id, load_id" "inputs:load_id, row, vals" \
            "scores:run_id, partner_id, name, kind, total, verdict, dims, reasons, load_id, row" \
            "partners:id, name, kind, attrs, first_seen, last_seen"; do
    _cols=${_t#*:}
    # sqlite3 writes each row as an INSERT of quoted values, which both take
    sqlite3 "$1" "SELECT 'INSERT INTO ${_t%%:*}($_cols) VALUES (' ||
                  quote($(echo "$_cols" | sed "s/, /) || ',' || quote(/g")) || ');' FROM ${_t%%:*}"
  done | { cat; echo "SELECT setval(pg_get_serial_sequence('runs', 'id'), coalesce(max(id), 0) + 1, false) FROM runs;
SELECT setval(pg_get_serial_sequence('loads', 'id'), coalesce(max(id), 0) + 1, false) FROM loads;"; } |
    "${PG_BIN:+$PG_BIN/}psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$2" >/dev/null
}

# The server of a pg_*.sh wrapper, which pg_run names to the test it runs
# (PG_DIR, PG_PORT, PG_BIN): pg.sh starts it, and these reach it.

# _pg_su ARGS...: psql as the superuser, on the maintenance database.
_pg_su() {
  "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -p "$PG_PORT" \
    -U postgres -d postgres "$@"
}

_pg_uri() { echo "postgresql://vouch@/$1?host=$PG_DIR&port=$PG_PORT"; }

# pg_newdb NAME: a new, empty database NAME owned by vouch; prints its URI.
pg_newdb() {
  case $1 in ''|*[!a-z0-9_]*) echo "pg_newdb: bad name '$1'" >&2; return 2 ;; esac
  _pg_su -c "create database $1 owner vouch" >/dev/null || return 1
  _pg_uri "$1"
}

# pg_sql URI SQL: runs SQL and prints its rows as `psql -At` does.
pg_sql() {
  "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}
