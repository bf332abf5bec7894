#!/bin/sh
# json.sh: JSON decoding side by side. NDJSON rows() against Python's
# json.loads per line and lua-cjson (lua5.4) per line; a whole JSON array
# decoded at once by vouch.json.decode against Python's json.loads and
# lua-cjson (CPU seconds of the decode alone, timed inside each); and
# vouch.load.json():rows() over the array and over a large array file
# (JSON_BIG_MB, default 256) for its peak memory, which stays flat with size.
set -eu
. "$(dirname "$0")/lib.sh"
[ -n "$SHARED_BENCH" ] || { echo "# json.sh: no shared/bench kit, skipped" >&2; exit 0; }
N=${JSON_ROWS:-100000}
BIG=${JSON_BIG_MB:-256}
csv=$(partners_csv "$N")
nd=${csv%.csv}.ndjson
arr=${csv%.csv}.json
big=$BENCH_DIR/big-${BIG}MB.json
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
[ -s "$arr" ] || python3 -c '
import sys
lines = [l.rstrip("\n") for l in open(sys.argv[1])]
open(sys.argv[2], "w").write("[" + ",\n".join(lines) + "]\n")
' "$nd" "$arr"
[ -s "$big" ] || python3 -c '
import sys
lines = [l.rstrip("\n") for l in open(sys.argv[1])]
want, n = int(sys.argv[3]) << 20, 0
with open(sys.argv[2], "w") as o:
    o.write("[")
    first = True
    while n < want:
        for l in lines:
            o.write(l if first else ",\n" + l)
            first = False
            n += len(l) + 2
    o.write("]\n")
' "$nd" "$big" "$BIG"
mbs() { awk -v b="$(stat -c %s "$1")" -v s="$2" 'BEGIN { printf "%.1f", b / 1048576 / s }'; }
size() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.0f", b / 1048576 }'; }
L="$ROOT/tests/bench/load.lua"
cj=
if command -v lua5.4 >/dev/null && lua5.4 -e 'require "cjson"' 2>/dev/null; then cj=1; fi

measure "$VOUCH" run --allow-read="$BENCH_DIR" "$L" ndjson "$nd"
v=$WALL
row "json: ndjson rows(), vouch ($(size "$nd") MB)" "$(mbs "$nd" "$WALL")" MB/s "$PEAK"
measure python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)))' "$nd"
row "json: ndjson, python3 json.loads per line" "$(mbs "$nd" "$WALL")" MB/s "$PEAK" "vouch $(ratio "$WALL" "$v")x faster"
if [ -n "$cj" ]; then
  measure lua5.4 "$ROOT/tests/bench/json_cjson.lua" lines "$nd"
  row "json: ndjson, lua5.4 + lua-cjson per line" "$(mbs "$nd" "$WALL")" MB/s "$PEAK" "vouch $(ratio "$WALL" "$v")x faster"
fi

# The decode of one array in CPU seconds, timed inside each program.
dec=$BENCH_DIR/decode.json
measure "$VOUCH" run --allow-read="$BENCH_DIR" --allow-write="$BENCH_DIR" \
  "$ROOT/tests/bench/json_decode.lua" "$nd" "$dec"
v=$OUT
row "json: vouch.json.decode, $(size "$dec") MB array" "$(mbs "$dec" "$v")" MB/s "$PEAK" "CPU time of the decode"
measure python3 -c 'import json,sys,time; t=open(sys.argv[1]).read(); a=time.process_time(); json.loads(t); print(time.process_time()-a)' "$dec"
row "json: the same, python3 json.loads" "$(mbs "$dec" "$OUT")" MB/s "$PEAK" "vouch $(ratio "$OUT" "$v")x faster"
if [ -n "$cj" ]; then
  measure lua5.4 "$ROOT/tests/bench/json_cjson.lua" whole "$dec"
  row "json: the same, lua5.4 + lua-cjson" "$(mbs "$dec" "$OUT")" MB/s "$PEAK" "vouch $(ratio "$OUT" "$v")x faster"
fi

measure "$VOUCH" run --allow-read="$BENCH_DIR" "$L" json "$arr"
row "json: load.json():rows(), $(size "$arr") MB array" "$(mbs "$arr" "$WALL")" MB/s "$PEAK" "streamed"
RUNS=1 measure "$VOUCH" run --allow-read="$BENCH_DIR" "$L" json "$big"
row "json: load.json():rows(), $(size "$big") MB array" "$(mbs "$big" "$WALL")" MB/s "$PEAK" "streamed: peak flat with size"
