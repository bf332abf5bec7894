#!/bin/sh
# Run every test and end with one line: "N passed, N failed, N skipped".
#
# Each test program prints TAP-style lines ("ok - name", "not ok - name:
# why", "ok - name # SKIP why"); a skipped check counts as skipped, never as
# passed, and a program that exits non-zero without a "not ok" line counts
# as one failure. The exit status is 0 when nothing failed. Programs: the C tests ($BUILD/tests/test-*), the Lua tests
# (tests/lua/*_test.lua, run by vouch itself) and the CLI tests
# (tests/cli/*.sh, which drive ./vouch as a subprocess).
#   VOUCH=./vouch BUILD=build sh tests/run.sh [PATTERN]
# JOBS=N runs the tests in N lanes at once (default 2 under valgrind, else 1).
# VALGRIND=1 runs every vouch and C test program under valgrind memcheck
# (through a wrapper that $VOUCH names); a program with memcheck errors
# fails, and the errors are listed at the end (logs kept in $VALGRIND_LOGS).
# Tests whose point is timing (kills at random moments, soaks, a daemon's
# schedules) are skipped under valgrind, and so is manners.sh, which starts
# vouch 140 times to read the command line's help and usage, and so are the
# wrappers that run the scheduler's and the scoring commands' tests again
# on a PostgreSQL server (pg_schedule.sh, pg_report.sh ...), the daemons
# killed or cut off from their server (pg_failover.sh, pg_faults.sh) and
# the shards' processes stopped at a moment (pg_shard.sh); the plain and
# sanitizer runs cover them: VALGRIND_SKIP lists them. `make test
# SANITIZE=1` skips the wrappers and pg_failover.sh too (SANITIZE_SKIP):
# the server's own code runs under the sanitizers in pg_record.sh,
# pg_faults.sh and pg_shard.sh, and the plain run has the rest; under
# valgrind, pg_record.sh stores, sends and copies runs.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
VOUCH=$(cd "$root" && realpath "${VOUCH:-./vouch}")
BUILD=${BUILD:-build}
pattern=${1:-}
export VOUCH CMOCKA_MESSAGE_OUTPUT=TAP NO_COLOR=1
work=$(mktemp -d "${TMPDIR:-/tmp}/vouch-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
pass=0 fail=0 skip=0

vg=
if [ "${VALGRIND:-0}" = 1 ]; then
  VALGRIND_LOGS=${VALGRIND_LOGS:-$root/valgrind-out}
  VALGRIND_SKIP=${VALGRIND_SKIP-kill.sh daemon.sh soak.sh faults.sh manners.sh pg_schedule.sh pg_schedule_lua.sh pg_daemon.sh pg_trust_schedule.sh pg_failover.sh pg_faults.sh pg_shard.sh pg_report.sh pg_scorecard.sh pg_own_dimensions.sh pg_formats.sh pg_listing.sh pg_xlsx.sh pg_monitor.sh pg_retention.sh pg_serve.sh pg_trust_db.sh pg_vet_scale.sh pg_errors.sh pg_scorecard_errors.sh pg_sources.sh pg_loading.sh pg_db.sh pg_kill.sh pg_soak.sh pg_concurrency.sh pg_db_lua.sh}
  rm -rf "$VALGRIND_LOGS"; mkdir -p "$VALGRIND_LOGS" "$work/vg"
  # Definite and indirect leaks count as errors; "possible" ones are
  # libuv's and glibc's thread stacks, kept until exit on purpose.
  # Origins of uninitialised values are not tracked: that doubles the time
  # of the whole suite; to find where one came from, run the failing test
  # again with VALGRIND_OPTS=--track-origins=yes.
  vg="$(command -v valgrind) -q --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --num-callers=30
    --suppressions=$root/tests/valgrind.supp --log-file=$VALGRIND_LOGS/vg.%p"
  printf '#!/bin/sh\nexec %s "%s" "$@"\n' "$(echo $vg)" "$VOUCH" >"$work/vg/vouch"
  chmod +x "$work/vg/vouch"
  VOUCH=$work/vg/vouch
  export VALGRIND_LOGS
fi

# JOBS lanes run the tests at once (default 2 under valgrind, whose
# programs each keep one core busy; else 1): the Nth test matched goes to
# lane N mod JOBS, each lane with a directory of its own, and their reports
# are printed lane by lane. Every test passes on a loaded machine.
JOBS=${JOBS:-$([ -n "$vg" ] && echo 2 || echo 1)}
LANE=0 idx=0 lw=$work

run_one() {  # NAME CMD...
  name=$1; shift
  case "$name" in *"$pattern"*) ;; *) return 0 ;; esac
  idx=$((idx + 1))
  [ $(((idx - 1) % JOBS)) -eq "$LANE" ] || return 0
  if [ -n "$vg" ] && case " $VALGRIND_SKIP " in *" ${name#*/} "*) true ;; *) false ;; esac; then
    echo "skip $name (not under valgrind: VALGRIND_SKIP)"
    skip=$((skip + 1))
    return 0
  fi
  if case " ${SANITIZE_SKIP:-} " in *" ${name#*/} "*) true ;; *) false ;; esac; then
    echo "skip $name (not under the sanitizers: SANITIZE_SKIP)"
    skip=$((skip + 1))
    return 0
  fi
  out=$lw/out; mkdir -p "$lw/t" && rm -rf "$lw/t"/* 2>/dev/null
  (cd "$lw/t" && TEST_TMP="$lw/t" "$@") >"$out" 2>"$lw/err"
  rc=$?
  # TAP's directive is "# SKIP" after the description, in any case.
  s=$(grep -ci '^ok[^#]*#[[:space:]]*skip' "$out")
  p=$(($(grep -c '^ok' "$out") - s)); f=$(grep -c '^not ok' "$out")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $name exited with $rc" >>"$out"; fi
  pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
  if [ "$f" -gt 0 ]; then
    echo "FAIL $name ($p passed, $f failed, $s skipped)"
    grep '^not ok' "$out" | sed 's/^/  /'
    sed 's/^/  stderr: /' "$lw/err" | head -n 20
    grep -v '^ok' "$out" | grep -v '^not ok' | grep -v '^1\.\.' | sed 's/^/  /' | head -n 20
  elif [ "$s" -gt 0 ]; then
    echo "pass $name ($p passed, $s skipped)"
    grep -i '^ok[^#]*#[[:space:]]*skip' "$out" | sed 's/^/  /'
  else
    echo "pass $name ($p)"
  fi
}

run_all() {
  for t in "$root/$BUILD"/tests/test-*; do
    [ -x "$t" ] && run_one "c/$(basename "$t")" $vg "$t"
  done
  for t in "$root"/tests/lua/*_test.lua; do
    [ -f "$t" ] && run_one "lua/$(basename "$t")" "$VOUCH" run --allow-write="$lw/t" \
      --allow-read="$root/tests,$root/examples,$root/scripts,$lw/t" "$t"
  done
  for t in "$root"/tests/cli/*.sh; do
    case $(basename "$t") in lib.sh|pg.sh) continue ;; esac
    [ -f "$t" ] && run_one "cli/$(basename "$t")" sh "$t"
  done
}

if [ "$JOBS" -le 1 ]; then
  run_all
else
  k=0
  while [ "$k" -lt "$JOBS" ]; do
    (LANE=$k lw=$work/lane$k; mkdir -p "$lw"; run_all >"$work/lane$k.report"
     echo "$pass $fail $skip" >"$work/lane$k.counts") &
    k=$((k + 1))
  done
  wait
  k=0
  while [ "$k" -lt "$JOBS" ]; do
    cat "$work/lane$k.report"
    if read -r p f s <"$work/lane$k.counts"; then
      pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    else
      echo "FAIL lane $k (it did not finish)"; fail=$((fail + 1))
    fi
    k=$((k + 1))
  done
fi

if [ -n "$vg" ]; then
  # With -q memcheck writes nothing unless it found something. Lines of
  # valgrind's own ("--PID-- WARNING: unhandled syscall: 437", openat2,
  # which the host then does without) are not memcheck's findings.
  bad=$(for f in $(find "$VALGRIND_LOGS" -name 'vg.*' -size +0 | sort); do
          grep -qv -- '^--[0-9]*-- ' "$f" && echo "$f"; done)
  for f in $bad; do
    echo "valgrind: $(basename "$f"): $(grep -m1 'Command:' "$f" | sed 's/.*Command: //')"
    grep -v '^==[0-9]*== *$' "$f" | head -n 30 | sed 's/^/  /'
  done
  echo "valgrind: $(ls "$VALGRIND_LOGS" | wc -l) processes, $(echo $bad | wc -w) with errors (logs in $VALGRIND_LOGS)"
  [ -z "$bad" ] || fail=$((fail + 1))
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
