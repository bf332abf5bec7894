#!/bin/sh
# user_path.sh: the analyst's path, `vouch vet` with the default scorecard
# (every rule's outcome stored, explainable), stored and with --no-store,
# beside the workload script on the same CSV, through shared/bench's
# user_path.sh (which also runs a tenth of the size, to show the growth).
# USER_PATH_N (default 100000) is the size. One run each: these are long.
set -eu
. "$(dirname "$0")/lib.sh"
[ -n "$SHARED_BENCH" ] || { echo "# user_path.sh: no shared/bench kit, skipped" >&2; exit 0; }
n=${USER_PATH_N:-100000}

# up ARGS: user_path.sh at $n with VET_ARGS=ARGS; prints its lines for $n.
up() {
  (cd "$ROOT" && VET_ARGS=$1 BENCH_DIR=$BENCH_DIR bash "$SHARED_BENCH/user_path.sh" "$n" 1) \
    >"$BENCH_DIR/user_path.log" 2>&1 ||
    { echo "# user_path.sh $n: $(tail -n 3 "$BENCH_DIR/user_path.log" | tr '\n' ' ')" >&2; return 1; }
  grep -E -- "-$n " "$BENCH_DIR/user_path.out"
}

stored=$(up "") || exit 1
bare=$(up "--no-store") || exit 1
wl=$(echo "$stored" | awk '$1 ~ /^workload/ { print $2, $3 }')
echo "$stored" | awk '$1 ~ /^vet/ { print $2, $3, $4 }' | {
  read -r w p db
  row "vet $n partners: stored" "$w" s "$p" "x$(ratio "$w" "${wl% *}") the workload; db ${db} MiB"
}
echo "$bare" | awk '$1 ~ /^vet/ { print $2, $3 }' | {
  read -r w p
  row "vet $n partners: --no-store" "$w" s "$p" "x$(ratio "$w" "${wl% *}") the workload"
}
row "vet $n partners: workload script" "${wl% *}" s "${wl#* }" "examples/workload/vet.lua"
