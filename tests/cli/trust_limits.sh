# trust_limits.sh: the limits hold until the last instruction a script can
# cause, and every buffer the host holds for a script counts against
# --max-memory. Each case is an escape a sandboxed script could try; each
# must end with exit 3 and the limit named, never hang (every command runs
# under `timeout 60`, so a regression fails instead of stalling the suite).
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1

# Peak RSS allowed at --max-memory 64M: the limit plus what the host costs
# whatever a script does. Measured: the binary with Lua, SQLite, libcurl and
# libuv started idles at 14 MiB; libuv's four threadpool stacks, curl's
# connection cache and the heap's slack add up to 30 MiB more at most. The
# fixed overhead allowed is 40 MiB.
RSS_LIMIT_KIB=$(((64 + 40) * 1024))

# rss NAME CMD...: run CMD and check the peak resident set of the processes
# it waited for (getrusage of the children, in KiB). Its exit code and output
# are not checked here. Under valgrind or the sanitizers RSS means nothing:
# a note is printed that counts neither as a pass nor as a failure.
rss() {
  _name=$1; shift
  case "${VALGRIND:-0}:$VOUCH" in
    1:*|*-san*|*/vg/*) echo "ok - $_name: peak RSS # SKIP not measured under sanitizers/valgrind"; return ;;
  esac
  _kib=$(python3 -c '
import resource, subprocess, sys
subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@")
  if [ -n "$_kib" ] && [ "$_kib" -le "$RSS_LIMIT_KIB" ]; then
    echo "ok - $_name"
  else
    echo "not ok - $_name: peak RSS ${_kib:-?} KiB, more than $RSS_LIMIT_KIB KiB"
  fi
}

# --- Finalizers: no script can plant one, and those at exit are bounded.
check "the JSON marks' shared metatable cannot take a finalizer" 1 \
  'attempt to index a string value' -- timeout 60 "$VOUCH" --timeout 3 -e \
  'getmetatable(vouch.json.array{}).__gc = function() while true do end end
   local keep = vouch.json.array{}'
check "the JSON marks' shared metatable cannot be replaced" 1 \
  'cannot change a protected metatable' -- timeout 60 "$VOUCH" --timeout 3 -e \
  'setmetatable(vouch.json.object{}, {__close = function() end})'
check "a finalizer that spins at exit ends with the time limit" 3 \
  'time limit exceeded in a finalizer at exit' -- timeout 60 "$VOUCH" --trusted --timeout 3 -e \
  'keep = setmetatable({}, {__gc = function() while true do end end})'
# (16 MiB: under valgrind on a busy machine, filling 64 took longer than
# the finalizers' CPU budget, and the time limit came first)
check "a finalizer that allocates at exit ends with the memory limit" 3 \
  'memory limit exceeded \(--max-memory=16MiB\) in a finalizer at exit' -- \
  timeout 60 "$VOUCH" --trusted --max-memory 16M --timeout 30 -e \
  'keep = setmetatable({}, {__gc = function() local t = {} for i = 1, 1 << 25 do t[i] = i end end})'
rss "a finalizer that allocates at exit stays within --max-memory" \
  timeout 60 "$VOUCH" --trusted --max-memory 64M --timeout 30 -e \
  'keep = setmetatable({}, {__gc = function() local t = {} for i = 1, 1 << 25 do t[i] = i end end})'

# --- Coroutines: __close handlers run under the limits wherever they run.
check "a memory trip in coroutine.close's __close is not swallowed by pcall" 3 \
  'memory limit exceeded \(--max-memory=16MiB\)' -- timeout 60 "$VOUCH" --max-memory 16M --timeout 20 -e '
local co = coroutine.create(function()
  local x <close> = setmetatable({}, {__close = function()
    while true do pcall(function() local t = {} for i = 1, 1e9 do t[i] = i end end) end
  end})
  coroutine.yield()
end)
coroutine.resume(co)
pcall(coroutine.close, co)
print("escaped")'
check "vouch.exit followed by a spinning __close names the time limit" 3 \
  '^vouch: time limit exceeded \(--timeout=2s\)' -- timeout 60 "$VOUCH" --timeout 2 -e \
  'local x <close> = setmetatable({}, {__close = function() while true do end end})
   vouch.exit(0)'

# --- The stack: an overflow is a limit, inside pcall too.
check "a stack overflow caught by pcall ends the script" 3 \
  '^vouch: stack limit exceeded \(recursion too deep\)$' -- timeout 60 "$VOUCH" -e \
  'local function f() return 1 + f() end
   print(pcall(f)) print("went on")'
check "a stack overflow caught by xpcall ends the script" 3 \
  '^vouch: stack limit exceeded' -- timeout 60 "$VOUCH" -e \
  'local function f() return 1 + f() end
   print(xpcall(f, function(m) return m end)) print("went on")'
check "pcall recursing into pcall ends with the stack limit" 3 \
  '^vouch: stack limit exceeded' -- timeout 60 "$VOUCH" -e \
  'local function f() return pcall(f) end
   print(f()) print("went on")'

# --- One limit, one report.
cat > tasks1000.lua <<'LUA'
for i = 1, 1000 do
  vouch.spawn(function() local t = {} for j = 1, 1e9 do t[j] = j end end)
end
LUA
check "1000 tasks stopped by the memory limit exit 3" 3 \
  '^vouch: task [0-9]+: memory limit exceeded \(--max-memory=32MiB\)$' -- \
  timeout 60 "$VOUCH" --max-memory 32M --timeout 30 tasks1000.lua
timeout 60 "$VOUCH" --max-memory 32M --timeout 30 tasks1000.lua >tasks1000.out 2>&1
if [ "$(grep -c 'limit exceeded' tasks1000.out)" -eq 1 ] && [ "$(wc -l <tasks1000.out)" -eq 1 ]; then
  echo "ok - 1000 tasks stopped by the memory limit make one report"
else
  echo "not ok - 1000 tasks stopped by the memory limit make one report: $(wc -l <tasks1000.out) lines"
fi

# --- Buffers held for a script count against --max-memory.
python3 "$ROOT/tests/http_server.py" "$TMP/port" &
server=$!
trap 'kill $server 2>/dev/null' EXIT
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ -s "$TMP/port" ]; then
  URL="http://127.0.0.1:$(cat "$TMP/port")"
  BODY="local r, err = vouch.http.get('$URL/big-nolength?n=300000000', {max_size = 1 << 40})
        print(r and #r.body, err)"
  check "an HTTP body larger than --max-memory trips the memory limit as it arrives" 3 \
    'memory limit exceeded \(--max-memory=64MiB\)' -- \
    timeout 60 "$VOUCH" --max-memory 64M --timeout 50 --allow-net=127.0.0.1 -e "$BODY"
  rss "an HTTP body larger than --max-memory stays within it" \
    timeout 60 "$VOUCH" --max-memory 64M --timeout 50 --allow-net=127.0.0.1 -e "$BODY"
  check "an HTTP body within max_size and --max-memory arrives whole" 0 '^2000000	nil$' -- \
    timeout 60 "$VOUCH" --max-memory 64M --timeout 50 --allow-net=127.0.0.1 -e \
    "local r, err = vouch.http.get('$URL/big-nolength?n=2000000') print(r and #r.body, err)"
else
  echo "not ok - the test server did not start"
fi

python3 -c '
with open("big.csv", "w") as f:
    f.write("id,name,score,notes\n")
    for i in range(20000):
        f.write("%d,name%d,%d,\"some notes here, with a comma %d\"\n" % (i, i, i % 100, i))'
cat > csv1000.lua <<'LUA'
local tasks = {}
for i = 1, 1000 do
  tasks[i] = function()
    local c = 0
    for row in assert(vouch.load.csv("big.csv")):rows() do
      c = c + 1
      if c % 5000 == 0 then vouch.sleep(20) end
    end
    return c
  end
end
print(#vouch.all(tasks))
LUA
rss "1000 CSV sources read at once stay within --max-memory" \
  timeout 60 "$VOUCH" --max-memory 64M --timeout 50 csv1000.lua
rss "a big JSON document stays within --max-memory" \
  timeout 60 "$VOUCH" --max-memory 64M --timeout 50 -e \
  'local t = vouch.json.decode("[" .. ("1,"):rep(5e6) .. "1]") print(#t)'
ENCODE='local s = ("x"):rep(1 << 20) local t = {} for i = 1, 300 do t[i] = s end
        print(#vouch.json.encode(t))'
check "the JSON text of a small table holding a long string many times trips the memory limit" 3 \
  'memory limit exceeded \(--max-memory=64MiB\)' -- \
  timeout 60 "$VOUCH" --max-memory 64M --timeout 50 -e "$ENCODE"
rss "the JSON text being encoded stays within --max-memory" \
  timeout 60 "$VOUCH" --max-memory 64M --timeout 50 -e "$ENCODE"
