#!/bin/sh
# insert.sh: bulk insert rows/s, db:insert(table, rows) against a plain C
# loop over one prepared statement (insert_floor.c), same rows and pragmas.
set -eu
. "$(dirname "$0")/lib.sh"
N=${INSERT_ROWS:-200000}
floor=$BENCH_DIR/insert_floor
cc -O2 -o "$floor" "$ROOT/tests/bench/insert_floor.c" -lsqlite3
fresh() { rm -f "$BENCH_DIR/ins.db" "$BENCH_DIR/ins.db-wal" "$BENCH_DIR/ins.db-shm"; }
rps() { awk -v n="$N" -v s="$1" 'BEGIN { printf "%.0f", n / s }'; }
measure sh -c "rm -f '$BENCH_DIR'/ins.db*; '$floor' '$BENCH_DIR/ins.db' $N"
c=$OUT; cpeak=$PEAK
measure sh -c "rm -f '$BENCH_DIR'/ins.db*; '$VOUCH' run --allow-write='$BENCH_DIR' '$ROOT/tests/bench/insert.lua' '$BENCH_DIR/ins.db' $N"
v=$OUT
row "bulk insert: db:insert, $N rows x 8 cols" "$(rps "$v")" rows/s "$PEAK" "x$(ratio "$v" "$c") the C floor's time"
row "bulk insert: C prepared-statement loop" "$(rps "$c")" rows/s "$cpeak" "CPU time of the insert"
fresh
