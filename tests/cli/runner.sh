#!/bin/sh
# tests/run.sh itself: a copy run over a tree of made-up tests must count a
# skipped check as skipped (never passed), a "not ok" and a silent non-zero
# exit as failures, and exit non-zero when anything failed.
. "$(dirname "$0")/lib.sh"

tree=$TMP/tree
mkdir -p "$tree/tests/cli" "$tree/tests/lua" "$tree/build/tests"
cp "$ROOT/tests/run.sh" "$tree/tests/run.sh"
cat > "$tree/tests/cli/mixed.sh" <<'T'
echo "ok - one"
echo "ok - two # SKIP no browser here"
echo "ok - three # skip lower case is a skip too"
echo "ok - four #SKIP"
echo "ok - five: the word SKIP in a name is no directive"
echo "not ok - six"
T
cat > "$tree/tests/cli/quiet_crash.sh" <<'T'
echo "ok - seven"
exit 3
T
cat > "$tree/tests/cli/clean.sh" <<'T'
echo "ok - eight"
T
out=$(cd "$tree" && VOUCH="$VOUCH" BUILD=build sh tests/run.sh 2>&1); rc=$?
last=$(printf '%s\n' "$out" | tail -n 1)
if [ "$last" = "4 passed, 2 failed, 3 skipped" ]; then echo "ok - run.sh: the summary counts skips apart"
else echo "not ok - run.sh: the summary counts skips apart: got '$last'"; printf '%s\n' "$out" | sed 's/^/# /'; fi
if [ "$rc" -ne 0 ]; then echo "ok - run.sh: failures make it exit non-zero"
else echo "not ok - run.sh: failures make it exit non-zero (exit $rc)"; fi
check "run.sh: a file with skips lists them" 0 'pass cli/clean.sh \(1\)' -- \
  sh -c "printf '%s\n' \"\$1\" | grep -A1 'FAIL cli/mixed.sh (2 passed, 1 failed, 3 skipped)' | grep -q 'not ok - six' && printf '%s\n' \"\$1\"" _ "$out"

rm "$tree/tests/cli/mixed.sh" "$tree/tests/cli/quiet_crash.sh"
echo 'echo "ok - nine # SKIP not here"' > "$tree/tests/cli/skips.sh"
out=$(cd "$tree" && VOUCH="$VOUCH" BUILD=build sh tests/run.sh 2>&1); rc=$?
check "run.sh: skips alone do not fail the run" 0 '^1 passed, 0 failed, 1 skipped$' -- \
  sh -c "printf '%s\n' \"\$1\"; exit $rc" _ "$out"
check "run.sh: a file's skipped checks are listed under it" 0 '^  ok - nine # SKIP not here$' -- \
  printf '%s\n' "$out"
