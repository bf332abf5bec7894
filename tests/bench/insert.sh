#!/bin/sh
# insert.sh: bulk insert rows/s for the table: db:insert of arrays of rows
# against a plain C loop of prepared inserts (the storage bench's programs,
# insert.lua and insert_floor.c: the host schema's scores rows, one
# transaction, CPU seconds), with peak memory. storage.sh prints the same
# figures at 1,000,000 rows on its own.
set -eu
. "$(dirname "$0")/lib.sh"
N=${INSERT_ROWS:-200000}
w=$BENCH_DIR/insert; mkdir -p "$w"
cc -O2 -o "$w/insert_floor" "$ROOT/tests/bench/insert_floor.c" $(pkg-config --cflags --libs sqlite3)
fresh() {
  rm -f "$1" "$1-wal" "$1-shm"
  "$VOUCH" --db "$1" -e 'vouch.db.open():insert("runs", { id = 1, scorecard = "bench",
    scorecard_hash = "-", started_at = "2026-01-01T00:00:00Z", status = "ok" })'
}
: >"$w/c"; : >"$w/lua"; : >"$w/lua_all"; : >"$w/ckib"; : >"$w/luakib"
for i in $(seq "$RUNS"); do
  fresh "$w/c.db"
  /usr/bin/time -f %M -o "$w/t" "$w/insert_floor" "$w/c.db" "$N" >"$w/out"
  awk '{ printf "%f\n", $1 / $2 }' "$w/out" >>"$w/c"; tail -n 1 "$w/t" >>"$w/ckib"
  fresh "$w/lua.db"
  /usr/bin/time -f %M -o "$w/t" "$VOUCH" --db "$w/lua.db" --timeout 0 run "$ROOT/tests/bench/insert.lua" "$N" >"$w/out"
  awk '{ printf "%f\n", $1 / $2 }' "$w/out" >>"$w/lua"
  awk '{ printf "%f\n", $1 / $3 }' "$w/out" >>"$w/lua_all"; tail -n 1 "$w/t" >>"$w/luakib"
done
c=$(median <"$w/c"); l=$(median <"$w/lua"); a=$(median <"$w/lua_all")
mib() { sort -n "$1" | tail -n 1 | awk '{ printf "%.1f", $1 / 1024 }'; }
row "bulk insert: db:insert, $N scores rows" "$(printf %.0f "$l")" rows/s "$(mib "$w/luakib")" "C is x$(ratio "$c" "$l") faster (CPU s)"
row "bulk insert: same, building the rows too" "$(printf %.0f "$a")" rows/s "$(mib "$w/luakib")"
row "bulk insert: C prepared-statement loop" "$(printf %.0f "$c")" rows/s "$(mib "$w/ckib")" "the floor"
rm -rf "$w"
