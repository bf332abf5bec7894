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
