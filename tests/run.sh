#!/bin/sh
# Run every test and end with one line: "N passed, N failed".
#
# Each test program prints TAP-style lines ("ok - name", "not ok - name:
# why"); a program that exits non-zero without a "not ok" line counts as
# one failure. Programs: the C tests ($BUILD/tests/test-*), the Lua tests
# (tests/lua/*_test.lua, run by vouch itself) and the CLI tests
# (tests/cli/*.sh, which drive ./vouch as a subprocess).
#   VOUCH=./vouch BUILD=build sh tests/run.sh [PATTERN]
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
VOUCH=$(cd "$root" && realpath "${VOUCH:-./vouch}")
BUILD=${BUILD:-build}
pattern=${1:-}
export VOUCH CMOCKA_MESSAGE_OUTPUT=TAP NO_COLOR=1
work=$(mktemp -d "${TMPDIR:-/tmp}/vouch-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

run_one() {  # NAME CMD...
  name=$1; shift
  case "$name" in *"$pattern"*) ;; *) return 0 ;; esac
  out=$work/out; mkdir -p "$work/t" && rm -rf "$work/t"/* 2>/dev/null
  (cd "$work/t" && TEST_TMP="$work/t" "$@") >"$out" 2>"$work/err"
  rc=$?
  p=$(grep -c '^ok' "$out"); f=$(grep -c '^not ok' "$out")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $name exited with $rc" >>"$out"; fi
  pass=$((pass + p)); fail=$((fail + f))
  if [ "$f" -gt 0 ]; then
    echo "FAIL $name ($p passed, $f failed)"
    grep '^not ok' "$out" | sed 's/^/  /'
    sed 's/^/  stderr: /' "$work/err" | head -n 20
    grep -v '^ok' "$out" | grep -v '^not ok' | grep -v '^1\.\.' | sed 's/^/  /' | head -n 20
  else
    echo "pass $name ($p)"
  fi
}

for t in "$root/$BUILD"/tests/test-*; do
  [ -x "$t" ] && run_one "c/$(basename "$t")" "$t"
done
for t in "$root"/tests/lua/*_test.lua; do
  [ -f "$t" ] && run_one "lua/$(basename "$t")" "$VOUCH" run --allow-write="$work/t" \
    --allow-read="$root/tests,$root/examples,$root/scripts,$work/t" "$t"
done
for t in "$root"/tests/cli/*.sh; do
  [ -f "$t" ] && [ "$(basename "$t")" != lib.sh ] && run_one "cli/$(basename "$t")" sh "$t"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
