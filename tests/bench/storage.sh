# storage.sh: rows per second of bulk insert through the Lua API (db:insert
# of arrays of rows) against the physical floor, a plain C loop of prepared
# inserts of the same rows (insert_floor.c), both into the host schema's
# scores table (composite primary key, one index, a foreign key) in one
# transaction. CPU time, median of 3 runs. Goal: Lua within 1.5x of C.
#   ROWS=1000000 RUNS=3 sh tests/bench/storage.sh
set -eu
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VOUCH=${VOUCH:-$ROOT/vouch}
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/vouch-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
bench=$ROOT/tests/bench
cc -O2 -o "$work/insert_floor" "$bench/insert_floor.c" $(pkg-config --cflags --libs sqlite3)

# A fresh host database holding run 1, which the scores point at.
fresh() {
  rm -f "$1" "$1-wal" "$1-shm"
  "$VOUCH" --db "$1" -e 'vouch.db.open():insert("runs", { id = 1, scorecard = "bench",
    scorecard_hash = "-", started_at = "2026-01-01T00:00:00Z", status = "ok" })'
}

div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f\n", a / b }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: > "$work/c"; : > "$work/lua"; : > "$work/lua_all"
i=1
while [ "$i" -le "$RUNS" ]; do
  fresh "$work/c.db"
  set -- $("$work/insert_floor" "$work/c.db" "$ROWS")
  div "$1" "$2" >> "$work/c"
  fresh "$work/lua.db"
  set -- $("$VOUCH" --db "$work/lua.db" --timeout 0 run "$bench/insert.lua" "$ROWS")
  div "$1" "$2" >> "$work/lua"
  div "$1" "$3" >> "$work/lua_all"
  for db in c lua; do
    got=$(sqlite3 "$work/$db.db" "SELECT count(*) FROM scores")
    [ "$got" = "$ROWS" ] || { echo "storage: $db inserted $got rows, not $ROWS" >&2; exit 1; }
  done
  i=$((i + 1))
done
c=$(median < "$work/c"); lua=$(median < "$work/lua"); all=$(median < "$work/lua_all")
printf 'bulk insert of %s scores rows, median of %s runs (rows per CPU second):\n' "$ROWS" "$RUNS"
printf '  C floor (prepared INSERT loop)      %10.0f rows/s\n' "$c"
printf '  Lua db:insert (arrays of rows)      %10.0f rows/s   C/Lua = %.2f (goal <= 1.5)\n' \
  "$lua" "$(div "$c" "$lua")"
printf '  Lua building the rows + db:insert   %10.0f rows/s\n' "$all"
