# scorecard.sh: the vetting workload (../shared/bench/WORKLOAD.md) with
# vouch.scorecard (examples/workload/vet.lua) beside its peers, through the
# shared compare.sh (digests must agree), then the library against the same
# job written by hand (tests/bench/workload_hand.lua) on the same CSV.
# Goals: within 1.5x of the C peer, 3x faster than Node.js and Python, under
# 64 MiB; the library within 15% of hand-written Lua.
#   N=1000000 PEERS="c node python" sh tests/bench/scorecard.sh
set -eu
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VOUCH=${VOUCH:-$ROOT/vouch}
N=${N:-1000000}
BENCH=/work/shared/bench
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/vouch-bench}
cd "$ROOT"
bash "$BENCH/compare.sh" "$N"
csv=$dir/partners-$N-1.csv
work=$(mktemp -d "${TMPDIR:-/tmp}/vouch-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
one() {  # NAME SCRIPT: user+sys seconds of one run
  /usr/bin/time -f "%U %S" -o "$work/t" "$VOUCH" run --allow-read="$dir" --allow-write="$work" \
    "$2" "$csv" "$work/$1.db" >/dev/null
  awk '{ printf "%.2f", $1 + $2 }' "$work/t"
}
lib=$(one lib examples/workload/vet.lua)
hand=$(one hand tests/bench/workload_hand.lua)
same=$([ "$(sh "$BENCH/check.sh" "$work/lib.db")" = "$(sh "$BENCH/check.sh" "$work/hand.db")" ] && echo yes || echo NO)
awk -v l="$lib" -v h="$hand" -v s="$same" 'BEGIN {
  printf "cpu seconds: library %.2f, by hand %.2f (library/hand %.2f); same result: %s\n", l, h, l / h, s }'
