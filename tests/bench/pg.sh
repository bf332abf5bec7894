#!/bin/sh
# pg.sh: the record on a PostgreSQL server (a real one, started here on
# this machine), beside the same on a SQLite file: `vouch vet` of
# PG_BENCH_N partners (default 1,000,000) stored on each, as the analyst
# runs it; then one run scored by one and by two processes (vet --shard),
# with the time per million partners per process, to size a cluster on
# paper. Each figure is the median of RUNS runs, each on a new database.
# PG_BENCH_SHARD_RULES: the scorecards of the sharding rows (default
# "supplier social_capital"; social_capital has portfolio rules, which
# judge the whole set in every shard).
set -u
. "$(dirname "$0")/lib.sh"
bench_root=$ROOT
. "$ROOT/tests/cli/lib.sh"
. "$ROOT/tests/cli/pg.sh"
ROOT=$bench_root
trap 'pg_stop' EXIT
if ! pg_start; then
  echo "# pg.sh: no PostgreSQL server to start (${PG_SKIP:-it would not start}), skipped" >&2
  exit 0
fi
export XDG_CACHE_HOME="$BENCH_DIR/pg-cache"
n=${PG_BENCH_N:-1000000}
csv=$(partners_csv "$n")
export VOUCH ROOT BENCH_DIR PG_DIR PG_PORT PG_BIN n csv
# pg-run.sh KIND ARGS: what is measured, as a program of its own (measure
# runs it under /usr/bin/time): "file" vets on a new file, "server" on a
# new database of the server, "shards N RULES" scores one run in N processes.
cat > "$BENCH_DIR/pg-run.sh" <<'EOF'
. "$ROOT/tests/cli/lib.sh"
newdb() { pg_newdb "bench_$$"; }
case $1 in
  file) rm -f "$BENCH_DIR/pg-file.db"*; exec "$VOUCH" --db "$BENCH_DIR/pg-file.db" vet "$csv" ;;
  server) exec "$VOUCH" --db "$(newdb)" vet "$csv" ;;
  shards)
    db=$(newdb) k=1 pids=
    while [ "$k" -le "$2" ]; do
      "$VOUCH" --db "$db" vet --rules "$3" "$csv" --shard "$k/$2" >/dev/null & pids="$pids $!"
      k=$((k + 1))
    done
    rc=0
    for p in $pids; do wait "$p" || rc=1; done
    [ "$(pg_sql "$db" "SELECT status || ' ' || partners FROM runs")" = "ok $n" ] || rc=1
    exit $rc ;;
esac
EOF
measure sh "$BENCH_DIR/pg-run.sh" file || exit 1
file_wall=$WALL file_peak=$PEAK
measure sh "$BENCH_DIR/pg-run.sh" server || exit 1
row "record: vet ${n} partners, SQLite file" "$file_wall" "s" "$file_peak" "stored, every partner printed"
row "record: vet ${n} partners, PostgreSQL" "$WALL" "s" "$PEAK" \
  "$(ratio "$WALL" "$file_wall")x the file's; staged, then sent with COPY"

for rules in ${PG_BENCH_SHARD_RULES:-supplier social_capital}; do
  measure sh "$BENCH_DIR/pg-run.sh" shards 1 "$rules" || exit 1
  one=$WALL one_peak=$PEAK
  measure sh "$BENCH_DIR/pg-run.sh" shards 2 "$rules" || exit 1
  row "shards: $rules, 1 process" "$one" "s" "$one_peak" \
    "$(awk -v w="$one" -v n="$n" 'BEGIN { printf "%.1f s per million partners per process", w / n * 1e6 }')"
  row "shards: $rules, 2 processes" "$WALL" "s" "$PEAK" "$(ratio "$one" "$WALL")x faster than 1"
done
