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
# sandbox cost), user_path (`vouch vet` stored and --no-store beside the
# workload script, USER_PATH_N partners); then, as detail, the parts the branches added with their
# own reports (loading.sh, scorecard.sh; storage.sh only by name); http_pages
# (10,000 pages through vouch.http.pages, 16 tasks: requests/s, peak memory);
# serve (`vouch serve` on runs of 100,000 and 1,000,000 partners: first
# page, answers' medians, requests/s under wrk).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
# The table's parts (they source lib.sh), the workload first; then the
# branches' own reports (loading.sh, scorecard.sh, ...) as detail below it.
# storage.sh (1M rows, three times) runs only by name: insert.sh measures
# the same programs for the table.
all=$(cd "$here" && ls *.sh | sed 's/\.sh$//' | grep -v '^lib$\|^run$')
table= detail=
for p in ${*:-$all}; do
  [ -z "$*" ] && [ "$p" = storage ] && continue
  if grep -q 'lib\.sh' "$here/$p.sh"; then
    [ "$p" = workload ] && table="workload $table" || table="$table $p"
  else
    detail="$detail $p"
  fi
done
echo "vouch $("$VOUCH" --version | head -n 1 | cut -d' ' -f2), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), RUNS=$RUNS"
row "what" "value" "unit" "peak_MiB" "note"
status=0
for p in $table; do
  sh "$here/$p.sh" || { echo "# part $p failed" >&2; status=1; }
done
for p in $detail; do
  echo "# -- $p.sh --"
  sh "$here/$p.sh" 2>&1 | sed 's/^/#   /'
done
exit $status
