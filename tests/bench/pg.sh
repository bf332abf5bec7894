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
# server_cpu: the CPU seconds the server has used so far: the postmaster's
# own and those of the children it reaped (the backends of connections
# that ended), and its living children's (clock ticks in /proc/PID/stat).
server_cpu() {
  cat /proc/[0-9]*/stat 2>/dev/null |
    awk -v pm="$(head -n 1 "$PG_DIR/data/postmaster.pid")" -v hz="$(getconf CLK_TCK)" '
      $1 == pm { t += $14 + $15 + $16 + $17 } $4 == pm { t += $14 + $15 }
      END { printf "%.2f\n", t / hz }'
}
# measure_pg KIND ARGS: measure pg-run.sh KIND ARGS; SRV is the server's CPU
# seconds per run (the mean), CPU vouch's (the median).
measure_pg() {
  _c0=$(server_cpu)
  measure sh "$BENCH_DIR/pg-run.sh" "$@" || return 1
  sleep 0.5  # the last backend reaped
  SRV=$(awk -v a="$_c0" -v b="$(server_cpu)" -v r="$RUNS" 'BEGIN { printf "%.2f", (b - a) / r }')
}
# per_m SECONDS: seconds per million partners
per_m() { awk -v s="$1" -v n="$n" 'BEGIN { printf "%.1f", s / n * 1e6 }'; }

measure_pg file || exit 1
file_wall=$WALL file_peak=$PEAK
measure_pg server || exit 1
row "record: vet ${n} partners, SQLite file" "$file_wall" "s" "$file_peak" "stored, every partner printed"
row "record: vet ${n} partners, PostgreSQL" "$WALL" "s" "$PEAK" \
  "$(ratio "$WALL" "$file_wall")x the file's; staged, then sent with COPY; CPU: vouch ${CPU} s, server ${SRV} s"

# Time per million partners per process, and CPU per million partners (of
# vouch and of the server), to size a cluster on paper. One process keeps
# `busy` of the machine's cores at work (its scoring, its loader's and its
# store's threads, and the server's backend): on this machine's `cores`,
# processes that share them can be at most cores / busy times faster.
cores=$(getconf _NPROCESSORS_ONLN)
for rules in ${PG_BENCH_SHARD_RULES:-supplier social_capital}; do
  measure_pg shards 1 "$rules" || exit 1
  one=$WALL one_peak=$PEAK one_cpu=$CPU one_srv=$SRV
  measure_pg shards 2 "$rules" || exit 1
  busy=$(awk -v c="$one_cpu" -v s="$one_srv" -v w="$one" 'BEGIN { printf "%.2f", (c + s) / w }')
  row "shards: $rules, 1 process" "$one" "s" "$one_peak" \
    "$(per_m "$one") s per million partners per process; CPU per million: vouch $(per_m "$one_cpu") s, server $(per_m "$one_srv") s; $busy cores busy"
  row "shards: $rules, 2 processes" "$WALL" "s" "$PEAK" \
    "$(ratio "$one" "$WALL")x faster than 1 (at most $(ratio "$cores" "$busy")x on $cores cores); CPU per million: vouch $(per_m "$CPU") s, server $(per_m "$SRV") s"
done
