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
