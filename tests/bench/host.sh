#!/bin/sh
# host.sh: start-up time of `vouch run` and `vouch -e`, and the cost of the
# sandbox's limit hook on CPU-bound Lua, against the stock lua5.4
# interpreter on the same script. Medians of RUNS runs (default 5).
set -eu
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# median CMD...: wall seconds of CMD, median of $RUNS runs
median() {
  for i in $(seq "$RUNS"); do
    s=$(date +%s%N); "$@" >/dev/null 2>&1; e=$(date +%s%N)
    echo $(( (e - s) / 1000 ))
  done | sort -n | awk '{ v[NR] = $1 } END { printf "%.4f", v[int((NR + 1) / 2)] / 1e6 }'
}

cat > "$tmp/fib.lua" <<'LUA'
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local t = {}
for i = 1, 200000 do t[i] = tostring(i) .. "x" end
print(fib(30), #t)
LUA
echo 'print("hi")' > "$tmp/hi.lua"

printf '%-34s %10s\n' "host" "seconds"
printf '%-34s %10s\n' "vouch run (start-up, hello)" "$(median ./vouch run "$tmp/hi.lua")"
printf '%-34s %10s\n' "vouch -e (start-up)" "$(median ./vouch -e 'local x = 1')"
if command -v lua5.4 >/dev/null; then
  printf '%-34s %10s\n' "lua5.4 (start-up, hello)" "$(median lua5.4 "$tmp/hi.lua")"
  l=$(median lua5.4 "$tmp/fib.lua")
  printf '%-34s %10s\n' "lua5.4 fib(30) + 200k strings" "$l"
fi
v=$(median ./vouch run --allow-read="$tmp" "$tmp/fib.lua")
t=$(median ./vouch run --trusted "$tmp/fib.lua")
printf '%-34s %10s\n' "vouch sandboxed, same script" "$v"
printf '%-34s %10s\n' "vouch --trusted, same script" "$t"
[ -n "${l:-}" ] && awk -v v="$v" -v l="$l" 'BEGIN { printf "%-34s %9.1f%%\n", "sandbox + hook cost vs lua5.4", (v / l - 1) * 100 }'
