#!/bin/sh
# score.sh: scoring throughput, the scorecard library (vouch.scorecard, the
# workload's rules as a card) against the same rules by hand in plain Lua.
# Only scoring is timed (CPU seconds); both must give the same results.
set -eu
. "$(dirname "$0")/lib.sh"
[ -n "$SHARED_BENCH" ] || { echo "# score.sh: no shared/bench kit, skipped" >&2; exit 0; }
N=${SCORE_ROWS:-200000}
csv=$(partners_csv "$N")
pps() { awk -v n="$N" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
measure "$VOUCH" run --allow-read="$BENCH_DIR" "$ROOT/tests/bench/score.lua" "$csv" hand
h=$OUT; hpeak=$PEAK; hsum=$(head -n 1 "$BENCH_DIR/.measure.out")
measure "$VOUCH" run --allow-read="$BENCH_DIR" "$ROOT/tests/bench/score.lua" "$csv" card
c=$OUT; csum=$(head -n 1 "$BENCH_DIR/.measure.out")
agree="results agree"; [ "$hsum" = "$csum" ] || agree="RESULTS DIFFER: $hsum / $csum"
row "scoring: vouch.scorecard, $N partners" "$(pps "$c")" partners/s "$PEAK" "x$(ratio "$c" "$h") hand-written's time; $agree"
row "scoring: hand-written Lua, same rules" "$(pps "$h")" partners/s "$hpeak"
