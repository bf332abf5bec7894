#!/bin/sh
# workload.sh: the vetting workload (shared/bench/WORKLOAD.md) at 200,000
# and 1,000,000 partners through shared/bench/compare.sh, vouch beside its
# peers (C, Node, Python), every result digest checked. vouch runs
# examples/workload/vet.lua (the scorecard library), or, until that exists,
# tests/bench/vet_hand.lua. WORKLOAD_SIZES and WORKLOAD_RUNS (default 1:
# these runs are long) change what is run; PEERS as in compare.sh.
set -eu
. "$(dirname "$0")/lib.sh"
[ -n "$SHARED_BENCH" ] || { echo "# workload.sh: no shared/bench kit, skipped" >&2; exit 0; }
script=$ROOT/examples/workload/vet.lua
[ -f "$script" ] || script=$ROOT/tests/bench/vet_hand.lua
export VOUCH_CMD="$VOUCH run --allow-read=$BENCH_DIR --allow-write=$BENCH_DIR $script"
export BENCH_DIR
if [ -z "${PEERS+x}" ]; then
  # Node's peer needs better-sqlite3 from npm: use it only when it is there or installable.
  PEERS="c python"
  if command -v node >/dev/null && { [ -d "$BENCH_DIR/node/node_modules/better-sqlite3" ] ||
      (mkdir -p "$BENCH_DIR/node" && cp "$SHARED_BENCH/peers/node/package.json" "$SHARED_BENCH/peers/node/vet.js" "$BENCH_DIR/node/" &&
       cd "$BENCH_DIR/node" && timeout 120 npm install --no-audit --no-fund --loglevel=error >/dev/null 2>&1); }; then
    PEERS="c node python"
  fi
fi
export PEERS
for n in ${WORKLOAD_SIZES:-200000 1000000}; do
  out=$BENCH_DIR/workload-$n.out; : >"$out"
  for i in $(seq "${WORKLOAD_RUNS:-1}"); do
    (cd "$ROOT" && bash "$SHARED_BENCH/compare.sh" "$n" 1) >>"$out" 2>"$BENCH_DIR/workload.err" ||
      echo "# workload $n: $(tail -n 3 "$BENCH_DIR/workload.err" | tr '\n' ' ')" >&2
  done
  grep -q 'DIGESTS DIFFER' "$out" && agree="DIGESTS DIFFER" || agree="digests agree"
  vw=$(awk '$1 == "vouch" { print $2 }' "$out" | median)
  for who in vouch $PEERS; do
    w=$(awk -v w="$who" '$1 == w { print $2 }' "$out" | median)
    p=$(awk -v w="$who" '$1 == w { print $3 }' "$out" | sort -g | tail -n 1)
    [ -n "$w" ] || continue
    note="x$(ratio "$w" "$vw") vouch's time"
    [ "$who" = vouch ] && note="$(basename "$script"); $agree"
    row "workload $n partners: $who" "$w" s "$p" "$note"
  done
done
