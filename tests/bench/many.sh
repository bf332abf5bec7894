#!/bin/sh
# many.sh: many sources at once. Eight CSVs of MANY_ROWS partners (default
# 100,000) stored with src:into in one database, one after another and under
# vouch.all, beside a single load (time and peak memory); then rows() of
# 100 and 1,000 small files (1,000 partners each) under vouch.all, with the
# peak memory of each. Goals: vouch.all 1.4x faster than one after another,
# peak under 2x a single load's; peak memory flat in the number of sources.
# Loads into one database take turns at its connection (its savepoints are
# one stack), so under vouch.all only their reading and tokenizing overlap.
set -eu
. "$(dirname "$0")/lib.sh"
[ -n "$SHARED_BENCH" ] || { echo "# many.sh: no shared/bench kit, skipped" >&2; exit 0; }
N=${MANY_ROWS:-100000}
dir=$BENCH_DIR/many
mkdir -p "$dir"
for i in 1 2 3 4 5 6 7 8; do
  [ -s "$dir/p$i.csv" ] || python3 "$SHARED_BENCH/gen_partners.py" "$N" "$dir/p$i.csv" "$i" >/dev/null
done
for i in $(seq 100); do
  [ -s "$dir/s$i.csv" ] || python3 "$SHARED_BENCH/gen_partners.py" 1000 "$dir/s$i.csv" "$i" >/dev/null
done
cat >"$dir/one.lua" <<'LUA'
print(vouch.load.csv(arg[1] .. "/p1.csv"):into(vouch.db.open(), "t"))
LUA
cat >"$dir/seq.lua" <<'LUA'
local db, n = vouch.db.open(), 0
for i = 1, 8 do n = n + vouch.load.csv(arg[1] .. "/p" .. i .. ".csv"):into(db, "t" .. i) end
print(n)
LUA
cat >"$dir/all.lua" <<'LUA'
local db, fs, n = vouch.db.open(), {}, 0
for i = 1, 8 do
  fs[i] = function() return vouch.load.csv(arg[1] .. "/p" .. i .. ".csv"):into(db, "t" .. i) end
end
for _, v in ipairs({ vouch.all(fs) }) do n = n + v end
print(n)
LUA
cat >"$dir/small.lua" <<'LUA'
local fs, n = {}, 0
for i = 1, tonumber(arg[2]) do
  fs[i] = function()
    local k = 0
    for _ in vouch.load.csv(arg[1] .. "/s" .. (i - 1) % 100 + 1 .. ".csv"):rows() do k = k + 1 end
    return k
  end
end
for _, v in ipairs({ vouch.all(fs) }) do n = n + v end
print(n)
LUA
db=$dir/many.db
v="$VOUCH --timeout 0 --db $db --allow-read=$dir"
measure sh -c "rm -f '$db'*; $v run '$dir/one.lua' '$dir'"
one=$WALL onepeak=$PEAK
row "many: one load :into ($N rows)" "$one" s "$onepeak"
measure sh -c "rm -f '$db'*; $v run '$dir/seq.lua' '$dir'"
seq=$WALL
row "many: 8 loads :into, one after another" "$seq" s "$PEAK"
measure sh -c "rm -f '$db'*; $v run '$dir/all.lua' '$dir'"
[ "$OUT" = $((8 * N)) ] || { echo "# many.sh: vouch.all stored $OUT rows" >&2; exit 1; }
row "many: 8 loads :into under vouch.all" "$WALL" s "$PEAK" \
  "$(ratio "$seq" "$WALL")x one after another (goal 1.4x); peak $(ratio "$PEAK" "$onepeak")x one load's (goal < 2x)"
measure $v run "$dir/small.lua" "$dir" 10
p10=$PEAK
for k in 100 1000; do
  measure $v run "$dir/small.lua" "$dir" $k
  [ "$OUT" = $((k * 1000)) ] || { echo "# many.sh: $k small files gave $OUT rows" >&2; exit 1; }
  row "many: rows() of $k files of 1,000 at once" "$WALL" s "$PEAK" "10 files: $p10 MiB"
done
