# loading.sh: vouch.load.csv on the workload's partners CSV: rows() into Lua
# tables and into(db) straight into SQLite, beside sqlite3's own
# `.import --csv` of the same file (a peer), with wall time, MB/s, rows/s and
# peak memory (/usr/bin/time %M); cpu is user + system time, steadier than
# wall time on a shared machine. Then rows() over a ~1 GB file (the same
# rows eight times), whose peak memory must stay under 64 MiB.
# Goals: into faster than .import; 1 GB rows() under 64 MiB.
#   FILE=partners.csv sh tests/bench/loading.sh
set -eu
ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
VOUCH=${VOUCH:-$ROOT/vouch}
cache=/tmp/vouch-bench
mkdir -p "$cache"
FILE=${FILE:-$cache/partners-1000000-1.csv}
if [ ! -f "$FILE" ]; then
  echo "generating $FILE"
  python3 /work/shared/bench/gen_partners.py 1000000 "$FILE" 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/vouch-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

bytes=$(stat -c %s "$FILE")
# Rows (records, not lines: quoted fields hold line breaks), counted once.
rows=$("$VOUCH" --timeout 0 --allow-read="$FILE" -e "
  local n = 0 for _ in vouch.load.csv('$FILE'):rows() do n = n + 1 end print(n)")

# measure NAME CMD...: one run; prints the figures and keeps the seconds.
measure() {
  name=$1; shift
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" > "$work/out"
  set -- $(cat "$work/time")
  secs=$1 kb=$2 cpu=$(awk -v u="$3" -v s="$4" 'BEGIN { print u + s }')
  awk -v n="$name" -v s="$secs" -v kb="$kb" -v b="$bytes" -v r="$rows" -v c="$cpu" 'BEGIN {
    if (s <= 0) s = 0.01
    printf "%-24s %6.2f s (cpu %5.2f s)  %7.1f MB/s  %9.0f rows/s  peak %6.1f MiB\n",
      n, s, c, b / 1e6 / s, r / s, kb / 1024 }'
  echo "$secs" > "$work/$name.secs"
  echo "$cpu" > "$work/$name.cpu"
}

cat > "$work/rows.lua" <<'LUA'
local n = 0
for row in vouch.load.csv(arg[1]):rows() do n = n + 1 end
print(n)
LUA
cat > "$work/into.lua" <<'LUA'
print(vouch.load.csv(arg[1]):into(vouch.db.open(), "partners_raw"))
LUA

echo "file: $FILE ($(awk -v b="$bytes" 'BEGIN { printf "%.0f MB", b / 1e6 }'), $rows rows)"
measure "csv rows()" "$VOUCH" --timeout 0 --allow-read="$FILE" run "$work/rows.lua" "$FILE"
[ "$(cat "$work/out")" = "$rows" ] || { echo "rows(): read $(cat "$work/out") rows" >&2; exit 1; }
measure "csv into(db)" "$VOUCH" --timeout 0 --db "$work/into.db" --allow-read="$FILE" \
  run "$work/into.lua" "$FILE"
[ "$(cat "$work/out")" = "$rows" ] || { echo "into(): stored $(cat "$work/out") rows" >&2; exit 1; }
measure "sqlite3 .import --csv" sqlite3 "$work/import.db" ".import --csv $FILE partners_raw"
got=$(sqlite3 "$work/import.db" "SELECT count(*) FROM partners_raw")
[ "$got" = "$rows" ] || { echo ".import stored $got rows" >&2; exit 1; }
awk -v a="$(cat "$work/csv into(db).secs")" -v b="$(cat "$work/sqlite3 .import --csv.secs")" \
  -v ca="$(cat "$work/csv into(db).cpu")" -v cb="$(cat "$work/sqlite3 .import --csv.cpu")" \
  'BEGIN { printf "into(db) vs .import: %.2fx the speed, %.2fx in cpu (goal: above 1)\n", b / a, cb / ca }'

# 100 files of 2,000 rows: one after another, then all at once (vouch.all).
python3 - "$FILE" "$work/parts" <<'PY'
import csv, os, sys
src, out = sys.argv[1], sys.argv[2]
os.mkdir(out)
with open(src, newline="", encoding="utf-8") as f:
    r = csv.reader(f)
    head = next(r)
    for i in range(100):
        with open("%s/p%03d.csv" % (out, i), "w", newline="", encoding="utf-8") as o:
            w = csv.writer(o, lineterminator="\r\n")
            w.writerow(head)
            for _ in range(2000):
                w.writerow(next(r))
PY
cat > "$work/many.lua" <<'LUA'
local dir, mode = arg[1], arg[2]
local function load(i)
  local n = 0
  for _ in vouch.load.csv(string.format("%s/p%03d.csv", dir, i)):rows() do n = n + 1 end
  return n
end
local total = 0
if mode == "all" then
  local fns = {}
  for i = 0, 99 do fns[#fns + 1] = function() return load(i) end end
  for _, n in ipairs({vouch.all(fns)}) do total = total + n end
else
  for i = 0, 99 do total = total + load(i) end
end
print(total)
LUA
main_rows=$rows
bytes=$(cat "$work"/parts/*.csv | wc -c) rows=200000
echo "100 files of 2,000 rows ($(awk -v b="$bytes" 'BEGIN { printf "%.0f MB", b / 1e6 }'))"
measure "one after another" "$VOUCH" --allow-read="$work" run "$work/many.lua" "$work/parts" seq
measure "vouch.all" "$VOUCH" --allow-read="$work" run "$work/many.lua" "$work/parts" all
[ "$(cat "$work/out")" = "$rows" ] || { echo "vouch.all read $(cat "$work/out") rows" >&2; exit 1; }
awk -v a="$(cat "$work/vouch.all.secs")" -v b="$(cat "$work/one after another.secs")" \
  'BEGIN { printf "vouch.all vs one after another: %.2fx the speed (goal: above 1)\n", b / a }'

# ~1 GB: the data rows eight times under one header.
big=$cache/partners-8x.csv
if [ ! -f "$big" ]; then
  head -n 1 "$FILE" > "$big.tmp"
  for i in 1 2 3 4 5 6 7 8; do tail -n +2 "$FILE" >> "$big.tmp"; done
  mv "$big.tmp" "$big"
fi
bytes=$(stat -c %s "$big") rows=$((main_rows * 8))
echo "file: $big ($(awk -v b="$bytes" 'BEGIN { printf "%.0f MB", b / 1e6 }'), $rows rows)"
measure "csv rows() 1 GB" "$VOUCH" --timeout 0 --allow-read="$big" run "$work/rows.lua" "$big"
[ "$(cat "$work/out")" = "$rows" ] || { echo "rows(): read $(cat "$work/out") rows" >&2; exit 1; }
kb=$(cut -d' ' -f2 "$work/time")
awk -v kb="$kb" 'BEGIN { printf "1 GB rows() peak: %.1f MiB (goal: under 64)\n", kb / 1024 }'
