# lib.sh: helpers for the benchmark parts (sourced by tests/bench/*.sh).
# Each part prints rows of one table through `row`; run.sh puts them
# together. Figures are medians of RUNS runs (default 3) with the peak
# resident memory of the largest run, measured by /usr/bin/time.
RUNS=${RUNS:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
VOUCH=${VOUCH:-$ROOT/vouch}
BENCH_DIR=${BENCH_DIR:-${TMPDIR:-/tmp}/vouch-bench}
mkdir -p "$BENCH_DIR"
# The shared workload kit (gen_partners.py, compare.sh, peers): ../shared/bench
# beside the repository, or beside the main checkout when this is a worktree.
SHARED_BENCH=${SHARED_BENCH:-}
if [ -z "$SHARED_BENCH" ]; then
  for _d in "$ROOT/../shared/bench" \
      "$(dirname "$(git -C "$ROOT" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || echo /nonexistent)")/../shared/bench"; do
    if [ -f "$_d/compare.sh" ]; then SHARED_BENCH=$(cd "$_d" && pwd); break; fi
  done
fi

# row WHAT VALUE UNIT PEAK_MIB [NOTE]: one line of the table.
row() {
  printf '%-44s %12s %-8s %9s  %s\n' "$1" "$2" "$3" "$4" "${5:-}"
}

# measure CMD...: run CMD $RUNS times; sets WALL to the median wall seconds,
# PEAK to the largest peak RSS in MiB, CPU to the median CPU seconds (user
# and system) of CMD and the children it waited for, and OUT to the median
# of the numbers CMD printed last (for programs that time their own inner
# part). A failing run prints its error, leaves WALL "failed" and returns 1.
measure() {
  _m=$BENCH_DIR/.measure; : >"$_m"; : >"$_m.vals"; : >"$_m.cpu"
  WALL=failed PEAK=- OUT=- CPU=-
  for _i in $(seq "$RUNS"); do
    _s=$(date +%s%N)
    if ! /usr/bin/time -f '%U %S %M' -o "$_m.t" "$@" >"$_m.out" 2>"$_m.err"; then
      echo "# failed: $*: $(tail -n 3 "$_m.err" | tr '\n' ' ')" >&2
      return 1
    fi
    _e=$(date +%s%N)
    echo "$(( (_e - _s) / 1000 )) $(tail -n 1 "$_m.t" | awk '{ print $3 }')" >>"$_m"
    tail -n 1 "$_m.t" | awk '{ print $1 + $2 }' >>"$_m.cpu"
    tail -n 1 "$_m.out" >>"$_m.vals"
  done
  OUT=$(median <"$_m.vals")
  CPU=$(median <"$_m.cpu")
  WALL=$(sort -n "$_m" | awk '{ v[NR] = $1 } END { printf "%.4f", v[int((NR + 1) / 2)] / 1e6 }')
  PEAK=$(sort -n -k2 "$_m" | tail -n 1 | awk '{ printf "%.1f", $2 / 1024 }')
}

# median of numbers on stdin
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# ratio A B: A / B to two places
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# A partners CSV of N rows (the workload's generator), made once.
partners_csv() {
  _f=$BENCH_DIR/partners-$1-1.csv
  [ -s "$_f" ] || python3 "$SHARED_BENCH/gen_partners.py" "$1" "$_f" 1
  echo "$_f"
}
