# concurrency.sh: many tasks and many HTTP loads at once. 1,000 concurrent
# tasks and 100 concurrent HTTP fetches against a local server all complete
# with the right results; repeated in rounds in one process, its open
# descriptors and RSS (/proc/self) stay flat (under SANITIZE=1 the leak
# checker also sees every allocation freed at exit).
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
python3 "$ROOT/tests/http_server.py" port >/dev/null 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null' EXIT
n=0; while [ $n -lt 100 ] && [ ! -s port ]; do n=$((n + 1)); sleep 0.1; done
P=$(cat port)

check "1000 concurrent tasks all complete, in order" 0 '^1000 500500$' -- "$VOUCH" -e '
  local fs = {}
  for i = 1, 1000 do
    fs[i] = function() vouch.sleep(i % 37); return i end
  end
  local r = { vouch.all(fs) }
  local sum = 0
  for i = 1, #r do assert(r[i] == i, "result " .. i); sum = sum + r[i] end
  print(#r .. " " .. sum)'

check "1000 tasks spawning tasks, waited one by one" 0 '^2000$' -- "$VOUCH" -e '
  local ts = {}
  for i = 1, 1000 do
    ts[i] = vouch.spawn(function()
      local inner = vouch.spawn(function() vouch.sleep(i % 11); return 1 end)
      vouch.sleep(i % 13)
      return 1 + inner:wait()
    end)
  end
  local n = 0
  for i = 1, 1000 do n = n + ts[i]:wait() end
  print(n)'

check "100 concurrent HTTP fetches all complete" 0 '^100 ok$' -- \
  "$VOUCH" --allow-net=127.0.0.1 -e "
  local fs = {}
  for i = 1, 100 do
    fs[i] = function()
      local r = assert(vouch.http.get('http://127.0.0.1:$P/slow?ms=50', {timeout = 60000}))
      assert(r.status == 200, r.status)
      return 1
    end
  end
  local n = 0
  for _, v in ipairs({ vouch.all(fs) }) do n = n + v end
  print(n .. ' ok')"
check "at most 16 of them were in flight at once (the client's limit)" 0 '"max_in_flight": ([1-9]|1[0-6])[,}]' -- \
  curl -s "http://127.0.0.1:$P/stats"

# Rounds in one process: /proc/self read between them (trusted, for io).
cat > rounds.lua <<LUA
local P = $P
local function fds()
  local p = io.popen("ls /proc/" .. vouch.db.pid() .. "/fd | wc -l")
  local n = tonumber(p:read("l")); p:close(); return n
end
local function rss()
  for l in io.lines("/proc/self/status") do
    local v = l:match("^VmRSS:%s+(%d+)") if v then return tonumber(v) end
  end
end
local out = {}
for round = 1, 6 do
  local fs = {}
  for i = 1, 1000 do fs[i] = function() vouch.sleep(i % 7); return i end end
  for i = 1, 100 do
    fs[#fs + 1] = function()
      return assert(vouch.http.get("http://127.0.0.1:" .. P .. "/json", {timeout = 60000})).status
    end
  end
  local r = { vouch.all(fs) }
  assert(#r == 1100 and r[1100] == 200)
  collectgarbage(); collectgarbage()
  out[round] = { fds(), rss() }
  print(string.format("round %d: %d fds, %d KiB", round, out[round][1], out[round][2]))
end
-- After the first two rounds (pools and caches warm), no growth. A kept-
-- alive connection or the pipe of the count itself may come and go.
local f0, r0 = math.max(out[1][1], out[2][1]), out[2][2]
for k = 3, 6 do
  assert(out[k][1] <= f0 + 2, "descriptors grew: " .. out[k][1] .. " > " .. f0)
  assert(out[k][2] <= r0 * 1.2 + 2048, "RSS grew: " .. out[k][2] .. " KiB > " .. r0)
end
print("flat")
LUA
# Under ASan freed memory waits in a quarantine (256 MiB): keep it small so
# that RSS shows what is live (a plain build ignores the variable).
out=$(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1" "$VOUCH" --trusted run rounds.lua 2>&1); rc=$?
printf '%s\n' "$out" | grep '^round' | sed 's/^/# /'
check "6 rounds of 1000 tasks and 100 fetches: descriptors and RSS flat" 0 '^flat$' -- \
  sh -c "printf '%s\n' \"\$1\"; exit $rc" sh "$out"
