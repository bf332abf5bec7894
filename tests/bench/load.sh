#!/bin/sh
# load.sh: CSV and NDJSON loading in MB/s (the workload's partners file and
# the same rows as NDJSON): vouch's sources reading every row, and storing
# them with src:into, against Python's csv/json modules and the sqlite3
# shell's .import.
set -eu
. "$(dirname "$0")/lib.sh"
[ -n "$SHARED_BENCH" ] || { echo "# load.sh: no shared/bench kit, skipped" >&2; exit 0; }
N=${LOAD_ROWS:-200000}
csv=$(partners_csv "$N")
nd=${csv%.csv}.ndjson
[ -s "$nd" ] || python3 -c '
import csv, json, sys
def conv(v):
    if v == "": return None
    for f in (int, float):
        try: return f(v)
        except ValueError: pass
    return v
with open(sys.argv[1], newline="") as f, open(sys.argv[2], "w") as o:
    for r in csv.DictReader(f):
        o.write(json.dumps({k: conv(v) for k, v in r.items()}, ensure_ascii=False) + "\n")
' "$csv" "$nd"
mbs() { awk -v b="$(stat -c %s "$1")" -v s="$2" 'BEGIN { printf "%.1f", b / 1048576 / s }'; }
db=$BENCH_DIR/load.db
L="$ROOT/tests/bench/load.lua"
for f in csv ndjson; do
  file=$csv; [ $f = csv ] || file=$nd
  size=$(awk -v b="$(stat -c %s "$file")" 'BEGIN { printf "%.0f", b / 1048576 }')
  measure "$VOUCH" run --allow-read="$BENCH_DIR" "$L" $f "$file"
  row "load $f: vouch src:rows() ($size MB, $N rows)" "$(mbs "$file" "$WALL")" MB/s "$PEAK"
  measure "$VOUCH" run --allow-read="$BENCH_DIR" "$L" $f "$file" --field id
  row "load $f: vouch src:field('id'), rows passed over" "$(mbs "$file" "$WALL")" MB/s "$PEAK" \
    "CPU $(awk -v c="$CPU" -v n="$N" 'BEGIN { printf "%.2f", c / n * 1e6 }') s per million rows"
  measure sh -c "rm -f '$db'*; '$VOUCH' run --allow-read='$BENCH_DIR' --allow-write='$BENCH_DIR' '$L' $f '$file' '$db'"
  row "load $f: vouch src:into(db)" "$(mbs "$file" "$WALL")" MB/s "$PEAK"
  if [ $f = csv ]; then
    measure python3 -c 'import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1], newline=""))))' "$file"
    row "load csv: python3 csv.DictReader (peer)" "$(mbs "$file" "$WALL")" MB/s "$PEAK" "strings only, no conversion"
    measure sh -c "rm -f '$db'*; sqlite3 '$db' '.import --csv $file raw'"
    row "load csv: sqlite3 .import (C floor)" "$(mbs "$file" "$WALL")" MB/s "$PEAK" "strings only, no conversion"
  else
    measure python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)))' "$file"
    row "load ndjson: python3 json.loads per line (peer)" "$(mbs "$file" "$WALL")" MB/s "$PEAK"
  fi
done
rm -f "$db"*
