#!/bin/sh
# run.sh: `make bench`. Runs every part (tests/bench/*.sh but lib.sh and
# run.sh; the workload first) and prints one table. Each part's figures are
# medians of RUNS runs (default 3) with the peak RSS of the largest (by
# /usr/bin/time). Data and scratch files go to BENCH_DIR (default
# /tmp/vouch-bench). `sh tests/bench/run.sh PART...` runs some parts only:
#   sh tests/bench/run.sh load insert
# Parts: workload (shared/bench/compare.sh at 200k and 1M partners; sizes in
# WORKLOAD_SIZES), load (CSV and NDJSON MB/s), insert (bulk rows/s against
# C), score (scorecard library against hand-written Lua), host (start-up,
# sandbox cost), and whatever other parts the branches add (storage.sh, the
# storage bench's own report at 1M rows, runs only by name).
set -u
here=$(cd "$(dirname "$0")" && pwd)
parts=${*:-workload $(cd "$here" && ls *.sh | sed 's/\.sh$//' | grep -v '^lib$\|^run$\|^workload$\|^storage$' | tr '\n' ' ')}
. "$here/lib.sh"
echo "vouch $("$VOUCH" --version | head -n 1 | cut -d' ' -f2), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), RUNS=$RUNS"
row "what" "value" "unit" "peak_MiB" "note"
status=0
for p in $parts; do
  sh "$here/$p.sh" || { echo "# part $p failed" >&2; status=1; }
done
exit $status
