#!/bin/sh
# host.sh: start-up of `vouch run`, `vouch -e` and the REPL, and the cost of
# the sandbox (environment, allocator limit, watchdog) on CPU-bound Lua,
# against the stock lua5.4 interpreter running the same script.
set -eu
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/fib.lua" <<'LUA'
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local t = {}
for i = 1, 200000 do t[i] = tostring(i) .. "x" end
print(fib(30), #t)
LUA
echo 'print("hi")' > "$tmp/hi.lua"

ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }

R=$RUNS; RUNS=$((R * 3))   # start-ups are short: more runs
measure "$VOUCH" run "$tmp/hi.lua"; row "start-up: vouch run hello.lua" "$(ms "$WALL")" ms "$PEAK"
measure "$VOUCH" -e 'local x = 1'; row "start-up: vouch -e" "$(ms "$WALL")" ms "$PEAK"
if "$VOUCH" help repl >/dev/null 2>&1; then
  measure "$VOUCH" repl </dev/null
  row "start-up: vouch repl (to EOF)" "$(ms "$WALL")" ms "$PEAK"
fi
if command -v lua5.4 >/dev/null; then
  measure lua5.4 "$tmp/hi.lua"; row "start-up: lua5.4 hello.lua (floor)" "$(ms "$WALL")" ms "$PEAK"
  # Paired: vouch and lua5.4 in turn, the median of the pairs' ratios, so
  # that the machine's drift during the runs cancels.
  r=$(python3 - "$VOUCH" $((RUNS * 5)) <<'PY'
import statistics, subprocess, sys, time
def wall(cmd):
    t = time.perf_counter(); subprocess.run(cmd, check=True); return time.perf_counter() - t
a, b = [sys.argv[1], "-e", ""], ["lua5.4", "-e", ""]
wall(a); wall(b)
pairs = [(wall(a), wall(b)) for _ in range(int(sys.argv[2]))]
print("%.1f %.1f %.2f" % (statistics.median(p[0] for p in pairs) * 1e3,
    statistics.median(p[1] for p in pairs) * 1e3, statistics.median(x / y for x, y in pairs)))
PY
  )
  set -- $r
  row "start-up: vouch -e '' paired with lua5.4 -e ''" "$1" ms - "lua5.4 $2 ms; x$3 (median of pairs)"
fi
RUNS=$R
l=
if command -v lua5.4 >/dev/null; then
  measure lua5.4 "$tmp/fib.lua"; l=$WALL
  row "cpu: lua5.4 fib(30) + 200k strings" "$WALL" s "$PEAK"
fi
measure "$VOUCH" run --trusted "$tmp/fib.lua"; t=$WALL
row "cpu: vouch --trusted, same" "$WALL" s "$PEAK"
measure "$VOUCH" run "$tmp/fib.lua"; v=$WALL
if [ -n "$l" ]; then base=$l what=lua5.4; else base=$t what=trusted; fi
row "cpu: vouch sandboxed, same" "$WALL" s "$PEAK" "x$(ratio "$v" "$base") of $what"
